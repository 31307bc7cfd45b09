"""OpenPose JSON import/export: layout conversions, files, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.io.openpose import (
    LAYOUT_SIZES,
    export_camera,
    find_camera_folder,
    frame_files,
    from_coco23,
    layout_for,
    read_frame,
    to_coco23,
)
from mvmocap.keypoints import COCO23

BODY25_NAMES = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
                "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
                "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
                "left_heel", "right_big_toe", "right_small_toe", "right_heel")
COCO18_NAMES = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
                "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
                "right_eye", "left_eye", "right_ear", "left_ear")
HALPE26_NAMES = COCO23[:17] + ("head", "neck", "hip", "left_big_toe", "right_big_toe", "left_small_toe",
                               "right_small_toe", "left_heel", "right_heel")
NAMES = {"body25": BODY25_NAMES, "coco18": COCO18_NAMES, "halpe26": HALPE26_NAMES}


def named_points(names, rng):
    """Points whose x encodes the joint's name (its index in COCO23, or 100 + i if not there)."""
    pts = rng.uniform(1, 2, (len(names), 3)).astype(np.float32)
    for i, n in enumerate(names):
        pts[i, 0] = COCO23.index(n) if n in COCO23 else 100 + i
    return pts


@pytest.mark.parametrize("layout", ["body25", "coco18", "halpe26"])
def test_to_coco23_maps_by_name(layout, rng):
    names = NAMES[layout]
    assert len(names) == LAYOUT_SIZES[layout] and layout_for(len(names)) == layout
    ours = to_coco23(named_points(names, rng), layout)
    for j, name in enumerate(COCO23):
        if name in names:
            assert ours[j, 0] == j, name
        else:
            assert np.all(ours[j] == 0), name


@pytest.mark.parametrize("layout", ["body25", "coco18", "halpe26"])
@pytest.mark.parametrize("batch", [(), (1,), (2, 3)])
def test_round_trip_through_each_layout(layout, batch, rng):
    ours = rng.uniform(0, 1000, batch + (23, 3)).astype(np.float32)
    back = to_coco23(from_coco23(ours, layout), layout)
    present = np.array([n in NAMES[layout] for n in COCO23])
    np.testing.assert_array_equal(back[..., present, :], ours[..., present, :])
    assert np.all(back[..., ~present, :] == 0)


def test_derived_neck_and_midhip(rng):
    ours = rng.uniform(0, 1000, (23, 3)).astype(np.float32)
    body = from_coco23(ours, "body25")
    np.testing.assert_allclose(body[1, :2], (ours[5, :2] + ours[6, :2]) / 2)
    assert body[1, 2] == min(ours[5, 2], ours[6, 2])
    np.testing.assert_allclose(body[8, :2], (ours[11, :2] + ours[12, :2]) / 2)
    ours[5, 2] = 0
    assert np.all(from_coco23(ours, "body25")[1] == 0)


def test_unknown_layout():
    with pytest.raises(InputError, match="17 points"):
        layout_for(17)


def test_export_then_read(tmp_path, rng):
    kp = rng.uniform(0, 1000, (3, 23, 3)).astype(np.float32)
    kp[..., 2] = rng.uniform(0.1, 1, (3, 23))
    kp[1, :, 2] = 0  # nobody in frame 1
    folder = export_camera(tmp_path, "cam01", np.array([10, 11, 12]), kp)
    assert folder == tmp_path / "cam01_json" == find_camera_folder(tmp_path, "cam01")
    files = frame_files(folder)
    assert sorted(files) == [10, 11, 12]
    assert files[10].name == "cam01_000000000010_keypoints.json"
    assert read_frame(files[11]).shape == (0, 23, 3)
    got = read_frame(files[12])[0]  # BODY_25 has all 23 of our points
    np.testing.assert_allclose(got, kp[2], atol=1e-3)


def test_read_several_people_and_halpe(tmp_path, rng):
    people = [rng.uniform(0, 100, 26 * 3).tolist() for _ in range(2)]
    path = tmp_path / "x_000000000000_keypoints.json"
    path.write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": p} for p in people]}))
    got = read_frame(path)
    assert got.shape == (2, 23, 3)
    np.testing.assert_allclose(got[1, :17], np.reshape(people[1], (26, 3))[:17], rtol=1e-6)


def test_bad_files(tmp_path):
    bad = tmp_path / "a_000000000001_keypoints.json"
    bad.write_text("{not json")
    with pytest.raises(FileFormatError, match="a_000000000001_keypoints.json"):
        read_frame(bad)
    bad.write_text(json.dumps({"people": [{"pose_keypoints_2d": [0.0] * 51}]}))
    with pytest.raises(FileFormatError, match="17 points"):
        read_frame(bad)
    (tmp_path / "nonumber.json").write_text("{}")
    with pytest.raises(FileFormatError, match="frame number"):
        frame_files(tmp_path)
    with pytest.raises(MissingFileError):
        frame_files(tmp_path / "none")
    with pytest.raises(MissingFileError):
        find_camera_folder(tmp_path, "cam09")


def test_non_finite_and_far_points_become_missing_and_are_counted(tmp_path, rng):
    from mvmocap.io.openpose import read_frame_counted

    points = rng.uniform(10, 900, (25, 3))
    points[:, 2] = rng.uniform(0.3, 1, 25)
    points[0, 0] = np.nan  # nose x
    points[2, 1] = 1e30  # right shoulder y
    points[5, 2] = np.inf  # left shoulder confidence
    path = tmp_path / "x_000000000000_keypoints.json"
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": points.reshape(-1).tolist()}]}))  # writes NaN, 1e+30
    people, invalid = read_frame_counted(path)
    assert invalid == 3
    assert np.isfinite(people).all()
    np.testing.assert_array_equal(people[0, 0], 0)  # nose: missing, never x = 0 with confidence 1
    np.testing.assert_array_equal(people[0, 6], 0)  # BODY_25 2 = right shoulder = COCO23 6
    np.testing.assert_array_equal(people[0, 5], 0)  # BODY_25 5 = left shoulder = COCO23 5
    np.testing.assert_allclose(people[0, 7], points[6], rtol=1e-6)  # the others are kept
    assert read_frame(path).shape == (1, 23, 3)


def test_deep_json_is_refused(tmp_path):
    path = tmp_path / "x_000000000000_keypoints.json"
    path.write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(FileFormatError, match="x_000000000000_keypoints.json: refused JSON: nested"):
        read_frame(path)
