"""Stage 1b: time synchronisation between detections and cameras.

Cameras that were not started together, or that record at other frame rates, are
put on one common timeline: coarse offsets from keypoint-speed cross-correlation,
sub-frame refinement by the multi-view residual (known or estimated cameras), and
resampling of the 2D tracks. See :func:`synchronise`.
"""

from mvmocap.sync.result import SyncResult
from mvmocap.sync.synchronise import SYNC_MODES, apply_offsets, check_mode, synchronise
from mvmocap.sync.tracks import CameraTrack, tracks_from_cache, tracks_from_detections

__all__ = ["SYNC_MODES", "CameraTrack", "SyncResult", "apply_offsets", "check_mode", "synchronise",
           "tracks_from_cache", "tracks_from_detections"]
