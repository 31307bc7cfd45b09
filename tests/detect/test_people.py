"""``--max-people N``: every person per camera, cached; ``PeopleDetections.select``."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from mvmocap import detect
from mvmocap.cli.main import app
from mvmocap.detect.people import PeopleDetections
from mvmocap.detect.people_run import load_people, slots_for
from mvmocap.errors import InputError


def _people(rng, C=2, F=3, P=3) -> PeopleDetections:
    kp = rng.uniform(1, 50, (C, F, P, 23, 3)).astype(np.float32)
    boxes = np.concatenate([rng.uniform(0, 40, (C, F, P, 4)), np.ones((C, F, P, 1))], -1).astype(np.float32)
    return PeopleDetections(("a", "b")[:C], np.arange(F), kp, boxes, np.array([[64, 48]] * C), np.full(C, 30.0),
                            "test", mono3d=rng.uniform(0, 1, (C, F, P, 23, 4)).astype(np.float32))


def test_select_cuts_one_person_out(rng):
    people = _people(rng)
    slots = np.array([[0, 2, -1], [1, -1, 0]])
    person = people.select(slots)
    assert person.keypoints.shape == (2, 3, 23, 3)
    np.testing.assert_array_equal(person.keypoints[0, 1], people.keypoints[0, 1, 2])
    np.testing.assert_array_equal(person.mono3d[1, 2], people.mono3d[1, 2, 0])
    assert person.keypoints[0, 2].sum() == 0 and person.boxes[1, 1, 4] == 0  # not seen: confidence 0
    with pytest.raises(InputError, match="slots"):
        people.select(np.zeros((3, 3), int))


def test_shapes_are_validated(rng):
    people = _people(rng)
    with pytest.raises(InputError, match="people keypoints"):
        PeopleDetections(("a",), np.arange(3), people.keypoints[0], people.boxes[0], np.array([[64, 48]]),
                         np.ones(1), "t")
    bad = people.keypoints.copy()
    bad[0, 0, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        PeopleDetections(people.camera_names, people.frame_ids, bad, people.boxes, people.image_sizes, people.fps, "t")


def test_openpose_json_keeps_every_person_and_caches(capture, tmp_path):
    videos, truth = capture
    work = tmp_path / "work"
    people = detect.run(videos, out=work, detector="openpose-json", progress=False, max_people=2)
    assert isinstance(people, PeopleDetections) and people.num_slots == slots_for(2) == 4
    counts = people.present.sum(-1)
    assert counts[0].tolist() == [1] * 5 + [0] + [1] * 6  # cam01: one person, nobody in frame 5
    assert counts[1].tolist() == [2] * 12  # cam02: the person and the bystander, both kept
    target = people.keypoints[1, :, 0]  # the larger (more salient) person first
    np.testing.assert_allclose(target[..., :2], truth["cam02"][..., :2], atol=0.01)
    again = load_people(work)
    np.testing.assert_array_equal(again.keypoints, people.keypoints)
    stamp = (work / "people" / "cam01.npz").stat().st_mtime_ns
    detect.run(videos, out=work, detector="openpose-json", progress=False, max_people=2)
    assert (work / "people" / "cam01.npz").stat().st_mtime_ns == stamp  # reused


def test_export_openpose_keeps_every_person(capture, tmp_path):
    videos, _ = capture
    exported = tmp_path / "exported"
    people = detect.run(videos, out=tmp_path / "w", detector="openpose-json", progress=False, max_people=2,
                        export_openpose=exported)
    again = detect.run(videos, out=tmp_path / "w2", detector="openpose-json", progress=False, max_people=2,
                       openpose_dir=exported)
    np.testing.assert_array_equal(again.present, people.present)
    np.testing.assert_allclose(again.keypoints[..., :2], people.keypoints[..., :2], atol=1e-3)


@pytest.mark.parametrize("value", ["0", "-1"])
def test_max_people_below_one_is_a_clear_error(capture, tmp_path, value):
    videos, _ = capture
    result = CliRunner().invoke(app, ["detect", str(videos), "--out", str(tmp_path / "w"), "--detector",
                                      "openpose-json", "--max-people", value])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "--max-people must be an integer >= 1" in lines[0]
    assert not (tmp_path / "w").exists()


def test_detect_max_people_prints_one_summary_table(capture, tmp_path):
    from mvmocap.detect.report import summarize_people

    videos, _ = capture
    result = CliRunner().invoke(app, ["detect", str(videos), "--out", str(tmp_path / "w"), "--detector",
                                      "openpose-json", "--max-people", "2"])
    assert result.exit_code == 0, result.output
    assert "people detections (openpose-json)" in result.output  # one table, as the single-person detect
    assert "people per frame (at most" not in result.output  # no longer one line per camera
    assert sum(line.startswith("│ cam0") for line in result.output.splitlines()) == 2  # a row per camera
    rows = {row["camera"]: row for row in summarize_people(load_people(tmp_path / "w"))}
    assert (rows["cam01"]["frames"], rows["cam01"]["most_people"], rows["cam01"]["frames_without_people"]) == (12, 1, 1)
    assert rows["cam01"]["people_per_frame"] == pytest.approx(11 / 12)
    assert (rows["cam02"]["people_per_frame"], rows["cam02"]["frames_without_people"]) == (2.0, 0)
    assert 0 < rows["cam02"]["mean_confidence"] <= 1
