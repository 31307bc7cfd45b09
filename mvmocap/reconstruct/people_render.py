"""The multi-person contact sheet: each person's fitted body and skeleton in its own colour."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from mvmocap.export.overlay import contact_sheet, draw_mesh, draw_skeleton
from mvmocap.io.atomic import atomic_path
from mvmocap.io.video import discover_cameras, iter_frames, open_camera, parse_offsets, plan_frames

SHEET_TIMES = 3
OTHER_COLOUR = (160, 160, 160)  # detections that belong to no kept person


def person_colour(k: int) -> tuple[int, int, int]:
    from mvmocap.reconstruct.people import PERSON_COLOURS

    return PERSON_COLOURS[k % len(PERSON_COLOURS)]


def render_people_sheet(out: Path, videos_dir, people, rig, kept, fits, body_model, cfg) -> Path:
    """``out/overlays/contact_sheet.png``: first, middle and last frame (rows) of every camera (columns).

    ``kept`` are the kept tracks (person k = ``kept[k]``) and ``fits[k] = (first_frame, FitResult)``
    with the fit over the track's frames from ``first_frame`` on.
    """
    folder = Path(out) / "overlays"
    folder.mkdir(parents=True, exist_ok=True)
    sources = {s.name: s for s in (open_camera(p) for p in discover_cameras(videos_dir, allow_folders_without_images=True))}
    plan = plan_frames([sources[n] for n in rig.names], cfg.detect.frames, parse_offsets(list(cfg.detect.offsets)))
    frames = np.unique(np.linspace(0, people.num_frames - 1, SHEET_TIMES).round().astype(int))
    drawn = _bodies(frames, kept, fits, rig, body_model)
    rows: list[list[np.ndarray]] = [[] for _ in frames]
    owned = np.zeros(people.present.shape, bool)  # (C, F, P) slots of kept people
    for track in kept:
        c, f = np.nonzero(track.slots >= 0)
        owned[c, f, track.slots[c, f]] = True
    for c, name in enumerate(rig.names):
        local = plan.local_frames(name)[frames]
        for i, (_, image) in enumerate(iter_frames(sources[name], local)):
            if image is None:
                continue
            f = frames[i]
            for k, vertices_px, vertices_cam, keypoints_px in drawn.get(int(f), []):
                image = draw_mesh(image, vertices_px[c], vertices_cam[c], body_model.faces.numpy())
                draw_skeleton(image, keypoints_px[c], body_model.coco23_available.numpy(), person_colour(k), radius=8)
                top = keypoints_px[c][:, 1].min()
                cv2.putText(image, f"P{k}", _label_at(keypoints_px[c], top), cv2.FONT_HERSHEY_SIMPLEX, 2.0,
                            person_colour(k), 5, cv2.LINE_AA)
            for p in np.flatnonzero(people.present[c, f] & ~owned[c, f]):
                kp = people.keypoints[c, f, p]
                draw_skeleton(image, kp[:, :2], kp[:, 2] > 0.3, OTHER_COLOUR, radius=4)
            cv2.putText(image, f"{name} frame {people.frame_ids[f]}", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2,
                        (255, 255, 255), 3, cv2.LINE_AA)
            rows[i].append(image)
    sheet = contact_sheet([row for row in rows if row])
    with atomic_path(folder / "contact_sheet.png") as tmp:
        cv2.imwrite(str(tmp), sheet)
    return folder


def _label_at(points: np.ndarray, top: float) -> tuple[int, int]:
    x = float(np.median(points[:, 0]))
    return int(x) - 30, int(max(top - 20, 60))


def _bodies(frames, kept, fits, rig, body_model) -> dict[int, list]:
    """Per sheet frame: ``(person, vertices_px (C, V, 2), vertices_cam (C, V, 3), keypoints_px (C, 23, 2))``."""
    drawn: dict[int, list] = {}
    dtype = body_model.v_template.dtype
    for k, (first, fit) in enumerate(fits):
        params = fit.params.detach().to(dtype=dtype, device="cpu")
        for f in frames:
            local = int(f) - first
            if not 0 <= local < params.num_frames or not bool(params.valid[local]):
                continue
            with torch.no_grad():
                body = body_model(global_orient=params.global_orient[local:local + 1],
                                  body_pose=params.body_pose[local:local + 1], betas=params.betas[None],
                                  transl=params.transl[local:local + 1])
            vertices = body.vertices[0].to(torch.float64)
            vertices_px = rig.project(vertices).numpy()  # (C, V, 2)
            vertices_cam = (vertices[None] @ rig.R.transpose(-1, -2) + rig.t[:, None]).numpy()
            keypoints_px = rig.project(body.coco23[0].to(torch.float64)).numpy()
            drawn.setdefault(int(f), []).append((k, vertices_px, vertices_cam, keypoints_px))
    return drawn
