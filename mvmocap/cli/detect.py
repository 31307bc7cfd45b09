"""``mvmocap detect``: a thin command over :func:`mvmocap.detect.run`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mvmocap.cli.common import handle_errors


@handle_errors
def detect(
    videos_dir: Path = typer.Argument(..., help="Folder with one video per camera (stem = camera name) or one image folder per camera."),
    out: Path = typer.Option(..., "--out", "-o", help="Work folder; detections are cached in WORK_DIR/detections/."),
    detector: str = typer.Option("blazepose", "--detector", "-d", help="blazepose (CPU, default) | detectron2 | openpose-json."),
    frames: Optional[str] = typer.Option(None, "--frames", help="start:stop:step on the common timeline."),
    offset: Optional[List[str]] = typer.Option(None, "--offset", help="CAMERA=FRAMES for a camera that started late (repeatable)."),
    strict: bool = typer.Option(False, "--strict", help="Differing frame counts / rates are an error, not a warning."),
    device: str = typer.Option("cpu", "--device", help="cpu | cuda (detectron2 only)."),
    export_openpose: Optional[Path] = typer.Option(None, "--export-openpose", help="Also write OpenPose BODY_25 JSON per camera here."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="detectron2: Keypoint R-CNN R50-FPN weights (.pkl/.pth)."),
    densepose_weights: Optional[Path] = typer.Option(None, "--densepose-weights", help="detectron2: DensePose R-101 weights (IUV maps)."),
    openpose_dir: Optional[Path] = typer.Option(None, "--openpose-dir", help="openpose-json: folder of <camera>_json folders (default VIDEOS_DIR)."),
    scale: float = typer.Option(0.5, "--scale", help="blazepose: input downscale factor (speed)."),
    force: bool = typer.Option(False, "--force", help="Recompute every camera, ignoring the cache."),
    max_people: int = typer.Option(1, "--max-people", help="People to keep: 1 = one tracked person; N > 1 = everyone (up to N + 2 per camera)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or summary table."),
    sync: str = typer.Option("none", "--sync", help="auto: detect every camera over all its frames and estimate time offsets from the people (OUT/sync.json); none: the videos are synchronised."),
) -> None:
    """Detect the person's 2D keypoints (and masks, monocular 3D) in every camera; cached per camera."""

    from mvmocap.cli.common import console
    from mvmocap.detect import run
    from mvmocap.io.outputs import check_output

    check_output(out, "folder")
    if export_openpose is not None:
        check_output(export_openpose, "folder", "--export-openpose")
    from mvmocap.sync.modes import check_mode

    if check_mode(sync) == "auto":
        from mvmocap.io.video import parse_offsets
        from mvmocap.sync.workflows import detect_and_sync, save_sync, sync_path

        if max_people != 1:  # everyone detected; offsets from the main person's per-camera tracks
            from mvmocap.reconstruct.people_sync import synchronise_people

            people = run(videos_dir, out=out, detector=detector, strict=strict, device=device, progress=not quiet,
                         weights=weights, densepose_weights=densepose_weights, openpose_dir=openpose_dir, scale=scale,
                         force=force, max_people=max_people)
            _, result, _ = synchronise_people(people, pinned=parse_offsets(offset))
            save_sync(result, sync_path(out))
            console.print(result.to_text() + f"\n(coarse, from the main person's 2D motion; refined by reconstruct "
                          f"--sync auto) -> {sync_path(out)}", highlight=False)
            return
        _, result = detect_and_sync(videos_dir, out, pinned=parse_offsets(offset), progress=not quiet, detector=detector,
                                    device=device, weights=weights, densepose_weights=densepose_weights,
                                    openpose_dir=openpose_dir, scale=scale, force=force)
        console.print(result.to_text() + f"\n(coarse, from the 2D motion only; refined by reconstruct/calibrate --sync auto) -> {sync_path(out)}", highlight=False)
        return
    run(videos_dir, out=out, detector=detector, frames=frames, offsets=offset, strict=strict, device=device,
        export_openpose=export_openpose, progress=not quiet, weights=weights, densepose_weights=densepose_weights,
        openpose_dir=openpose_dir, scale=scale, force=force, max_people=max_people)
