"""TRC export (OpenSim / Pose2Sim marker trajectories).

Tab-separated, OpenSim's layout (``PathFileType 4``): **+Y up, metres**, the world's ``(x, y, z)``
(+Z up) written as ``(x, z, -y)`` — the frame Pose2Sim's TRC files use. Markers:
:mod:`mvmocap.export.markers`. ``Frame#`` counts from 1; ``Time`` is ``(frame_id - first) / fps``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mvmocap.export.axes import to_y_up
from mvmocap.export.markers import marker_names, marker_positions
from mvmocap.export.run_files import RunResult
from mvmocap.io.atomic import atomic_write_text


def write_trc(run: RunResult, path: str | Path) -> Path:
    """Write ``path`` (atomically) and return it."""
    path = Path(path)
    names = marker_names(run)
    points = to_y_up(marker_positions(run))  # (F, M, 3)
    frames = run.num_frames
    rate = f"{run.framerate:.6g}"
    times = (run.frame_ids - run.frame_ids[0]) / run.framerate
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate}\t{rate}\t{frames}\t{len(names)}\tm\t{rate}\t1\t{frames}",
        "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t",
        "\t\t" + "\t".join(f"X{k}\tY{k}\tZ{k}" for k in range(1, len(names) + 1)),
        "",
    ]
    for f in range(frames):
        values = "\t".join(f"{v:.6f}" for v in points[f].reshape(-1))
        lines.append(f"{f + 1}\t{times[f]:.6f}\t{values}")
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def read_trc(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, str]]:
    """(marker names, times ``(F,)``, points ``(F, M, 3)`` as written, header fields) of a TRC file.
    Empty cells (missing markers) read as NaN."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header = dict(zip(lines[1].split("\t"), lines[2].split("\t")))
    names = [n for n in lines[3].split("\t")[2:] if n]
    rows = [line.split("\t") for line in lines[5:] if line.strip()]
    values = np.array([[float(v) if v.strip() else np.nan for v in row[2:2 + 3 * len(names)]] for row in rows])
    times = np.array([float(row[1]) for row in rows])
    return names, times, values.reshape(len(rows), len(names), 3), header
