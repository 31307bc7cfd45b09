from dataclasses import replace

import numpy as np

from mvmocap.keypoints import COCO23, flip_permutation
from mvmocap.sync.swaps import unswap_with_cameras
from mvmocap.sync.synthetic import make_unsynced_capture


def test_a_long_run_of_swapped_frames_is_turned_back_by_the_other_cameras():
    true = np.array([0.0, 2.5, -1.0, 1.5])
    cap = make_unsynced_capture(true, num_frames=60, seed=4, noise_px=1.0, missing=0.05)
    perm = np.array(flip_permutation(COCO23))
    kp = cap.tracks[2].keypoints.copy()
    kp[10:40] = kp[10:40][:, perm]  # 30 frames: too long for the correction in time alone
    tracks = list(cap.tracks)
    tracks[2] = replace(tracks[2], keypoints=kp)
    fixed, flipped = unswap_with_cameras(tracks, cap.rig, np.ones(4), np.round(true))  # whole-frame offsets
    assert flipped[2] >= 28 and flipped[[0, 1, 3]].sum() == 0
    assert np.abs(fixed[2].keypoints - cap.tracks[2].keypoints)[5:45].max() < 1e-9
    # two cameras: nothing to triangulate from, the tracks are returned as they are
    two, none = unswap_with_cameras(tracks[1:3], cap.rig, np.ones(2), true[1:3])
    assert none.sum() == 0 and two[1] is tracks[2]
