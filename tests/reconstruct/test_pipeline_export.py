"""``reconstruct --export``: the formats are written beside the npz; an unknown one fails first."""

from __future__ import annotations

import pytest

from mvmocap.errors import InputError
from mvmocap.reconstruct import run
from tests.reconstruct.test_pipeline import EXAMPLE, capture, config  # noqa: F401  (module fixture)


def test_export_formats_are_written_after_the_fit(capture, tmp_path):  # noqa: F811
    root, _, _ = capture
    cfg = config()
    cfg.export.formats = ["bvh", "trc"]
    result = run(root / "videos", tmp_path / "o", calibration=EXAMPLE / "calibration.yaml", keypoints_dir=root / "json",
                 config=cfg, progress=False)
    text = (tmp_path / "o" / "motion.bvh").read_text()
    assert text.startswith("HIERARCHY") and "Frames: 12" in text
    assert (tmp_path / "o" / "markers.trc").is_file() and "export_formats" in result.timings


def test_unknown_export_format_fails_before_any_work(capture, tmp_path):  # noqa: F811
    root, _, _ = capture
    cfg = config()
    cfg.export.formats = ["fbx"]
    with pytest.raises(InputError, match="unknown export format"):
        run(root / "videos", tmp_path / "o", calibration=EXAMPLE / "calibration.yaml", keypoints_dir=root / "json",
            config=cfg, progress=False)
    assert not (tmp_path / "o").exists()


def test_rerun_recording_with_frames_and_detections(capture, tmp_path):  # noqa: F811
    pytest.importorskip("rerun", reason="rerun-sdk (the view extra) is not installed")
    from tests.export.rerun_reader import frames_per_entity

    root, rig, _ = capture
    cfg = config()
    cfg.export.rerun = True
    result = run(root / "videos", tmp_path / "o", calibration=EXAMPLE / "calibration.yaml", keypoints_dir=root / "json",
                 config=cfg, progress=False)
    frames = frames_per_entity(tmp_path / "o" / "recording.rrd")
    every = set(range(12))
    for name in rig.names:
        assert frames[f"/world/cameras/{name}/image"] == every  # the video frames
        assert frames[f"/world/cameras/{name}/image/detections"] == every
    assert frames["/world/body"] == every - {4, 5}  # nobody in frames 4 and 5
    assert "rerun" in result.timings
