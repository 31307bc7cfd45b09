"""Plausibility of the procedural pose sampler, per family, on a body model.

    .venv/bin/python benchmarks/synth_pose_plausibility.py [--n 2000] [--body toy|NAME]

Prints per family the share of samples with self-penetrating limbs (non-adjacent limb capsules
overlapping by more than 3 cm, from the posed joints) and the share whose lowest keypoint is not a
foot point (a knee, hand or the pelvis would touch the floor first), and the feet-below-floor
share (any foot keypoint more than 1 cm below the lowest vertex; 0 by construction of the
floor placement, printed as a check).
"""

from __future__ import annotations

import argparse

import torch

from mvmocap.synth.dataset import load_body
from mvmocap.synth.pose_sampler import FAMILIES, floor_translation, plausibility, sample_poses


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--body", default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    body = load_body(args.body)
    g = torch.Generator().manual_seed(args.seed)
    print(f"body {getattr(body, 'name', '?')}, {args.n} samples per family")
    print(f"{'family':15s} {'self-penetration':>17s} {'lowest not a foot':>18s} {'feet below floor':>17s}")
    totals = []
    for family in FAMILIES:
        pen, low, below = [], [], []
        for lo in range(0, args.n, 250):
            n = min(250, args.n - lo)
            s = sample_poses(n, g, families=(family,))
            with torch.no_grad():
                out = body(global_orient=s.global_orient.float(), body_pose=s.body_pose.float())
            t = floor_translation(out.vertices, g).float()
            joints, coco = out.joints + t[:, None], out.coco23 + t[:, None]
            flags = plausibility(joints, coco)
            pen.append(flags["self_penetration"])
            low.append(flags["lowest_not_foot"])
            below.append((coco[:, 15:, 2] < -0.01).any(-1))
        p, l_, b = (torch.cat(x).double().mean().item() for x in (pen, low, below))
        totals.append((p, l_, b))
        print(f"{family:15s} {100 * p:16.1f}% {100 * l_:17.1f}% {100 * b:16.1f}%")
    avg = [sum(x) / len(totals) for x in zip(*totals)]
    print(f"{'all (mean)':15s} {100 * avg[0]:16.1f}% {100 * avg[1]:17.1f}% {100 * avg[2]:16.1f}%")


if __name__ == "__main__":
    main()
