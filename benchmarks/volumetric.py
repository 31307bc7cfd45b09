"""The volumetric regressor on the fixed synthetic benchmark, and its batched inference speed.

Usage: python benchmarks/volumetric.py [--views 4 2 8] [--n 500] [--seed 0]
           [--methods volumetric volumetric-nomask fit triangulation] [--speed] [--threads 2]
           [--checkpoint FILE] [--json OUT.json]

Methods are those of :mod:`mvmocap.evaluate.synthetic` (``volumetric``: heatmaps of the
detector-like noisy joints + the true silhouette, as a segmenter would give; ``volumetric-nomask``:
no silhouettes; ``volumetric-test-no-{consensus,diversity,balance}``: the same weights with a
module switched off at test time, which is NOT a retrained ablation). Prints one Markdown table
per view count; ``--speed`` prints frame-sets/s of the network (batch 64, inputs prepared), end
to end (input building included) and end to end with the limb IK (``volumetric``: the robust
triangulation it pulls the limbs to included). ``volumetric`` is the network + limb IK,
``volumetric-net`` the network alone. Targets (issue #8): PA-MPJPE <= the fit method's; >= 20
frame-sets/s on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def speed(batch_size: int = 64, views: int = 4, repeats: int = 3) -> dict:
    import torch

    from mvmocap.evaluate.synthetic import benchmark_dataset
    from mvmocap.regressors.volumetric.inference import _synthetic_ik, load_network, predict
    from mvmocap.regressors.volumetric.training import synthetic_views
    from mvmocap.synth.dataset import load_body

    body = load_body(None).to(dtype=torch.float32)
    net, _ = load_network()
    data = benchmark_dataset(body, seed=1, n=batch_size, views=views)
    batch = data.batch(list(range(batch_size)))
    with torch.no_grad():
        predict(net, synthetic_views(batch, body, net.options), body, batch_size)  # warm-up
        net_times, e2e_times, ik_times = [], [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            views_in = synthetic_views(batch, body, net.options)
            t1 = time.perf_counter()
            pred = predict(net, views_in, body, batch_size)
            t2 = time.perf_counter()
            _synthetic_ik(pred, batch, body)  # robust triangulation of the batch + limb IK
            t3 = time.perf_counter()
            net_times.append(t2 - t1)
            e2e_times.append(t2 - t0)
            ik_times.append(t3 - t0)
    return {"batch": batch_size, "views": views, "threads": torch.get_num_threads(),
            "network_framesets_per_s": round(batch_size / min(net_times), 1),
            "end_to_end_framesets_per_s": round(batch_size / min(e2e_times), 1),
            "end_to_end_with_limb_ik_framesets_per_s": round(batch_size / min(ik_times), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--views", type=int, nargs="+", default=[4])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=["volumetric", "volumetric-nomask", "triangulation"])
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.checkpoint:
        os.environ["MVMOCAP_VOLUMETRIC_CHECKPOINT"] = args.checkpoint
    from mvmocap.evaluate.synthetic import run_benchmark

    results = []
    for views in args.views:
        print(f"\n### synthetic benchmark, {views} views, n={args.n}, seed={args.seed}")
        print("| method | MPJPE | PA-MPJPE | N-MPJPE | PVE | PCK@150 | AUC | s |\n|---|---|---|---|---|---|---|---|")
        for method in args.methods:
            r = run_benchmark(method, seed=args.seed, n=args.n, views=views, batch_size=50)
            m = r["metrics"]
            pve = f"{m['pve']:.1f}" if "pve" in m else "n/a"
            print(f"| {method} | {m['mpjpe']:.1f} | {m['pa_mpjpe']:.1f} | {m['n_mpjpe']:.1f} | {pve} | "
                  f"{100 * m['pck150']:.1f}% | {100 * m['auc']:.1f}% | {r['seconds']:.0f} |", flush=True)
            results.append(r)
    if args.speed:
        s = speed()
        print(f"\nspeed: {json.dumps(s)}")
        results.append({"speed": s})
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
