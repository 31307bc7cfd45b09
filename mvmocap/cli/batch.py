"""``mvmocap batch``: every trial of a session, one reconstruct each, on a process pool or Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mvmocap.cli.common import handle_errors


@handle_errors
def batch(
    session_dir: Path = typer.Argument(..., help="Session folder: a calibration and trial folders (TRIAL/videos/ or OpenPose JSON)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: OUT/<trial>/ per trial, OUT/summary.csv and summary.json."),
    config: Optional[Path] = typer.Option(None, "--config", help="Session config YAML (default SESSION/config.yaml); TRIAL/config.yaml overrides it."),
    engine: str = typer.Option("local", "--engine", help="local (a process pool) or ray (pip install 'mvmocap\\[ray]')."),
    workers: int = typer.Option(1, "--workers", "-j", help="Trials at once; each gets cores // workers threads."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray: 'auto' or HOST:PORT joins a cluster (default: start a local Ray)."),
    cpus_per_trial: Optional[int] = typer.Option(None, "--cpus-per-trial", help="Threads (Ray: CPUs reserved) per trial (default cores // workers)."),
    gpus_per_trial: float = typer.Option(0.0, "--gpus-per-trial", help="Ray: GPUs reserved per trial (use with --device cuda)."),
    resume: bool = typer.Option(False, "--resume", help="Skip trials already finished with the same settings and inputs."),
    calibration: Optional[Path] = typer.Option(None, "--calibration", "-c", help="The session's calibration file (default: found in SESSION/calibration/)."),
    calibrate_from_joints: bool = typer.Option(False, "--calibrate-from-joints", help="Estimate the cameras once from the people of all trials."),
    method: Optional[str] = typer.Option(None, "--method", help="fit | <regressor> | <regressor>+fit (overrides the configs)."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda (overrides the configs)."),
    frames: Optional[str] = typer.Option(None, "--frames", help="start:stop:step in every trial (overrides the configs)."),
    height: Optional[float] = typer.Option(None, "--height", help="Subject height in metres (scale for --calibrate-from-joints)."),
    max_people: Optional[int] = typer.Option(None, "--max-people", help="Reconstruct up to N people per trial; with --calibrate-from-joints the cameras come from everyone's joints (overrides the configs)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output or table."),
) -> None:
    """Reconstruct every trial of a session. Exit 0: all trials done; 3: some failed (see summary.csv); 2: bad session."""
    from mvmocap.batch import run_batch
    from mvmocap.batch.config import cli_layer

    result = run_batch(
        session_dir, out, config=config,
        overrides=cli_layer(method=method, device=device, frames=frames, height=height, max_people=max_people),
        engine=engine, workers=workers, address=address, cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial,
        resume=resume, calibration=calibration, calibrate_from_joints=calibrate_from_joints, progress=not quiet,
    )
    if result.exit_code:
        raise typer.Exit(result.exit_code)
