"""``--sync auto`` with several people: offsets from the main person's per-camera tracks, every
person's tracks resampled onto the common timeline (synthetic two-person capture, known offsets)."""

from __future__ import annotations

import numpy as np
import pytest

from mvmocap.detect.people import PeopleDetections
from mvmocap.errors import InputError
from mvmocap.reconstruct.people_sync import resample_people, synchronise_people
from mvmocap.synth.crowd import observe, ring_rig

OFFSETS = np.array([0, 4, -3, 7])  # timeline frames: camera c's frame i shows timeline frame OFFSETS[c] + i
LENGTH = 45  # frames per camera


def _two_people(frames: int, rng) -> np.ndarray:
    """``(2, F, 23, 3)``: two people moving freely (the calibration's synthetic motion, smoothed in time as
    the sync benchmark's), 2.2 m apart. A steady walk would repeat every step: no offset could be told."""
    from scipy.ndimage import gaussian_filter1d

    from mvmocap.calibrate.synthetic import make_motion

    people = [gaussian_filter1d(make_motion(frames, rng), sigma=2.0, axis=0, mode="nearest") for _ in range(2)]
    return np.stack([people[0] + [-1.1, 0.0, 0.0], people[1] + [1.1, 0.3, 0.0]])


@pytest.fixture(scope="module")
def unsynced():
    """The true rig, the scene on the timeline (frame k = timeline frame k + base) and the cameras' own
    views of it (each from its own frame 0)."""
    rng = np.random.default_rng(4)
    rig = ring_rig(4)
    base = -OFFSETS.min()
    total = LENGTH + OFFSETS.max() + base
    joints = _two_people(total, rng)
    scene = observe(rig, joints, np.ones((2, total), bool), rng, noise=0.002, outliers=0.0)
    own = [np.arange(LENGTH) + o + base for o in OFFSETS]  # the scene frames each camera recorded
    keypoints = np.stack([scene.keypoints[c, own[c]] for c in range(4)]).astype(np.float32)
    boxes = np.stack([scene.boxes[c, own[c]] for c in range(4)]).astype(np.float32)
    people = PeopleDetections(rig.names, np.arange(LENGTH), keypoints, boxes, rig.sizes.numpy().astype(int),
                              np.full(4, 30.0), "synthetic")
    return rig, scene, base, people


def _matches(synced: PeopleDetections, scene, base: int) -> float:
    """Median pixel distance from each true detection to the nearest resampled one at the same timeline frame."""
    gaps = []
    for c in range(synced.num_cameras):
        for t, frame in enumerate(synced.frame_ids):
            truth = scene.keypoints[c, frame + base]
            truth = truth[scene.boxes[c, frame + base, :, 4] > 0]
            mine = synced.keypoints[c, t][synced.present[c, t]]
            for person in truth:
                ok = person[:, 2] > 0
                gaps.append(min(np.median(np.linalg.norm(m[ok, :2] - person[ok, :2], axis=-1)) for m in mine))
    return float(np.median(gaps))


def test_offsets_are_found_from_the_main_person_with_known_cameras(unsynced):
    rig, scene, base, people = unsynced
    synced, sync, used = synchronise_people(people, rig)
    np.testing.assert_allclose(sync.offsets, OFFSETS, atol=0.25)
    assert used is not None and sync.method == "known cameras"
    common = LENGTH - (OFFSETS.max() - OFFSETS.min())  # the frames every camera recorded (fewer by one at a fraction)
    assert common - 1 <= synced.num_frames <= common
    assert synced.present.sum(-1).min() == 2  # both people, in every camera and frame
    assert _matches(synced, scene, base) < 1.0  # every person resampled onto the right timeline frame


def test_offsets_without_cameras_alternate_with_the_main_person_s_calibration(unsynced):
    from mvmocap.sync.workflows import joints_calibrator

    _, _, _, people = unsynced
    _, sync, used = synchronise_people(people, calibrate=joints_calibrator(None, 1.7))
    np.testing.assert_allclose(sync.offsets, OFFSETS, atol=0.3)
    assert used is not None and sync.method == "calibration from joints"


def test_with_cameras_every_person_is_taken_back_to_each_camera_s_own_frames_and_refined_jointly(unsynced):
    """At the whole-frame offsets each tracked person's per-camera tracks hold exactly that camera's own
    detections of one true person; the refinement of both people's residuals recovers the offsets."""
    from mvmocap.reconstruct.people_sync import people_track_sets
    from mvmocap.sync.refine_people import refine_offsets_jointly
    from mvmocap.sync.tracks import CameraTrack

    rig, scene, base, people = unsynced
    main = [CameraTrack(n, np.zeros((LENGTH, 23, 3)), np.zeros((LENGTH, 5)), 30.0, (1920, 1080)) for n in rig.names]
    sets = people_track_sets(people, rig, OFFSETS.astype(float), np.ones(4), main)
    assert len(sets) == 2
    owners = set()
    for tracks in sets:
        for c, tr in enumerate(tracks):
            seen = np.flatnonzero(tr.keypoints[:, :, 2].max(-1) > 0)
            assert len(seen) >= LENGTH - (OFFSETS.max() - OFFSETS.min()) - 1  # every frame all cameras recorded
            scene_frames = seen + OFFSETS[c] + base  # own frame i = scene frame OFFSETS[c] + base + i
            truth = scene.keypoints[c, scene_frames]  # (S, P, 23, 3): the detections there
            gaps = np.abs(truth[..., :2] - tr.keypoints[seen][:, None, :, :2]).max((-1, -2))  # (S, P)
            who = set(scene.truth[c, scene_frames, np.argmin(gaps, 1)].tolist())  # the true person per frame
            assert len(who) == 1 and gaps.min(1).max() < 1e-3  # one person, copied exactly
            owners |= {(c, who.pop())}
    assert len(owners) == 8  # two different people in every camera
    assert people_track_sets(people, rig, OFFSETS + 0.5, np.ones(4), main) == []  # not whole frames: none
    start = OFFSETS + np.array([0, 1, -1, 1])
    from mvmocap.sync.refine import RefineSettings

    offsets, sigma, _ = refine_offsets_jointly(sets, rig, np.ones(4), start.astype(float), [0],
                                               RefineSettings(bootstrap=50, sweeps=3))
    np.testing.assert_allclose(offsets, OFFSETS, atol=0.1)
    assert sigma[0] == 0 and (sigma[1:] < 0.2).all()


def test_resampling_follows_each_track_and_never_blends_two_people():
    """One camera, two people crossing the image in opposite directions, their slots swapped in frame 1."""
    keypoints = np.zeros((1, 3, 2, 23, 3), np.float32)
    boxes = np.zeros((1, 3, 2, 5), np.float32)
    for f in range(3):
        for person, (x, step) in enumerate(((100.0, 10.0), (500.0, -10.0))):
            slot = person if f != 1 else 1 - person
            keypoints[0, f, slot, :, 0] = x + step * f + np.arange(23)
            keypoints[0, f, slot, :, 1] = 200.0
            keypoints[0, f, slot, :, 2] = 0.9
            boxes[0, f, slot] = [x + step * f, 150, x + step * f + 60 + 40 * person, 400, 0.9]
    people = PeopleDetections(("cam",), np.arange(3), keypoints, boxes, np.array([[640, 480]]), np.array([30.0]), "t")
    half = resample_people(people, np.array([-0.5]), np.ones(1), np.arange(2), 30.0)  # frames 0.5 and 1.5
    for t in range(2):
        first = sorted(half.keypoints[0, t, :, 0, 0].tolist())
        np.testing.assert_allclose(first, [105 + 10 * t, 495 - 10 * t], atol=1e-3)  # a blend would be near 300
        assert half.boxes[0, t, 0, 0] == pytest.approx(495 - 10 * t)  # the larger box first
    late = resample_people(people, np.array([0.0]), np.ones(1), np.arange(1, 4), 30.0)  # past the last frame
    assert late.present[0].sum(-1).tolist() == [2, 2, 0]


def test_reconstruct_max_people_with_sync_auto(unsynced, tmp_path):
    import json

    import cv2

    from mvmocap.io.calibration import save_rig
    from mvmocap.io.openpose import write_frame
    from mvmocap.reconstruct import ReconstructConfig, run

    rig, _, _, people = unsynced
    videos = tmp_path / "videos"
    videos.mkdir()
    size = tuple(int(v) for v in rig.sizes[0].tolist())
    for c, name in enumerate(rig.names):  # black videos, the people in OpenPose JSON (each camera's own frames)
        writer = cv2.VideoWriter(str(videos / f"{name}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
        for _ in range(LENGTH):
            writer.write(np.zeros((size[1], size[0], 3), np.uint8))
        writer.release()
        for f in range(LENGTH):
            write_frame(videos / f"{name}_json" / f"{name}_{f:012d}_keypoints.json",
                        people.keypoints[c, f, people.present[c, f]], "body25")
    save_rig(rig, tmp_path / "cameras.yaml")
    fast = {"iters_shape": 20, "iters_global": 10, "iters_pose": 20, "shape_frames": 4, "chunk_size": 8}
    cfg = ReconstructConfig.from_dict({"detect": {"max_people": 2, "sync": "auto", "frames": "10:30:2",
                                                  "min_track_frames": 5}, "fit": fast})
    result = run(videos, tmp_path / "out", calibration=tmp_path / "cameras.yaml", keypoints_dir=videos, config=cfg,
                 progress=False)
    record = json.loads((tmp_path / "out" / "people.json").read_text())
    np.testing.assert_allclose([c["offset_frames"] for c in record["sync"]["cameras"]], OFFSETS, atol=0.25)
    assert (tmp_path / "out" / "sync.json").is_file()
    assert len(result.people) == 2 and all(p["median_reprojection_fit_px"] < 15 for p in result.people)
    assert [(p["first_frame"], p["last_frame"]) for p in result.people] == [(10, 28), (10, 28)]  # --frames on the timeline
    # detect --max-people --sync auto: the coarse offsets only (no cameras), in WORK/sync.json
    from typer.testing import CliRunner

    from mvmocap.cli.main import app

    detected = CliRunner().invoke(app, ["detect", str(videos), "--out", str(tmp_path / "work"), "--detector",
                                        "openpose-json", "--max-people", "2", "--sync", "auto"])
    assert detected.exit_code == 0, detected.output
    coarse = json.loads((tmp_path / "work" / "sync.json").read_text())
    assert coarse["method"] == "coarse"
    np.testing.assert_allclose([c["offset_frames"] for c in coarse["cameras"]], OFFSETS, atol=1.0)


def test_without_cameras_offsets_the_camera_pairs_do_not_agree_on_are_refused(unsynced, tmp_path):
    """The last camera's frames in reverse order: its lags with the others are chance, the loops of
    three cameras do not close, and the sync without cameras refuses (one line) instead of returning
    wrong offsets; with the cameras known, it is not asked."""
    from mvmocap.sync.workflows import joints_calibrator

    _, _, _, people = unsynced
    keypoints, boxes = people.keypoints.copy(), people.boxes.copy()
    keypoints[3], boxes[3] = keypoints[3, ::-1], boxes[3, ::-1]
    reversed_ = PeopleDetections(people.camera_names, people.frame_ids, keypoints, boxes, people.image_sizes,
                                 people.fps, people.detector)
    with pytest.raises(InputError, match=r"disagree .*adds up to .*--offset CAMERA=FRAMES"):
        synchronise_people(reversed_, calibrate=joints_calibrator(None, 1.7))
    with pytest.raises(InputError, match="disagree"):  # the coarse offsets alone (detect --sync auto) too
        synchronise_people(reversed_)
    # calibrate --from-joints WORK --max-people 2 --sync auto: one line, exit 2, no calibration written
    import json

    from typer.testing import CliRunner

    from mvmocap.cli.main import app
    from mvmocap.detect.people_run import _save

    work = tmp_path / "work"
    (work / "people").mkdir(parents=True)
    for c, name in enumerate(reversed_.camera_names):
        _save(work / "people" / f"{name}.npz", {
            "camera": name, "key": "synthetic", "detector": "synthetic", "frame_ids": reversed_.frame_ids,
            "local_frames": reversed_.frame_ids, "keypoints": keypoints[c], "boxes": boxes[c],
            "image_size": reversed_.image_sizes[c], "fps": 30.0, "seconds": np.zeros(LENGTH), "mono3d": None,
            "masks": None})
    (work / "people" / "index.json").write_text(json.dumps({"cameras": list(reversed_.camera_names)}))
    out = tmp_path / "cameras.yaml"
    refused = CliRunner().invoke(app, ["calibrate", "--from-joints", str(work), "--out", str(out), "--max-people", "2",
                                       "--sync", "auto"])
    assert refused.exit_code == 2, refused.output
    assert refused.output.startswith("error: --sync auto without cameras") and "--offset" in refused.output
    assert "Traceback" not in refused.output and not out.exists()
