"""Multi-person overlays (per-camera videos and a contact sheet): each person's body and skeleton in its own colour."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from mvmocap.export.overlay import contact_sheet, draw_mesh, draw_skeleton
from mvmocap.io.atomic import atomic_path
from mvmocap.io.video import discover_cameras, iter_frames, open_camera, parse_offsets, plan_frames
from mvmocap.synth.rasterize import winding_sign

SHEET_TIMES = 3
OTHER_COLOUR = (160, 160, 160)  # detections that belong to no kept person
MESH_TINT = 0.25  # share of white mixed into a person's colour for its mesh, so that the shading reads


def person_colour(k: int) -> tuple[int, int, int]:
    from mvmocap.reconstruct.people import PERSON_COLOURS

    return PERSON_COLOURS[k % len(PERSON_COLOURS)]


def mesh_colour(k: int) -> np.ndarray:
    """Person ``k``'s mesh colour: its BGR colour, lightened, as a ``(3,)`` scale in [0, 1] for :func:`draw_mesh`."""
    return MESH_TINT + (1 - MESH_TINT) * np.asarray(person_colour(k), dtype=float) / 255


def draw_people_meshes(image: np.ndarray, meshes: list[tuple[int, np.ndarray, np.ndarray]], faces: np.ndarray,
                       cull: int = 0) -> np.ndarray:
    """Every person's mesh over ``image (H, W, 3)`` uint8 BGR, each in :func:`mesh_colour`, as one mesh.

    One z-buffer for all of them: where bodies overlap in the image, the nearer one shows.

    Args:
        meshes: ``(person k, vertices_px (V, 2) pixels, vertices_cam (V, 3) camera-frame metres)`` per person.
        faces: ``(T, 3)`` the body model's faces; cull: see :func:`mvmocap.export.overlay.mesh_coverage`.
    Returns:
        a new image.
    """
    if not meshes:
        return image.copy()
    offsets = np.cumsum([0] + [len(m[1]) for m in meshes[:-1]])
    all_faces = np.concatenate([faces + offset for offset in offsets])
    colours = np.repeat(np.stack([mesh_colour(k) for k, _, _ in meshes]), len(faces), axis=0)  # (P T, 3)
    return draw_mesh(image, np.concatenate([m[1] for m in meshes]), np.concatenate([m[2] for m in meshes]),
                     all_faces, cull=cull, colour=colours)


def render_people_overlays(out: Path, videos_dir, people, rig, kept, fits, body_model, cfg) -> Path:
    """``out/overlays/<camera>.mp4`` (every ``render_stride``-th frame) and ``contact_sheet.png`` (first,
    middle and last frame in rows, cameras in columns), each person in its own colour.

    ``kept`` are the kept tracks (person k = ``kept[k]``) and ``fits[k] = (first_frame, FitResult)``
    with the fit over the track's frames from ``first_frame`` on.
    """
    folder = Path(out) / "overlays"
    folder.mkdir(parents=True, exist_ok=True)
    sources = {s.name: s for s in (open_camera(p) for p in discover_cameras(videos_dir, allow_folders_without_images=True))}
    plan = plan_frames([sources[n] for n in rig.names], cfg.detect.frames, parse_offsets(list(cfg.detect.offsets)))
    frames = np.arange(0, people.num_frames, cfg.export.render_stride)
    sheet_at = set(np.linspace(0, people.num_frames - 1, SHEET_TIMES).round().astype(int).tolist())
    frames = np.union1d(frames, sorted(sheet_at))
    in_video = set(range(0, people.num_frames, cfg.export.render_stride))
    drawn = _bodies(frames, fits, rig, body_model)
    owned = np.zeros(people.present.shape, bool)  # (C, F, P) slots of kept people
    for track in kept:
        c, f = np.nonzero(track.slots >= 0)
        owned[c, f, track.slots[c, f]] = True
    rows: dict[int, list[np.ndarray]] = {f: [] for f in sorted(sheet_at)}
    faces, available = body_model.faces.numpy(), body_model.coco23_available.numpy()
    cull = winding_sign(body_model.v_template, body_model.faces)  # closed bodies: back faces never show
    for c, name in enumerate(rig.names):
        writer = None
        with atomic_path(folder / f"{name}.mp4") as tmp:
            for i, (_, image) in enumerate(iter_frames(sources[name], plan.local_frames(name)[frames])):
                if image is None:
                    continue
                f = int(frames[i])
                _draw_frame(image, c, f, name, people, owned, drawn.get(f, []), faces, available, cull)
                if f in in_video:
                    if writer is None:
                        fps = float(people.fps[c]) / cfg.export.render_stride
                        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                                 (image.shape[1], image.shape[0]))
                    writer.write(image)
                if f in rows:
                    rows[f].append(image)
            if writer is not None:
                writer.release()
    sheet = contact_sheet([row for row in rows.values() if row])
    with atomic_path(folder / "contact_sheet.png") as tmp:
        cv2.imwrite(str(tmp), sheet)
    return folder


def _draw_frame(image, c: int, f: int, name: str, people, owned, bodies, faces, available, cull: int) -> None:
    """Draw, in place, the fitted people (mesh, skeleton and label in the person's colour) and the other
    detections (grey)."""
    image[:] = draw_people_meshes(image, [(k, v_px[c], v_cam[c]) for k, v_px, v_cam, _ in bodies], faces, cull)
    for k, _, _, keypoints_px in bodies:
        draw_skeleton(image, keypoints_px[c], available, person_colour(k), radius=8)
        top = keypoints_px[c][:, 1].min()
        cv2.putText(image, f"P{k}", _label_at(keypoints_px[c], top), cv2.FONT_HERSHEY_SIMPLEX, 2.0,
                    person_colour(k), 5, cv2.LINE_AA)
    for p in np.flatnonzero(people.present[c, f] & ~owned[c, f]):
        kp = people.keypoints[c, f, p]
        draw_skeleton(image, kp[:, :2], kp[:, 2] > 0.3, OTHER_COLOUR, radius=4)
    cv2.putText(image, f"{name} frame {people.frame_ids[f]}", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2,
                (255, 255, 255), 3, cv2.LINE_AA)


def _label_at(points: np.ndarray, top: float) -> tuple[int, int]:
    x = float(np.median(points[:, 0]))
    return int(x) - 30, int(max(top - 20, 60))


def _bodies(frames, fits, rig, body_model) -> dict[int, list]:
    """Per frame: ``(person, vertices_px (C, V, 2), vertices_cam (C, V, 3), keypoints_px (C, 23, 2))``."""
    drawn: dict[int, list] = {}
    dtype = body_model.v_template.dtype
    for k, (first, fit) in enumerate(fits):
        params = fit.params.detach().to(dtype=dtype, device="cpu")
        local = np.asarray(frames) - first
        inside = (local >= 0) & (local < params.num_frames)
        local = local[inside]
        local = local[params.valid[local].numpy().astype(bool)]
        if not local.size:
            continue
        index = torch.from_numpy(local)
        with torch.no_grad():
            body = body_model(global_orient=params.global_orient[index], body_pose=params.body_pose[index],
                              betas=params.betas[None].expand(len(local), -1), transl=params.transl[index])
        vertices = body.vertices.to(torch.float64)  # (L, V, 3)
        vertices_px = rig.project(vertices).numpy()  # (L, C, V, 2)
        vertices_cam = torch.einsum("cij,lvj->lcvi", rig.R, vertices) + rig.t[None, :, None]
        keypoints_px = rig.project(body.coco23.to(torch.float64)).numpy()
        for i, frame in enumerate(local + first):
            drawn.setdefault(int(frame), []).append((k, vertices_px[i], vertices_cam[i].numpy(), keypoints_px[i]))
    return drawn
