"""``mvmocap.detect.run`` / ``load`` end to end on a synthetic capture (openpose-json backend: no network)."""

from __future__ import annotations

import numpy as np
import pytest

import mvmocap.detect as detect
from mvmocap.detect import cache
from mvmocap.detect.openpose_json import OpenPoseJsonReader
from mvmocap.detect.report import summarize
from mvmocap.errors import InputError, MissingFileError
from mvmocap.io.openpose import frame_files, read_frame


def run(videos, work, **kw):
    return detect.run(videos, out=work, detector="openpose-json", progress=False, **kw)


def test_run_imports_tracks_and_caches(capture, tmp_path):
    videos, truth = capture
    work = tmp_path / "work"
    det = run(videos, work)
    assert det.camera_names == ("cam01", "cam02") and det.detector == "openpose-json"
    assert det.keypoints.shape == (2, 12, 23, 3) and det.frame_ids.tolist() == list(range(12))
    np.testing.assert_array_equal(det.image_sizes, [[64, 48], [64, 48]])
    for c, cam in enumerate(det.camera_names):
        np.testing.assert_allclose(det.keypoints[c], truth[cam], atol=2e-3)  # JSON keeps 3 decimals
    assert det.boxes[0, 5, 4] == 0 and np.all(det.keypoints[0, 5] == 0)  # nobody: confidence 0
    assert np.all(det.boxes[1, :, 4] > 0)  # the bystander is never chosen (checked by the keypoints above)
    rows = summarize(det)
    assert rows[0]["detected"] == pytest.approx(11 / 12) and rows[1]["detected"] == 1.0
    loaded = detect.load(work)
    np.testing.assert_array_equal(loaded.keypoints, det.keypoints)
    assert sorted(p.name for p in (work / "detections").iterdir()) == ["cam01.npz", "cam02.npz", "index.json"]


def test_rerun_skips_finished_cameras_and_settings_change_recomputes(capture, tmp_path, monkeypatch):
    videos, _ = capture
    work = tmp_path / "work"
    run(videos, work)
    calls = []
    original = OpenPoseJsonReader.process_frame
    monkeypatch.setattr(OpenPoseJsonReader, "process_frame", lambda self, f: calls.append(f) or original(self, f))
    run(videos, work)
    assert calls == []
    run(videos, work, frames="0:6")  # other frames: both cameras again
    assert len(calls) == 12
    calls.clear()
    run(videos, work, frames="0:6", force=True)
    assert len(calls) == 12


def test_interrupted_camera_restarts_cleanly(capture, tmp_path, monkeypatch):
    videos, truth = capture
    work = tmp_path / "work"
    original = OpenPoseJsonReader.process_frame

    def crash_in_cam02(self, frame):
        if "cam02" in str(next(iter(self._files.values()))) and frame == 7:
            raise KeyboardInterrupt
        return original(self, frame)

    monkeypatch.setattr(OpenPoseJsonReader, "process_frame", crash_in_cam02)
    with pytest.raises(KeyboardInterrupt):
        run(videos, work)
    files = sorted(p.name for p in (work / "detections").iterdir())
    assert files == ["cam01.npz"]  # no half-written cam02, no index
    with pytest.raises(MissingFileError, match="complete detections"):
        detect.load(work)
    monkeypatch.setattr(OpenPoseJsonReader, "process_frame", original)
    det = run(videos, work)
    np.testing.assert_allclose(det.keypoints[1], truth["cam02"], atol=2e-3)


def test_offsets_shift_local_frames(capture, tmp_path):
    videos, truth = capture
    det = run(videos, tmp_path / "w", offsets=["cam02=2"])
    assert det.frame_ids.tolist() == list(range(2, 12))
    np.testing.assert_allclose(det.keypoints[1], truth["cam02"][:10], atol=2e-3)  # cam02's own frames 0..9
    np.testing.assert_allclose(det.keypoints[0], truth["cam01"][2:], atol=2e-3)


def test_export_openpose_round_trip(capture, tmp_path):
    videos, _ = capture
    out = tmp_path / "op"
    det = run(videos, tmp_path / "w", export_openpose=out)
    files = frame_files(out / "cam01_json")
    assert sorted(files) == list(range(12))
    assert read_frame(files[5]).shape == (0, 23, 3)
    np.testing.assert_allclose(read_frame(files[3])[0], det.keypoints[0, 3], atol=2e-3)


def test_cache_file_round_trip_and_key(tmp_path, rng):
    from mvmocap.detect.masks import rle_encode

    F = 4
    masks = [rle_encode(rng.uniform(size=(6, 8)) < 0.5), None, None, rle_encode(np.ones((6, 8), bool))]
    original = cache.CameraDetections(
        camera="c1", detector="blazepose", key=cache.make_key("blazepose", {"scale": 0.5}, {"path": "x"}),
        frame_ids=np.arange(F) + 3, local_frames=np.arange(F), keypoints=rng.random((F, 23, 3)).astype(np.float32),
        boxes=rng.random((F, 5)).astype(np.float32), image_size=(8, 6), fps=60.0,
        mono3d=rng.random((F, 23, 4)).astype(np.float32), masks=masks,
        iuv=rng.integers(0, 255, (F, 3, 4, 4)).astype(np.uint8),
    )
    path = cache.save_camera(tmp_path, original)
    back = cache.load_camera(path)
    for name in ("frame_ids", "local_frames", "keypoints", "boxes", "mono3d", "iuv"):
        np.testing.assert_array_equal(getattr(back, name), getattr(original, name))
    assert back.image_size == (8, 6) and back.fps == 60.0 and back.key == original.key
    assert back.masks[1] is None and np.array_equal(back.masks[3].decode(), masks[3].decode())
    assert cache.find_reusable(tmp_path, "c1", original.key, original.frame_ids) is not None
    assert cache.find_reusable(tmp_path, "c1", original.key, original.frame_ids[:2]) is None
    other = cache.make_key("blazepose", {"scale": 1.0}, {"path": "x"})
    assert cache.find_reusable(tmp_path, "c1", other, original.frame_ids) is None
    path.write_bytes(path.read_bytes()[:100])  # truncated: never reused, never a crash
    assert cache.find_reusable(tmp_path, "c1", original.key, original.frame_ids) is None


def test_bad_arguments(capture, tmp_path):
    videos, _ = capture
    with pytest.raises(InputError, match="unknown detector"):
        detect.run(videos, out=tmp_path, detector="yolo", progress=False)
    with pytest.raises(InputError, match="unknown device"):
        detect.run(videos, out=tmp_path, device="tpu", progress=False)
    with pytest.raises(MissingFileError):
        detect.load(tmp_path / "nothing")


def test_non_finite_points_become_missing():
    from mvmocap.detect.run import _finite_or_missing

    pts = np.ones((4, 3), np.float32)
    pts[1, 0] = np.nan
    pts[3, 2] = np.inf
    out = _finite_or_missing(pts)
    assert np.all(out[[1, 3]] == 0) and np.all(out[[0, 2]] == 1)


def test_blazepose_on_frames_with_nobody(tmp_path):
    """Image folders of empty frames: every frame is 'nobody' (confidence 0), never a crash."""
    import cv2

    videos = tmp_path / "videos"
    for cam in ("a", "b"):
        (videos / cam).mkdir(parents=True)
        for k in range(3):
            cv2.imwrite(str(videos / cam / f"{k:03d}.png"), np.zeros((96, 64, 3), np.uint8))
    det = detect.run(videos, out=tmp_path / "w", progress=False)
    assert det.camera_names == ("a", "b") and det.detector == "blazepose"
    assert np.all(det.keypoints == 0) and np.all(det.boxes == 0)
    assert det.mono3d is None and det.masks is None
    assert [row["detected"] for row in summarize(det)] == [0.0, 0.0]
    np.testing.assert_array_equal(det.fps, [0.0, 0.0])  # image folders: frame rate unknown
