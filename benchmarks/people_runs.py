"""One single-person reconstruct folder per person of a ``reconstruct --max-people N`` run (for scoring).

A multi-person run keeps the single-person files per person (``OUT/person_k/``: ``smpl_params.npz``,
``joints3d.npz``, ``cameras.yaml``) but the detections only once, for everybody (``OUT/work/people``).
:func:`person_runs` gives each ``person_k`` folder its own ``work/detections`` (that person's
detection in every camera and frame, mask included), re-derived exactly as the run did: the cached
people detections, the cross-view association and the 3D tracking (deterministic), the kept tracks in
the run's order (first frame, then track id). Then ``person_k`` is what ``reconstruct`` writes for
one person, and :func:`mvmocap.adapt.captures.load_capture` and the held-out scoring read it as such.

The re-derivation is checked: the person's detections, left/right-repaired and triangulated as the
run did, must give the run's own ``joints3d.npz`` triangulation (else :class:`RuntimeError`).
Note: the association that decides which detection in a camera is whose used every camera, the
held-out one included (identity only; no method sees the held-out camera's keypoints).

    python benchmarks/people_runs.py /tmp/a3/Trial_2mp
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def person_runs(run: Path) -> list[Path]:
    """``[run]`` for a single-person run; for a multi-person one, its ``person_k`` folders, each given
    its ``work/detections`` (written once; see the module docstring)."""
    run = Path(run)
    people_file = run / "people.json"
    if not people_file.is_file():
        return [run]
    persons = json.loads(people_file.read_text())["persons"]
    folders = [run / p["folder"] for p in persons]
    if all((f / "work" / "detections" / "index.json").is_file() for f in folders):
        return folders
    from mvmocap.reconstruct.config import ReconstructConfig

    cfg = ReconstructConfig.load(run / "config.yaml")
    people, rig = _people_and_rig(run)
    tracks = _kept_tracks(run, people, rig, cfg, len(persons))
    for person, folder in zip(persons, folders):
        track = tracks[person["person"]]
        assert track.id == person["track"], (track.id, person)
        _write_person_detections(people, rig, folder, track, cfg.triangulation)
    return folders


def _people_and_rig(run: Path):
    from mvmocap.detect.people_run import load_people
    from mvmocap.io.calibration import load_rig

    people = load_people(run / "work")
    rig = load_rig(next(run.glob("person_*/cameras.yaml")))
    return people.subset_cameras(rig.names), rig


def _kept_tracks(run: Path, people, rig, cfg, count: int):
    from mvmocap.associate import associate, select_tracks, track

    clusters = associate(people.keypoints, people.boxes, rig)
    tracking = track(clusters, people.keypoints, people.boxes, rig)
    kept, _ = select_tracks(tracking, cfg.detect.max_people, cfg.detect.min_track_frames)
    kept.sort(key=lambda t: (t.frame_span[0], t.id))
    if len(kept) != count:
        raise RuntimeError(f"{run}: re-derived {len(kept)} people, people.json lists {count}")
    return kept


def _write_person_detections(people, rig, folder: Path, track, triangulation) -> None:
    from mvmocap.detect.cache import CameraDetections, save_camera, write_index
    from mvmocap.detect.left_right import fix_left_right
    from mvmocap.reconstruct.pipeline import keypoints_tensor

    first, last = track.frame_span
    det = people.select(track.slots).subset_frames(np.arange(first, last + 1))
    fixed, _ = fix_left_right(det, rig)
    keypoints = keypoints_tensor(fixed, triangulation.min_confidence)
    tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2], threshold_px=triangulation.threshold_px)
    with np.load(folder / "joints3d.npz") as saved:
        expected = torch.from_numpy(np.nan_to_num(saved["triangulated"])).to(tri.points.dtype)
    if not torch.allclose(torch.nan_to_num(tri.points), expected, atol=1e-6):
        raise RuntimeError(f"{folder}: the re-derived detections do not reproduce the run's triangulation")
    work = folder / "work"
    for c, name in enumerate(det.camera_names):
        save_camera(work, CameraDetections(
            name, det.detector, f"people:{folder.name}", det.frame_ids, det.frame_ids, det.keypoints[c], det.boxes[c],
            tuple(int(v) for v in det.image_sizes[c]), float(det.fps[c]),
            mono3d=None if det.mono3d is None else det.mono3d[c], masks=None if det.masks is None else det.masks[c]))
    write_index(work, list(det.camera_names), det.detector)


if __name__ == "__main__":
    for path in person_runs(Path(sys.argv[1])):
        print(path)
