"""Finding and reading body-model files: shipped names, the environment, official SMPL, bad files."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pytest
import torch

from mvmocap.body import load_body_model
from mvmocap.body.loading import ENV_VARIABLE, MODELS_DIR, resolve_model_path
from mvmocap.errors import FileFormatError, InputError, MissingFileError

from .smpl_fixture import random_smpl_arrays, write_smpl_pickle


def test_default_is_open_neutral(monkeypatch):
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    assert resolve_model_path(None) == MODELS_DIR / "open_neutral.npz"
    assert load_body_model(None).name == "open_neutral"


def test_environment_variable_chooses(monkeypatch, smpl_pkl):
    monkeypatch.setenv(ENV_VARIABLE, str(smpl_pkl))
    model = load_body_model(None)
    assert model.name == "SMPL_NEUTRAL" and model.num_vertices == 6890


def test_official_pickle(smpl_pkl, smpl_arrays):
    model = load_body_model(smpl_pkl, dtype=torch.float64)
    assert torch.equal(model.v_template, torch.as_tensor(smpl_arrays["v_template"]))
    assert model.posedirs.shape == (207, 6890 * 3)
    assert bool(model.coco23_available.all())
    import hashlib

    assert model.file_hash == hashlib.sha256(smpl_pkl.read_bytes()).hexdigest()


def test_official_npz_and_fewer_betas(tmp_path, smpl_arrays):
    path = tmp_path / "basicmodel_m_lbs_10_207_0_v1.1.0.npz"
    np.savez(path, **smpl_arrays)
    model = load_body_model(path, num_betas=4)
    assert model.num_betas == 4 and model.name == "basicmodel_m_lbs_10_207_0_v1.1.0"
    out = model(betas=torch.ones(1, 3))
    assert out.vertices.shape == (1, 6890, 3)


def test_chumpy_pickle_without_chumpy(tmp_path, smpl_arrays, monkeypatch):
    """Official files pickle chumpy arrays; they load without chumpy installed."""
    fake = types.ModuleType("chumpy.ch")

    class Ch:  # pickled by reference as chumpy.ch.Ch, state {'x': array}
        def __init__(self, x):
            self.x = x

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    fake.Ch = Ch
    monkeypatch.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
    monkeypatch.setitem(sys.modules, "chumpy.ch", fake)
    data = dict(smpl_arrays)
    data["shapedirs"] = Ch(smpl_arrays["shapedirs"])
    data["v_template"] = Ch(smpl_arrays["v_template"])
    path = tmp_path / "SMPL_FEMALE.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    monkeypatch.delitem(sys.modules, "chumpy")
    model = load_body_model(path, dtype=torch.float64)
    assert model.name == "SMPL_FEMALE"
    assert torch.equal(model.shapedirs, torch.as_tensor(smpl_arrays["shapedirs"]))


@pytest.mark.parametrize("vertices, joints, found", [(6890, 52, "SMPL-H"), (10475, 55, "SMPL-X"), (778, 16, "MANO")])
def test_other_families_are_named(tmp_path, vertices, joints, found):
    arrays = random_smpl_arrays(np.random.default_rng(0), vertices=vertices, joints=joints, posedirs=False)
    path = write_smpl_pickle(tmp_path / "model.pkl", arrays)
    with pytest.raises(FileFormatError, match=found) as info:
        load_body_model(path)
    assert "model.pkl" in str(info.value) and "expected an SMPL body" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="body model file not found"):
        load_body_model(tmp_path / "nope.pkl")


@pytest.mark.parametrize("name, content", [("bad.npz", b"not a zip"), ("bad.pkl", b"\x80\x02garbage"),
                                           ("model.obj", b"v 0 0 0")])
def test_unreadable_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=name):
        load_body_model(path)


def test_wrong_shapes_in_file(tmp_path, smpl_arrays):
    arrays = dict(smpl_arrays)
    arrays["weights"] = arrays["weights"][:, :20]
    path = tmp_path / "SMPL_MALE.npz"
    np.savez(path, **arrays)
    with pytest.raises(FileFormatError, match="weights has shape"):
        load_body_model(path)


def test_npz_missing_keys(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(FileFormatError, match="missing v_template"):
        load_body_model(path)


def test_bad_num_betas():
    with pytest.raises(InputError):
        load_body_model("open_neutral", num_betas=0)


def test_official_npz_with_a_pickled_sparse_regressor_loads(tmp_path, smpl_arrays):
    """Some converted SMPL .npz hold object arrays (pickles); the allowlist reads them."""
    import scipy.sparse

    path = tmp_path / "SMPL_NEUTRAL.npz"
    arrays = dict(smpl_arrays)
    arrays["J_regressor"] = np.array(scipy.sparse.csc_matrix(smpl_arrays["J_regressor"]), dtype=object)
    np.savez(path, **arrays)
    model = load_body_model(path, dtype=torch.float64)
    np.testing.assert_allclose(model.joint_regressor.numpy(), smpl_arrays["J_regressor"])


@pytest.mark.parametrize("global_name", ["os system", "builtins eval", "subprocess Popen", "numpy load",
                                         "scipy.sparse load_npz", "copyreg _reconstructor_x"])
def test_the_unpickler_refuses_other_globals(tmp_path, global_name):
    module, name = global_name.split()
    raw = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X\x04\x00\x00\x00trueq\x00\x85q\x01Rq\x02."
    path = tmp_path / "model.pkl"
    path.write_bytes(raw)
    with pytest.raises(FileFormatError, match=f"model.pkl: .*refused to load {module}.{name}"):
        load_body_model(path)


def test_nan_vertices_and_bad_faces_are_refused(tmp_path, smpl_arrays):
    arrays = dict(smpl_arrays)
    arrays["v_template"] = arrays["v_template"].copy()
    arrays["v_template"][3, 0] = np.nan
    np.savez(tmp_path / "nan.npz", **arrays)
    with pytest.raises(FileFormatError, match="nan.npz: v_template has non-finite values"):
        load_body_model(tmp_path / "nan.npz")
    arrays = dict(smpl_arrays, f=smpl_arrays["f"].copy())
    arrays["f"][0, 0] = 7000
    np.savez(tmp_path / "faces.npz", **arrays)
    with pytest.raises(FileFormatError, match="faces.npz: faces name vertices outside 0..6889"):
        load_body_model(tmp_path / "faces.npz")


def test_pickles_cannot_make_numpy_or_scipy_allocate(tmp_path):
    """Calls a pickle may make with the allowed globals are bounded: no huge ndarray, no scipy constructor."""
    from mvmocap.body.model_files import SparseMatrix, dense, unpickle

    huge_ndarray = b"cnumpy\nndarray\n(I100000000000\ntR."
    with pytest.raises(FileFormatError, match="refused to call numpy.ndarray"):
        unpickle(tmp_path / "a.pkl", huge_ndarray)
    huge_reconstruct = b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I100000000000\ntS'b'\ntR."
    with pytest.raises(FileFormatError, match=r"refused array of shape \(100000000000,\)"):
        unpickle(tmp_path / "b.pkl", huge_reconstruct)
    sparse_call = b"cscipy.sparse._csc\ncsc_matrix\n((I100000000\nI100000000\nttR."
    stand_in = unpickle(tmp_path / "c.pkl", sparse_call)  # scipy is not called: a stand-in keeps the state
    assert isinstance(stand_in, SparseMatrix)
    with pytest.raises(ValueError, match="without a valid shape"):
        dense(stand_in)
