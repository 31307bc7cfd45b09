"""``mvmocap adapt``: adapt a learned regressor to the user's own captures (reconstruct output folders)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

from mvmocap.cli.common import console, handle_errors


def _frames(value: Optional[str]) -> Optional[tuple[int, int]]:
    if value is None:
        return None
    start, sep, stop = value.partition(":")
    try:
        return int(start), int(stop)
    except ValueError:
        raise typer.BadParameter(f"expected START:STOP frame positions, got {value!r}") from None


@handle_errors
def adapt(
    run_dirs: List[Path] = typer.Argument(..., help="reconstruct output folders (detections, cameras; volumetric also a fit)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: checkpoint.pt, metrics.jsonl, adapt.yaml."),
    method: str = typer.Option("volumetric", "--method", "-m", help="The regressor to adapt: volumetric (the collaborative loop) | cra (CMANet's stage 1: CRA per view) | cmanet (CMANet's stage 2 on frozen CRA, $MVMOCAP_CRA_CHECKPOINT or the shipped one; a fresh module unless --checkpoint)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Start from this checkpoint (default: the shipped one, cra: $MVMOCAP_CRA_CHECKPOINT else CRA-S; cmanet: a fresh module)."),
    steps: int = typer.Option(200, "--steps", help="Optimisation steps."),
    batch_size: int = typer.Option(8, "--batch-size", help="Frame-sets per step (per process under torchrun)."),
    lr: float = typer.Option(3e-5, "--lr", help="Adam learning rate (the paper's 3e-5)."),
    refit_every: int = typer.Option(50, "--refit-every", help="Refit every frame with SMPLify from the regressor every N steps."),
    fit: str = typer.Option("calibrated", "--fit", help="The refit: calibrated (multi-view SMPLify on the rig) | uncalibrated (the paper's MV-SMPLify: per-view orientation, shared pose and shape) | single-view (SMPLify on each view alone)."),
    synthetic_every: int = typer.Option(0, "--synthetic-every", help="Drift guard: add a labelled batch of the method's own synthetic source domain every N steps (0 = off)."),
    synthetic_batch: int = typer.Option(8, "--synthetic-batch", help="The drift guard's samples (cmanet: frames) per batch (per process under torchrun)."),
    frames: Optional[str] = typer.Option(None, "--frames", help="Adapt on these frame positions of every run, START:STOP."),
    cameras: Optional[str] = typer.Option(None, "--cameras", help="Adapt on these cameras only (comma-separated)."),
    seed: int = typer.Option(0, "--seed", help="Seeds the frames of each step and the synthetic batches."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in OUT from its checkpoint."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Adapt METHOD to RUN_DIRS: the regressor starts multi-view SMPLify, the best fits supervise it, repeat.

    Several processes: torchrun --standalone --nproc_per_node N $(which mvmocap) adapt ... (gloo; --batch-size is per process; --resume needs the same N)."""
    from mvmocap.adapt import AdaptConfig, run
    from mvmocap.io.outputs import check_output

    check_output(out, "folder")
    config = AdaptConfig(method=method, checkpoint=None if checkpoint is None else str(checkpoint), seed=seed,
                         steps=steps, batch_size=batch_size, lr=lr, refit_every=refit_every,
                         synthetic_every=synthetic_every, synthetic_batch=synthetic_batch, fit_mode=fit, frames=_frames(frames),
                         cameras=None if cameras is None else tuple(c.strip() for c in cameras.split(",") if c.strip()))
    result = run(run_dirs, out, config, resume=resume, progress=not quiet)
    if os.environ.get("RANK", "0") != "0":  # under torchrun only the first process reports
        return
    start, end = result.get("eval_start"), result["eval_end"]
    before = f"{start['loss']:.4f} -> " if start else ""
    console.print(f"adapted to step {result['step']} in {result['seconds']:.0f} s -> {out} (self-supervised loss "
                  f"{before}{end['loss']:.4f}, regressor {end['regressor_px']:.1f} px median)", highlight=False)
