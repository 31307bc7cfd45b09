"""C3D export of the marker set (:mod:`mvmocap.export.markers`), through the ``c3d`` package.

Lab convention: **+Z up, millimetres** (``POINT:UNITS = mm``), the world frame unchanged;
float storage (``POINT:SCALE = -1``). Frames where nobody was seen are written as invalid points
(residual -1), which C3D readers treat as gaps; measured frames have residual 0.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from mvmocap.errors import DependencyError
from mvmocap.export.markers import marker_names, marker_positions
from mvmocap.export.run_files import RunResult
from mvmocap.io.atomic import atomic_path

MILLIMETRES_PER_METRE = 1000.0


def write_c3d(run: RunResult, path: str | Path) -> Path:
    """Write ``path`` (atomically) and return it. Needs the ``c3d`` package."""
    try:
        import c3d
    except ImportError:
        raise DependencyError("C3D export needs the c3d package: pip install c3d") from None
    points = marker_positions(run) * MILLIMETRES_PER_METRE  # (F, M, 3)
    writer = c3d.Writer(point_rate=float(run.framerate), analog_rate=0.0, point_scale=-1.0, point_units="mm  ")
    writer.set_point_labels(marker_names(run))
    writer.set_start_frame(int(run.frame_ids[0]) + 1)
    empty_analog = np.zeros((0, 0), np.float32)
    for f in range(run.num_frames):
        rows = np.zeros((points.shape[1], 5), np.float32)
        rows[:, :3] = points[f]
        rows[:, 3] = 0.0 if run.valid[f] else -1.0
        writer.add_frames([(rows, empty_analog)])
    with atomic_path(path) as tmp, open(tmp, "wb") as handle, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "No analog data", UserWarning)  # markers only, by design
        writer.write(handle)
    return Path(path)
