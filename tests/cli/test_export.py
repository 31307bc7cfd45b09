"""``mvmocap export``: formats written, bad input refused in one line with nothing left behind."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from mvmocap.cli.main import app
from tests.export.conftest import run_dir  # noqa: F401  (the synthetic run fixture)

runner = CliRunner()


def test_export_writes_the_requested_formats(run_dir, tmp_path):  # noqa: F811
    out = tmp_path / "exported"
    result = runner.invoke(app, ["export", str(run_dir), "--to", "bvh,glb,trc,c3d,easymocap,ply,npz", "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["body.glb", "easymocap", "markers.c3d", "markers.trc", "meshes_ply", "motion.bvh", "smpl_params.npz"]
    assert len(list((out / "easymocap" / "smpl").glob("*.json"))) == 5
    assert len(list((out / "meshes_ply").glob("*.ply"))) == 5
    assert (out / "motion.bvh").read_text().startswith("HIERARCHY")
    with np.load(out / "smpl_params.npz") as data:
        assert data["poses"].shape == (6, 72)


def test_unknown_format_is_one_line_and_writes_nothing(run_dir, tmp_path):  # noqa: F811
    out = tmp_path / "exported"
    result = runner.invoke(app, ["export", str(run_dir), "--to", "bvh,fbx", "--out", str(out)])
    assert result.exit_code == 2
    assert "unknown export format(s) fbx" in result.output and "bvh" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_run_folder_without_a_fit_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "joints3d.npz").write_bytes(b"")
    result = runner.invoke(app, ["export", str(tmp_path / "run"), "--to", "bvh"])
    assert result.exit_code == 2
    assert "smpl_params.npz" in result.output and "run `mvmocap reconstruct` first" in result.output
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["joints3d.npz"]


def test_body_model_of_another_hash_is_refused(run_dir, tmp_path):  # noqa: F811
    out = tmp_path / "exported"
    result = runner.invoke(app, ["export", str(run_dir), "--to", "bvh", "--out", str(out), "--body-model", "open_male"])
    assert result.exit_code == 2 and "give the right file with --body-model" in result.output
    assert not out.exists()
