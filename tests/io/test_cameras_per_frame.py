"""``cameras_per_frame.npz``: round trip and refusals."""

import numpy as np
import pytest
import torch

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.geometry.frame_rig import FrameRig
from mvmocap.io.cameras_per_frame import FILE_NAME, FORMAT, load_cameras_per_frame, save_cameras_per_frame
from mvmocap.synth.moving import HandHeld, hand_held_rig


def _pinholes(rig4):
    """``rig4`` moving by hand, as pinholes with fx = fy and no distortion."""
    rig = hand_held_rig(rig4, 12, 30.0, HandHeld(duration_s=0.3), torch.Generator().manual_seed(3))
    K = rig.K.clone()
    K[..., 1, 1] = K[..., 0, 0]
    K[5, 2, 0, 0] = K[5, 2, 1, 1] = 999.0  # a focal length that changes in one frame
    return FrameRig(rig.names, K, torch.zeros_like(rig.dist), rig.R, rig.t, rig.sizes)


def test_round_trip(rig4, tmp_path):
    rig = _pinholes(rig4)
    valid = np.ones((12, 4), dtype=bool)
    valid[3, 1] = False
    path = save_cameras_per_frame(tmp_path / FILE_NAME, rig, np.arange(100, 112), valid)
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # nothing left behind by the atomic write
    back = load_cameras_per_frame(tmp_path)  # the folder holding it
    for attr in ("K", "dist", "R", "t", "sizes"):
        torch.testing.assert_close(getattr(back.rig, attr), getattr(rig, attr).to(torch.float64))
    assert back.rig.names == rig.names and back.frame_ids.tolist() == list(range(100, 112))
    assert np.array_equal(back.valid, valid)
    with np.load(path) as data:
        assert str(data["format"]) == FORMAT
        assert data["R"].shape == (12, 4, 3, 3) and data["t"].shape == (12, 4, 3) and data["focal"].shape == (12, 4)
        assert data["focal"][5, 2] == 999.0 and data["image_sizes"].dtype == np.int64


def test_refusals(rig4, tmp_path):
    rig = _pinholes(rig4)
    distorted = FrameRig(rig.names, rig.K, rig.dist + 0.1, rig.R, rig.t, rig.sizes)
    with pytest.raises(InputError, match="no distortion"):
        save_cameras_per_frame(tmp_path / FILE_NAME, distorted, np.arange(12))
    with pytest.raises(InputError, match="frame_ids"):
        save_cameras_per_frame(tmp_path / FILE_NAME, rig, np.arange(11))
    assert not (tmp_path / FILE_NAME).exists()
    with pytest.raises(MissingFileError):
        load_cameras_per_frame(tmp_path / FILE_NAME)
    np.savez(tmp_path / "other.npz", R=np.zeros((2, 2, 3, 3)))
    with pytest.raises(FileFormatError, match="no format"):
        load_cameras_per_frame(tmp_path / "other.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError, match="unreadable"):
        load_cameras_per_frame(tmp_path / "bad.npz")
