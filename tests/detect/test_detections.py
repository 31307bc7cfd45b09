"""Detections: the typed 2D evidence between the detect stage and the rest."""

import pytest

from mvmocap.errors import InputError


def test_subset_frames_slices_every_per_frame_array():
    import numpy as np

    from mvmocap.detect.detections import Detections

    C, F = 2, 5
    rng = np.random.default_rng(0)
    det = Detections(
        camera_names=("a", "b"), frame_ids=np.arange(10, 10 + F), keypoints=rng.random((C, F, 23, 3)).astype(np.float32),
        boxes=rng.random((C, F, 5)).astype(np.float32), image_sizes=np.array([[640, 480]] * C), fps=np.array([30.0, 30.0]),
        detector="test", mono3d=rng.random((C, F, 23, 4)).astype(np.float32),
        masks=[[f"m{c}{f}" for f in range(F)] for c in range(C)],
    )
    part = det.subset_frames([4, 0])
    assert part.frame_ids.tolist() == [14, 10] and part.num_frames == 2
    assert np.array_equal(part.keypoints, det.keypoints[:, [4, 0]]) and np.array_equal(part.boxes, det.boxes[:, [4, 0]])
    assert np.array_equal(part.mono3d, det.mono3d[:, [4, 0]])
    assert part.masks == [["m04", "m00"], ["m14", "m10"]]
    with pytest.raises(InputError, match="frame positions"):
        det.subset_frames([5])
