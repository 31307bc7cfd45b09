"""The marker set written to TRC and C3D: the fitted model's COCO-23 keypoints, then SMPL's 24 joints.

Names: COCO-23's (``nose``, ``left_eye``, … ``right_heel``), then ``smpl_pelvis`` … ``smpl_right_hand``.
Both come from the fitted body, so every marker exists in every frame; frames where nobody was
seen hold values interpolated from their valid neighbours (``valid`` says which).
"""

from __future__ import annotations

import numpy as np

from mvmocap.export.run_files import RunResult


def marker_names(run: RunResult) -> list[str]:
    return list(run.coco23_names) + [f"smpl_{name}" for name in run.joint_names]


def marker_positions(run: RunResult) -> np.ndarray:
    """``(F, 47, 3)`` metres, world +Z up, in :func:`marker_names` order."""
    return np.concatenate([run.coco23, run.smpl_joints], axis=1)
