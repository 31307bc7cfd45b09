"""Stage 1: videos -> per-camera 2D detections (keypoints, masks, optional IUV and monocular 3D).

Public API (mirrors ``mvmocap detect``)::

    detections = mvmocap.detect.run(videos_dir, out=work_dir)   # detect (or reuse the cache)
    detections = mvmocap.detect.load(work_dir)                  # the cached result only
"""

from mvmocap.detect.detections import Detections
from mvmocap.detect.report import summarize
from mvmocap.detect.run import DETECTORS, load, run

__all__ = ["DETECTORS", "Detections", "load", "run", "summarize"]
