"""``--render``: per-camera overlay videos of the fitted mesh and skeleton, and one PNG contact sheet."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from mvmocap.detect.detections import Detections
from mvmocap.export.overlay import contact_sheet, draw_mesh, draw_skeleton
from mvmocap.geometry.camera import CameraRig
from mvmocap.io.atomic import atomic_path
from mvmocap.io.video import discover_cameras, iter_frames, open_camera, parse_offsets, plan_frames
from mvmocap.synth.rasterize import winding_sign

DETECTION_COLOUR = (40, 40, 230)  # BGR red
MODEL_COLOUR = (60, 200, 60)  # BGR green
SHEET_TIMES = 3


def render_overlays(out: Path, videos_dir, detections: Detections, rig: CameraRig, params, body_model, cfg, *, progress=True) -> Path:
    """Write ``out/overlays/<camera>.mp4`` and ``out/overlays/contact_sheet.png``; returns the folder."""
    folder = Path(out) / "overlays"
    folder.mkdir(parents=True, exist_ok=True)
    sources = {s.name: s for s in (open_camera(p) for p in discover_cameras(videos_dir, allow_folders_without_images=True))}
    plan = plan_frames([sources[n] for n in rig.names], cfg.detect.frames, parse_offsets(list(cfg.detect.offsets)))
    stride = cfg.export.render_stride
    frames = np.arange(0, detections.num_frames, stride)
    dtype = body_model.v_template.dtype
    p = params.detach().to(dtype=dtype, device="cpu")
    with torch.no_grad():
        body = body_model(
            global_orient=p.global_orient[frames], body_pose=p.body_pose[frames],
            betas=p.betas[None].expand(len(frames), -1), transl=p.transl[frames],
        )
    vertices = body.vertices.to(torch.float64)
    model_px = rig.project(body.coco23.to(torch.float64)).numpy()  # (F', C, 23, 2)
    vertices_px = rig.project(vertices).numpy()  # (F', C, V, 2)
    faces = body_model.faces.numpy()
    cull = winding_sign(body_model.v_template, body_model.faces)  # a closed body: back faces never show
    sheet_at = set(np.linspace(0, len(frames) - 1, SHEET_TIMES).round().astype(int).tolist())
    tiles: dict[int, list[np.ndarray]] = {i: [] for i in sorted(sheet_at)}
    for c, name in enumerate(rig.names):
        R, t = rig.R[c].numpy(), rig.t[c].numpy()
        local = plan.local_frames(name)[frames]
        writer = None
        with atomic_path(folder / f"{name}.mp4") as tmp:
            for i, (_, image) in enumerate(iter_frames(sources[name], local)):
                if image is None:
                    continue
                f = frames[i]
                valid = bool(p.valid[f])
                if valid:
                    cam_points = vertices[i].numpy() @ R.T + t
                    image = draw_mesh(image, vertices_px[i, c], cam_points, faces, cull=cull)
                    draw_skeleton(image, model_px[i, c], body_model.coco23_available.numpy(), MODEL_COLOUR)
                kp = detections.keypoints[c, f]
                draw_skeleton(image, kp[:, :2], kp[:, 2] > 0.2, DETECTION_COLOUR, radius=2)
                cv2.putText(image, f"{name} frame {detections.frame_ids[f]}" + ("" if valid else " (no fit)"),
                            (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
                if writer is None:
                    fps = float(detections.fps[c]) / stride
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (image.shape[1], image.shape[0]))
                writer.write(image)
                if i in tiles:
                    tiles[i].append(image)
            if writer is not None:
                writer.release()
    sheet = contact_sheet([row for row in tiles.values() if row])
    with atomic_path(folder / "contact_sheet.png") as tmp:
        cv2.imwrite(str(tmp), sheet)
    return folder
