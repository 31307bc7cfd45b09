"""Summary rows and files, and the stage a running trial is in."""

from __future__ import annotations

import csv
import json
import os
import time

from mvmocap.batch.summary import current_stage, rows, write_summary
from mvmocap.batch.trial import TrialResult


def test_rows_and_files(tmp_path):
    results = [
        TrialResult("A", "ok", 100, 98, 12.134, 10.75, 1.7234, {"detect": 30.0, "fit": 6.0, "total": 37.0}, warnings=["w"]),
        TrialResult("B", "failed", error="B/videos/cam01.mp4: cannot be opened as a video", seconds={"total": 0.5}),
    ]
    flat = rows(results)
    assert list(flat[0]) == ["trial", "status", "frames", "valid_frames", "reprojection_px", "triangulation_reprojection_px",
                             "height_m", "seconds_detect", "seconds_fit", "seconds_total", "error"]
    assert flat[0]["reprojection_px"] == 12.13 and flat[0]["height_m"] == 1.723 and flat[1]["seconds_fit"] is None
    csv_path, json_path = write_summary(tmp_path, results, {"engine": "local"})
    with open(csv_path, newline="") as f:
        read = list(csv.DictReader(f))
    assert read[1]["status"] == "failed" and read[1]["error"].endswith("cannot be opened as a video") and read[1]["frames"] == ""
    document = json.loads(json_path.read_text())
    assert document["engine"] == "local" and document["trials"][0]["warnings"] == ["w"]
    assert document["trials"][1]["frames"] is None


def test_current_stage_follows_the_files_a_run_writes(tmp_path):
    run = tmp_path / "T"
    before = time.time_ns() - 10**9
    assert current_stage(run, before) is None
    run.mkdir()
    old = time.time() - 100
    (run / "stages").mkdir()
    (run / "stages" / "fit.npz").write_bytes(b"")  # a fit cached by an earlier run
    os.utime(run / "stages" / "fit.npz", (old, old))
    (run / "config.yaml").write_text("{}")
    assert current_stage(run, time.time_ns() + 10**9) is None  # config from before this batch: not started
    assert current_stage(run, before) == "detect"
    (run / "work" / "detections").mkdir(parents=True)
    (run / "work" / "detections" / "index.json").write_text("{}")
    assert current_stage(run, before) == "cameras, fit"
    (run / "stages" / "fit.npz").write_bytes(b"x")
    assert current_stage(run, before) == "export"
