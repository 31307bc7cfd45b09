"""MetaPose's Table 2 on synthetic uncalibrated frame-sets: every variant in one process, same samples.

Usage: python benchmarks/metapose_table2.py [--cameras 4 2] [--samples 256] [--rig-family high_wide]
           [--checkpoint S1+S2=runs/metapose,runs/metapose_seed1] [--checkpoint S2/SS=runs/metapose_ss] [--checkpoint RND+S2=...:random]
           [--checkpoint S1+S2/BL=runs/metapose_bone] [--checkpoint S1+S2/MLP=runs/metapose_mlp4] [--body toy] [--noise realistic|none] [--outlier-weight 0] [--seed 0]

Frame-sets: ``--samples`` per camera count from :class:`mvmocap.synth.dataset.SyntheticMultiView`
(the realistic 2D evidence, the held-out rig family by default, no augmentation, seed 9_000_000 +
``--seed``), the monocular 3D of :class:`mvmocap.synth.mono3d.MonocularNoise` (defaults), the views
shuffled as in training. Rows always run: S1, S1+IR, RND+IR (stage 1 on random monocular poses), and
S1+IR+bone (the true bone lengths + N(0, 0.02^2)); each ``--checkpoint NAME=RUN[:random]`` adds a
trained stage 2 (a ``train-synthetic`` run folder, its checkpoint, or a slim export; ``:random``
starts it from RND, a checkpoint trained with the bone prior gets the same noisy bones). Several
runs separated by commas (training seeds) give one row: the mean over the runs, and the spread
(largest minus smallest PA-MPJPE) in its own column. A fixed-camera-count network (S2/MLP) is
scored only at its own camera count.

Scores: PA-MPJPE (mm, the estimate in camera 0's axes aligned to the true world joints by a
similarity), the relative rotation error (degrees, mean over cameras c >= 1 of the angle between the
estimated and the true ``R_c R_0^T``), and the solver's speed (frame-sets / s, stage 1 included, on
this process's threads, batched as given).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SEED_OFFSET = 9_000_000


def _load(spec: str):
    """(optimizer, options) from a run folder / checkpoint / slim export."""
    from mvmocap.regressors.metapose.inference import export_checkpoint, load_optimizer
    from mvmocap.train.checkpoint import checkpoint_path

    path = Path(spec)
    run_file = checkpoint_path(path)
    try:
        return load_optimizer(run_file)
    except Exception:  # a train-synthetic checkpoint: export it next to itself first
        slim = run_file.with_name("metapose_export.pt")
        export_checkpoint(run_file, slim)
        return load_optimizer(slim)


def _scores(joints, cameras, batch, views):
    import torch

    from mvmocap.evaluate.metrics import pa_mpjpe
    from mvmocap.geometry.rotations import rotation_angle_between
    from mvmocap.geometry.weak_projection import weak_camera_from_vector

    pa = pa_mpjpe(joints.double(), batch["joints3d"][:, :17].double())
    R, _, _ = weak_camera_from_vector(cameras.double())
    Rt = views["R"].double()
    rel_true = Rt[:, 1:] @ Rt[:, :1].transpose(-1, -2)
    angle = torch.rad2deg(rotation_angle_between(rel_true, R[:, 1:]))  # R_c is camera 0 -> camera c already
    valid = views["view_valid"][:, 1:]
    rot = (angle * valid).sum() / valid.sum().clamp(min=1)
    return float(pa.mean()), float(rot)


def _first(inputs, n: int):
    """The first ``n`` frame-sets of :class:`MetaPoseInputs`."""
    from mvmocap.regressors.metapose.gmm import JointGMM
    from mvmocap.regressors.metapose.inputs import MetaPoseInputs

    g = inputs.gmm
    return MetaPoseInputs(inputs.keypoints[:n], inputs.confidence[:n], JointGMM(g.means[:n], g.sigmas[:n], g.weights[:n]),
                          inputs.mono3d[:n], inputs.mono_weight[:n], inputs.view_valid[:n], inputs.centre[:n],
                          inputs.box[:n])


def main(argv=None) -> None:
    import torch

    from mvmocap.regressors.metapose.training import synthetic_inputs
    from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body
    from mvmocap.synth.mono3d import MonocularNoise

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, nargs="+", default=[4, 2])
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--rig-family", default="high_wide")
    parser.add_argument("--checkpoint", action="append", default=[])
    parser.add_argument("--body", default=None)
    parser.add_argument("--noise", choices=["realistic", "none"], default="realistic", help="the 2D evidence")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--outlier-weight", type=float, default=0.0,
                        help="points as M = 2 mixtures with this weight on a broad component (0: M = 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = load_body(args.body)
    mono = MonocularNoise()
    trained = []
    for spec in args.checkpoint:
        name, _, where = spec.partition("=")
        where, _, init = where.partition(":")
        loaded = [_load(run) for run in where.split(",")]
        trained.append((name, [net for net, _ in loaded], init or "s1", bool(loaded[0][1]["options"].get("bone_prior")),
                        loaded[0][1].get("views") if loaded[0][1]["options"].get("architecture") == "mlp" else None))
    print(f"# metapose Table 2: {args.samples} frame-sets per camera count, rig family {args.rig_family}, "
          f"body {getattr(body, 'name', '?')}, 2D noise {args.noise}, outlier weight {args.outlier_weight}, seed {args.seed}; every row on the same samples, in this process")
    print(f"{'cams':>4}  {'variant':<16} {'PA-MPJPE mm':>11} {'rot. err °':>10} {'frame-sets/s':>12} {'seeds':>5} {'spread mm':>9}")
    for C in args.cameras:
        noise = {"kind": "realistic"} if args.noise == "realistic" else "none"
        cfg = SynthConfig.from_dict({"views": C, "noise": noise, "rig_families": [args.rig_family],
                                     "augment": "none"})
        data = SyntheticMultiView(body, cfg, length=args.samples, seed=SEED_OFFSET + args.seed)
        batch = data.batch(list(range(args.samples)))
        s1, views, bones, _ = synthetic_inputs(batch, mono, "s1", 0.02, args.outlier_weight)
        rnd, _, _, _ = synthetic_inputs(batch, mono, "random", None, args.outlier_weight)
        rows = [("S1", s1, "s1", [None], None), ("S1+IR", s1, "ir", [None], None), ("RND+IR", rnd, "ir", [None], None),
                ("S1+IR+bone", s1, "ir", [None], bones)]
        rows += [(name, rnd if init == "random" else s1, "s2", nets, bones if bone else None)
                 for name, nets, init, bone, fixed in trained if fixed in (None, C)]
        for name, inputs, solver, nets, b in rows:
            scores = [_timed_scores(inputs, solver, net, b, batch, views) for net in nets]
            pa, rot, rate = (sum(x[i] for x in scores) / len(scores) for i in range(3))
            spread = f"{max(x[0] for x in scores) - min(x[0] for x in scores):>9.1f}" if len(scores) > 1 else f"{'-':>9}"
            print(f"{C:>4}  {name:<16} {pa:>11.1f} {rot:>10.2f} {rate:>12.0f} {len(scores):>5} {spread}")


def _timed_scores(inputs, solver, net, bones, batch, views) -> tuple[float, float, float]:
    """(PA-MPJPE mm, rotation error °, frame-sets / s) of one solver on the whole batch."""
    from mvmocap.regressors.metapose.inference import estimate

    estimate(_first(inputs, 2), solver, net, bones=None if bones is None else bones[:2])  # warm-up, not timed
    start = time.perf_counter()
    joints, cameras = estimate(inputs, solver, net, bones=bones)
    seconds = time.perf_counter() - start
    pa, rot = _scores(joints, cameras, batch, views)
    return pa, rot, inputs.keypoints.shape[0] / seconds


if __name__ == "__main__":
    main()
