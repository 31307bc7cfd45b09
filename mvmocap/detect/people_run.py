"""Detect every person per camera (``--max-people N`` with N > 1), cached per camera.

Each camera keeps up to ``slots_for(N) = N + 2`` people per frame, the most salient first
(:func:`mvmocap.detect.tracking.salience`): the two extra slots let bystanders be seen
(and later dropped as short tracks) without displacing the people asked for.

Cache: ``WORK/people/<camera>.npz`` (``format = "mvmocap-people/1"``, written atomically) with
``key`` (detector settings + source, as the single-person cache), ``frame_ids (F,)``,
``local_frames (F,)``, ``keypoints (F, P, 23, 3)``, ``boxes (F, P, 5)``, ``image_size``, ``fps``,
``seconds (F,)`` detector time per image, optional ``mono3d (F, P, 23, 4)`` and the masks of all
slots flattened frame-major (see :func:`mvmocap.detect.masks.pack_masks`);
``WORK/people/index.json`` names the cameras of the last complete run.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from mvmocap.detect.cache import make_key
from mvmocap.detect.candidates import NUM_JOINTS, Candidates
from mvmocap.detect.masks import pack_masks, unpack_masks
from mvmocap.detect.people import PeopleDetections
from mvmocap.detect.report import Reporter, print_people_summary
from mvmocap.detect.run import _finite_or_missing, _source_key
from mvmocap.detect.tracking import salience
from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.io.atomic import atomic_path, atomic_write_text
from mvmocap.io.video import discover_cameras, open_camera, parse_offsets, plan_frames

FORMAT = "mvmocap-people/1"
EXTRA_SLOTS = 2


def check_max_people(max_people: int) -> int:
    """``max_people`` as an int >= 1, else :class:`InputError`."""
    if int(max_people) != max_people or max_people < 1:
        raise InputError(f"--max-people must be an integer >= 1 (1 = the single-person pipeline), got {max_people}")
    return int(max_people)


def slots_for(max_people: int) -> int:
    """People kept per camera and frame when ``max_people`` people are wanted."""
    return check_max_people(max_people) + EXTRA_SLOTS


def run_people(videos_dir, out, *, max_people: int, detector: str = "blazepose", frames=None, offsets=None,
               strict: bool = False, progress: bool = True, openpose_dir=None, scale: float = 0.5,
               force: bool = False, backend=None, device: str = "cpu", weights=None,
               densepose_weights=None) -> PeopleDetections:
    """Detect up to ``slots_for(max_people)`` people per camera and frame; reuse ``out/people`` when it matches.

    ``backend`` overrides the detector (tests); otherwise ``blazepose`` (multi-person Tasks
    landmarker), ``openpose-json`` (every person of each JSON file) or ``detectron2`` (every
    instance; ``device``, ``weights``, ``densepose_weights`` as in :func:`mvmocap.detect.run`).
    """
    slots = slots_for(max_people)
    if backend is None:
        backend = _make_backend(detector, slots, Path(openpose_dir) if openpose_dir else Path(videos_dir), scale,
                                device=device, weights=weights, densepose_weights=densepose_weights)
    paths = discover_cameras(videos_dir, allow_folders_without_images=detector == "openpose-json")
    sources = [open_camera(p) for p in paths]
    plan = plan_frames(sources, frames, parse_offsets(offsets), strict=strict)
    folder = Path(out) / "people"
    index = folder / "index.json"
    if index.exists():
        index.unlink()
    reporter = Reporter(progress)
    cameras = []
    try:
        with reporter:
            for source in sources:
                local = plan.local_frames(source.name)
                key = make_key(backend.name, {**backend.settings, "slots": slots}, _source_key(source, backend))
                cached = None if force else _reusable(folder / f"{source.name}.npz", key, plan.frame_ids)
                if cached is not None:
                    reporter.skip(source.name, len(local))
                    cameras.append(cached)
                    continue
                data = _detect_camera(backend, source, local, slots, reporter)
                data.update(camera=source.name, key=key, frame_ids=plan.frame_ids, local_frames=local,
                            image_size=np.asarray(source.size), fps=float(source.fps), detector=backend.name)
                _save(folder / f"{source.name}.npz", data)
                cameras.append(data)
    finally:
        backend.close()
    atomic_write_text(index, json.dumps({"format": FORMAT, "cameras": [c["camera"] for c in cameras]}))
    people = _assemble(cameras)
    if progress:
        print_people_summary(people, reporter.status)
    return people


def export_people_openpose(out_dir, people: PeopleDetections, layout: str = "body25") -> None:
    """Every person of every camera and frame as OpenPose JSON: ``out_dir/<camera>_json/<camera>_<frame:012d>_keypoints.json``."""
    from mvmocap.io.openpose import write_frame

    for c, camera in enumerate(people.camera_names):
        folder = Path(out_dir) / f"{camera}_json"
        folder.mkdir(parents=True, exist_ok=True)
        for f, frame in enumerate(people.frame_ids):
            write_frame(folder / f"{camera}_{int(frame):012d}_keypoints.json",
                        people.keypoints[c, f, people.present[c, f]], layout)


def load_people(work_dir) -> PeopleDetections:
    """The people detections of the last complete :func:`run_people` into ``work_dir``."""
    index = Path(work_dir) / "people" / "index.json"
    if not index.is_file():
        raise MissingFileError(index.parent, "complete multi-person detections")
    names = json.loads(index.read_text(encoding="utf-8"))["cameras"]
    return _assemble([_load(index.parent / f"{name}.npz") for name in names])


def _make_backend(detector: str, slots: int, openpose_dir: Path, scale: float, *, device: str, weights,
                  densepose_weights):
    if detector == "blazepose":
        from mvmocap.detect.multi_blazepose import MultiBlazePoseDetector

        return MultiBlazePoseDetector(num_poses=slots, scale=scale)
    if detector == "openpose-json":
        from mvmocap.detect.openpose_json import OpenPoseJsonReader

        return OpenPoseJsonReader(openpose_dir)
    if detector == "detectron2":
        from mvmocap.detect.detectron2 import Detectron2Detector

        return Detectron2Detector(weights=weights, densepose_weights=densepose_weights, device=device)
    raise InputError(f"unknown detector {detector!r}")


def _detect_camera(backend, source, local: np.ndarray, slots: int, reporter: Reporter) -> dict:
    F = len(local)
    keypoints = np.zeros((F, slots, NUM_JOINTS, 3), np.float32)
    boxes = np.zeros((F, slots, 5), np.float32)
    mono3d = np.zeros((F, slots, NUM_JOINTS, 4), np.float32)
    masks: list = [None] * (F * slots)
    seconds = np.zeros(F, np.float64)
    has_mono3d = has_masks = False
    unreadable = 0
    position = {int(lf): i for i, lf in enumerate(local)}
    backend.start_camera(source.name)
    reporter.start(source.name, F)
    for lf, cands, spent in _candidates(backend, source, local):
        f = position[int(lf)]
        seconds[f] = spent
        if cands is None:
            unreadable += 1
            reporter.advance(source.name)
            continue
        order = np.argsort(-salience(cands.boxes, source.size), kind="stable")[:slots] if len(cands) else []
        for p, i in enumerate(order):
            keypoints[f, p] = _finite_or_missing(cands.keypoints[i])
            boxes[f, p] = cands.boxes[i]
            if cands.mono3d is not None:
                mono3d[f, p] = _finite_or_missing(cands.mono3d[i])
                has_mono3d = True
            if cands.masks is not None:
                masks[f * slots + p] = cands.masks[i]
                has_masks = True
        reporter.advance(source.name)
    if unreadable == F:
        raise FileFormatError(source.path, "zero readable frames in the requested range")
    if unreadable:
        warnings.warn(f"{source.name}: {unreadable} of {F} frames could not be read (kept as nobody)", stacklevel=3)
    return {"keypoints": keypoints, "boxes": boxes, "seconds": seconds,
            "mono3d": mono3d if has_mono3d else None, "masks": masks if has_masks else None}


def _candidates(backend, source, local):
    """``(local_frame, Candidates | None, seconds)`` per frame; None = unreadable / no data."""
    if getattr(backend, "reads_images", True):
        from mvmocap.io.video import iter_frames

        for lf, image in iter_frames(source, local):
            tick = time.perf_counter()
            cands = backend.process(image) if image is not None else None
            yield lf, cands, time.perf_counter() - tick
    else:
        for lf in local:
            tick = time.perf_counter()
            cands: Candidates | None = backend.process_frame(lf)
            yield lf, cands, time.perf_counter() - tick


def _save(path: Path, data: dict) -> None:
    arrays = {"format": np.array(FORMAT), "camera": np.array(data["camera"]), "key": np.array(data["key"]),
              "detector": np.array(data["detector"]), "frame_ids": np.asarray(data["frame_ids"], np.int64),
              "local_frames": np.asarray(data["local_frames"], np.int64), "keypoints": data["keypoints"],
              "boxes": data["boxes"], "image_size": np.asarray(data["image_size"], np.int64),
              "fps": np.array(data["fps"]), "seconds": data["seconds"]}
    if data["mono3d"] is not None:
        arrays["mono3d"] = data["mono3d"]
    if data["masks"] is not None:
        arrays.update(pack_masks(data["masks"]))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)


def _load(path: Path) -> dict:
    if not path.is_file():
        raise MissingFileError(path, "camera people detections")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "format" not in npz or str(npz["format"]) != FORMAT:
                raise FileFormatError(path, f"not an {FORMAT} file")
            data = {k: npz[k] for k in npz.files if not k.startswith("mask_")}
            data["masks"] = unpack_masks(npz["mask_shapes"], npz["mask_lengths"], npz["mask_counts"]) \
                if "mask_lengths" in npz.files else None
    except FileFormatError:
        raise
    except Exception as exc:  # zip/npz corruption of any kind
        raise FileFormatError(path, f"unreadable people detections ({exc.__class__.__name__}: {exc})") from None
    data["camera"], data["key"], data["detector"] = str(data["camera"]), str(data["key"]), str(data["detector"])
    data.setdefault("mono3d", None)
    return data


def _reusable(path: Path, key: str, frame_ids: np.ndarray) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = _load(path)
    except FileFormatError:
        return None
    if data["key"] != key or not np.array_equal(data["frame_ids"], frame_ids):
        return None
    return data


def _assemble(cameras: list[dict]) -> PeopleDetections:
    frame_ids = cameras[0]["frame_ids"]
    if any(not np.array_equal(c["frame_ids"], frame_ids) for c in cameras):
        raise InputError("cached people detections cover different frames per camera; rerun with --force")
    F, P = cameras[0]["keypoints"].shape[:2]
    mono3d = None
    if any(c["mono3d"] is not None for c in cameras):
        mono3d = np.stack([c["mono3d"] if c["mono3d"] is not None else np.zeros((F, P, NUM_JOINTS, 4), np.float32)
                           for c in cameras])
    masks = None
    if any(c["masks"] is not None for c in cameras):
        masks = [[(c["masks"] or [None] * (F * P))[f * P:(f + 1) * P] for f in range(F)] for c in cameras]
    return PeopleDetections(
        camera_names=tuple(c["camera"] for c in cameras), frame_ids=np.asarray(frame_ids),
        keypoints=np.stack([c["keypoints"] for c in cameras]), boxes=np.stack([c["boxes"] for c in cameras]),
        image_sizes=np.array([c["image_size"] for c in cameras], np.int64),
        fps=np.array([float(c["fps"]) for c in cameras]), detector=cameras[0]["detector"], mono3d=mono3d,
        masks=masks, seconds=np.stack([c["seconds"] for c in cameras]),
    )
