"""CRA per view on the real capture (../shared/data/pose2sim_demo): do the cameras agree on the body?

Usage: python benchmarks/cra_demo_views.py [--frames 0:30] [--checkpoint models/regressors/cra_s.pt] [--work /tmp/cra_demo]
       python benchmarks/cra_demo_views.py --synthetic 64 [--checkpoint ...]   (the same figures on synthetic samples)

BlazePose (with its person masks: CRA-S's silhouette) on the given frames of the 4 cameras, then
``predict_views``. With no 3D truth, the figure is the cameras' agreement: each view's body
orientation taken into the world through its calibrated camera (``R_c^T @ global_orient``), and the
angle between every pair of views (mean and median over frames and pairs, degrees); the same for the
body pose (mean geodesic angle over the 23 joints); the share of valid views and the mean alignment
residual. Reference: the same angles between random upright orientations would average ~90 degrees.
``--synthetic N``: the same agreement figures on N synthetic samples (the test views of
:mod:`benchmarks.cra_common`, every view valid), plus each view's true orientation error.
"""

from __future__ import annotations

import argparse
import sys
from itertools import combinations
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DEMO = REPO.parent / "shared" / "data" / "pose2sim_demo"


def agreement(world, body_pose, valid) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairwise angles (degrees) between the views' world orientations ``(F, C, 3, 3)`` and body poses."""
    from mvmocap.geometry.rotations import rotation_angle_between

    orient, pose = [], []
    for a, b in combinations(range(world.shape[1]), 2):
        ok = valid[:, a] & valid[:, b]
        orient.append(torch.rad2deg(rotation_angle_between(world[ok, a], world[ok, b])))
        pose.append(torch.rad2deg(rotation_angle_between(body_pose[ok, a], body_pose[ok, b])).mean(-1))
    return torch.cat(orient), torch.cat(pose)


def synthetic(samples: int, checkpoint: str) -> None:
    from cra_common import load_run, test_batches

    from mvmocap.geometry.rotations import axis_angle_to_matrix, rotation_angle_between
    from mvmocap.regressors.cra.inputs import view_evidence
    from mvmocap.regressors.cra.model import BodyDecoder
    from mvmocap.regressors.cra.training import flat_views
    from mvmocap.synth.dataset import load_body

    net, meta = load_run(checkpoint)
    body = load_body(meta["train_config"].get("body_model"))
    decoder = BodyDecoder.for_body(body, int(net.options["parts"]), int(net.options["render_stride"]))
    from mvmocap.regressors.cra.inference import alignment_residual

    orient, pose, truth, residual = [], [], [], []
    with torch.no_grad():
        for batch in test_batches(meta, samples, 0, body):
            ev = view_evidence(flat_views(batch["keypoints_crop"]), flat_views(batch["iuv"]), int(net.options["parts"]),
                               float(net.options["sigma"]))
            d = decoder.decode(net(ev, decoder)["theta"])
            residual.append(alignment_residual(d, ev, decoder))
            B, C = batch["R"].shape[:2]
            world = batch["R"].transpose(-1, -2) @ d["global_orient"].reshape(B, C, 3, 3)
            o, p = agreement(world, d["body_pose"].reshape(B, C, 23, 3, 3), batch["view_valid"].bool())
            orient.append(o)
            pose.append(p)
            true_go = axis_angle_to_matrix(batch["global_orient"])[:, None].expand(B, C, 3, 3)
            truth.append(torch.rad2deg(rotation_angle_between(world, true_go)).flatten())
    orient, pose, truth = torch.cat(orient), torch.cat(pose), torch.cat(truth)
    print(f"synthetic: {samples} samples x {C} views (test seed 0)")
    print(f"  world orientation, pairs of views: mean {float(orient.mean()):.1f} deg, median {float(orient.median()):.1f} deg")
    print(f"  body pose (mean over 23 joints), pairs of views: mean {float(pose.mean()):.1f} deg")
    print(f"  world orientation vs the truth, per view: mean {float(truth.mean()):.1f} deg, median {float(truth.median()):.1f} deg")
    print(f"  alignment residual: mean {float(torch.cat(residual).mean()):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", default="0:30")
    ap.add_argument("--checkpoint", default=str(REPO / "models" / "regressors" / "cra_s.pt"))
    ap.add_argument("--work", default="/tmp/cra_demo")
    ap.add_argument("--synthetic", type=int, default=0)
    args = ap.parse_args()
    if args.synthetic:
        synthetic(args.synthetic, args.checkpoint)
        return
    from mvmocap import detect
    from mvmocap.body import load_body_model
    from mvmocap.fit.inputs import MethodInputs
    from mvmocap.io.calibration import load_rig
    from mvmocap.regressors.cra.inference import predict_views

    detections = detect.run(DEMO / "videos", out=args.work, frames=args.frames, progress=False)
    rig = load_rig(DEMO / "calibration" / "Calib.qca.txt").subset(detections.camera_names)
    keypoints = torch.as_tensor(detections.keypoints, dtype=torch.float64).permute(1, 0, 2, 3)
    inputs = MethodInputs(keypoints_2d=keypoints, rig=rig, body_model=load_body_model(None),
                          extras={"detections": detections})
    views = predict_views(inputs, args.checkpoint)
    R = rig.R.float()  # (C, 3, 3)
    world = R.transpose(-1, -2)[None] @ views.global_orient  # (F, C, 3, 3)
    orient, pose = agreement(world, views.body_pose, views.valid)
    masks = detections.masks is not None
    print(f"pose2sim_demo frames {args.frames}: {views.num_frames} frames x {views.num_views} views, "
          f"masks {'yes' if masks else 'no'}, valid views {float(views.valid.float().mean()) * 100:.0f} %")
    print(f"  world orientation, pairs of views: mean {float(orient.mean()):.1f} deg, median {float(orient.median()):.1f} deg")
    print(f"  body pose (mean over 23 joints), pairs of views: mean {float(pose.mean()):.1f} deg")
    print(f"  alignment residual: mean {float(views.residual[views.valid].mean()):.3f}")


if __name__ == "__main__":
    main()
