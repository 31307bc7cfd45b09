"""Are the CRA streams' own bodies bodies? PA-MPJPE of ``Theta^J``, ``Theta^M``, the final body and
the rest-pose start on the same synthetic test views (:mod:`cra_common`), per run, one process.

    python benchmarks/cra_stream_bodies.py runs/table4_iuv/cra_s0 runs/table4_iuv_sw/cra_s0 [--samples 8]

With only the final body supervised (the paper's eq. 6) the streams' bodies can stay anywhere, and
the alignment features ``D_J``, ``D_M`` then compare that with the evidence; ``stream_weight > 0``
supervises them too. Also prints each body's mean 2D joint misalignment ``|D_J|`` (crop units).
"""

from __future__ import annotations

import argparse

import torch

from cra_common import load_run, test_batches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="train-synthetic runs (or checkpoints) of the cra variant")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from mvmocap.evaluate.metrics import pa_mpjpe
    from mvmocap.regressors.cra.alignment import joint_discrepancy
    from mvmocap.regressors.cra.model import BodyDecoder, initial_theta
    from mvmocap.regressors.cra.training import flat_views, synthetic_evidence, view_targets
    from mvmocap.synth.dataset import load_body

    _, first_meta = load_run(args.runs[0])
    body = load_body(first_meta["train_config"].get("body_model"))
    batches = test_batches(first_meta, args.samples, args.seed, body)
    print(f"{args.samples} samples, every valid view, test seed {args.seed}: PA-MPJPE mm (|D_J| crop units)")
    print(f"{'run':<32} {'Theta^J':>15} {'Theta^M':>15} {'final':>15} {'rest pose':>10}")
    for run in args.runs:
        net, _ = load_run(run)
        if net.options["variant"] != "cra":
            raise SystemExit(f"error: {run}: variant {net.options['variant']!r}, not 'cra'")
        decoder = BodyDecoder.for_body(body, int(net.options["parts"]), int(net.options["render_stride"]))
        scores = {name: ([], []) for name in ("J", "M", "final", "rest")}
        with torch.no_grad():
            for batch in batches:
                evidence = synthetic_evidence(batch, net.options)
                out = net(evidence, decoder)
                target = view_targets(batch, int(net.options["crop"]), int(net.options["render_stride"]))["joints"]
                ok = flat_views(batch["view_valid"]).bool()
                thetas = {"J": out["stream_thetas"][0], "M": out["stream_thetas"][1], "final": out["theta"],
                          "rest": initial_theta(len(ok))}
                for name, theta in thetas.items():
                    decoded = decoder.decode(theta)
                    d_j = joint_discrepancy(decoded["joints2d"], evidence.joints, evidence.confidence).norm(dim=-1)
                    scores[name][0].append(pa_mpjpe(decoded["joints"][ok], target[ok]))
                    scores[name][1].append(d_j.mean(-1)[ok])
        mean = {k: (float(torch.cat(a).mean()), float(torch.cat(b).mean())) for k, (a, b) in scores.items()}
        cells = " ".join(f"{mean[k][0]:>7.1f} ({mean[k][1]:.2f})" for k in ("J", "M", "final"))
        print(f"{str(run)[-32:]:<32} {cells} {mean['rest'][0]:>10.1f}")


if __name__ == "__main__":
    main()
