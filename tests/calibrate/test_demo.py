"""The real 4-camera demo: calibration from BlazePose joints against the Qualisys calibration.

A quarter of the frames keeps detection short; the full-capture figures are
printed by benchmarks/calibrate_from_joints.py.
"""

from __future__ import annotations

import pytest

from mvmocap.calibrate import calibrate_from_joints
from mvmocap.evaluate.calibration import compare_calibrations

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from mvmocap.detect import run
    from mvmocap.io.calibration import load_rig
    from tests.conftest import SHARED_DEMO

    if not SHARED_DEMO.is_dir():
        pytest.skip(f"shared demo capture not found at {SHARED_DEMO}")
    detections = run(SHARED_DEMO / "videos", out=tmp_path_factory.mktemp("calib_demo"), frames="0:100:4", progress=False)
    return detections, load_rig(SHARED_DEMO / "calibration" / "Calib.qca.txt")


def test_known_intrinsics_match_qualisys(demo):
    detections, reference = demo
    result = calibrate_from_joints(detections, reference, progress=False)
    comparison = compare_calibrations(result.rig, reference)
    assert comparison.mean_rotation_error_deg < 2.0
    assert comparison.mean_center_error_pct < 5.0
    assert not result.report.weak
    # the world is metric and floor-based: cameras on tripods 1.5-2.5 m up (Qualisys: 1.7-2.1 m)
    assert ((result.rig.centers()[:, 2] > 1.0) & (result.rig.centers()[:, 2] < 3.0)).all()


def test_unknown_focal_lengths(demo):
    detections, reference = demo
    result = calibrate_from_joints(detections, None, progress=False)
    comparison = compare_calibrations(result.rig, reference)
    assert comparison.mean_rotation_error_deg < 3.0
    assert comparison.mean_focal_error_pct < 8.0  # 5 % target on all 100 frames: see the benchmark
