"""The SMPL-layout body file: smplx loads it and reproduces mvmocap's vertices."""

from __future__ import annotations

import pickle

import numpy as np
import smplx
import torch
from smplx.utils import Struct
from typer.testing import CliRunner

from mvmocap.body import load_body_model
from mvmocap.cli.main import app


def _compare(smpl, body, rng) -> float:
    """Max |vertex difference| (m) over random poses and shapes."""
    n = 4
    global_orient = torch.tensor(rng.normal(0, 0.5, (n, 3)))
    body_pose = torch.tensor(rng.normal(0, 0.4, (n, 69)))
    betas = torch.tensor(rng.normal(0, 1.0, (n, 10)))
    transl = torch.tensor(rng.normal(0, 1.0, (n, 3)))
    theirs = smpl(global_orient=global_orient, body_pose=body_pose, betas=betas, transl=transl).vertices.detach()
    ours = body(global_orient=global_orient, body_pose=body_pose, betas=betas, transl=transl)
    assert torch.allclose(smpl.J_regressor.sum(1), torch.ones(24, dtype=torch.float64))
    return float((theirs - ours.vertices).abs().max())


def test_smplx_loads_the_pickle_and_reproduces_the_vertices(tmp_path):
    out = tmp_path / "open_neutral_smpl.pkl"
    result = CliRunner().invoke(app, ["body", "export-smpl", "open_neutral", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, "rb") as handle:  # our own file: plain numpy arrays only
        arrays = pickle.load(handle)
    assert all(type(v) is np.ndarray for v in arrays.values())
    assert arrays["J_regressor"].shape == (24, 13718) and not arrays["posedirs"].any()
    smpl = smplx.SMPL(model_path=str(out), dtype=torch.float64)
    body = load_body_model("open_neutral", dtype=torch.float64)
    assert _compare(smpl, body, np.random.default_rng(0)) < 1e-6


def test_the_npz_holds_the_same_arrays(tmp_path):
    out = tmp_path / "open_female_smpl.npz"
    assert CliRunner().invoke(app, ["body", "export-smpl", "open_female", str(out)]).exit_code == 0
    with np.load(out, allow_pickle=False) as data:
        struct = Struct(**{k: data[k] for k in data.files})
    smpl = smplx.SMPL(model_path=str(tmp_path), data_struct=struct, dtype=torch.float64)
    body = load_body_model("open_female", dtype=torch.float64)
    assert _compare(smpl, body, np.random.default_rng(1)) < 1e-6


def test_other_suffixes_are_refused(tmp_path):
    result = CliRunner().invoke(app, ["body", "export-smpl", "open_neutral", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "must end in .pkl or .npz" in result.output
    assert not any(tmp_path.iterdir())
