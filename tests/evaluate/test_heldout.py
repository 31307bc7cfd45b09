"""Held-out-camera evaluation: errors in a camera the method did not use."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.evaluate.heldout import evaluate_heldout_cameras, heldout_errors
from mvmocap.io.calibration import load_rig
from mvmocap.reconstruct import ReconstructConfig

from tests.reconstruct.test_pipeline import EXAMPLE, FAST_FIT, FRAMES, NOBODY, capture  # noqa: F401  (fixture)


def test_errors_are_pixel_distances_where_both_exist():
    rig = load_rig(EXAMPLE / "calibration.yaml").subset(["cam02"])
    rng = np.random.default_rng(0)
    points = torch.from_numpy(rng.normal([0, 0, 1.0], 0.3, (5, 23, 3)))
    uv = rig.project(points)[:, 0]
    detections = torch.cat([uv + torch.tensor([3.0, 4.0], dtype=torch.float64), torch.ones(5, 23, 1, dtype=torch.float64)], -1)
    detections[0, 2, 2] = 0.1  # below the threshold: missing
    valid = torch.tensor([True, True, True, False, True])
    errors, mask = heldout_errors(points, valid, rig, detections, min_confidence=0.2)
    assert errors.shape == mask.shape == (5, 17)
    assert not mask[0, 2] and not mask[3].any() and mask.sum() == 4 * 17 - 1
    assert torch.allclose(errors[mask], torch.full_like(errors[mask], 5.0))
    assert (errors[~mask] == 0).all()
    per_point = torch.ones(5, 23, dtype=torch.bool)
    per_point[1, :5] = False
    _, mask_points = heldout_errors(points, per_point, rig, detections, min_confidence=0.2)
    assert not mask_points[1, :5].any() and mask_points[3].all()


def test_folds_on_exact_keypoints(capture, tmp_path):
    """Exact synthetic keypoints: triangulation from 3 cameras lands on the 4th's detections (floor ~0),
    the fit within a few pixels; every method is its own reference's ratio 1."""
    root, _, _ = capture
    config = ReconstructConfig.from_dict({"fit": FAST_FIT, "detect": {"frames": f"0:{FRAMES}"}})
    result = evaluate_heldout_cameras(root / "videos", EXAMPLE / "calibration.yaml", tmp_path / "h", methods=["fit"],
                                      keypoints_dir=root / "json", config=config, cameras=["cam04"], draws=200)
    assert [f.camera for f in result.folds] == ["cam04"]
    for fold in result.folds:
        assert fold.subset == ("cam01", "cam02", "cam03")
        assert len(fold.subset) == 3 and fold.camera not in fold.subset
        assert fold.floor_px < 0.5
        assert fold.median_px["fit"] < 8.0
        assert fold.ratio["fit"] == pytest.approx(1.0) and fold.interval["fit"] == pytest.approx((1.0, 1.0))
        assert fold.frames == FRAMES - len(NOBODY)
    assert "cam04 held out" in result.to_text()
    json.dumps(result.to_dict())
    again = evaluate_heldout_cameras(root / "videos", EXAMPLE / "calibration.yaml", tmp_path / "h", methods=["fit"],
                                     keypoints_dir=root / "json", config=config, cameras=["cam04"], draws=200)
    assert again.folds[0].median_px == result.folds[0].median_px  # the finished fold was reused


def test_needs_three_cameras_and_known_names(capture, tmp_path):
    root, _, _ = capture
    with pytest.raises(InputError, match="unknown held-out camera"):
        evaluate_heldout_cameras(root / "videos", EXAMPLE / "calibration.yaml", tmp_path / "h", methods=["fit"],
                                 keypoints_dir=root / "json", cameras=["cam9"])
    two = tmp_path / "two"
    two.mkdir()
    for name in ("cam01", "cam02"):
        (two / f"{name}.mp4").symlink_to((root / "videos" / f"{name}.mp4").resolve())
    with pytest.raises(InputError, match="at least 3 cameras"):
        evaluate_heldout_cameras(two, EXAMPLE / "calibration.yaml", tmp_path / "h2", methods=["fit"],
                                 keypoints_dir=root / "json")
