"""A quick look at a body model: front and side views of the T-pose and of one posed body (PNG).

Flat-shaded triangles drawn back to front with matplotlib (no GPU, no OpenGL), with the SMPL
joints and the COCO-23 keypoints on top.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from mvmocap.body.model import BodyModel
from mvmocap.errors import DependencyError
from mvmocap.io.atomic import atomic_path

# SMPL joint -> axis-angle (radians, local) of the example pose.
EXAMPLE_POSE = {
    1: (-0.5, 0.0, 0.1),  # left hip forward
    4: (0.9, 0.0, 0.0),  # left knee bent
    2: (0.3, 0.0, -0.1),  # right hip back
    5: (0.3, 0.0, 0.0),
    16: (0.0, 0.0, -0.9),  # left shoulder down
    18: (0.0, -1.5708, 0.0),  # left elbow 90 degrees
    17: (0.0, 0.6, 0.5),  # right shoulder forward and up
    15: (0.2, 0.3, 0.0),  # head turned
}


def example_body_pose(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(23, 3)`` axis-angle of the example pose shown in previews."""
    pose = torch.zeros(23, 3, dtype=dtype)
    for joint, rotation in EXAMPLE_POSE.items():
        pose[joint - 1] = torch.tensor(rotation, dtype=dtype)
    return pose


def _views(points: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(horizontal, vertical, depth toward the viewer) per view, from SMPL-frame points."""
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return {"front": (x, y, z), "side (from the left)": (-z, y, x)}


def _draw_mesh(ax, vertices: np.ndarray, faces: np.ndarray, view: str) -> None:
    from matplotlib.collections import PolyCollection

    h, v, d = _views(vertices)[view]
    flat = np.stack([h, v, d], axis=-1)
    tri = flat[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    shade = 0.25 + 0.7 * np.abs(normals[:, 2])
    order = np.argsort(tri[:, :, 2].mean(1))
    colours = np.clip(np.stack([shade * 0.75, shade * 0.8, shade * 0.9], 1), 0, 1)[order]
    ax.add_collection(PolyCollection(tri[order, :, :2], facecolors=colours, edgecolors="none"))


def _draw_points(ax, points: np.ndarray, view: str, colour: str, size: float) -> None:
    h, v, _ = _views(points)[view]
    ax.scatter(h, v, s=size, c=colour, zorder=3, linewidths=0)


def render_preview(model: BodyModel, path: str | os.PathLike, betas: torch.Tensor | None = None) -> Path:
    """Save a 2 x 2 picture (T-pose and example pose; front and side) of ``model`` to ``path`` (PNG)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise DependencyError("the preview needs matplotlib: pip install matplotlib") from None
    pose = torch.stack([torch.zeros(23, 3), example_body_pose()])
    with torch.no_grad():
        out = model(body_pose=pose.to(model.dtype), betas=betas)
    faces = model.faces.cpu().numpy()
    height = float(out.vertices[0, :, 1].max() - out.vertices[0, :, 1].min())
    fig, axes = plt.subplots(2, 2, figsize=(10, 10))
    for row, title in enumerate(("T-pose (zero pose)", "example pose")):
        vertices = out.vertices[row].cpu().numpy()
        for col, view in enumerate(("front", "side (from the left)")):
            ax = axes[row, col]
            _draw_mesh(ax, vertices, faces, view)
            _draw_points(ax, out.joints[row].cpu().numpy(), view, "tab:red", 14)
            _draw_points(ax, out.coco23[row].cpu().numpy(), view, "tab:green", 10)
            ax.set_title(f"{title}: {view}")
            ax.set_aspect("equal")
            ax.autoscale_view()
            ax.grid(alpha=0.3)
    fig.suptitle(f"{model.name}: height {height:.3f} m; red: SMPL joints, green: COCO-23")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
    return path
