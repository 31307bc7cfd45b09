"""predict_views on MethodInputs: per-view bodies, missing views invalid, the single-view path finite."""

from __future__ import annotations

import numpy as np
import torch

from mvmocap.fit.inputs import MethodInputs
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.projection import project_points
from mvmocap.regressors.cra import inference
from mvmocap.regressors.cra.training import CRAMethod
from mvmocap.regressors.cra.views import ViewBodies
from mvmocap.train.checkpoint import save_checkpoint
from tests.conftest import ring_cameras
from tests.regressors.cra.conftest import TINY


def _inputs(toy_body, views: int, frames: int = 3, seed: int = 5) -> MethodInputs:
    rig = CameraRig.from_cameras(ring_cameras(views, np.random.default_rng(seed)))
    transl = torch.tensor([[0.0, 0.0, 0.95]]).repeat(frames, 1)
    up = torch.tensor([[torch.pi / 2, 0.0, 0.0]]).repeat(frames, 1)  # rest frame y-up -> world z-up
    joints = toy_body(global_orient=up, body_pose=torch.zeros(frames, 23, 3), transl=transl).coco23.double()
    px = project_points(joints[:, None], rig.K, rig.dist, rig.R, rig.t)  # (F, C, 23, 2)
    kp = torch.cat([px, torch.ones(*px.shape[:-1], 1, dtype=px.dtype)], -1)
    return MethodInputs(keypoints_2d=kp, rig=rig, body_model=toy_body)


def _checkpoint(tmp_path, toy_body):
    from mvmocap.synth.dataset import SynthConfig

    cfg = SynthConfig.from_dict({"views": 1, "render_size": 16, **CRAMethod.data_overrides})
    torch.manual_seed(2)
    options = {**TINY, "parts": 1}
    method = CRAMethod(options, cfg, toy_body)
    run = tmp_path / "checkpoint.pt"
    save_checkpoint(run, {"step": 1, "config": {"method": "cra", "model": options}, "model": method.state_dict()})
    return inference.export_checkpoint(run, tmp_path / "cra.pt")


def test_predict_views_shapes_and_missing_views(tmp_path, toy_body):
    ckpt = _checkpoint(tmp_path, toy_body)
    inputs = _inputs(toy_body, 3)
    inputs.keypoints_2d[1, 2, :, 2] = 0  # camera 3 lost the person in frame 1
    views = inference.predict_views(inputs, ckpt)
    assert isinstance(views, ViewBodies) and views.valid.shape == (3, 3)
    assert views.valid.sum() == 8 and not bool(views.valid[1, 2])
    for value in (views.global_orient, views.body_pose, views.betas, views.weak_camera, views.residual, views.crops):
        assert torch.isfinite(value).all()
    rot = views.global_orient[views.valid]
    assert torch.allclose(rot @ rot.transpose(-1, -2), torch.eye(3).expand_as(rot), atol=1e-4)
    assert (views.residual[views.valid] > 0).all() and views.residual[1, 2] == 0
    # the crops sit around the person: the projected hips are inside each crop
    hips = inputs.keypoints_2d[..., 11:13, :2].mean(-2).float()
    ok = views.valid
    assert ((hips - views.crops[..., :2]).abs() < views.crops[..., 2:] / 2)[ok].all()
    assert views.crops[~ok].abs().sum() == 0


def test_single_view_path_gives_a_finite_body(tmp_path, toy_body):
    ckpt = _checkpoint(tmp_path, toy_body)
    views = inference.predict_views(_inputs(toy_body, 1, frames=2), ckpt)
    assert views.valid.all() and views.valid.shape == (2, 1)
    out = toy_body(global_orient=views.global_orient[:, 0], body_pose=views.body_pose[:, 0], betas=views.betas[:, 0])
    assert torch.isfinite(out.vertices).all()


def test_nobody_seen_gives_all_invalid(tmp_path, toy_body):
    ckpt = _checkpoint(tmp_path, toy_body)
    inputs = _inputs(toy_body, 2)
    inputs.keypoints_2d[..., 2] = 0
    views = inference.predict_views(inputs, ckpt)
    assert not views.valid.any() and views.residual.abs().sum() == 0


def test_iuv_crops_resample_into_the_square_crop(gen):
    """A DensePose crop over a square box, read back into the same square: the labels come back."""
    S = 16
    part = torch.randint(0, 25, (1, 1, S, S), generator=gen)
    uv = torch.randint(0, 256, (1, 2, S, S), generator=gen)
    iuv = torch.cat([part, uv], 1).to(torch.uint8)
    boxes = torch.tensor([[100.0, 200.0, 164.0, 264.0]])  # 64 px side, pixel edges
    crops = torch.tensor([[131.5, 231.5, 64.0]])  # centre and side of the same square, pixel centres
    K = torch.tensor([[[1000.0, 0, 540], [0, 1000.0, 960], [0, 0, 1]]])
    labels = inference.iuv_into_crops(iuv, boxes, crops, S, K, None)
    assert labels.shape == (1, 3, S, S)
    assert torch.equal(labels[0, 0], part[0, 0].float())
    assert torch.allclose(labels[0, 1:], uv[0].float() / 255.0)


def test_synthetic_view_bodies_on_a_benchmark_batch(tmp_path, toy_body, tiny_batch):
    ckpt = _checkpoint(tmp_path, toy_body)
    _, batch = tiny_batch
    views = inference.synthetic_view_bodies(batch, toy_body, ckpt)
    B, C = batch["R"].shape[:2]
    assert views.valid.shape == (B, C) and views.valid.any()
    assert torch.isfinite(views.global_orient).all() and (views.residual[views.valid] > 0).all()
    labels = inference.synthetic_labels(batch, toy_body, 16, 24)
    assert labels.shape == (B * C, 3, 16, 16) and labels[:, 0].max() <= 24 and (labels[:, 0] > 0).any()


def test_detector_masks_become_the_silhouette_in_the_crop(toy_body):
    """A rectangular person mask (the detector's, at half resolution) lands in the crop as the silhouette;
    a frame without a mask keeps the keypoint crop and an empty silhouette."""
    from mvmocap.detect.detections import Detections
    from mvmocap.detect.masks import rle_encode
    from mvmocap.regressors.cra.model import DEFAULT_OPTIONS

    inputs = _inputs(toy_body, 1, frames=2)
    rig = inputs.rig
    W, H = (int(v) for v in rig.sizes[0].tolist())
    kp = inputs.keypoints_2d[:, 0, :, :2]
    x0, y0 = kp.amin((0, 1)).tolist()
    x1, y1 = kp.amax((0, 1)).tolist()
    low = np.zeros((H // 2, W // 2), bool)
    low[int(y0 / 2):int(y1 / 2), int(x0 / 2):int(x1 / 2)] = True
    detections = Detections(
        camera_names=tuple(rig.names), frame_ids=np.arange(2), keypoints=inputs.keypoints_2d.permute(1, 0, 2, 3).numpy().astype(np.float32),
        boxes=np.zeros((1, 2, 5), np.float32), image_sizes=np.array([[W, H]]), fps=np.array([60.0]), detector="test",
        masks=[[rle_encode(low), None]])
    inputs.extras["detections"] = detections
    options = {**DEFAULT_OPTIONS, "crop": 16, "parts": 1}
    evidence, crops, valid = inference.real_evidence(inputs, options)
    assert valid.all() and evidence.dense.shape == (2, 3, 16, 16)
    sil = evidence.dense[:, 0]
    rows, cols = sil[0].any(1).float().sum(), sil[0].any(0).float().sum()
    assert max(rows, cols) >= 0.75 * 16  # the mask's longer side spans 1 / 1.2 of the crop
    assert sil[0].sum() == rows * cols  # a filled rectangle
    assert sil[1].abs().sum() == 0  # frame 1 had no mask
    centre = torch.tensor([(x0 + x1) / 2, (y0 + y1) / 2])
    assert (crops[0, 0, :2] - centre).abs().max() < 0.1 * crops[0, 0, 2]  # the crop around the mask


def test_view_bodies_frames_selects_every_field(tmp_path, toy_body):
    views = inference.predict_views(_inputs(toy_body, 2, frames=4), _checkpoint(tmp_path, toy_body))
    picked = views.frames(torch.tensor([3, 1]))
    assert picked.num_frames == 2 and picked.num_views == 2
    for name in ("global_orient", "body_pose", "betas", "weak_camera", "crops", "residual", "valid"):
        assert torch.equal(getattr(picked, name), getattr(views, name)[[3, 1]]), name
