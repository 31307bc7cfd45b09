"""Per-frame mesh files: ``NNNNNN.obj`` or ``.ply`` (binary little-endian), world +Z up, metres.

One file per valid frame, named by its video frame number; the triangle list is the body model's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mvmocap.export.run_files import RunResult
from mvmocap.io.atomic import atomic_write_bytes, atomic_write_text

FRAMES_PER_BATCH = 16


def obj_text(vertices: np.ndarray, faces: np.ndarray) -> str:
    """Wavefront OBJ of ``vertices (V, 3)`` and ``faces (T, 3)`` (0-based in, 1-based out)."""
    v = "\n".join(f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices)
    f = "\n".join(f"f {a} {b} {c}" for a, b, c in faces + 1)
    return f"# mvmocap body, metres, +Z up\n{v}\n{f}\n"


def ply_bytes(vertices: np.ndarray, faces: np.ndarray) -> bytes:
    """Binary little-endian PLY: float32 vertices, uint8-counted int32 triangles."""
    header = (f"ply\nformat binary_little_endian 1.0\ncomment mvmocap body, metres, +Z up\n"
              f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
              f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n").encode("ascii")
    tri = np.zeros(len(faces), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    tri["n"] = 3
    tri["i"] = faces
    return header + vertices.astype("<f4").tobytes() + tri.tobytes()


def write_mesh_sequence(run: RunResult, folder: str | Path, kind: str = "obj") -> Path:
    """Write ``folder/NNNNNN.<kind>`` for every valid frame (each atomically); return the folder."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    faces = run.body.faces.numpy()
    frames = np.flatnonzero(run.valid)
    for start in range(0, len(frames), FRAMES_PER_BATCH):
        chunk = frames[start:start + FRAMES_PER_BATCH]
        for f, vertices in zip(chunk, run.vertices(chunk)):
            name = out / f"{int(run.frame_ids[f]):06d}.{kind}"
            if kind == "obj":
                atomic_write_text(name, obj_text(vertices, faces))
            else:
                atomic_write_bytes(name, ply_bytes(vertices, faces))
    return out
