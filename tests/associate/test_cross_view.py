"""Cross-view association on synthetic rays and scenes."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.associate import associate, track
from mvmocap.associate.cross_view import ray_distances, triangulate_normalized
from mvmocap.errors import InputError
from mvmocap.synth.crowd import crossing_walks, observe, ring_rig


def test_ray_distances_of_skew_parallel_and_crossing_rays():
    origin_a, origin_b = np.zeros(3), np.array([0.0, 0.0, 2.0])
    x, y = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    assert ray_distances(origin_a, x, origin_b, y) == pytest.approx(2.0)  # skew: z gap
    assert ray_distances(origin_a, x, origin_b, x) == pytest.approx(2.0)  # parallel
    assert ray_distances(origin_a, x, np.array([3.0, -1, 0]), y) == pytest.approx(0.0, abs=1e-12)  # they meet


def test_linear_triangulation_is_exact_without_noise():
    rig = ring_rig(3)
    points = np.array([[0.1, -0.2, 1.0], [0.5, 0.3, 1.5]])
    px = rig.project(points[None]).numpy()[0]  # (C, 2, 2)
    K = rig.K.numpy()
    xy = (px - K[:, None, :2, 2]) / K[:, None, [0, 1], [0, 1]]
    solved, ok = triangulate_normalized(xy, np.ones((3, 2)), rig.R.numpy(), rig.t.numpy())
    assert ok.all() and np.allclose(solved, points, atol=1e-9)


def test_association_on_synthetic_rays_groups_each_person_across_all_views():
    rng = np.random.default_rng(0)
    rig = ring_rig(5)
    joints, _ = crossing_walks(3, 6, rng)
    scene = observe(rig, joints, np.ones((3, 6), bool), rng, noise=0.0, outliers=0.0)
    clusters = associate(scene.keypoints, scene.boxes, rig)
    for f, frame in enumerate(clusters):
        for cluster in frame:
            labels = {scene.truth[c, f, s] for c, s in cluster.views.items()}
            assert len(labels) == 1  # never two people in one cluster
        three_d = [c for c in frame if c.is_3d]
        seen = [int((scene.truth[:, f] == n).any(-1).sum()) for n in range(3)]
        assert len(three_d) == sum(v >= 2 for v in seen)  # one cluster per person seen twice or more
        for cluster in three_d:
            n = scene.truth[next(iter(cluster.views.items()))[0], f, next(iter(cluster.views.values()))]
            assert len(cluster.views) == seen[n]  # all of that person's views, not a pairwise piece
            truth_root = joints[n, f, [5, 6, 11, 12]].mean(0)
            assert np.linalg.norm(cluster.root - truth_root) < 1e-6


def test_person_seen_by_one_camera_stays_a_2d_track():
    rng = np.random.default_rng(1)
    rig = ring_rig(4)
    joints, _ = crossing_walks(2, 20, rng)
    scene = observe(rig, joints, np.ones((2, 20), bool), rng)
    hide = (scene.truth == 1) & (np.arange(4) != 0)[:, None, None]  # person 1 only in camera 0
    keypoints, boxes = scene.keypoints.copy(), scene.boxes.copy()
    keypoints[hide], boxes[hide] = 0, 0
    clusters = associate(keypoints, boxes, rig)
    assert all(sum(c.is_3d for c in frame) == 1 for frame in clusters)
    tracking = track(clusters, keypoints, boxes, rig)
    assert len(tracking.tracks) == 1 and tracking.tracks[0].frames_3d == 20
    person_1 = [t for t in tracking.tracks_2d if t.frames >= 15]
    assert len(person_1) == 1 and person_1[0].camera == 0
    c0 = scene.truth[0, np.arange(20), np.maximum(person_1[0].slots, 0)]
    assert np.all(c0[person_1[0].slots >= 0] == 1)


def test_empty_frames_give_no_clusters_and_tracks_survive_them():
    rng = np.random.default_rng(2)
    rig = ring_rig(4)
    joints, _ = crossing_walks(2, 30, rng)
    scene = observe(rig, joints, np.ones((2, 30), bool), rng)
    keypoints, boxes = scene.keypoints.copy(), scene.boxes.copy()
    keypoints[:, 10:15], boxes[:, 10:15] = 0, 0
    clusters = associate(keypoints, boxes, rig)
    assert all(clusters[f] == [] for f in range(10, 15))
    tracking = track(clusters, keypoints, boxes, rig)
    assert len(tracking.tracks) == 2 and all(t.frames_3d == 25 for t in tracking.tracks)
    empty = associate(np.zeros((4, 3, 2, 23, 3)), np.zeros((4, 3, 2, 5)), rig)
    assert empty == [[], [], []]
    assert track(empty, np.zeros((4, 3, 2, 23, 3)), np.zeros((4, 3, 2, 5)), rig).tracks == []


def test_bad_shapes_are_refused():
    with pytest.raises(InputError, match="keypoints"):
        associate(np.zeros((4, 3, 23, 3)), np.zeros((4, 3, 5)), ring_rig(4))
    with pytest.raises(InputError, match="cameras"):
        associate(np.zeros((3, 2, 1, 23, 3)), np.zeros((3, 2, 1, 5)), ring_rig(4))
