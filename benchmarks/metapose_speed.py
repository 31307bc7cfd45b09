"""MetaPose's solver speed: stage 1, stage 1 + the neural optimizer, stage 1 + the iterative refiner, with equal batching.

Usage: python benchmarks/metapose_speed.py [--cameras 4] [--frame-sets 256] [--threads 1] [--checkpoint RUN]

The neural optimizer is the config's size (``examples/configs/metapose.yaml``: K = 4 steps,
``[256, 256, CC, 256, 256, CC, 256]``), untrained unless ``--checkpoint`` is given: its speed does not
depend on its weights. The frame-sets are synthetic (toy body, realistic 2D, fitted monocular 3D).
Each solver is timed twice: one frame-set per call (latency, what a live capture sees) and all
frame-sets in one call (throughput); stage 1 (the closed form) is included in both S2 and IR.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv=None) -> None:
    import torch
    import yaml

    from mvmocap.regressors.metapose.inference import estimate, load_optimizer
    from mvmocap.regressors.metapose.model import NeuralOptimizer
    from mvmocap.regressors.metapose.training import synthetic_inputs
    from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body
    from mvmocap.synth.mono3d import MonocularNoise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--frame-sets", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.checkpoint:
        net, _ = load_optimizer(args.checkpoint)
    else:
        model = yaml.safe_load((REPO / "examples" / "configs" / "metapose.yaml").read_text())["model"]
        net = NeuralOptimizer(int(model["steps"]), 1, 17, layers=tuple(model["layers"])).eval()
    cfg = SynthConfig.from_dict({"views": args.cameras, "noise": {"kind": "realistic"}, "augment": "none"})
    batch = SyntheticMultiView(load_body("toy"), cfg, length=args.frame_sets, seed=1).batch(list(range(args.frame_sets)))
    inputs, _, _, _ = synthetic_inputs(batch, MonocularNoise())

    print(f"# metapose solver speed: {args.cameras} cameras, {args.frame_sets} frame-sets, {args.threads} thread(s), "
          f"optimizer {'from ' + args.checkpoint if args.checkpoint else 'untrained, config size'}")
    print(f"{'solver':<8} {'per frame-set ms':>16} {'batched frame-sets/s':>20}")
    singles = [_slice(inputs, i) for i in range(min(args.frame_sets, 64))]
    for solver in ("s1", "s2", "ir"):
        estimate(singles[0], solver, net)  # warm-up
        start = time.perf_counter()
        for item in singles:
            estimate(item, solver, net)
        latency = (time.perf_counter() - start) / len(singles) * 1000
        start = time.perf_counter()
        estimate(inputs, solver, net)
        rate = args.frame_sets / (time.perf_counter() - start)
        print(f"{solver:<8} {latency:>16.2f} {rate:>20.0f}")


def _slice(inputs, i: int):
    from mvmocap.regressors.metapose.gmm import JointGMM
    from mvmocap.regressors.metapose.inputs import MetaPoseInputs

    g, s = inputs.gmm, slice(i, i + 1)
    return MetaPoseInputs(inputs.keypoints[s], inputs.confidence[s], JointGMM(g.means[s], g.sigmas[s], g.weights[s]),
                          inputs.mono3d[s], inputs.mono_weight[s], inputs.view_valid[s], inputs.centre[s], inputs.box[s])


if __name__ == "__main__":
    main()
