"""``reconstruct --checkpoint PATH``: the weights a learned ``--method`` runs with, checked before any long work.

Generic over the registry: a regressor that takes a checkpoint declares ``RegressorSpec.checkpoint``
(``f(path)``: raises for a file it cannot load); the chosen path then reaches its ``regress`` (and its
camera stage) as ``MethodInputs.extras["checkpoint"]``. Without ``--checkpoint`` each regressor keeps
its own default (``$MVMOCAP_<NAME>_CHECKPOINT``, else the shipped file).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mvmocap.errors import InputError
from mvmocap.io.safe_read import check_regular_file
from mvmocap.io.torch_files import MAX_CHECKPOINT_BYTES
from mvmocap.methods.registry import method_spec


def check_checkpoint(method: str, path: str | Path) -> Path:
    """``path`` once the regressor of ``method`` (a ``--method`` spec) has accepted it as its checkpoint.

    Raises :class:`InputError` for ``--method fit`` or a regressor without checkpoints,
    :class:`MissingFileError` / :class:`FileFormatError` for a missing, oversized, unsafe (not
    weights-only), damaged file or a checkpoint of another method."""
    spec = method_spec(method)
    if spec is None:
        raise InputError("--checkpoint gives a learned regressor's weights; --method fit has none "
                         "(use --method NAME or NAME+fit)")
    if spec.checkpoint is None:
        raise InputError(f"--method {method} takes no checkpoint")
    path = Path(path)
    check_regular_file(path, f"{spec.name} checkpoint", MAX_CHECKPOINT_BYTES)
    spec.checkpoint(path)
    return path


def checkpoint_digest(path: str | Path) -> str:
    """The SHA-256 of a checkpoint file (the reconstruct stage cache's key: other weights, another result)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
