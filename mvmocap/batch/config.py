"""Per-trial settings: session defaults, trial overrides and command-line options, merged.

Precedence, lowest first (a later layer replaces the keys it names; the ``detect``,
``triangulation``, ``export`` and ``fit`` sections merge key by key):

1. the built-in defaults of :class:`mvmocap.reconstruct.ReconstructConfig`;
2. the session config: ``--config FILE`` when given, else ``SESSION/config.yaml``;
3. ``TRIAL/config.yaml``;
4. command-line options (``--method``, ``--device``, ``--frames``, ...).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any


from mvmocap.errors import FileFormatError, MissingFileError
from mvmocap.io.safe_read import load_yaml
from mvmocap.reconstruct.config import ReconstructConfig


def read_layer(path: str | Path) -> dict:
    """One YAML layer as a mapping (empty file: ``{}``); checked against the known options."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "configuration file")
    values = load_yaml(path, what="configuration file") or {}
    if not isinstance(values, dict):
        raise FileFormatError(path, "expected a YAML mapping of options")
    try:
        ReconstructConfig.from_dict(merge(ReconstructConfig().to_dict(), values), source=str(path))
    except TypeError as exc:
        raise FileFormatError(path, str(exc)) from None
    return values


def merge(base: dict, override: dict) -> dict:
    """``base`` with ``override`` on top; nested mappings merge key by key, anything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve(*layers: dict[str, Any], source: str = "config") -> ReconstructConfig:
    """The :class:`ReconstructConfig` of the defaults with ``layers`` applied in order (see the module docstring)."""
    values = ReconstructConfig().to_dict()
    for layer in layers:
        values = merge(values, layer)
    return ReconstructConfig.from_dict(values, source=source)


def cli_layer(*, method: str | None = None, device: str | None = None, frames: str | None = None,
              height: float | None = None, body_model: str | None = None, max_people: int | None = None) -> dict:
    """The command-line options that were given, as a config layer."""
    layer: dict[str, Any] = {}
    if method is not None:
        layer["method"] = method
    if device is not None:
        layer["device"] = device
    if body_model is not None:
        layer["body_model"] = body_model
    if height is not None:
        layer["subject_height_m"] = height
    if frames is not None:
        layer["detect"] = {"frames": frames}
    if max_people is not None:
        layer.setdefault("detect", {})["max_people"] = max_people
    return layer
