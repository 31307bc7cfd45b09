"""Pose2Sim batch Trial_1: videos 1080 px wide, calibration 1088. Which reading of the calibration fits best?

Usage: python benchmarks/batch_image_size.py WORK_DIR   (WORK_DIR = a batch's OUT/Trial_1/work, detections cached)

Robust triangulation with three versions of cam01/cam02's intrinsics, the other cameras unchanged:
as is (same pixels, cropped or padded at the right edge: what reconstruct does), a crop centred
horizontally (principal point 4 px left), a resize (focal and principal point scaled by 1080/1088).
Printed: median reprojection (px) of each camera, COCO-17 detections above 0.2 confidence.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mvmocap import detect  # noqa: E402
from mvmocap.detect.left_right import fix_left_right  # noqa: E402
from mvmocap.geometry.camera import CameraRig  # noqa: E402
from mvmocap.io.calibration import load_rig  # noqa: E402

CALIBRATION = Path(__file__).resolve().parents[2] / "shared" / "data" / "pose2sim_batch" / "calibration" / "Calib.qca.txt"


def variant(rig: CameraRig, sizes: np.ndarray, how: str) -> CameraRig:
    K = rig.K.clone()
    for c in range(len(rig.names)):
        width_ratio = float(sizes[c][0]) / float(rig.sizes[c][0])
        if width_ratio == 1.0:
            continue
        if how == "centred crop":
            K[c, 0, 2] -= (float(rig.sizes[c][0]) - float(sizes[c][0])) / 2
        elif how == "resize":
            K[c, 0, 0] *= width_ratio
            K[c, 0, 2] *= width_ratio
    return CameraRig(rig.names, K, rig.dist, rig.R, rig.t, rig.sizes)


def main() -> None:
    detections = detect.load(sys.argv[1])
    rig = load_rig(CALIBRATION).subset(detections.camera_names)
    print("video sizes:", dict(zip(detections.camera_names, map(tuple, detections.image_sizes.tolist()))),
          "calibration:", dict(zip(rig.names, map(tuple, rig.sizes.int().tolist()))))
    for how in ("as is", "centred crop", "resize"):
        cams = variant(rig, detections.image_sizes, how)
        fixed, _ = fix_left_right(detections, cams)
        kp = torch.from_numpy(fixed.keypoints.transpose(1, 0, 2, 3)).to(torch.float64)[:, :, :17]  # (F, C, 17, 3)
        conf = torch.where(kp[..., 2] >= 0.2, kp[..., 2], torch.zeros_like(kp[..., 2]))
        tri = cams.triangulate_robust(kp[..., :2], conf, threshold_px=20.0)
        errors = cams.reprojection_errors(tri.points, kp[..., :2])  # (F, C, 17)
        seen = (conf > 0) & (tri.confidence > 0)[:, None, :]
        per_camera = ", ".join(f"{n} {float(errors[:, c][seen[:, c]].median()):.2f}" for c, n in enumerate(cams.names))
        print(f"{how:13s} median reprojection px: all {float(errors[seen].median()):.2f}; {per_camera}")


if __name__ == "__main__":
    main()
