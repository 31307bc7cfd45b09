"""A small synthetic ``reconstruct`` output folder for the exporters' tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvmocap.body import load_body_model
from mvmocap.body.params import BodyParams
from mvmocap.io.smpl_params import SmplParamsFile, save_smpl_params
from mvmocap.keypoints import COCO23

FRAMES = 6
INVALID_FRAME = 2


def _params(rng: np.random.Generator) -> BodyParams:
    # Upright in the +Z-up world: -90° about x turns the body's y-up rest frame to z up, plus a heading.
    heading = rng.uniform(-np.pi, np.pi, FRAMES)
    from scipy.spatial.transform import Rotation

    root = (Rotation.from_euler("z", heading[:, None]) * Rotation.from_euler("x", np.pi / 2)).as_rotvec()
    body_pose = rng.normal(0.0, 0.35, (FRAMES, 23, 3))
    transl = rng.normal(0.0, 0.5, (FRAMES, 3)) + [0.0, 0.0, 0.9]
    valid = np.ones(FRAMES, bool)
    valid[INVALID_FRAME] = False
    return BodyParams(torch.tensor(root), torch.tensor(body_pose), torch.tensor(rng.normal(0, 1, 10)),
                      torch.tensor(transl), torch.tensor(valid))


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """A run folder with smpl_params.npz (frame 2 invalid) and joints3d.npz, fitted with open_neutral."""
    rng = np.random.default_rng(20)
    out = tmp_path_factory.mktemp("run")
    params = _params(rng)
    body = load_body_model("open_neutral", dtype=torch.float64)
    save_smpl_params(out / "smpl_params.npz", SmplParamsFile(params, np.arange(10, 10 + FRAMES), 25.0, "neutral",
                                                             body.name, body.file_hash))
    with torch.no_grad():
        posed = body(global_orient=params.global_orient, body_pose=params.body_pose,
                     betas=params.betas.expand(FRAMES, -1), transl=params.transl)
    confidence = rng.uniform(0.3, 1.0, (FRAMES, 23))
    confidence[:, 0] = 0.0  # the nose never triangulated
    np.savez(out / "joints3d.npz", joint_names=np.array(COCO23), camera_names=np.array(["a", "b"]),
             frame_ids=np.arange(10, 10 + FRAMES), triangulated=posed.coco23.numpy() + rng.normal(0, 0.01, (FRAMES, 23, 3)),
             triangulated_confidence=confidence, smpl_joints=posed.joints.numpy(), valid=params.valid.numpy().astype(np.uint8))
    return out
