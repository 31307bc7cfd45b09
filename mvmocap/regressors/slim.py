"""Slim regressor checkpoints (``mvmocap-regressor/1``): where one is found, and writing one.

A slim checkpoint is a dict of plain values and float32 tensors (options, weights, the training
config), read back with ``weights_only=True`` (:func:`mvmocap.io.torch_files.load_checkpoint_file`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from mvmocap.io.atomic import atomic_path

FORMAT = "mvmocap-regressor/1"


def resolve_checkpoint(path: str | Path | None, env_var: str, shipped: Path) -> Path:
    """``path``, else the file named by ``$env_var``, else ``shipped``."""
    return Path(path or os.environ.get(env_var) or shipped)


def write_slim_checkpoint(payload: dict[str, Any], out: str | Path) -> Path:
    """``payload`` saved to ``out`` atomically (a temporary name, then a rename)."""
    out = Path(out)
    with atomic_path(out) as tmp:
        torch.save(payload, tmp)
    return out
