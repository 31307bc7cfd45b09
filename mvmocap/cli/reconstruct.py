"""``mvmocap reconstruct``: synchronised videos in, SMPL parameters per frame out."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mvmocap.cli.common import handle_errors

# The registered methods (mvmocap.methods.available_methods(), checked by a test; asking
# the registry here would load the regressors, and torch, on every --help).
METHOD_HELP = ("fit (default: multi-view SMPLify) | volumetric (the learned regressor + closed-form shape and limbs) | "
               "volumetric+fit (the regressor starts the fit) | volumetric-net (the network alone) | volumetric-net+fit | "
               "metapose | metapose+fit (no calibration: cameras per frame from MetaPose, scale from --height) | "
               "cra | cra+fit (a body per view, fused; +fit also fits the frames one camera sees) | "
               "cmanet | cmanet+fit (CMANet's inter-view module on CRA's views; the shipped one or --checkpoint).")


@handle_errors
def reconstruct(
    videos_dir: Optional[Path] = typer.Argument(
        None, help="Folder with one video (or image folder) per camera; file stem = camera name. Optional with --keypoints and --calibration."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (stages are cached here: a rerun resumes)."),
    calibration: Optional[Path] = typer.Option(None, "--calibration", "-c", help="Calibration file (any supported format)."),
    calibrate_from_joints: bool = typer.Option(False, "--calibrate-from-joints", help="Estimate the cameras from the person instead."),
    static_rig: bool = typer.Option(False, "--static-rig", help="With --calibrate-from-joints or --method metapose: the cameras did not move; MetaPose's per-frame cameras, averaged, start the calibration."),
    method: Optional[str] = typer.Option(None, "--method", help=METHOD_HELP),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="The weights --method NAME[+fit] runs with (e.g. an `mvmocap adapt` run's checkpoint.pt); default: $MVMOCAP_<NAME>_CHECKPOINT, else the shipped one."),
    detector: Optional[str] = typer.Option(None, "--detector", "-d", help="blazepose (default, CPU) | detectron2 | openpose-json (with --keypoints)."),
    body_model: Optional[str] = typer.Option(
        None, "--body-model", help="open_neutral/open_male/open_female or an official SMPL file (default: $MVMOCAP_BODY_MODEL, else open_neutral)."
    ),
    device: Optional[str] = typer.Option(None, "--device", help="cpu or cuda."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML configuration (see examples/configs/reconstruct.yaml)."),
    keypoints: Optional[Path] = typer.Option(None, "--keypoints", help="Folder of OpenPose JSON (NAME/, NAME_json/ or pose/NAME_json/) instead of running a detector; without videos the image sizes come from --calibration."),
    frames: Optional[str] = typer.Option(None, "--frames", help="start:stop:step on the common timeline."),
    height: Optional[float] = typer.Option(None, "--height", help="Subject height in metres (scale for --calibrate-from-joints and --method metapose)."),
    max_people: Optional[int] = typer.Option(None, "--max-people", help="People to reconstruct (default 1); N > 1 writes OUT/person_<k>/ and OUT/people.json."),
    render: bool = typer.Option(False, "--render", help="Write overlay videos and a contact sheet to OUT/overlays."),
    json_out: bool = typer.Option(False, "--json", help="Also write smpl_params.json."),
    rerun: bool = typer.Option(False, "--rerun", help="Also write OUT/recording.rrd for the Rerun viewer (needs the view extra)."),
    export: Optional[str] = typer.Option(None, "--export", help="Also write these formats (see `mvmocap export`): bvh,glb,trc,c3d,easymocap,obj,ply."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    sync: Optional[str] = typer.Option(None, "--sync", help="auto: estimate sub-frame time offsets and frame-rate ratios from the people; none (default): the videos are synchronised."),
) -> None:
    """Reconstruct SMPL parameters for every frame from synchronised multi-camera videos."""
    from mvmocap.io.outputs import check_output
    from mvmocap.reconstruct import ReconstructConfig, run

    check_output(out, "folder")
    cfg = ReconstructConfig.load(config) if config else ReconstructConfig()
    if method is not None:
        cfg.method = method
    if checkpoint is not None:
        cfg.checkpoint = str(checkpoint.resolve())
    if body_model is not None:
        cfg.body_model = body_model
    if device is not None:
        cfg.device = device
    if detector is not None:
        cfg.detect.detector = detector
    if frames is not None:
        cfg.detect.frames = frames
    if max_people is not None:
        cfg.detect.max_people = max_people
    if height is not None:
        cfg.subject_height_m = height
    if sync is not None:
        cfg.detect.sync = sync
    cfg.static_rig = cfg.static_rig or static_rig
    cfg.export.render = cfg.export.render or render
    cfg.export.json = cfg.export.json or json_out
    cfg.export.rerun = cfg.export.rerun or rerun
    if export is not None:
        cfg.export.formats = [name.strip() for name in export.split(",") if name.strip()]
    cfg = ReconstructConfig.from_dict(cfg.to_dict())  # re-validate after the overrides
    run(videos_dir, out, calibration=calibration, calibrate_from_joints=calibrate_from_joints,
        keypoints_dir=keypoints, config=cfg, progress=not quiet)
