import numpy as np
import pytest

from mvmocap.errors import InputError
from mvmocap.evaluate.reconstructions import compare_reconstructions
from mvmocap.io.joints3d import load_fit_reprojection
from tests.io.test_joints3d import write_joints3d


def load(tmp_path, name, **kwargs):
    write_joints3d(tmp_path / name / "joints3d.npz", **kwargs)
    return load_fit_reprojection(tmp_path / name)


def test_a_scaled_reconstruction_is_told_apart(tmp_path):
    reference, worse = load(tmp_path, "a"), load(tmp_path, "b", scale=1.2)
    result = compare_reconstructions(reference, worse, block_frames=5, draws=300)
    assert result.ratio == pytest.approx(1.2)
    assert result.interval == pytest.approx((1.2, 1.2))
    assert "higher" in result.to_text()
    assert set(result.per_camera) == {"cam01", "cam02"}
    assert all(b == pytest.approx(1.2 * a) for a, b in result.per_camera.values())
    assert result.to_dict()["points"] == int(reference.compared.sum())


def test_independent_noise_is_not_distinguishable(tmp_path):
    reference, other = load(tmp_path, "a", frames=60, seed=1), load(tmp_path, "b", frames=60, seed=2)
    other = type(other)(other.errors, reference.compared, other.frame_ids, other.camera_names)
    result = compare_reconstructions(reference, other, draws=500)
    assert result.interval[0] < 1 < result.interval[1]
    assert "not distinguishable" in result.to_text()


def test_only_points_both_compare_count(tmp_path):
    reference, other = load(tmp_path, "a", seed=3), load(tmp_path, "b", seed=3)
    compared = other.compared.clone()
    compared[:5] = False  # frames the other reconstruction found invalid
    other = type(other)(other.errors, compared, other.frame_ids, other.camera_names)
    result = compare_reconstructions(reference, other, draws=100)
    assert result.points == int(compared.sum()) and result.ratio == pytest.approx(1.0)


def test_different_captures_are_refused(tmp_path):
    reference = load(tmp_path, "a")
    with pytest.raises(InputError, match="different cameras"):
        compare_reconstructions(reference, load(tmp_path, "b", cameras=("cam01", "cam03")))
    with pytest.raises(InputError, match="different frames"):
        compare_reconstructions(reference, load(tmp_path, "c", frames=19))
    none = type(reference)(reference.errors, reference.compared & False, reference.frame_ids, reference.camera_names)
    with pytest.raises(InputError, match="no point"):
        compare_reconstructions(reference, none)
