import numpy as np
import pytest

from mvmocap.errors import FileFormatError, MissingFileError
from mvmocap.io.joints3d import load_fit_reprojection


def write_joints3d(path, frames=20, cameras=("cam01", "cam02"), seed=0, scale=1.0, drop=()):
    """A joints3d.npz with the keys ``load_fit_reprojection`` reads (and a few it ignores)."""
    rng = np.random.default_rng(seed)
    errors = rng.gamma(2.0, 5.0, size=(frames, len(cameras), 23)) * scale
    compared = rng.random((frames, len(cameras), 23)) > 0.3
    compared[..., 17:] = False
    arrays = dict(frame_ids=np.arange(frames), camera_names=np.array(cameras), fitted_reprojection_px=errors,
                  compared=compared, triangulated=np.zeros((frames, 23, 3)))
    for key in drop:
        arrays.pop(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return errors, compared


def test_reads_a_file_or_its_folder(tmp_path):
    errors, compared = write_joints3d(tmp_path / "out" / "joints3d.npz")
    for where in (tmp_path / "out", tmp_path / "out" / "joints3d.npz"):
        loaded = load_fit_reprojection(where)
        np.testing.assert_allclose(loaded.errors.numpy(), errors)
        np.testing.assert_array_equal(loaded.compared.numpy(), compared)
        assert loaded.camera_names == ("cam01", "cam02") and len(loaded.frame_ids) == 20


def test_missing_file_and_older_files_are_refused(tmp_path):
    with pytest.raises(MissingFileError):
        load_fit_reprojection(tmp_path)
    write_joints3d(tmp_path / "old" / "joints3d.npz", drop=("compared",))
    with pytest.raises(FileFormatError, match="compared.*rerun reconstruct"):
        load_fit_reprojection(tmp_path / "old")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError):
        load_fit_reprojection(tmp_path / "bad.npz")


def test_mismatched_shapes_are_refused(tmp_path):
    path = tmp_path / "j.npz"
    np.savez(path, frame_ids=np.arange(5), camera_names=np.array(["a", "b"]),
             fitted_reprojection_px=np.zeros((5, 3, 23)), compared=np.zeros((5, 3, 23), bool))
    with pytest.raises(FileFormatError, match="do not match"):
        load_fit_reprojection(path)
