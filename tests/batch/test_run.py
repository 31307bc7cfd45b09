"""``mvmocap batch`` end to end on a tiny synthetic session (OpenPose JSON, fast fit)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from mvmocap.batch import EXIT_SOME_FAILED, run_batch
from mvmocap.batch.trial import is_complete
from mvmocap.cli.main import app
from mvmocap.reconstruct import run
from tests.batch.conftest import SESSION_CONFIG, build_session
from tests.reconstruct.test_pipeline import FRAMES, NOBODY

REPO = Path(__file__).resolve().parents[2]


def reconstruct_alone(session: Path, trial: str, out: Path, threads: int = 1) -> Path:
    """The baseline: plain ``reconstruct`` on one trial, with the threads a batch worker gets."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        layers = [SESSION_CONFIG]
        if (session / trial / "config.yaml").is_file():
            layers.append(yaml.safe_load((session / trial / "config.yaml").read_text()))
        from mvmocap.batch.config import resolve

        run(session / trial / "videos", out / trial, calibration=session / "calibration" / "calibration.yaml",
            keypoints_dir=session / trial / "pose", config=resolve(*layers), progress=False)
    finally:
        torch.set_num_threads(before)
    return out / trial / "smpl_params.npz"


@pytest.fixture(scope="module")
def alone(tmp_path_factory, synthetic_keypoints_4cams) -> dict[str, Path]:
    """The baseline of the engines' tests, once: each trial of a fresh session reconstructed alone."""
    root = tmp_path_factory.mktemp("alone")
    session = build_session(root / "session", *synthetic_keypoints_4cams)
    return {trial: reconstruct_alone(session, trial, root / "out") for trial in ("Trial_1", "Trial_2")}


def assert_same_params(a: Path, b: Path) -> None:
    with np.load(a) as x, np.load(b) as y:
        for key in ("poses", "betas", "trans", "valid"):
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)


def test_local_batch_equals_reconstruct_per_trial_isolates_bad_trials_and_writes_the_summary(session, alone, tmp_path):
    corrupt = session / "Trial_0_corrupt" / "videos"
    corrupt.mkdir(parents=True)
    (corrupt / "cam01.mp4").write_bytes(np.random.default_rng(0).integers(0, 255, 4096, dtype=np.uint8).tobytes())
    bad_config = session / "Trial_3_bad_config"
    (bad_config / "videos").mkdir(parents=True)
    (bad_config / "config.yaml").write_text("fit: {iters_poes: 3}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["batch", str(session), "--out", str(out), "--workers", "2", "--cpus-per-trial", "1"])

    assert result.exit_code == EXIT_SOME_FAILED == 3, result.output
    assert "Trial_0_corrupt" in result.output and "Traceback" not in result.output
    for trial in ("Trial_1", "Trial_2"):  # identical to reconstruct on the trial alone
        assert_same_params(out / trial / "smpl_params.npz", alone[trial])
        assert is_complete(out / trial)
    with open(out / "summary.csv", newline="") as f:
        rows = {r["trial"]: r for r in csv.DictReader(f)}
    assert list(rows) == ["Trial_0_corrupt", "Trial_1", "Trial_2", "Trial_3_bad_config"]
    assert rows["Trial_0_corrupt"]["status"] == "failed"
    assert "cam01.mp4: cannot be opened as a video" in rows["Trial_0_corrupt"]["error"]
    assert rows["Trial_3_bad_config"]["status"] == "failed" and "iters_poes" in rows["Trial_3_bad_config"]["error"]
    assert not (out / "Trial_3_bad_config").exists()  # refused before running
    for name in ("Trial_1", "Trial_2"):
        row = rows[name]
        report = json.loads((out / name / "report.json").read_text())["summary"]
        assert row["status"] == "ok" and int(row["frames"]) == FRAMES and int(row["valid_frames"]) == FRAMES - len(NOBODY)
        assert float(row["reprojection_px"]) == pytest.approx(report["median_reprojection_fit_px"], abs=0.01)
        assert float(row["height_m"]) == pytest.approx(report["height_m"], abs=1e-3)
        assert float(row["seconds_fit"]) > 0 and row["error"] == ""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["format"] == "mvmocap-batch-summary/1" and summary["engine"] == "local" and summary["workers"] == 2
    assert summary["trials"][2]["trial"] == "Trial_2" and set(summary["trials"][2]["seconds"]) >= {"detect", "fit", "total"}
    # the example videos are 540 px wide, their calibration 544: a warning per camera names both sizes
    assert any("video 540x960 px, calibration 544x960 px" in w for w in summary["trials"][1]["warnings"])


def test_session_without_trials_exits_2_with_one_line(tmp_path):
    (tmp_path / "S" / "calibration").mkdir(parents=True)
    (tmp_path / "S" / "calibration" / "c.toml").write_text("")
    result = CliRunner().invoke(app, ["batch", str(tmp_path / "S"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no trials found" in result.output and "Traceback" not in result.output


def _snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_resume_after_sigkill_runs_only_the_unfinished_trial(session, tmp_path):
    slow = {"fit": {"iters_pose": 200, "iters_global": 30}}  # trial 2 lasts a few seconds: time to kill it
    (session / "Trial_2" / "config.yaml").write_text(yaml.safe_dump(slow))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    started = time.time_ns()
    proc = subprocess.Popen([sys.executable, "-m", "mvmocap.cli.main", "batch", str(session), "--out", str(out), "-q"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    trial2 = out / "Trial_2" / "run.json"  # written when the run starts ("running"), rewritten when it ends
    deadline = time.monotonic() + 120
    try:
        while not (trial2.is_file() and trial2.stat().st_mtime_ns >= started):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "trial 2 never started"
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the batch process alone, without warning: its workers die with it
        proc.wait()
    time.sleep(3.0)  # an orphaned worker would finish trial 2 meanwhile
    assert is_complete(out / "Trial_1") and not is_complete(out / "Trial_2")
    assert not (out / "summary.csv").exists()
    before = _snapshot(out / "Trial_1")

    result = run_batch(session, out, resume=True, progress=False)
    assert {r.name: r.status for r in result.results} == {"Trial_1": "reused", "Trial_2": "ok"}
    assert _snapshot(out / "Trial_1") == before  # trial 1: not one file touched
    assert is_complete(out / "Trial_2")
    assert result.results[0].frames == FRAMES and result.results[0].seconds["fit"] > 0  # read back from its report



def test_session_calibration_from_joints_is_shared_by_every_trial(session, tmp_path):
    out = tmp_path / "out"
    result = run_batch(session, out, calibrate_from_joints=True, workers=1, progress=False)
    assert result.exit_code == 0, [r.error for r in result.results]
    cameras = out / "calibration" / "cameras.yaml"
    report = json.loads((out / "calibration" / "report.json").read_text())
    assert report["trials"] == 2 and report["frames"] == 2 * FRAMES
    for trial in ("Trial_1", "Trial_2"):
        assert json.loads((out / trial / "report.json").read_text())["inputs"]["calibration"] == str(cameras)
    assert all(r.reprojection_px < 3.0 for r in result.results)  # exact synthetic joints: the estimated rig fits


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'mvmocap[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}})
    yield ray
    ray.shutdown()


def test_ray_engine_on_a_local_instance_equals_reconstruct_per_trial(local_ray, session, alone, tmp_path):
    out = tmp_path / "out"
    result = run_batch(session, out, engine="ray", workers=2, cpus_per_trial=1, progress=False)
    assert [r.status for r in result.results] == ["ok", "ok"], [r.error for r in result.results]
    for trial in ("Trial_1", "Trial_2"):
        assert_same_params(out / trial / "smpl_params.npz", alone[trial])
    assert json.loads((out / "summary.json").read_text())["engine"] == "ray"


def test_bad_engine_options_are_refused_before_any_work(session, tmp_path, monkeypatch):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["batch", str(session), "--out", str(out), "--engine", "dask"])
    assert result.exit_code == 2 and "unknown engine 'dask'" in result.output and not out.exists()
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    result = CliRunner().invoke(app, ["batch", str(session), "--out", str(out), "--engine", "ray"])
    assert result.exit_code == 2 and "pip install 'mvmocap[ray]'" in result.output and not out.exists()
