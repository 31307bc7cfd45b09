"""Identity tracking: crossings, occlusion, re-entry, selection, and the shared multi-person capture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mvmocap.associate import associate, select_tracks, track
from mvmocap.associate.tracking import Tracking, body_size
from mvmocap.evaluate.people import tracking_counts
from mvmocap.synth.crowd import crossing_walks, observe, ring_rig

DATA = Path(__file__).parent / "data" / "pose2sim_multiperson_people.npz"
CALIBRATION = Path(__file__).parents[2].parent / "shared" / "data" / "pose2sim_multiperson" / "calibration" / "Calib.qca.txt"


def _run(scene, rig):
    return track(associate(scene.keypoints, scene.boxes, rig), scene.keypoints, scene.boxes, rig)


@pytest.mark.parametrize("seed", [0, 1])
def test_identity_survives_a_crossing(seed):
    rng = np.random.default_rng(seed)
    rig = ring_rig(4)
    joints, _ = crossing_walks(2, 60, rng)
    gaps = np.linalg.norm(joints[0, :, 11, :2] - joints[1, :, 11, :2], axis=-1)
    assert gaps.min() < 1.0 < gaps.max()  # they do come close
    scene = observe(rig, joints, np.ones((2, 60), bool), rng)
    tracking = _run(scene, rig)
    kept, _ = select_tracks(tracking, 2, 10)
    counts = tracking_counts(scene.truth, kept, 2)
    assert counts["identity_switches"] == 0 and counts["false_people"] == 0 and counts["missed_frames"] == 0
    assert len(tracking.tracks) == 2


def test_reentry_after_leaving_restores_the_identity():
    rng = np.random.default_rng(0)
    rig = ring_rig(4)
    joints, _ = crossing_walks(2, 90, rng)
    present = np.ones((2, 90), bool)
    present[0, 30:75] = False  # longer than the tracks' patience (max_gap = 30)
    scene = observe(rig, joints, present, rng)
    tracking = _run(scene, rig)
    assert len(tracking.tracks) == 2
    returning = [t for t in tracking.tracks if t.reentries == 1]
    assert len(returning) == 1 and not returning[0].has_3d[30:75].any() and returning[0].has_3d[75:].all()
    assert tracking_counts(scene.truth, tracking.tracks, 2)["identity_switches"] == 0


def test_someone_else_entering_where_a_person_left_gets_a_new_identity():
    rng = np.random.default_rng(0)
    rig = ring_rig(4)
    joints, heights = crossing_walks(2, 90, rng)
    newcomer = joints[0].copy()
    newcomer[..., 2] *= 1.25  # a much taller person on the same path
    everyone = np.concatenate([joints, newcomer[None]])
    present = np.ones((3, 90), bool)
    present[0, 30:] = False
    present[2, :75] = False
    scene = observe(rig, everyone, present, rng)
    tracking = _run(scene, rig)
    assert len(tracking.tracks) == 3 and all(t.reentries == 0 for t in tracking.tracks)


def test_select_tracks_drops_passers_by_and_keeps_the_longest():
    rng = np.random.default_rng(3)
    rig = ring_rig(4)
    joints, _ = crossing_walks(3, 40, rng)
    present = np.ones((3, 40), bool)
    present[2, 6:] = False  # a passer-by for 6 frames
    present[1, :15] = False  # seen for 25 frames
    tracking = _run(observe(rig, joints, present, rng), rig)
    kept, dropped = select_tracks(tracking, 1, 10)
    assert [t.frames_3d for t in kept] == [40]
    reasons = sorted(dropped.values())
    assert len(reasons) == 2 and reasons[0].startswith("beyond") and reasons[1].startswith("short")
    assert select_tracks(Tracking([], []), 2, 10) == ([], {})


def test_body_size_needs_every_size_bone():
    joints = np.zeros((23, 3))
    joints[[5, 6]] = [[0.2, 0, 1.4], [-0.2, 0, 1.4]]
    joints[[11, 12]] = [[0.1, 0, 0.9], [-0.1, 0, 0.9]]
    joints[[13, 14]] = [[0.1, 0, 0.5], [-0.1, 0, 0.5]]
    joints[[15, 16]] = [[0.1, 0, 0.1], [-0.1, 0, 0.1]]
    conf = np.ones(23)
    assert body_size(joints, conf) == pytest.approx(np.hypot(0.1, 0.5) + 0.8)
    conf[15] = 0
    assert body_size(joints, conf) is None


@pytest.mark.skipif(not CALIBRATION.is_file(), reason="shared pose2sim_multiperson calibration absent")
def test_shared_capture_two_tracks_whose_positions_never_swap():
    from mvmocap.io.calibration import load_rig

    with np.load(DATA) as data:
        names = tuple(str(n) for n in data["camera_names"])
        keypoints, boxes = data["keypoints"], data["boxes"]
    rig = load_rig(CALIBRATION).subset(names)
    tracking = track(associate(keypoints, boxes, rig), keypoints, boxes, rig)
    kept, _ = select_tracks(tracking, 2, 10)
    assert len(kept) == 2 and all(t.frames_3d >= 90 for t in kept)
    assert all(t.frame_span == (0, 99) for t in kept)
    a, b = kept
    both = a.has_3d & b.has_3d
    centre_a, centre_b = np.median(a.roots[a.has_3d], 0), np.median(b.roots[b.has_3d], 0)
    assert np.linalg.norm(centre_a - centre_b) > 0.8
    own = np.linalg.norm(a.roots - centre_a, axis=1) + np.linalg.norm(b.roots - centre_b, axis=1)
    swapped = np.linalg.norm(a.roots - centre_b, axis=1) + np.linalg.norm(b.roots - centre_a, axis=1)
    assert np.all(own[both] < swapped[both])  # every frame: each track nearer its own place than the other's
    others = [t for t in tracking.tracks if t not in kept]
    assert all(t.frames_3d < 10 for t in others)  # bystanders: short tracks at most
