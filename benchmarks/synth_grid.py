"""Save a grid PNG of synthetic samples to eyeball: one row per sample, one column per view.

Each tile is the 1.2-scale crop: IUV part colours where the mesh is, the silhouette's outline in
white, exact projected COCO joints as green dots, detector-like noisy joints as red crosses (grey
when dropped), and the pose / rig family written on top.

    .venv/bin/python benchmarks/synth_grid.py --out runs/synth_grid.png [--body toy] [--rows 6]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from mvmocap.synth import evidence as ev
from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body
from mvmocap.synth.pose_sampler import FAMILIES
from mvmocap.synth.rig_sampler import ALL_RIG_FAMILIES


def tile(sample: dict, b: int, c: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    palette = rng.integers(60, 255, (25, 3)).astype(np.uint8)
    palette[0] = 0
    part = sample["iuv"][b, c, 0].round().long().numpy()
    img = palette[part].copy()
    mask = (sample["mask"][b, c].numpy() > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(img, contours, -1, (255, 255, 255), 1)
    gt = ev.to_crop(sample["keypoints2d_gt"][b, c], sample["crop"][b, c], size).numpy()
    noisy = sample["keypoints_crop"][b, c].numpy()
    for (x, y) in gt:
        cv2.circle(img, (int(round(x)), int(round(y))), 2, (0, 255, 0), -1)
    for (x, y, conf) in noisy:
        if conf > 0:
            cv2.drawMarker(img, (int(round(x)), int(round(y))), (0, 0, 255), cv2.MARKER_CROSS, 5, 1)
    return img


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/synth_grid.png")
    ap.add_argument("--body", default=None, help="'toy' or a body-model name/path (default: the default model)")
    ap.add_argument("--rows", type=int, default=6)
    ap.add_argument("--views", type=int, default=4)
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    body = load_body(args.body)
    cfg = SynthConfig(views=args.views, render_size=args.size, render_iuv=True,
                      augment=ev.AugmentConfig.none())
    data = SyntheticMultiView(body, cfg, length=args.rows, seed=args.seed)
    sample = data.batch(list(range(args.rows)))
    rows = []
    for b in range(args.rows):
        tiles = [tile(sample, b, c, args.size) for c in range(args.views)]
        row = np.concatenate(tiles, 1)
        label = f"{FAMILIES[int(sample['pose_family'][b])]} / {ALL_RIG_FAMILIES[int(sample['rig_family'][b])]}"
        cv2.putText(row, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        rows.append(np.pad(row, ((0, 2), (0, 0), (0, 0)), constant_values=80))
    grid = np.concatenate(rows, 0)
    from pathlib import Path

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, grid)
    print(f"wrote {args.out} ({grid.shape[1]}x{grid.shape[0]}) with body {getattr(body, 'name', '?')}")


if __name__ == "__main__":
    main()
