"""Stage 2: cameras from the person's joints (``mvmocap calibrate --from-joints``).

Public API::

    result = calibrate_from_joints(detections, intrinsics=None, height_m=1.70)   # -> CalibrationResult
    result.rig          # CameraRig (metres, +Z up, floor at z = 0)
    result.report       # CalibrationReport: per-camera reprojection px, points used, weak flags
"""

from mvmocap.calibrate.from_joints import CalibrationResult, calibrate_from_joints
from mvmocap.calibrate.report import CalibrationReport, CameraQuality
from mvmocap.calibrate.sanity import CalibrationRefused

__all__ = ["CalibrationRefused", "CalibrationReport", "CalibrationResult", "CameraQuality", "calibrate_from_joints"]
