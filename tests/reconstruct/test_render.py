"""``--render``: overlay videos (H.264 with the video extra), cached by the inputs' hash."""

from __future__ import annotations

import json

import cv2

from mvmocap.export.video_writer import h264_available
from mvmocap.reconstruct import run
from tests.reconstruct.test_pipeline import EXAMPLE, capture, config  # noqa: F401  (module fixture)


def test_overlays_are_written_once_and_reused(capture, tmp_path):  # noqa: F811
    root, rig, _ = capture
    cfg = config()
    cfg.export.render = True
    cfg.export.render_stride = 4  # frames 0, 4, 8
    kwargs = dict(calibration=EXAMPLE / "calibration.yaml", keypoints_dir=root / "json", config=cfg, progress=False)
    first = run(root / "videos", tmp_path / "o", **kwargs)
    folder = tmp_path / "o" / "overlays"
    stamp = json.loads((folder / "render_key.json").read_text())
    assert stamp["codec"] == ("h264" if h264_available() else "mp4v")
    capture_ = cv2.VideoCapture(str(folder / f"{rig.names[0]}.mp4"))
    assert int(capture_.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    capture_.release()
    times = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    second = run(root / "videos", tmp_path / "o", **kwargs)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == times  # nothing rendered again
    assert second.timings["render"] < first.timings["render"] / 5
    cfg.export.render_stride = 6  # another input: rendered again
    run(root / "videos", tmp_path / "o", **kwargs)
    assert json.loads((folder / "render_key.json").read_text())["key"] != stamp["key"]


def test_with_sync_each_timeline_frame_is_drawn_on_the_frame_its_camera_recorded_nearest():
    import numpy as np

    from mvmocap.reconstruct.render import _local_frames
    from mvmocap.sync.result import SyncResult

    sync = SyncResult(camera_names=("cam01", "cam02"), offsets=np.array([0.0, 2.6]), uncertainty=np.zeros(2),
                      coarse=np.array([0.0, 3.0]), ratios=np.array([1.0, 2.0]), fps=np.array([60.0, 30.0]),
                      timeline_fps=60.0, reference="cam01", method="known cameras")
    timeline = np.array([3, 4, 5, 10, 14])
    # cam02 (30 fps, started 2.6 timeline frames late) shows timeline frame tau at its own (tau - 2.6) / 2
    assert _local_frames(None, sync, "cam02", np.arange(5), timeline, 6).tolist() == [0, 1, 1, 4, 5]
    assert _local_frames(None, sync, "cam02", np.arange(5), timeline, 5).tolist() == [0, 1, 1, 4, 4]  # clipped
    assert _local_frames(None, sync, "cam01", np.arange(5), timeline, 20).tolist() == timeline.tolist()
