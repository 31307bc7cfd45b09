"""``mvmocap eval``: compare estimates with references.

* ``mvmocap eval calibration --estimate A --reference B``
* ``mvmocap eval reconstructions --reference OUT_A --other OUT_B`` (two reconstruct outputs of one capture)
* ``mvmocap eval heldout-camera VIDEOS --calibration FILE --out WORK`` (each camera held out in turn)
* ``mvmocap eval synthetic --method M [--seed 0 --n 500 --views 4]``
  (also spelled ``mvmocap eval --dataset synthetic --method M ...``)
* ``mvmocap eval --dataset synthetic --sequence [--cameras 2,4,8] [--condition clean,noisy,occluded] ...``
  (motion clips, every method in one run: :mod:`mvmocap.cli.eval_sequence`)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from mvmocap.cli.common import console, fail, handle_errors

app = typer.Typer(help="Evaluate calibrations and reconstructions.", invoke_without_command=True)


@app.callback()
@handle_errors
def _default(
    ctx: typer.Context,
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Benchmark to run: synthetic."),
    method: str = typer.Option("fit", "--method", help="Method to evaluate (see `eval synthetic --help`)."),
    seed: int = typer.Option(0, "--seed"),
    n: int = typer.Option(500, "--n", help="Number of samples."),
    views: int = typer.Option(4, "--views", help="Cameras per sample."),
    device: str = typer.Option("cpu", "--device"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the result as JSON."),
    sequence: bool = typer.Option(False, "--sequence", help="Motion clips: every --methods value on the same clips."),
    cameras: Optional[List[str]] = typer.Option(None, "--cameras", help="--sequence: cameras per capture, e.g. 2,4,8."),
    condition: Optional[List[str]] = typer.Option(None, "--condition", help="--sequence: clean,noisy,occluded."),
    rig_family: Optional[List[str]] = typer.Option(None, "--rig-family", help="--sequence: rig families (default: the training ones)."),
    pose_family: Optional[List[str]] = typer.Option(None, "--pose-family", help="--sequence: pose families of the key poses."),
    clips: int = typer.Option(3, "--clips", help="--sequence: clips per cell."),
    frames: int = typer.Option(90, "--frames", help="--sequence: frames per clip (30 fps)."),
    methods: Optional[List[str]] = typer.Option(None, "--methods", help="--sequence: fit,triangulation,volumetric,volumetric-net,volumetric+fit (default), triangulation-selfcal."),
    uncalibrated: bool = typer.Option(False, "--uncalibrated", help="--sequence: hide the cameras; score after a per-frame similarity in camera 0's frame."),
    heldout: bool = typer.Option(False, "--heldout", help="--sequence: the held-out rig family high_wide and pose family gesturing, where not given."),
    out: Optional[Path] = typer.Option(None, "--out", help="--sequence: write the result as JSON."),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if dataset is None:
        console.print(ctx.get_help())
        raise typer.Exit(0)
    if dataset != "synthetic":
        raise fail(f"unknown dataset {dataset!r}; available: synthetic")
    if sequence:
        from mvmocap.cli.eval_sequence import run_sequence_command, single_frame_options_given

        given = single_frame_options_given(ctx, {"method": "--method", "n": "--n", "views": "--views", "device": "--device"})
        if given:
            raise fail(f"{', '.join(given)} do not apply with --sequence (it takes --methods, --clips, --cameras)")
        run_sequence_command(cameras, condition, rig_family, pose_family, clips, frames, methods, uncalibrated, heldout,
                             seed, out or json_out)
        return
    sequence_only = {"--cameras": cameras, "--condition": condition, "--rig-family": rig_family,
                     "--pose-family": pose_family, "--methods": methods, "--uncalibrated": uncalibrated,
                     "--heldout": heldout, "--out": out}
    given = [name for name, value in sequence_only.items() if value]
    if given:
        raise fail(f"{', '.join(given)} only apply with --sequence")
    _run_synthetic(method, seed, n, views, device, json_out)


@app.command("calibration")
@handle_errors
def calibration(
    estimate: Path = typer.Option(..., "--estimate", help="Estimated calibration (any supported format)."),
    reference: Path = typer.Option(..., "--reference", help="Reference calibration (any supported format)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the comparison as JSON."),
) -> None:
    """Similarity-align ESTIMATE to REFERENCE on the camera centres; per-camera rotation, centre and focal errors."""
    from mvmocap.evaluate.calibration import compare_calibrations
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.io.safe_read import json_safe
    from mvmocap.io.calibration import load_rig

    _check_json(json_out)
    comparison = compare_calibrations(load_rig(estimate), load_rig(reference))
    typer.echo(comparison.to_text())
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(json_safe(comparison.to_dict()), indent=1))


@app.command("reconstructions")
@handle_errors
def reconstructions(
    reference: Path = typer.Option(..., "--reference", help="A reconstruct output folder (or its joints3d.npz)."),
    other: Path = typer.Option(..., "--other", help="Another reconstruction of the same capture and cameras."),
    block_frames: int = typer.Option(10, "--block-frames", help="Consecutive frames per bootstrap block."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the comparison as JSON."),
) -> None:
    """Median reprojection error of OTHER against REFERENCE on the same detections, with a 95 % bootstrap interval of the ratio."""
    from mvmocap.evaluate.reconstructions import compare_reconstructions
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.io.safe_read import json_safe
    from mvmocap.io.joints3d import load_fit_reprojection

    _check_json(json_out)
    comparison = compare_reconstructions(load_fit_reprojection(reference), load_fit_reprojection(other),
                                         block_frames=block_frames)
    typer.echo(comparison.to_text())
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(json_safe(comparison.to_dict()), indent=1))


@app.command("heldout-camera")
@handle_errors
def heldout_camera(
    videos_dir: Path = typer.Argument(..., help="The capture: one video (or image folder) per camera."),
    calibration: Path = typer.Option(..., "--calibration", "-c", help="Calibration of every camera (any supported format)."),
    out: Path = typer.Option(..., "--out", "-o", help="Work folder: detections once, then one reconstruct output per fold and method."),
    methods: str = typer.Option("fit,volumetric,volumetric+fit", "--methods", help="Comma-separated --method values; the first is the reference."),
    keypoints: Optional[Path] = typer.Option(None, "--keypoints", help="OpenPose JSON instead of a detector (as reconstruct --keypoints)."),
    cameras: Optional[str] = typer.Option(None, "--cameras", help="Comma-separated cameras to hold out (default: each in turn)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Reconstruct configuration for every run."),
    block_frames: int = typer.Option(10, "--block-frames", help="Consecutive frames per bootstrap block."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the result as JSON."),
) -> None:
    """Each camera in turn held out: methods fitted on the others, scored by their joints' pixel error in it."""
    from mvmocap.evaluate.heldout import evaluate_heldout_cameras
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.reconstruct import ReconstructConfig

    cfg = ReconstructConfig.load(config) if config else None
    names = [m.strip() for m in methods.split(",") if m.strip()]
    chosen = [c.strip() for c in cameras.split(",") if c.strip()] if cameras else None
    result = evaluate_heldout_cameras(videos_dir, calibration, out, methods=names, keypoints_dir=keypoints,
                                      config=cfg, block_frames=block_frames, cameras=chosen, progress=True)
    typer.echo(result.to_text())
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(result.to_dict(), indent=1))


@app.command("synthetic")
@handle_errors
def synthetic(
    method: str = typer.Option("fit", "--method", help="fit, triangulation, gt, or a trained run folder / registered regressor."),
    seed: int = typer.Option(0, "--seed"),
    n: int = typer.Option(500, "--n", help="Number of samples."),
    views: int = typer.Option(4, "--views", help="Cameras per sample."),
    device: str = typer.Option("cpu", "--device"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the result as JSON."),
) -> None:
    """The fixed, seeded synthetic benchmark (GT cameras, detector-like noise): MPJPE, PA-MPJPE, N-MPJPE, PVE, PCK, AUC."""
    _run_synthetic(method, seed, n, views, device, json_out)


def _run_synthetic(method: str, seed: int, n: int, views: int, device: str, json_out: Path | None) -> None:
    from rich.progress import Progress

    from mvmocap.evaluate.synthetic import format_table, run_benchmark
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.io.safe_read import json_safe

    from mvmocap.devices import check_device

    if n < 1 or not 2 <= views <= 8:
        raise fail("--n must be >= 1 and --views between 2 and 8")
    check_device(device)
    _check_json(json_out)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"eval {method}", total=n)
        result = run_benchmark(method, seed=seed, n=n, views=views, device=device,
                               progress=lambda done, total: bar.update(task, completed=done))
    typer.echo(format_table(result))
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(json_safe(result), indent=1))


def _check_json(json_out: Path | None) -> None:
    if json_out is not None:
        from mvmocap.io.outputs import check_output

        check_output(json_out, "file", "--json")
