import numpy as np
import pytest
import torch

from mvmocap.errors import FileFormatError, MissingFileError
from mvmocap.synth.pose_files import PoseFramePool, load_amass, load_pose_file, load_smpl_params


def write_amass(path, n=7, width=156, rng=None):
    rng = rng or np.random.default_rng(0)
    poses = rng.normal(0, 0.3, (n, width))
    np.savez(path, poses=poses, trans=rng.normal(0, 1, (n, 3)), mocap_framerate=np.array(120.0),
             betas=rng.normal(0, 1, 16), gender="neutral")
    return poses


def test_amass_smplh_layout(tmp_path):
    poses = write_amass(tmp_path / "a.npz")
    seq = load_amass(tmp_path / "a.npz")
    assert len(seq) == 7 and seq.fps == 120.0
    assert seq.body_pose.shape == (7, 23, 3)
    assert np.allclose(seq.global_orient.numpy(), poses[:, :3])
    assert np.allclose(seq.body_pose[:, :21].numpy(), poses[:, 3:66].reshape(7, 21, 3))
    assert torch.all(seq.body_pose[:, 21:] == 0)  # SMPL's hand joints are not in SMPL-H
    assert seq.betas.shape == (16,) and seq.valid.all()


def test_amass_smpl_layout(tmp_path):
    poses = write_amass(tmp_path / "b.npz", width=72)
    seq = load_pose_file(tmp_path / "b.npz")
    assert np.allclose(seq.body_pose.numpy(), poses[:, 3:].reshape(7, 23, 3))


def test_our_smpl_params(tmp_path):
    rng = np.random.default_rng(1)
    F = 5
    valid = np.array([True, True, False, True, True])
    poses = rng.normal(0, 0.2, (F, 72))
    poses[2] = 0
    np.savez(tmp_path / "smpl_params.npz", poses=poses, betas=rng.normal(0, 1, 10), trans=rng.normal(0, 1, (F, 3)),
             mocap_framerate=np.array(60.0), frame_ids=np.arange(F), valid=valid, gender="neutral")
    seq = load_smpl_params(tmp_path / "smpl_params.npz")
    assert seq.valid.tolist() == valid.tolist() and seq.fps == 60.0
    pool = PoseFramePool([seq])
    assert len(pool) == 4
    s = pool.sample(50, torch.Generator().manual_seed(0))
    assert s.body_pose.shape == (50, 23, 3) and torch.all(s.family == -1)
    # Body poses are copied from valid frames only.
    sources = torch.as_tensor(poses[valid, 3:].reshape(-1, 23, 3))
    match = (s.body_pose[:, None] - sources[None]).abs().amax((-1, -2)) < 1e-12
    assert torch.all(match.any(-1))


def test_errors(tmp_path):
    with pytest.raises(MissingFileError):
        load_amass(tmp_path / "nope.npz")
    np.savez(tmp_path / "bad.npz", poses=np.zeros((3, 10)))
    with pytest.raises(FileFormatError):
        load_amass(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(FileFormatError):
        load_amass(tmp_path / "junk.npz")
    write_amass(tmp_path / "h.npz")
    with pytest.raises(FileFormatError):
        load_smpl_params(tmp_path / "h.npz")  # 156 wide: AMASS, not ours
