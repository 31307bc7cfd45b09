"""Synthetic data throughput: samples per second of SyntheticMultiView batches.

    .venv/bin/python benchmarks/synth_dataset.py [--body NAME|toy] [--views 4] [--batch 32]
        [--render 0|S] [--iuv] [--heatmaps 0|S] [--repeats 3]

Prints samples/s (wall clock and per CPU-second of this process) with the options given
(median of repeats).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--body", default=None)
    ap.add_argument("--views", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--render", type=int, default=0)
    ap.add_argument("--iuv", action="store_true")
    ap.add_argument("--heatmaps", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    body = load_body(args.body)
    cfg = SynthConfig(views=args.views, render_size=args.render, render_iuv=args.iuv, heatmap_size=args.heatmaps)
    data = SyntheticMultiView(body, cfg, length=args.batch * (args.repeats + 1), seed=0)
    times, cpu = [], []
    for r in range(args.repeats + 1):
        c0, t0 = time.process_time(), time.perf_counter()
        data.batch(list(range(r * args.batch, (r + 1) * args.batch)))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med = statistics.median(times[1:])
    print(f"body {getattr(body, 'name', '?')}, {args.views} views, batch {args.batch}, render {args.render} "
          f"(iuv {args.iuv}), heatmaps {args.heatmaps}: {args.batch / med:.1f} samples/s "
          f"(median of {args.repeats}; best {args.batch / min(times[1:]):.1f}); "
          f"{args.batch / statistics.median(cpu[1:]):.1f} samples per CPU-second")


if __name__ == "__main__":
    main()
