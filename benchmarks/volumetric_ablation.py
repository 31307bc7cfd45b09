"""Ablation of the volumetric regressor's aggregation stages, by retraining.

Usage: python benchmarks/volumetric_ablation.py [--base models/regressors/volumetric.pt] [--out runs/volumetric_ablation]
           [--steps 400] [--lr 1e-4] [--n 500] [--views 4] [--variants full no-consensus no-diversity no-balance]
           [--from-scratch CONFIG] [--parallel 2] [--seed 2]

By fine-tuning (default): each variant starts from the trained network of ``--base`` (a
``train-synthetic`` run or a slim checkpoint with a ``train_config``) and trains ``--steps`` more
steps on fresh synthetic data (seed ``--seed``, default 2, constant ``--lr``) with one stage replaced by the plain view
mean -- consensus (stage 1), diversity (stage 2) or balance (stage 3); ``full`` gets the same extra
steps with every stage on (the control). The variants share the base's training.

From scratch (``--from-scratch CONFIG``, a ``train-synthetic`` YAML such as
``examples/configs/volumetric_arms.yaml``): each variant is a new network (seed ``--seed``, no
``init_from``) trained ``--steps`` steps with CONFIG's data and options and a cosine rate from
``--lr`` to ``--lr / 20``; every variant sees the same data stream. ``--parallel N`` trains N
variants at a time, one process each (one thread, data generated in the process).

Each variant's network (alone, ``volumetric-net``: the limb IK is not part of the ablation) is
then scored on the synthetic benchmark (seed 0, GT cameras, fitted BlazePose noise, true silhouettes). A finished variant's run is reused (delete its folder to retrain it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VARIANTS = {"full": {}, "no-consensus": {"consensus": False}, "no-diversity": {"diversity": False},
            "no-balance": {"balance": False}}


def variant_config(base: Path, variant: str, steps: int, lr: float, seed: int = 2) -> dict:
    """The fine-tuning config of ``variant``: the base run's, warm-started from its checkpoint."""
    import torch
    import yaml

    if base.is_file():  # a slim export carries its training config
        cfg = torch.load(base, map_location="cpu", weights_only=False)["train_config"]
        start = base
    else:
        cfg = yaml.safe_load((base / "config.yaml").read_text())
        start = base / "checkpoint.pt"
    cfg.update({"seed": seed, "steps": steps, "lr": lr, "lr_schedule": "constant", "lr_min": 0.0,
                "val_every": steps, "checkpoint_every": 100})
    cfg["model"] = {**cfg["model"], "init_from": str(start), **VARIANTS[variant]}
    return cfg


def scratch_config(config: Path, variant: str, steps: int, lr: float, seed: int = 2) -> dict:
    """The from-scratch config of ``variant``: ``config``'s data and options, a new network."""
    import yaml

    cfg = yaml.safe_load(config.read_text())
    cfg.update({"seed": seed, "steps": steps, "lr": lr, "lr_schedule": "cosine", "lr_min": lr / 20,
                "val_every": steps, "checkpoint_every": 100, "num_workers": 0, "threads": 1})
    model = {k: v for k, v in cfg["model"].items() if k != "init_from"}
    cfg["model"] = {**model, **VARIANTS[variant]}
    return cfg


def train_variant(out: Path, variant: str, config: dict, steps: int) -> Path:
    """Train (or resume, or reuse) one variant with ``config``; returns its exported slim checkpoint."""
    import yaml

    from mvmocap.regressors.volumetric.inference import export_checkpoint
    from mvmocap.train.checkpoint import load_checkpoint
    from mvmocap.train.loop import run

    run_dir = out / variant
    run_dir.mkdir(parents=True, exist_ok=True)
    config_file = run_dir / "ablation.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    ckpt = run_dir / "checkpoint.pt"
    done = ckpt.exists() and int(load_checkpoint(ckpt)["step"]) >= steps
    if not done:
        t0 = time.perf_counter()
        run(None, config_file, run_dir, resume=ckpt.exists(), progress=False)
        print(f"trained {variant}: {steps} steps in {time.perf_counter() - t0:.0f} s", flush=True)
    return export_checkpoint(ckpt, run_dir / "volumetric.pt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, default=REPO / "models" / "regressors" / "volumetric.pt")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "volumetric_ablation")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--from-scratch", type=Path, default=None, metavar="CONFIG")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2, help="training seed (data stream and initial weights)")
    args = parser.parse_args()
    from mvmocap.evaluate.synthetic import run_benchmark
    from mvmocap.regressors.volumetric.inference import CHECKPOINT_ENV

    def config(variant: str) -> dict:
        if args.from_scratch:
            return scratch_config(args.from_scratch, variant, args.steps, args.lr, args.seed)
        return variant_config(args.base, variant, args.steps, args.lr, args.seed)

    if args.parallel > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.parallel) as pool:
            jobs = {v: pool.submit(train_variant, args.out, v, config(v), args.steps) for v in args.variants}
            checkpoints = {v: job.result() for v, job in jobs.items()}
    else:
        checkpoints = {v: train_variant(args.out, v, config(v), args.steps) for v in args.variants}
    kind = "from-scratch training" if args.from_scratch else "fine-tuning"
    print(f"\n### retrained ablation ({args.steps} {kind} steps each, training seed {args.seed}), {args.views} views, "
          f"n={args.n}, benchmark seed 0")
    print("| variant | MPJPE | PA-MPJPE | N-MPJPE | PVE |\n|---|---|---|---|---|")
    for variant, ckpt in checkpoints.items():
        os.environ[CHECKPOINT_ENV] = str(ckpt)
        m = run_benchmark("volumetric-net", seed=0, n=args.n, views=args.views, batch_size=50)["metrics"]
        print(f"| {variant} | {m['mpjpe']:.1f} | {m['pa_mpjpe']:.1f} | {m['n_mpjpe']:.1f} | {m['pve']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
