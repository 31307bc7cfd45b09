"""The end-to-end pipeline: videos -> detections -> cameras -> 3D joints -> SMPL fit -> export.

``mvmocap.reconstruct.run(videos_dir, out, ...)`` mirrors ``mvmocap reconstruct``.
"""

from mvmocap.reconstruct.config import ReconstructConfig
from mvmocap.reconstruct.pipeline import ReconstructionResult, run

__all__ = ["ReconstructConfig", "ReconstructionResult", "run"]
