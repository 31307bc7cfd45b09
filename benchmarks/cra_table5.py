"""CRA's Table 5 on the synthetic benchmark: dense-evidence occlusion and limb-keypoint removal sweeps.

Usage:
    python benchmarks/cra_table5.py --dense runs/cra_dense_s0 --joints runs/cra_j_s0 --two runs/cra_two_s0 \
        --cra runs/cra_s [--samples 64] [--seed 0] [--probabilities 0.1 0.2 ... 0.9]

Occlusion: on every test view, with probability p, one of the six coarse parts (head, torso, arms,
legs) is masked out of the dense evidence (the paper's). Keypoint removal: every elbow, wrist,
knee and ankle is removed (confidence 0) with probability p. The same draws (generator seeded with
``--seed`` and p) for every network, all in this process. Rows: the dense stream alone (occlusion)
or the J stream alone (removal), the two streams without alignment (``two``), and full CRA; any
row may be left out. Scores: PA-MPJPE and PVE (mm). The acceptance check printed at the end:
CRA's PA-MPJPE rise over the occlusion sweep (p = last minus p = first) against ``two``'s.
"""

from __future__ import annotations

import argparse

from cra_common import load_run, score_views, test_batches

DEFAULT_P = [round(0.1 * k, 1) for k in range(1, 10)]


def sweep(title: str, rows: list[tuple[str, object]], body, batches, ps: list[float], kind: str, seed: int) -> dict:
    print(f"\n{title}")
    print(f"{'row':<8} {'metric':<9} " + " ".join(f"{p:>6.1f}" for p in ps))
    rises = {}
    for name, net in rows:
        scores = [score_views(net, body, batches, **{kind: p}, seed=seed + int(round(p * 100))) for p in ps]
        for metric in ("pa_mpjpe", "pve"):
            print(f"{name:<8} {metric:<9} " + " ".join(f"{s[metric]:>6.1f}" for s in scores))
        rises[name] = scores[-1]["pa_mpjpe"] - scores[0]["pa_mpjpe"]
    return rises


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dense", help="the dense stream alone (variant dense)")
    ap.add_argument("--joints", help="the J stream alone (variant j)")
    ap.add_argument("--two", help="two streams, no alignment (variant two)")
    ap.add_argument("--cra", help="full CRA (variant cra)")
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--body", default=None)
    ap.add_argument("--probabilities", type=float, nargs="+", default=DEFAULT_P)
    args = ap.parse_args()
    nets = {k: load_run(v) for k, v in (("dense", args.dense), ("joints", args.joints), ("two", args.two),
                                         ("cra", args.cra)) if v}
    if not nets:
        raise SystemExit("error: give at least one of --dense --joints --two --cra")
    from mvmocap.synth.dataset import load_body

    _, meta = next(iter(nets.values()))
    body = load_body(args.body if args.body is not None else meta["train_config"].get("body_model"))
    batches = test_batches(meta, args.samples, args.seed, body)
    ps = args.probabilities
    print(f"Table 5: {args.samples} samples, every view, test seed {args.seed}")
    occ = [(n, nets[k][0]) for n, k in (("dense", "dense"), ("two", "two"), ("cra", "cra")) if k in nets]
    rises = sweep("Dense-evidence occlusion (one coarse part masked with probability p)", occ, body, batches, ps,
                  "part_drop", args.seed)
    rem = [(n, nets[k][0]) for n, k in (("joints", "joints"), ("two", "two"), ("cra", "cra")) if k in nets]
    removal = sweep("Limb-keypoint removal (each elbow/wrist/knee/ankle removed with probability p)", rem, body,
                    batches, ps, "limb_drop", args.seed)
    if "cra" in rises and "two" in rises:
        ratio = rises["cra"] / rises["two"] if rises["two"] > 0 else float("inf")
        print(f"\nocclusion sweep PA-MPJPE rise p={ps[0]}->{ps[-1]}: cra {rises['cra']:.1f} mm, two {rises['two']:.1f} mm, "
              f"ratio {ratio:.2f} (acceptance: <= 0.5: {'met' if ratio <= 0.5 else 'NOT met'})")
    if "cra" in removal and "two" in removal:
        print(f"keypoint-removal rise: cra {removal['cra']:.1f} mm, two {removal['two']:.1f} mm")


if __name__ == "__main__":
    main()
