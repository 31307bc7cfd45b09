"""Named keypoint sets shared by every stage (detections, body models, fitting).

The detection layout is COCO-17 followed by the 6 COCO-WholeBody foot points
(23 points). Index constants here are the only place those orders are written.
"""

from __future__ import annotations

COCO17 = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

FEET6 = (
    "left_big_toe",
    "left_small_toe",
    "left_heel",
    "right_big_toe",
    "right_small_toe",
    "right_heel",
)

COCO23 = COCO17 + FEET6
"""COCO-17 + the 6 COCO-WholeBody foot points: the layout of ``Detections.keypoints``."""

H36M17 = (
    "pelvis",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
    "spine",
    "thorax",
    "neck_nose",
    "head_top",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
)

COCO17_LIMBS = (
    (5, 7), (7, 9), (6, 8), (8, 10),  # arms
    (11, 13), (13, 15), (12, 14), (14, 16),  # legs
    (5, 6), (11, 12), (5, 11), (6, 12),  # torso
    (0, 1), (0, 2), (1, 3), (2, 4),  # face
)
COCO23_LIMBS = COCO17_LIMBS + ((15, 17), (15, 18), (15, 19), (16, 20), (16, 21), (16, 22))

# The 12 limb joints (shoulders, elbows, wrists, hips, knees, ankles) and the nose.
LIMB_JOINTS_AND_NOSE = (0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)


def flip_permutation(names: tuple[str, ...]) -> tuple[int, ...]:
    """Index permutation that swaps left and right: ``flipped = points[..., perm, :]``."""
    index = {n: i for i, n in enumerate(names)}

    def mirror(name: str) -> str:
        if name.startswith("left_"):
            return "right_" + name[5:]
        if name.startswith("right_"):
            return "left_" + name[6:]
        return name

    return tuple(index[mirror(n)] for n in names)
