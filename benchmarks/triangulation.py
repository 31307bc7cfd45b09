"""Triangulation throughput: batched torch DLT vs a per-point NumPy SVD loop, same run.

Usage: python benchmarks/triangulation.py [--frames 20000] [--threads N]
Goal (issue #2): >= 1e6 points/s for 4 cameras on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mvmocap.geometry.camera import CameraRig  # noqa: E402
from tests.conftest import ring_cameras  # noqa: E402

JOINTS = 17


def best_of(fn, repeats=5) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def numpy_loop(P: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """The classical per-point DLT: one SVD per point (what most tools do)."""
    out = np.empty((uv.shape[1], 3))
    for j in range(uv.shape[1]):
        A = np.concatenate([uv[:, j, 0:1] * P[:, 2] - P[:, 0], uv[:, j, 1:2] * P[:, 2] - P[:, 1]])
        h = np.linalg.svd(A)[2][-1]
        out[j] = h[:3] / h[3]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20000, help="frames per batch (x17 joints)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.frames} frames x {JOINTS} joints")
    print(f"{'cameras':>7} {'method':>22} {'dtype':>8} {'points/s':>12} {'max err (m)':>12}")
    for n_cams in (4, 8):
        rig64 = CameraRig.from_cameras(ring_cameras(n_cams, rng))
        X = torch.randn(args.frames, JOINTS, 3, generator=gen, dtype=torch.float64) * 0.5 + torch.tensor([0, 0, 1.0], dtype=torch.float64)
        uv64 = rig64.project(X) + torch.randn(args.frames, n_cams, JOINTS, 2, generator=gen, dtype=torch.float64) * 0.5
        conf64 = torch.rand(args.frames, n_cams, JOINTS, generator=gen, dtype=torch.float64) * 0.5 + 0.5
        n_points = args.frames * JOINTS
        for dtype in (torch.float32, torch.float64):
            rig = rig64.to(dtype)
            uv, conf = uv64.to(dtype), conf64.to(dtype)
            for method in ("linear", "svd"):
                with torch.no_grad():
                    seconds = best_of(lambda: rig.triangulate(uv, conf, method=method))
                    err = (rig.triangulate(uv, conf, method=method).double() - X).abs().max().item()
                name = f"batched torch {method}"
                print(f"{n_cams:>7} {name:>22} {str(dtype)[6:]:>8} {n_points / seconds:>12.3e} {err:>12.2e}")
        # Reference loop on undistorted pixels with plain P = K[R|t] (a subset: it is slow).
        sub = min(args.frames, 300)
        P = np.stack([c.K @ np.hstack([c.R, c.t[:, None]]) for c in rig64.cameras()])
        uv_ideal = rig64.project(X[:sub], distort=False).numpy()
        start = time.perf_counter()
        for f in range(sub):
            numpy_loop(P, uv_ideal[f])
        seconds = time.perf_counter() - start
        print(f"{n_cams:>7} {'per-point numpy SVD':>22} {'float64':>8} {sub * JOINTS / seconds:>12.3e} {'':>12}")


if __name__ == "__main__":
    main()
