"""``--method cmanet``: CMANet's inter-view module on CRA's per-view bodies (mvmocap/regressors/cmanet/on_cra.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mvmocap.errors import FileFormatError, InputError
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.regressors.cmanet import on_cra
from mvmocap.regressors.cmanet.on_cra import CaptureViews, ViewFusion, load_fusion, save_fusion, stage2_loss
from mvmocap.regressors.cra.views import ViewBodies
from mvmocap.synth.dataset import load_body
from tests.reconstruct.test_pipeline import EXAMPLE, capture  # noqa: F401  (module fixture)

F, C = 6, 3


@pytest.fixture(scope="module")
def body():
    return load_body(None)


def _views(seed: int = 0) -> ViewBodies:
    g = torch.Generator().manual_seed(seed)
    valid = torch.ones(F, C, dtype=torch.bool)
    valid[0, 2] = False
    return ViewBodies(
        global_orient=axis_angle_to_matrix(torch.randn(F, C, 3, generator=g)),
        body_pose=axis_angle_to_matrix(0.3 * torch.randn(F, C, 23, 3, generator=g)),
        betas=0.5 * torch.randn(F, C, 10, generator=g),
        weak_camera=torch.cat([torch.full((F, C, 1), 0.8), 0.1 * torch.randn(F, C, 2, generator=g)], -1),
        crops=torch.tensor([500.0, 900.0, 600.0]).expand(F, C, 3).clone(),
        residual=torch.rand(F, C, generator=g), valid=valid)


def test_the_untrained_module_returns_the_screened_start():
    views = _views()
    with torch.no_grad():
        out = ViewFusion().eval()(views)
    torch.testing.assert_close(out.global_orient, views.global_orient, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.weak_camera, views.weak_camera)
    best = torch.where(views.valid, views.residual, torch.full_like(views.residual, float("inf"))).argmin(-1)
    for f in range(F):
        for c in range(C):  # every view carries the least-residual view's body (pose and shape)
            torch.testing.assert_close(out.body_pose[f, c], views.body_pose[f, best[f]], atol=1e-5, rtol=0)
            torch.testing.assert_close(out.betas[f, c], views.betas[f, best[f]])
    assert best[0] != 2 or views.residual[0, 2] > views.residual[0].min()  # an unseen view is never chosen


def _consistent_capture(body) -> CaptureViews:
    """Views that disagree with the targets, whose keypoints are those of the targets' body (no ground truth:
    the targets stand for the multi-view SMPLify of the views)."""
    views, target = _views(1), _views(2)
    pose, betas = target.body_pose[:, 0], target.betas[:, 0]
    out = body(global_orient=target.global_orient.reshape(F * C, 3, 3),
               body_pose=pose[:, None].expand(F, C, 23, 3, 3).reshape(F * C, 23, 3, 3),
               betas=betas[:, None].expand(F, C, 10).reshape(F * C, 10))
    joints = out.coco23[:, :17].reshape(F, C, 17, 3).float()
    root = joints[..., [11, 12], :].mean(-2, keepdim=True)
    weak = views.weak_camera
    uv = weak[..., None, :1] * ((joints - root)[..., :2] + weak[..., None, 1:])
    confidence = torch.ones(F, C, 17) * views.valid[..., None]
    return CaptureViews(views, uv, confidence, target.global_orient, pose, betas)


def test_stage_two_lowers_its_loss_and_changes_only_the_inter_view_module(body):
    data = _consistent_capture(body)
    model = ViewFusion()
    with torch.no_grad():
        before, _ = stage2_loss(model.eval()(data.views), data, body)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)  # the training loop is adapt's (tests/adapt)
    model.train()
    for step in range(40):
        batch = data.frames(torch.randint(F, (4,), generator=torch.Generator().manual_seed(step)))
        loss, _ = stage2_loss(model(batch.views), batch, body)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after, parts = stage2_loss(model.eval()(data.views), data, body)
    assert float(after) < 0.7 * float(before), (float(before), parts)
    assert all(name.startswith("inter.") for name, _ in model.named_parameters())  # CMANet's IEV, nothing of CRA


def test_checkpoints_round_trip_and_refusals(tmp_path, monkeypatch):
    model = ViewFusion({"model": 32, "heads": 2})
    torch.nn.init.normal_(model.inter.body_head.weight, generator=torch.Generator().manual_seed(0))
    path = save_fusion(model, tmp_path / "cmanet.pt")
    loaded = load_fusion(path)
    assert loaded.options["model"] == 32
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    other = tmp_path / "other.pt"
    torch.save({"format": "mvmocap-regressor/1", "name": "volumetric", "weights": {}}, other)
    with pytest.raises(FileFormatError, match="not a cmanet checkpoint.*volumetric"):
        on_cra.check_checkpoint(other)
    monkeypatch.delenv(on_cra.CHECKPOINT_ENV, raising=False)
    assert on_cra.checkpoint_file(None) == on_cra.SHIPPED or not on_cra.SHIPPED.is_file()  # the default: shipped
    monkeypatch.setattr(on_cra, "SHIPPED", tmp_path / "missing.pt")  # a source tree without the model files
    with pytest.raises(InputError, match="needs a checkpoint"):
        load_fusion(None)
    monkeypatch.setenv(on_cra.CHECKPOINT_ENV, str(path))
    assert load_fusion(None).options["model"] == 32


def test_reconstruct_method_cmanet(capture, tmp_path):  # noqa: F811
    """Registered: ``reconstruct --method cmanet --checkpoint FILE`` runs (CRA's views -> the module -> the
    world); another method's checkpoint, or none, is refused with one line, before any work."""
    from mvmocap.cli.main import app
    from mvmocap.methods import regressor_specs
    from mvmocap.regressors.cra.inference import checkpoint_file as cra_checkpoint
    from mvmocap.regressors.volumetric.inference import SHIPPED as VOLUMETRIC

    assert "cmanet" in regressor_specs()
    if not cra_checkpoint(None).is_file() or not VOLUMETRIC.is_file():
        pytest.skip("no shipped CRA / volumetric checkpoint")
    root, _, _ = capture
    common = ["reconstruct", str(root / "videos"), "--keypoints", str(root / "json"), "--calibration",
              str(EXAMPLE / "calibration.yaml"), "--frames", "0:6", "--method", "cmanet", "-q"]
    checkpoint = save_fusion(ViewFusion(), tmp_path / "cmanet.pt")
    result = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "ok"), "--checkpoint", str(checkpoint)])
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "ok" / "smpl_params.npz") as data:
        valid = data["valid"].astype(bool)
        assert valid.sum() >= 3 and np.isfinite(data["poses"][valid]).all()  # NOBODY frames: invalid (NaN in the file)
    refused = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "no"), "--checkpoint", str(VOLUMETRIC)])
    assert refused.exit_code == 2 and refused.output.startswith("error:") and "not a cmanet checkpoint" in refused.output
    assert len(refused.output.strip().splitlines()) == 1 and not (tmp_path / "no").exists()


def test_capture_views_puts_the_keypoints_in_each_crop_and_fits_the_views(body):
    """Stage 2's data from a synthetic capture's ``MethodInputs`` (2D evidence and cameras only) and CRA's views."""
    from mvmocap.adapt.captures import capture_from_detections
    from mvmocap.geometry.projection import normalized_to_pixels, undistort_points
    from mvmocap.regressors.cmanet.on_cra import capture_views
    from mvmocap.regressors.cra.inference import checkpoint_file as cra_checkpoint, predict_views
    from mvmocap.synth.motion import MotionConfig
    from mvmocap.synth.sequence import SequenceConfig, synthetic_capture

    if not cra_checkpoint(None).is_file():
        pytest.skip("no shipped CRA checkpoint")
    sc = synthetic_capture(body, SequenceConfig(cameras=3, condition="noisy", motion=MotionConfig(frames=4)), seed=5, index=0)
    inputs = capture_from_detections("synthetic", sc.detections, sc.rig, body).inputs
    views = predict_views(inputs)
    data = capture_views(inputs, views, body)
    assert bool(views.valid.any())
    kp = torch.as_tensor(inputs.keypoints_2d).to(torch.float64)[..., :17, :]
    rig = inputs.rig.to(dtype=torch.float64)
    ideal = normalized_to_pixels(undistort_points(kp[..., :2], rig.K, rig.dist), rig.K)
    crops = views.crops.to(torch.float64)
    back = data.uv.to(torch.float64) * crops[..., None, 2:] / 2 + crops[..., None, :2]
    seen = data.confidence > 0
    assert bool(seen.any()) and torch.allclose(back[seen], ideal[seen], atol=1e-2)
    assert not bool((data.confidence[~views.valid] > 0).any())
    eye = torch.eye(3).expand_as(data.pose)
    assert torch.allclose(data.pose @ data.pose.transpose(-1, -2), eye, atol=1e-4)
    assert data.orient.shape == views.global_orient.shape and torch.isfinite(data.betas).all()


def test_view_targets_stay_finite_with_a_view_that_did_not_see_the_person(body):
    """A view CRA did not run on has no crop (side 0); its weak camera must not make the targets NaN."""
    from mvmocap.regressors.cmanet.on_cra import view_targets

    views = _views(1)
    views.crops[0, 2] = 0.0  # as predict_views leaves an invalid view (crops * valid)
    g = torch.Generator().manual_seed(2)
    kp23 = torch.cat([torch.rand(F, C, 23, 2, generator=g, dtype=torch.float64) * 200 + 400,
                      torch.ones(F, C, 23, 1, dtype=torch.float64)], -1)
    kp23[..., 2] *= views.valid[..., None].to(torch.float64)
    K = torch.tensor([[1000.0, 0.0, 960.0], [0.0, 1000.0, 540.0], [0.0, 0.0, 1.0]]).expand(C, 3, 3)
    orient, pose, betas = view_targets(kp23, views, K, body)
    assert torch.isfinite(orient).all() and torch.isfinite(pose).all() and torch.isfinite(betas).all()
