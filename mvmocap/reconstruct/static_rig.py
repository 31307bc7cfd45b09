"""``reconstruct --static-rig``: the cameras did not move, so MetaPose's per-frame cameras, averaged, start
the calibration from joints (the same start as ``calibrate --from-joints --init metapose``).

With ``--calibrate-from-joints`` or ``--method metapose`` (and no ``--calibration``), one person,
synchronised videos and the BlazePose detector (MetaPose needs its monocular 3D). MetaPose S1+S2
when its checkpoint exists (:func:`mvmocap.regressors.metapose.inference.checkpoint_file`), else
stage 1 alone (``metapose-s1``), said in the log and in the calibration report's start.
"""

from __future__ import annotations

from typing import Callable

from mvmocap.errors import InputError, MissingFileError


def check_static_rig(cfg, calibration, calibrate_from_joints: bool) -> bool:
    """Refuse ``--static-rig`` where it cannot apply (before any long work); returns whether the cameras
    are calibrated from the joints (``--static-rig`` with ``--method metapose`` implies it)."""
    if not cfg.static_rig:
        return calibrate_from_joints
    if calibration is not None:
        raise InputError("--static-rig estimates the cameras from the person: drop --calibration")
    if not (calibrate_from_joints or cfg.method.startswith("metapose")):
        raise InputError("--static-rig needs --calibrate-from-joints or --method metapose")
    if cfg.detect.max_people > 1 or cfg.detect.sync == "auto":
        raise InputError("--static-rig works for one person in synchronised videos (no --max-people N, no --sync auto)")
    if cfg.detect.detector != "blazepose":
        raise InputError(f"--static-rig needs the blazepose detector (MetaPose uses its monocular 3D), got {cfg.detect.detector!r}")
    static_rig_start(checkpoint=metapose_checkpoint(cfg))  # a damaged checkpoint fails now
    return True


def metapose_checkpoint(cfg) -> str | None:
    """``reconstruct --checkpoint`` when it is MetaPose's (``--method metapose[+fit]``), else None (the default one)."""
    return cfg.checkpoint if cfg.method.strip().partition("+")[0] == "metapose" else None


def static_rig_start(log: Callable[[str], None] = lambda line: None, checkpoint: str | None = None):
    """The per-frame camera estimator handed to :func:`mvmocap.calibrate.calibrate_from_joints`: MetaPose
    S1+S2 (``--init metapose``; ``checkpoint``: ``reconstruct --checkpoint``, None: the default one), or
    stage 1 alone (``metapose-s1``) when there is no checkpoint."""
    from mvmocap.methods.registry import calibration_start

    try:
        start = calibration_start("metapose", checkpoint)
    except MissingFileError as missing:
        log(f"static rig: MetaPose stage 1 starts the calibration ({missing})")
        return calibration_start("metapose-s1")
    log("static rig: MetaPose S1+S2 starts the calibration")
    return start
