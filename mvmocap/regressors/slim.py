"""Slim regressor checkpoints (``mvmocap-regressor/1``): where one is found, and writing one.

A slim checkpoint is a dict of plain values and float32 tensors (options, weights, the training
config), read back with ``weights_only=True`` (:func:`mvmocap.io.torch_files.load_checkpoint_file`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import torch

from mvmocap.errors import FileFormatError, MissingFileError
from mvmocap.io.atomic import atomic_path
from mvmocap.io.torch_files import load_checkpoint_file

FORMAT = "mvmocap-regressor/1"
RUN_FORMAT = "mvmocap-train-checkpoint/1"  # a train-synthetic / adapt run's checkpoint.pt
_NOT_META = ("weights", "model", "optimizer", "torch_rng")


def resolve_checkpoint(path: str | Path | None, env_var: str, shipped: Path) -> Path:
    """``path``, else the file named by ``$env_var``, else ``shipped``."""
    return Path(path or os.environ.get(env_var) or shipped)


def write_slim_checkpoint(payload: dict[str, Any], out: str | Path) -> Path:
    """``payload`` saved to ``out`` atomically (a temporary name, then a rename)."""
    out = Path(out)
    with atomic_path(out) as tmp:
        torch.save(payload, tmp)
    return out


def export_run(run: str | Path, out: str | Path, name: str, default_options: dict, extra: dict | None = None) -> Path:
    """Write the slim checkpoint of method ``name`` (network options + float32 weights + training config)
    of a ``train-synthetic`` run (folder or ``checkpoint.pt``) to ``out`` (atomically)."""
    from mvmocap.train.checkpoint import load_checkpoint

    state = load_checkpoint(run)
    weights = {k[len("net."):]: v.float() for k, v in state["model"].items() if k.startswith("net.")}
    options = {k: v for k, v in state["config"]["model"].items() if k in default_options}
    payload = {"format": FORMAT, "name": name, "options": {**default_options, **options}, "weights": weights,
               "train_config": state["config"], "step": int(state["step"]),
               "body_model_name": state.get("body_model_name"), **(extra or {})}
    return write_slim_checkpoint(payload, out)


def checkpoint_owner(payload: Any, unnamed: str | None = None) -> str | None:
    """The method a checkpoint belongs to (a slim export's ``name``, a run's ``config.method``; ``unnamed``
    where it names none), or None when ``payload`` is neither kind."""
    if not isinstance(payload, dict):
        return None
    if payload.get("format") == FORMAT:
        return payload.get("name", unnamed)
    if payload.get("format") == RUN_FORMAT:
        config = payload.get("config")
        return config.get("method", unnamed) if isinstance(config, dict) else unnamed
    return None


def load_network_file(file: Path, name: str, what: str, default_options: dict,
                      build: Callable[[dict], torch.nn.Module], unnamed: str | None = None) -> tuple[torch.nn.Module, dict]:
    """The network of method ``name`` stored in ``file`` (a slim export or a run's ``checkpoint.pt``),
    built by ``build(options)``, in eval mode, and the checkpoint's metadata.

    Loaded with ``weights_only=True`` and the project's size cap; :class:`MissingFileError` /
    :class:`FileFormatError` (naming ``file``, described as ``what``) for a missing, unsafe, damaged
    file or another method's checkpoint. ``unnamed``: the owner assumed for checkpoints that name none."""
    if not file.is_file():
        raise MissingFileError(file, what)
    payload = load_checkpoint_file(file, what)  # weights_only: no code runs
    owner = checkpoint_owner(payload, unnamed)
    if owner is None:
        raise FileFormatError(file, f"not a {name} {FORMAT} checkpoint")
    if owner != name:
        raise FileFormatError(file, f"a checkpoint of method {owner!r}, not {name}")
    try:
        if payload["format"] == FORMAT:
            options, weights = payload["options"], payload["weights"]
        else:
            options = {k: v for k, v in payload["config"]["model"].items() if k in default_options}
            weights = {k[len("net."):]: v for k, v in payload["model"].items() if k.startswith("net.")}
        net = build({**default_options, **options})
        net.load_state_dict(weights)
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:  # damaged contents
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise FileFormatError(file, f"damaged checkpoint ({type(exc).__name__}: {first})") from None
    net.eval()
    meta = {k: v for k, v in payload.items() if k not in _NOT_META}
    meta.setdefault("train_config", payload.get("config"))
    return net, meta
