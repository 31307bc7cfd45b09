"""Stage 1b: time synchronisation between detections and cameras.

Cameras that were not started together, or that record at other frame rates, are
put on one common timeline: coarse offsets from the 2D motion (speed correlation and
an epipolar check), sub-frame refinement by the multi-view residual (known or
estimated cameras), and resampling of the 2D tracks. See :func:`synchronise`.
Names are imported lazily so that ``--sync`` checks stay light.
"""

from importlib import import_module

_EXPORTS = {
    "SYNC_MODES": "mvmocap.sync.modes",
    "check_mode": "mvmocap.sync.modes",
    "SyncResult": "mvmocap.sync.result",
    "synchronise": "mvmocap.sync.stage",
    "CameraTrack": "mvmocap.sync.tracks",
    "tracks_from_cache": "mvmocap.sync.tracks",
    "tracks_from_detections": "mvmocap.sync.tracks",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mvmocap.sync' has no attribute {name!r}")
