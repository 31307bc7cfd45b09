"""``--render``: per-camera overlay videos of the fitted mesh and skeleton, and one PNG contact sheet.

H.264 when the ``video`` extra (imageio-ffmpeg) is installed, else mp4v. The overlays are keyed by a
hash of everything drawn (videos, frames, detections, cameras, parameters, body model, settings):
``overlays/render_key.json`` is written last, and a rerun with the same key renders nothing.
"""

from __future__ import annotations

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch

from mvmocap.detect.detections import Detections
from mvmocap.console import console
from mvmocap.export.overlay import contact_sheet, draw_mesh, draw_skeleton
from mvmocap.export.video_writer import VideoWriter, h264_available
from mvmocap.geometry.camera import CameraRig
from mvmocap.io.atomic import atomic_path, atomic_write_text
from mvmocap.io.video import discover_cameras, iter_frames, open_camera, parse_offsets, plan_frames
from mvmocap.reconstruct.stage_cache import stage_key
from mvmocap.synth.rasterize import winding_sign

DETECTION_COLOUR = (40, 40, 230)  # BGR red
MODEL_COLOUR = (60, 200, 60)  # BGR green
SHEET_TIMES = 3
RENDER_VERSION = "overlays/2"  # bump when the drawing changes
KEY_FILE = "render_key.json"
RENDER_THREADS = 2  # cameras rendered at once


def render_overlays(out: Path, videos_dir, detections: Detections, rig: CameraRig, params, body_model, cfg, *,
                    progress=True, sync=None) -> Path:
    """Write ``out/overlays/<camera>.mp4`` and ``out/overlays/contact_sheet.png``; returns the folder.

    ``sync``: the :class:`mvmocap.sync.SyncResult` of ``--sync auto``; each timeline frame is then drawn on
    the frame its camera recorded nearest to that time (else on the frame ``--frames`` / ``--offset`` give).
    Nothing is rendered when ``overlays/render_key.json`` holds the key of the same inputs.
    """
    folder = Path(out) / "overlays"
    sources = {s.name: s for s in (open_camera(p) for p in discover_cameras(videos_dir, allow_folders_without_images=True))}
    plan = plan_frames([sources[n] for n in rig.names], cfg.detect.frames, parse_offsets(list(cfg.detect.offsets)))
    stride = cfg.export.render_stride
    frames = np.arange(0, detections.num_frames, stride)
    dtype = body_model.v_template.dtype
    p = params.detach().to(dtype=dtype, device="cpu")
    local_frames = {name: _local_frames(plan, sync, name, frames, detections.frame_ids[frames], sources[name].num_frames)
                    for name in rig.names}
    key = _render_key(sources, rig, plan, detections, p, body_model, stride, local_frames)
    if _up_to_date(folder, key, rig.names):
        if progress:
            console.print("[bold cyan]reconstruct[/] overlays are up to date (same inputs): not rendered again", highlight=False)
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KEY_FILE).unlink(missing_ok=True)
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
    def render_camera(c: int, name: str, advance) -> tuple[dict[int, np.ndarray], str]:
        """One camera's overlay video; its contact-sheet tiles and the codec used."""
        R, t = rig.R[c].numpy(), rig.t[c].numpy()
        local = local_frames[name]
        camera_tiles: dict[int, np.ndarray] = {}
        with atomic_path(folder / f"{name}.mp4") as tmp, VideoWriter(tmp, float(detections.fps[c]) / stride) as writer:
            for i, (_, image) in enumerate(iter_frames(sources[name], local)):
                advance()
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
                writer.write(image)
                if i in tiles:
                    camera_tiles[i] = image
        return camera_tiles, writer.codec

    # Cameras render two at a time: the drawing is NumPy/torch/OpenCV work that releases the GIL,
    # and each camera's encoder is a process of its own.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the cameras are the parallelism: no intra-op threads on top
    try:
        with _progress_bar(progress, len(rig.names) * len(frames)) as advance, \
                ThreadPoolExecutor(max_workers=RENDER_THREADS) as pool:
            rendered = list(pool.map(lambda item: render_camera(*item, advance), enumerate(rig.names)))
    finally:
        torch.set_num_threads(threads)
    for camera_tiles, codec in rendered:
        for i, image in camera_tiles.items():
            tiles[i].append(image)
    sheet = contact_sheet([row for row in tiles.values() if row])
    with atomic_path(folder / "contact_sheet.png") as tmp:
        cv2.imwrite(str(tmp), sheet)
    atomic_write_text(folder / KEY_FILE, json.dumps({"key": key, "codec": codec}))
    return folder


def _local_frames(plan, sync, name: str, positions: np.ndarray, timeline: np.ndarray, num_frames: int) -> np.ndarray:
    """The frames of camera ``name``'s video ``(T,)`` to draw the detections' frames at ``positions (T,)`` on
    (timeline frame numbers ``timeline (T,)``)."""
    if sync is None:
        return plan.local_frames(name)[positions]
    return np.clip(sync.own_frames(name, timeline), 0, num_frames - 1)


def _render_key(sources, rig: CameraRig, plan, detections: Detections, params, body_model, stride: int,
                local_frames: dict) -> str:
    """A hash of everything the overlays show."""
    videos = []
    for name in rig.names:
        source = sources[name]
        stat = source.path.stat()
        videos.append([name, str(source.path.resolve()), stat.st_size, stat.st_mtime_ns, source.num_frames])
    arrays = [np.asarray(a, dtype=np.float64) for a in (
        plan.frame_ids, detections.keypoints, rig.K, rig.dist, rig.R, rig.t,
        params.global_orient, params.body_pose, params.betas, params.transl, params.valid)]
    local = [np.asarray(local_frames[n], np.float64) for n in rig.names]
    return stage_key(RENDER_VERSION, videos, plan.offsets, stride, body_model.file_hash, h264_available(), *arrays, *local)


def _up_to_date(folder: Path, key: str, names) -> bool:
    try:
        stored = json.loads((folder / KEY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    outputs = [folder / f"{n}.mp4" for n in names] + [folder / "contact_sheet.png"]
    return isinstance(stored, dict) and stored.get("key") == key and all(p.is_file() for p in outputs)


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int):
    """Yield ``advance()``; a rich bar on stderr when ``enabled``."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold cyan]render[/]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task("overlays", total=total)
        yield lambda: bar.advance(task)
