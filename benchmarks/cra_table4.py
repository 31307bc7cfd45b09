"""CRA's Table 4 (single view and multi-view) on the synthetic benchmark: every variant in one process, same views.

Usage:
    python benchmarks/cra_table4.py --row J=runs/cra_j_s0,runs/cra_j_s1 --row IUV=runs/cra_dense_s0,... \
        --row concat=... --row two=... --row CRA=... [--samples 64] [--seed 0] [--body toy]
    python benchmarks/cra_table4.py --make-configs runs/table4 --base examples/configs/cra_s.yaml [--seeds 0 1] [--steps N]

``--make-configs`` writes one training config per variant (j, dense, concat, two, cra) and seed
next to the printed ``train-synthetic`` commands; run them, then score the runs with ``--row``.
Each ``--row NAME=RUN[,RUN...]`` is a ``train-synthetic`` run folder (or checkpoint / slim export);
several runs are training seeds of one row: the row shows their mean and spread (largest minus
smallest). Test views: :mod:`benchmarks.cra_common` (every view of ``--samples`` synthetic samples,
the first run's data options, no augmentation). Scores: PA-MPJPE and PVE, mm, of each view alone
("single view") and of one body per sample fused from its views the way ``reconstruct --method cra``
fuses them ("multi-view": residual-weighted rotation average of the body pose, weighted mean of the
betas; :func:`cra_common.fused_sample_bodies`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cra_common import load_run, mean_and_spread, parse_rows, score_views, test_batches

VARIANTS = ("j", "dense", "concat", "two", "cra")


def make_configs(out: Path, base: Path, seeds: list[int], steps: int | None) -> None:
    import yaml

    config = yaml.safe_load(base.read_text())
    out.mkdir(parents=True, exist_ok=True)
    for variant in VARIANTS:
        for seed in seeds:
            cfg = {**config, "seed": seed, "model": {**config["model"], "variant": variant}}
            if steps:
                cfg["steps"] = steps
            path = out / f"{variant}_s{seed}.yaml"
            path.write_text(yaml.safe_dump(cfg, sort_keys=False))
            print(f"nice -n 5 python -m mvmocap.train --config {path} --out {out / f'{variant}_s{seed}'} --no-progress")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--row", action="append", default=[], help="NAME=RUN[,RUN...]")
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--body", default=None, help="body model (default: each run's)")
    ap.add_argument("--make-configs", type=Path, default=None)
    ap.add_argument("--base", type=Path, default=Path("examples/configs/cra_s.yaml"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--steps", type=int, default=None)
    args = ap.parse_args()
    if args.make_configs:
        make_configs(args.make_configs, args.base, args.seeds, args.steps)
        return
    rows = parse_rows(args.row)
    if not rows:
        raise SystemExit("error: give --row NAME=RUN[,RUN...] (or --make-configs)")
    from mvmocap.synth.dataset import load_body

    first_net, first_meta = load_run(rows[0][1][0])
    body = load_body(args.body if args.body is not None else first_meta["train_config"].get("body_model"))
    batches = test_batches(first_meta, args.samples, args.seed, body)
    views = first_meta["train_config"]["data"].get("views", 4)
    print(f"Table 4: {args.samples} samples x {views} views, test seed {args.seed}; mm, mean over the seeds and spread")
    print(f"{'':<24} {'single view':^31} {'multi-view':^31}")
    print(f"{'row':<10} {'variant':<8} {'runs':>4} {'PA-MPJPE':>9} {'spread':>7} {'PVE':>7} {'spread':>7}"
          f" {'PA-MPJPE':>9} {'spread':>7} {'PVE':>7} {'spread':>7} {'steps':>6}")
    for name, runs in rows:
        began = time.perf_counter()
        scores, variant, steps = [], "?", []
        for run in runs:
            net, meta = load_run(run)
            variant = net.options["variant"]
            steps.append(str(meta.get("step", "?")))
            scores.append(score_views(net, body, batches, seed=args.seed, multiview=True))
        columns = [mean_and_spread([s[key] for s in scores]) for key in ("pa_mpjpe", "pve", "mv_pa_mpjpe", "mv_pve")]
        figures = " ".join(f"{mean:>{9 if i % 2 == 0 else 7}.1f} {spread:>7.1f}" for i, (mean, spread) in enumerate(columns))
        print(f"{name:<10} {variant:<8} {len(runs):>4} {figures} {'/'.join(steps):>6}  "
              f"({time.perf_counter() - began:.0f} s, {scores[0]['views']} views, {scores[0]['samples']} samples)")


if __name__ == "__main__":
    main()
