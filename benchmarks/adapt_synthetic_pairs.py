"""Paired intervals for the rows of ``benchmarks/adapt_synthetic.py`` (#24 acceptance 1's orderings).

Re-scores the adapted networks a run of ``adapt_synthetic.py --out RUNS`` left (``RUNS/<row>/checkpoint.pt``)
and the shipped one on the same test clips (remade from the same ``--seed``, ``--test-clips``,
``--frames``, ``--cameras``), frame by frame (COCO-17 PA-MPJPE of the network alone, the frames every
row sees), and gives each comparison's difference of mean PA-MPJPE (mm, ``other - reference``) with a
95 % paired block-bootstrap interval: blocks of ``--block`` consecutive frames of one clip, drawn with
replacement over all clips, the same blocks for both rows (what the rows share, the clip's difficulty
and detection noise, cancels). An interval wholly below 0 = ``other`` lower.

    python benchmarks/adapt_synthetic_pairs.py --runs /tmp/a5s/vol_s0 --seed 0 --test-clips 5 --frames 100
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ROWS = {"2D loss only": "2D_loss_only", "full loop": "full_loop", "MV uncalibrated": "MV_uncalibrated",
        "single-view fit": "single-view_fit"}
PAIRS = [("before", "2D loss only"), ("before", "full loop"), ("before", "MV uncalibrated"),
         ("before", "single-view fit"), ("2D loss only", "full loop"), ("single-view fit", "full loop"),
         ("single-view fit", "MV uncalibrated"), ("full loop", "MV uncalibrated")]


def frame_errors(method, captures, truths) -> tuple[torch.Tensor, torch.Tensor]:
    """``(F,)`` PA-MPJPE mm of every frame of every capture (NaN where the network sees no body) and
    ``(F,)`` the clip index of each frame."""
    from mvmocap.evaluate.metrics import pa_mpjpe

    errors, clip_of = [], []
    for index, (capture, truth) in enumerate(zip(captures, truths)):
        prepared = method.prepare(capture.inputs)
        with torch.no_grad():
            params = method.sequence_params(capture.inputs, prepared)
            out = method.body_model(global_orient=params.global_orient, body_pose=params.body_pose,
                                    betas=params.betas.expand(params.num_frames, -1), transl=params.transl)
        ok = prepared.ok & params.valid
        per_frame = torch.full((params.num_frames,), float("nan"), dtype=torch.float64)
        per_frame[ok] = pa_mpjpe(out.coco23[:, :17][ok].double(), truth.joints17[ok].double())
        errors.append(per_frame)
        clip_of.append(torch.full((params.num_frames,), index))
    return torch.cat(errors), torch.cat(clip_of)


def block_starts(clip_of: torch.Tensor, block: int) -> list[torch.Tensor]:
    """The frame indices of every block of ``block`` consecutive frames within one clip."""
    blocks = []
    for clip in clip_of.unique():
        frames = torch.nonzero(clip_of == clip).flatten()
        blocks += list(frames.split(block))
    return blocks


def paired_interval(reference: torch.Tensor, other: torch.Tensor, blocks: list[torch.Tensor], draws: int,
                    generator: torch.Generator) -> tuple[float, float, float]:
    """Mean of ``other - reference`` over the frames both have, and its 95 % block-bootstrap interval."""
    diff = other - reference
    sums = torch.stack([torch.nansum(diff[b]) for b in blocks])
    counts = torch.stack([torch.isfinite(diff[b]).sum() for b in blocks]).double()
    pick = torch.randint(len(blocks), (draws, len(blocks)), generator=generator)
    means = sums[pick].sum(1) / counts[pick].sum(1)
    low, high = torch.quantile(means, torch.tensor([0.025, 0.975], dtype=torch.float64)).tolist()
    return float(sums.sum() / counts.sum()), low, high


def main(argv: list[str] | None = None) -> int:
    from benchmarks.adapt_synthetic import TEST_SEED_OFFSET, clips
    from mvmocap.adapt.captures import capture_from_detections
    from mvmocap.methods import adaptation_methods
    from mvmocap.synth.dataset import load_body

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="the --out of adapt_synthetic.py")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-clips", type=int, default=2)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--block", type=int, default=10)
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = load_body(None)
    truths = clips(body, args.test_clips, args.seed + TEST_SEED_OFFSET, args.frames, args.cameras)
    test = [capture_from_detections(f"test{i}", sc.detections, sc.rig, body) for i, sc in enumerate(truths)]
    load = adaptation_methods()["volumetric"]
    errors = {}
    errors["before"], clip_of = frame_errors(load(None, body)[0], test, truths)
    for row, folder in ROWS.items():
        if (args.runs / folder / "checkpoint.pt").is_file():
            errors[row], _ = frame_errors(load(args.runs / folder / "checkpoint.pt", body)[0], test, truths)
    print(f"seed {args.seed}: {args.test_clips} test clips x {args.frames} frames; mean PA-MPJPE mm: "
          + ", ".join(f"{k} {float(torch.nanmean(v)):.2f}" for k, v in errors.items()))
    print(f"{'reference':16} {'other':16} {'other - ref mm':>14} {'95% interval':>16}")
    blocks = block_starts(clip_of, args.block)
    generator = torch.Generator().manual_seed(0)
    for reference, other in PAIRS:
        if reference in errors and other in errors:
            mean, low, high = paired_interval(errors[reference], errors[other], blocks, args.draws, generator)
            print(f"{reference:16} {other:16} {mean:14.2f} {f'{low:.2f} .. {high:.2f}':>16}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
