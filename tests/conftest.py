"""Shared fixtures: synthetic rigs and the shared real capture."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from mvmocap.geometry.camera import Camera, CameraRig

REPO = Path(__file__).resolve().parents[1]
SHARED_DEMO = REPO.parent / "shared" / "data" / "pose2sim_demo"

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on two cores: intra-op threads on top of them only contend (spin-waits;
    # measured 28 % more CPU time on four heavy files). Subprocesses the tests start inherit the setting.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)


def look_at(center: np.ndarray, target: np.ndarray, up=(0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """World -> camera ``R (3, 3)``, ``t (3,)`` of an OpenCV camera at ``center`` looking at ``target``."""
    z = target - center
    z = z / np.linalg.norm(z)
    x = np.cross(z, np.asarray(up))
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return R, -R @ center


def ring_cameras(n: int, rng: np.random.Generator, radius=4.0, distortion=True) -> list[Camera]:
    """``n`` cameras on a jittered ring around the origin, looking at it, 1080x1920 portrait."""
    cams = []
    for i in range(n):
        angle = 2 * np.pi * i / n + rng.uniform(-0.2, 0.2)
        center = np.array([radius * np.cos(angle), radius * np.sin(angle), rng.uniform(0.8, 2.5)])
        R, t = look_at(center, rng.normal(0, 0.1, 3) + np.array([0, 0, 1.0]))
        f = rng.uniform(1200, 1800)
        K = np.array([[f, 0, 540 + rng.normal(0, 5)], [0, f * rng.uniform(0.99, 1.01), 960 + rng.normal(0, 5)], [0, 0, 1]])
        dist = rng.normal(0, [0.05, 0.02, 0.001, 0.001, 0.005]) if distortion else np.zeros(5)
        cams.append(Camera(f"cam{i + 1:02d}", K, dist, R, t, (1080, 1920)))
    return cams


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def rig4(rng) -> CameraRig:
    return CameraRig.from_cameras(ring_cameras(4, rng))


@pytest.fixture
def shared_demo() -> Path:
    if not SHARED_DEMO.is_dir():
        pytest.skip(f"shared demo capture not found at {SHARED_DEMO}")
    return SHARED_DEMO


@pytest.fixture(scope="session")
def demo_first_frames(tmp_path_factory):
    """BlazePose on frames 0-23 of the shared capture, detected once per test session:
    ``(detections, rig, keypoints (F, C, 23, 3) float64, robust triangulation)``."""
    if not (SHARED_DEMO / "videos").is_dir():
        pytest.skip(f"shared demo capture absent ({SHARED_DEMO}); it lives next to the repository in ../shared")
    from mvmocap import detect
    from mvmocap.io.calibration import load_rig

    detections = detect.run(SHARED_DEMO / "videos", out=tmp_path_factory.mktemp("demo24"), frames="0:24", progress=False)
    rig = load_rig(SHARED_DEMO / "calibration" / "Calib.qca.txt").subset(detections.camera_names)
    keypoints = torch.as_tensor(detections.keypoints, dtype=torch.float64).permute(1, 0, 2, 3)
    tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2])
    return detections, rig, keypoints, tri


@pytest.fixture(scope="session")
def metapose_checkpoint(tmp_path_factory) -> Path:
    """A tiny MetaPose checkpoint (4 training steps on the toy body, ~2 s): stage 2 all but the
    identity, for tests of the plumbing, not of accuracy."""
    import yaml

    from mvmocap.regressors.metapose.inference import export_checkpoint
    from mvmocap.train import run

    folder = tmp_path_factory.mktemp("metapose_checkpoint")
    data = {"views": 4, "views_min": 2, "noise": {"kind": "realistic"}, "rig_families": ["full_ring"]}
    config = {"method": "metapose", "seed": 0, "body_model": "toy", "steps": 4, "batch_size": 4, "log_every": 2,
              "val_every": 4, "val_size": 8, "checkpoint_every": 4, "num_workers": 0, "threads": 1, "data": data,
              "model": {"steps": 1, "stage_steps": 4, "layers": [16, "CC", 16]}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    run(None, folder / "config.yaml", folder / "run", progress=False)
    return export_checkpoint(folder / "run", folder / "metapose.pt")
