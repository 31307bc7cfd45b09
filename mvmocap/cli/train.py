"""``mvmocap train-synthetic``: train a multi-view regressor on synthetic data generated on the fly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from mvmocap.cli.common import console, handle_errors


@handle_errors
def train_synthetic(
    config: Path = typer.Option(..., "--config", "-c", help="Training config YAML (e.g. examples/configs/mlp.yaml)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: config.yaml, metrics.jsonl, checkpoint.pt."),
    method: Optional[str] = typer.Option(None, "--method", "-m", help="Registered method (default: the config's)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in OUT from its checkpoint."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda | cuda:N (under torchrun: one GPU per process)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Override the config's number of steps."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Override the config's seed (model initialisation and data)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train METHOD on synthetic multi-view data; several processes with `torchrun --nproc_per_node N $(which mvmocap) train-synthetic ...`."""
    from mvmocap.devices import check_device
    from mvmocap.io.outputs import check_output
    from mvmocap.train import run

    check_device(device)
    check_output(out, "folder")
    result = run(method, config, out, resume=resume, device=device, overrides={"steps": steps, "seed": seed}, progress=not quiet)
    if os.environ.get("RANK", "0") != "0":  # under torchrun only the first process reports
        return
    val = result.get("val") or {}
    summary = ", ".join(f"{k} {v:.1f}" for k, v in val.items() if k in ("mpjpe", "pa_mpjpe"))
    console.print(f"trained to step {result['step']} in {result['seconds']:.0f} s -> {out}" + (f" (val {summary} mm)" if summary else ""),
                  highlight=False)
