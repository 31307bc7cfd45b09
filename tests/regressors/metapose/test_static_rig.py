"""MetaPose as the start of the static calibration (``calibrate --from-joints --init metapose``)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from mvmocap.calibrate import calibrate_from_joints
from mvmocap.calibrate.observations import prepare_observations
from mvmocap.calibrate.synthetic import SYNTHETIC_HEIGHT_M, make_capture
from mvmocap.errors import InputError, MissingFileError
from mvmocap.evaluate.calibration import compare_calibrations
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.geometry.weak_projection import weak_project
from mvmocap.regressors.metapose.inference import FORMAT
from mvmocap.regressors.metapose.model import NeuralOptimizer
from mvmocap.methods.registry import calibration_start, calibration_starts
from mvmocap.regressors.metapose.static_rig import metapose_start, observation_frame_cameras, weak_cameras



def save_untrained_checkpoint(path, steps=1):
    """A slim checkpoint of an untrained optimizer (its heads start at zero: S1+S2 = S1)."""
    net = NeuralOptimizer(steps=steps, layers=[16, "CC", 16])
    options = {"steps": steps, "architecture": "equivariant", "layers": [16, "CC", 16], "bone_prior": False,
               "outlier_weight": 0.0, "heatmap_components": 0}
    torch.save({"format": FORMAT, "name": "metapose", "options": options, "views": 4,
                "weights": net.state_dict(), "train_config": {}, "step": 0}, path)
    return path


@pytest.fixture(scope="module")
def capture():
    return make_capture(3, 60, seed=7)


def test_weak_cameras_put_the_reference_first_and_return_pixels():
    g = torch.Generator().manual_seed(3)
    joints = torch.randn(2, 17, 3, generator=g) * 0.4
    R_true = axis_angle_to_matrix(torch.randn(2, 3, 3, generator=g))
    scale, shift = 300 + 100 * torch.rand(2, 3, generator=g), 500 + 100 * torch.randn(2, 3, 2, generator=g)
    uv = weak_project(joints[:, None], R_true, scale, shift)
    mono = torch.einsum("bcij,bnj->bcni", R_true, joints)
    conf = torch.ones(2, 3, 17)
    for reference in (0, 2):
        R, s, t, valid = weak_cameras(uv, conf, mono, conf, reference=reference)
        # the body frame is the reference view's axes: R_c = R_true_c R_true_ref^T
        expected = R_true @ R_true[:, reference : reference + 1].transpose(-1, -2)
        assert torch.allclose(R, expected, atol=1e-4)
        body = torch.einsum("bij,bnj->bni", R_true[:, reference], joints)
        body = body - body.mean(-2, keepdim=True)  # the pose's origin is free: compare centred projections
        projected = weak_project(body[:, None], R, s, t)
        centred = lambda x: x - x.mean(-2, keepdim=True)  # noqa: E731
        assert torch.allclose(centred(projected), centred(uv), atol=0.05)  # pixels
        assert torch.allclose(s, scale, rtol=1e-4) and bool(valid.all())


def test_metapose_s1_start_calibrates_a_synthetic_capture(capture):
    result = calibrate_from_joints(capture.detections, capture.rig, height_m=SYNTHETIC_HEIGHT_M, progress=False,
                                   frame_cameras=metapose_start("s1"))
    assert result.report.initialisation == "metapose-s1"
    assert set(result.report.initial_costs) == {"metapose-s1"}  # today's starts were not tried
    assert 0 < result.report.initialisation_s < result.report.runtime_s
    comparison = compare_calibrations(result.rig, capture.rig)
    assert comparison.mean_rotation_error_deg < 0.5
    assert comparison.mean_center_error_pct < 1.0


def test_the_s2_start_loads_a_checkpoint_and_tries_every_focal_guess(capture, tmp_path):
    start = metapose_start("s2", save_untrained_checkpoint(tmp_path / "mp.pt"))
    result = calibrate_from_joints(capture.detections, None, height_m=SYNTHETIC_HEIGHT_M, progress=False,
                                   frame_cameras=start)
    assert len(result.report.initial_costs) == 3 and all(k.startswith("metapose f=") for k in result.report.initial_costs)
    assert compare_calibrations(result.rig, capture.rig).mean_rotation_error_deg < 1.0


def test_the_frame_cameras_of_observations_are_ray_aligned_and_timed(capture):
    frames = observation_frame_cameras(prepare_observations(capture.detections, capture.rig), "s1", label="x")
    assert frames.R.shape == (60, 3, 3, 3) and frames.valid.shape == (60, 3) and frames.valid.mean() > 0.9
    assert frames.ray_aligned and frames.seconds > 0 and frames.label == "x"


def test_init_choices_and_what_is_missing(capture, tmp_path, monkeypatch):
    assert calibration_start("auto") is None
    assert set(calibration_starts()) == {"metapose", "metapose-s1"}  # declared to the registry
    assert calibration_start("metapose-s1").keywords["label"] == "metapose-s1"
    with pytest.raises(InputError, match="--init must be one of auto, metapose, metapose-s1, got 'essential'"):
        calibration_start("essential")
    monkeypatch.setenv("MVMOCAP_METAPOSE_CHECKPOINT", str(tmp_path / "absent.pt"))
    with pytest.raises(MissingFileError, match="absent.pt"):
        calibration_start("metapose")
    obs = prepare_observations(replace(capture.detections, mono3d=None), None)
    with pytest.raises(InputError, match="monocular 3D"):
        observation_frame_cameras(obs)
