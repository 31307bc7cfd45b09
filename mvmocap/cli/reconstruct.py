"""``mvmocap reconstruct``: synchronised videos in, SMPL parameters per frame out."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mvmocap.cli.common import handle_errors


@handle_errors
def reconstruct(
    videos_dir: Path = typer.Argument(..., help="Folder with one video (or image folder) per camera; file stem = camera name."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (stages are cached here: a rerun resumes)."),
    calibration: Optional[Path] = typer.Option(None, "--calibration", "-c", help="Calibration file (any supported format)."),
    calibrate_from_joints: bool = typer.Option(False, "--calibrate-from-joints", help="Estimate the cameras from the person instead."),
    method: Optional[str] = typer.Option(None, "--method", help="fit | <regressor> | <regressor>+fit (default: fit)."),
    body_model: Optional[str] = typer.Option(
        None, "--body-model", help="open_neutral/open_male/open_female or an official SMPL file (default: $MVMOCAP_BODY_MODEL, else open_neutral)."
    ),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML configuration (see examples/configs/reconstruct.yaml)."),
    keypoints: Optional[Path] = typer.Option(None, "--keypoints", help="Folder of OpenPose JSON (<camera>_json/) instead of running a detector."),
    frames: Optional[str] = typer.Option(None, "--frames", help="start:stop:step on the common timeline."),
    height: Optional[float] = typer.Option(None, "--height", help="Subject height in metres (scale for --calibrate-from-joints)."),
    render: bool = typer.Option(False, "--render", help="Write overlay videos and a contact sheet to OUT/overlays."),
    json_out: bool = typer.Option(False, "--json", help="Also write smpl_params.json."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Reconstruct SMPL parameters for every frame from synchronised multi-camera videos."""
    from mvmocap.io.outputs import check_output
    from mvmocap.reconstruct import ReconstructConfig, run

    check_output(out, "folder")
    cfg = ReconstructConfig.load(config) if config else ReconstructConfig()
    if method is not None:
        cfg.method = method
    if body_model is not None:
        cfg.body_model = body_model
    if device is not None:
        cfg.device = device
    if frames is not None:
        cfg.detect.frames = frames
    if height is not None:
        cfg.subject_height_m = height
    cfg.export.render = cfg.export.render or render
    cfg.export.json = cfg.export.json or json_out
    cfg = ReconstructConfig.from_dict(cfg.to_dict())  # re-validate after the overrides
    run(videos_dir, out, calibration=calibration, calibrate_from_joints=calibrate_from_joints,
        keypoints_dir=keypoints, config=cfg, progress=not quiet)
