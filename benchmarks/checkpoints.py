"""Which volumetric checkpoint a benchmark ran, and an older one beside it in the same process.

``register_baseline(path)`` adds the ``--method`` names ``volumetric-base`` (network, bone-length
shape, limb IK), ``volumetric-base-net`` (network alone) and, through the registry,
``volumetric-base+fit``, all reading ``path`` instead of the shipped checkpoint, so a benchmark can
run the previous checkpoint on the same inputs as the current one.
"""

from __future__ import annotations

import hashlib
import subprocess
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASELINE = "volumetric-base"


def checkpoint_note(path: Path | None = None) -> dict:
    """A volumetric checkpoint (the one in use when ``path`` is None): path, SHA-256 (first 12) and
    the commit that last changed it."""
    from mvmocap.regressors.volumetric.inference import checkpoint_file

    path = Path(path) if path is not None else checkpoint_file()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else None
    try:
        commit = subprocess.run(["git", "log", "-1", "--format=%h %cs", "--", str(path)], cwd=REPO,
                                capture_output=True, text=True, check=False).stdout.strip() or None
    except OSError:
        commit = None
    return {"path": str(path), "sha256_12": digest, "last_commit": commit}


def register_baseline(path: Path) -> tuple[str, ...]:
    """Register the baseline checkpoint's methods; returns their names (without ``+fit``)."""
    from mvmocap.errors import MissingFileError
    from mvmocap.methods import register_regressor
    from mvmocap.regressors.spec import RegressorSpec
    from mvmocap.regressors.volumetric.inference import regress

    if not Path(path).is_file():
        raise MissingFileError(f"baseline checkpoint not found: {path}")
    register_regressor(RegressorSpec(BASELINE, partial(regress, checkpoint=path),
                                     f"volumetric with {path}", needs_masks=True))
    register_regressor(RegressorSpec(f"{BASELINE}-net", partial(regress, checkpoint=path, keypoint_ik=False),
                                     f"volumetric network alone with {path}", needs_masks=True))
    return BASELINE, f"{BASELINE}-net"
