"""Training-data throughput with DetectorNoise (today's default) and RealisticNoise, same process,
alternating, 1 thread: seconds per batch(16) of 4 views with render_size 64, and with the data the
volumetric trainer asks for (no render, vertices returned: visibility then renders its own 48 px).

    python benchmarks/synth_evidence_speed.py [--body toy] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time

import torch

from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--body", default=None)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    torch.set_num_threads(1)
    body = load_body(args.body)
    real = {"kind": "realistic"}
    vol = {"views": 4, "return_vertices": True, "render_size": 0}  # what the volumetric trainer asks for
    variants = {
        "detector": {"views": 4, "render_size": 64},
        "realistic": {"views": 4, "render_size": 64, "noise": real},
        "realistic+distortion": {"views": 4, "render_size": 64, "noise": real, "distortion_share": 0.5},
        "volumetric detector": vol,
        "volumetric realistic": {**vol, "noise": real},
        "volumetric realistic+dist": {**vol, "noise": real, "distortion_share": 0.5},
    }
    data = {k: SyntheticMultiView(body, SynthConfig.from_dict(v), length=100_000, seed=0) for k, v in variants.items()}
    times = {k: [] for k in variants}
    for d in data.values():
        d.batch(list(range(args.batch)))  # warm-up
    for r in range(args.rounds):
        for k, d in data.items():
            idx = list(range(args.batch * (r + 1), args.batch * (r + 2)))
            t0 = time.perf_counter()
            d.batch(idx)
            times[k].append(time.perf_counter() - t0)
    for k, ts in times.items():
        base_key = "volumetric detector" if k.startswith("volumetric") else "detector"
        base = sorted(times[base_key])[len(ts) // 2]
        med = sorted(ts)[len(ts) // 2]
        print(f"{k:26s} median {med * 1000:6.0f} ms / batch({args.batch})  ({med / base:.2f} x {base_key})")


if __name__ == "__main__":
    main()
