"""``python -m mvmocap.train --config C --out DIR [--method M] [--resume] [--device D]``.

The same as ``mvmocap train-synthetic``, for launchers that want a module, e.g.
``torchrun --nproc_per_node 2 -m mvmocap.train --config examples/configs/mlp.yaml --out runs/mlp``.
"""

from __future__ import annotations

import argparse
import json
import sys

from mvmocap.errors import MvmocapError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mvmocap.train", description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--method", default=None)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=None, help="override the config's steps")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    from mvmocap.train import run

    try:
        result = run(args.method, args.config, args.out, resume=args.resume, device=args.device,
                     overrides={"steps": args.steps}, progress=not args.no_progress)
    except MvmocapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
