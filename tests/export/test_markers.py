"""TRC and C3D marker exports, read back by our TRC reader and by the c3d package."""

from __future__ import annotations

import c3d
import pytest
import numpy as np

from mvmocap.export.c3d_markers import write_c3d
from mvmocap.export.markers import marker_names
from mvmocap.export.run_files import load_run
from mvmocap.export.trc import read_trc, write_trc


def test_trc_round_trip(run_dir, tmp_path):
    run = load_run(run_dir)
    names, times, points, header = read_trc(write_trc(run, tmp_path / "markers.trc"))
    assert names == marker_names(run) and len(names) == 47 and names[0] == "nose" and names[23] == "smpl_pelvis"
    assert header["Units"] == "m" and header["NumFrames"] == "6" and header["NumMarkers"] == "47"
    np.testing.assert_allclose(times, np.arange(6) / 25.0, atol=1e-6)
    with np.load(run_dir / "joints3d.npz") as data:
        smpl = data["smpl_joints"]
    z_up = np.stack([points[..., 0], -points[..., 2], points[..., 1]], -1)  # written Y-up
    valid = run.valid
    assert np.abs(z_up[valid, 23:] - smpl[valid]).max() < 1e-5
    # the nose is above the pelvis along +Y in an upright body
    assert (points[:, 0, 1] > points[:, 23, 1]).all()


@pytest.mark.filterwarnings("ignore:No analog data:UserWarning")
def test_c3d_read_back_with_the_c3d_package(run_dir, tmp_path):
    run = load_run(run_dir)
    path = write_c3d(run, tmp_path / "markers.c3d")
    with open(path, "rb") as handle:
        reader = c3d.Reader(handle)
        labels = [label.strip() for label in reader.point_labels]
        units = reader.get("POINT:UNITS").string_value.strip()
        rate = reader.point_rate
        frames = [(points.copy()) for _, points, _ in reader.read_frames()]
    assert labels == marker_names(run) and units == "mm" and abs(rate - 25.0) < 1e-6
    points = np.stack(frames)  # (F, M, 5): x y z residual cameras
    assert points.shape == (6, 47, 5)
    valid = run.valid
    np.testing.assert_array_equal(points[:, 0, 3] < 0, ~valid)  # the unmeasured frame is a gap
    with np.load(run_dir / "joints3d.npz") as data:
        smpl = data["smpl_joints"]
    assert np.abs(points[valid, 23:, :3] / 1000.0 - smpl[valid]).max() < 1e-5
