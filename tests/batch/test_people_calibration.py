"""One session calibration from every person of every trial (``batch --calibrate-from-joints --max-people N``):
trials end to end with empty frames between them, so that no track joins two trials' people."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mvmocap.batch.people_calibration import SEPARATOR_FRAMES, calibrate_session_people, concatenate_people_trials
from mvmocap.detect.people import PeopleDetections
from mvmocap.errors import InputError
from mvmocap.evaluate.calibration import compare_calibrations
from mvmocap.io.calibration import load_rig
from mvmocap.synth.crowd import observe, ring_rig, walking_skeleton

FRAMES = 40


def _walkers(heights, rng_phase: float) -> np.ndarray:
    """``(N, F, 23, 3)``: people walking on arcs 2.5 m apart (as tests/reconstruct/test_people_calibrate.py)."""
    places = (((-1.2, 0.0), 0.8), ((1.3, 0.3), 0.6))
    joints = np.zeros((len(heights), FRAMES, 23, 3))
    for n, height in enumerate(heights):
        centre, radius = places[n]
        for f in range(FRAMES):
            angle = (1 if n == 0 else -1) * 2.2 * f / FRAMES + n + rng_phase
            position = np.array(centre) + radius * np.array([math.cos(angle), math.sin(angle)])
            joints[n, f] = walking_skeleton(height, angle + (0 if n == 0 else math.pi), position, 0.5 * f)
    joints[..., 0] *= -1
    return joints


def _trial(rig, heights, seed: int, slots: int) -> PeopleDetections:
    rng = np.random.default_rng(seed)
    joints = _walkers(heights, 0.3 * seed)
    scene = observe(rig, joints, np.ones(joints.shape[:2], bool), rng, noise=0.002, outliers=0.0, slots=slots)
    return PeopleDetections(rig.names, np.arange(FRAMES) + 100, scene.keypoints.astype(np.float32),
                            scene.boxes.astype(np.float32), rig.sizes.numpy().astype(int), np.full(4, 30.0), "synthetic")


@pytest.fixture(scope="module")
def trials():
    rig = ring_rig(4)
    return rig, [_trial(rig, (1.80,), 1, slots=2), _trial(rig, (1.80, 1.60), 2, slots=3)]


def test_trials_are_put_end_to_end_with_empty_frames_between(trials):
    _, (one, two) = trials
    joined = concatenate_people_trials([one, two], separator=5)
    assert joined.num_frames == 2 * FRAMES + 5 and joined.num_slots == 3
    np.testing.assert_array_equal(joined.frame_ids, np.arange(2 * FRAMES + 5))
    np.testing.assert_array_equal(joined.keypoints[:, :FRAMES, :2], one.keypoints)
    assert not joined.present[:, FRAMES:FRAMES + 5].any() and not joined.present[:, :FRAMES, 2].any()
    np.testing.assert_array_equal(joined.boxes[:, FRAMES + 5:], two.boxes)
    narrow = PeopleDetections(two.camera_names, two.frame_ids, two.keypoints, two.boxes,
                              two.image_sizes * np.array([[1, 2]] * 4), two.fps, "synthetic")
    with pytest.raises(InputError, match="change image size between trials"):
        concatenate_people_trials([one, narrow])


def test_session_cameras_from_everyone_of_every_trial(trials, tmp_path):
    rig, per_trial = trials
    cameras = calibrate_session_people(per_trial, tmp_path, height_m=1.80, max_people=2, progress=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["trials"] == 2 and report["frames"] == 2 * FRAMES + SEPARATOR_FRAMES
    assert report["people"][-1]["people"] == 3  # one person in trial 1, two in trial 2: never joined
    errors = compare_calibrations(load_rig(cameras), rig)
    assert errors.mean_rotation_error_deg < 0.5 and errors.mean_center_error_pct < 2.0
    stamp = cameras.stat().st_mtime_ns
    assert calibrate_session_people(per_trial, tmp_path, height_m=1.80, max_people=2, progress=False) == cameras
    assert cameras.stat().st_mtime_ns == stamp  # the same detections: reused


def test_batch_max_people_option_is_a_config_layer_and_zero_is_refused(session, tmp_path):
    from typer.testing import CliRunner

    from mvmocap.batch.config import cli_layer, resolve
    from mvmocap.cli.main import app

    layer = cli_layer(frames="0:10", max_people=2)
    assert layer["detect"] == {"frames": "0:10", "max_people": 2} and resolve(layer).detect.max_people == 2
    result = CliRunner().invoke(app, ["batch", str(session), "--out", str(tmp_path / "out"), "--max-people", "0",
                                      "--calibrate-from-joints"])
    assert result.exit_code == 2 and "max_people (--max-people) must be an integer >= 1" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_a_several_people_trial_s_row_holds_person_0_s_figures(monkeypatch, tmp_path):
    import mvmocap.reconstruct
    from mvmocap.batch.trial import TrialTask, _reconstruct
    from mvmocap.reconstruct.people import PeopleResult

    persons = [{"frames": 100, "valid_frames": 98, "median_reprojection_fit_px": 11.3,
                "median_reprojection_triangulation_px": 8.3, "height_m": 1.72},
               {"frames": 100, "valid_frames": 92, "median_reprojection_fit_px": 8.0, "height_m": 1.43}]
    monkeypatch.setattr(mvmocap.reconstruct, "run", lambda *a, **k: PeopleResult(tmp_path, persons, {"people": 2},
                                                                                  {"detect": 1.0}))
    row = _reconstruct(TrialTask("T", str(tmp_path), str(tmp_path), {"detect": {"max_people": 2}}))
    assert (row.frames, row.valid_frames, row.reprojection_px, row.triangulation_reprojection_px, row.height_m) == (
        100, 98, 11.3, 8.3, 1.72)


def test_resume_reads_a_several_people_trial_s_row_back_from_people_json(tmp_path):
    from mvmocap.batch.trial import result_from_report

    record = {"summary": {"people": 2}, "timings_s": {"total": 3.5},
              "persons": [{"frames": 100, "valid_frames": 98, "median_reprojection_fit_px": 11.3, "height_m": 1.72},
                          {"frames": 100, "valid_frames": 92, "median_reprojection_fit_px": 8.0, "height_m": 1.43}]}
    (tmp_path / "people.json").write_text(json.dumps(record))
    row = result_from_report("T", tmp_path)
    assert (row.status, row.frames, row.valid_frames, row.reprojection_px, row.height_m, row.seconds) == (
        "reused", 100, 98, 11.3, 1.72, {"total": 3.5})
