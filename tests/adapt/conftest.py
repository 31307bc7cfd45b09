"""A tiny synthetic reconstruct folder (3 cameras, 8 frames) and a tiny volumetric checkpoint.

The body is the default open body, not the toy capsule body: the Gauss-Newton fit's Jacobians
have a fast path for the real body model only (the toy body makes one fit take a minute)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvmocap.adapt.captures import capture_from_detections
from mvmocap.detect.cache import CameraDetections, save_camera, write_index
from mvmocap.io.calibration import save_rig
from mvmocap.io.smpl_params import SmplParamsFile, save_smpl_params
from mvmocap.keypoints import COCO23
from mvmocap.synth.dataset import SynthConfig, load_body
from mvmocap.synth.motion import MotionConfig
from mvmocap.synth.sequence import SequenceConfig, synthetic_capture
from mvmocap.train.checkpoint import save_checkpoint

SMALL = {"grid": 8, "side": 2.2, "crop": 32, "sigma": 1.0, "features": 8, "width": 8, "hidden": 64}
FRAMES = 8


@pytest.fixture
def needs_cra():
    """Skips a test of CRA or CMANet adaptation when the shipped CRA checkpoint (their stage 1) is absent."""
    from mvmocap.regressors.cra.inference import checkpoint_file

    if not checkpoint_file(None).is_file():
        pytest.skip("no shipped CRA checkpoint (CMANet's stage 1)")


@pytest.fixture
def small_source(monkeypatch):
    """CMANet's drift-guard source (both stages') made small: 1 capture of 6 frames."""
    from mvmocap.regressors.cmanet import source

    monkeypatch.setattr(source, "SOURCE_CAPTURES", 1)
    monkeypatch.setattr(source, "SOURCE_FRAMES", 6)


@pytest.fixture(scope="session")
def body_model():
    return load_body(None)


@pytest.fixture(scope="session")
def synthetic(body_model):
    """A synthetic capture (with its ground truth) and the Capture a reconstruct run would make of it."""
    sc = synthetic_capture(body_model, SequenceConfig(cameras=3, condition="noisy", motion=MotionConfig(frames=FRAMES)),
                           seed=3, index=0)
    return sc, capture_from_detections("synthetic", sc.detections, sc.rig, body_model)


def write_run_dir(out, synthetic_capture_, capture, body) -> None:
    """The files ``reconstruct`` leaves (the ones adapt reads) for ``capture``."""
    det = synthetic_capture_.detections
    for c, name in enumerate(det.camera_names):
        save_camera(out / "work", CameraDetections(
            name, det.detector, "test", det.frame_ids, det.frame_ids, det.keypoints[c], det.boxes[c],
            tuple(int(v) for v in det.image_sizes[c]), float(det.fps[c])))
    write_index(out / "work", list(det.camera_names), det.detector)
    save_rig(capture.inputs.rig, out / "cameras.yaml")
    save_smpl_params(out / "smpl_params.npz", SmplParamsFile(capture.fit.to(dtype=torch.float64), det.frame_ids, 30.0,
                                                             "neutral", body.name, body.file_hash))
    np.savez(out / "joints3d.npz", joint_names=np.array(COCO23), camera_names=np.array(det.camera_names),
             frame_ids=det.frame_ids, triangulated=capture.inputs.joints3d.numpy(),
             triangulated_confidence=capture.inputs.joints3d_confidence.numpy())


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory, synthetic, body_model):
    out = tmp_path_factory.mktemp("reconstruct")
    write_run_dir(out, *synthetic, body_model)
    return out


def tiny_checkpoint(path, body, method: str = "volumetric", seed: int = 0):
    """A small untrained volumetric network (or a checkpoint claiming another ``method``)."""
    from mvmocap.regressors.volumetric.training import VolumetricMethod

    torch.manual_seed(seed)
    net = VolumetricMethod(SMALL, SynthConfig.from_dict({"views": 3, **VolumetricMethod.data_overrides}), body)
    save_checkpoint(path, {"step": 1, "config": {"method": method, "model": SMALL, "body_model": None,
                                                 "data": {"views": 3}},
                           "model": net.state_dict(), "body_model_name": body.name})
    return path


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory, body_model):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "checkpoint.pt", body_model)
