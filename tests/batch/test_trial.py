"""When a trial counts as finished (resume), and a trial task that never raises."""

from __future__ import annotations

import os
import time

import yaml

from mvmocap.batch.trial import FAILED, TrialTask, is_complete, is_up_to_date, run_trial
from mvmocap.reconstruct import ReconstructConfig
from mvmocap.reconstruct.run_state import mark_complete, mark_running


def _finished_run(tmp_path, config: dict):
    inputs = tmp_path / "videos"
    inputs.mkdir()
    (inputs / "cam01.mp4").write_bytes(b"x")
    run_dir = tmp_path / "out" / "T"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    (run_dir / "report.json").write_text("{}")
    mark_complete(run_dir, ("config.yaml", "report.json"))
    return TrialTask("T", str(inputs), str(run_dir), config), inputs, run_dir


def _age(path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_complete_only_with_reconstructs_marker_and_its_files_unchanged(tmp_path):
    task, inputs, run_dir = _finished_run(tmp_path, ReconstructConfig().to_dict())
    _age(inputs / "cam01.mp4", 100)
    _age(inputs, 100)
    assert is_complete(run_dir) and is_up_to_date(task)
    mark_running(run_dir)  # a newer run started over it (and was killed)
    assert not is_complete(run_dir) and not is_up_to_date(task)
    mark_complete(run_dir, ("config.yaml", "report.json"))
    assert is_complete(run_dir)
    (run_dir / "report.json").unlink()
    assert not is_complete(run_dir)


def test_not_up_to_date_when_settings_or_inputs_changed(tmp_path):
    config = ReconstructConfig().to_dict()
    task, inputs, run_dir = _finished_run(tmp_path, config)
    for path in (inputs / "cam01.mp4", inputs):
        _age(path, 100)
    assert is_up_to_date(task)
    changed = TrialTask(task.name, task.inputs_dir, task.out, {**config, "method": "other"})
    assert not is_up_to_date(changed)
    trial_config = tmp_path / "config.yaml"
    trial_config.write_text("{}")  # newer than the report
    _age(run_dir / "run.json", 10)
    assert not is_up_to_date(task, (trial_config,))
    (inputs / "cam01.mp4").write_bytes(b"new")  # a re-exported video
    assert not is_up_to_date(task)


def test_run_trial_turns_any_failure_into_a_failed_row(tmp_path):
    task = TrialTask("T", str(tmp_path / "absent"), str(tmp_path / "out"), ReconstructConfig().to_dict(),
                     calibration=str(tmp_path / "absent.yaml"))
    result = run_trial(task)
    assert result.status == FAILED and "absent.yaml: calibration file not found" in result.error
    assert result.seconds["total"] >= 0
