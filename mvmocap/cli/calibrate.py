"""``mvmocap calibrate``: convert a calibration file, or estimate one from the body (--from-joints)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from mvmocap.cli.common import console, fail, handle_errors

FORMAT_HELP = "native (YAML), toml (Pose2Sim/Anipose), easymocap (folder with intri.yml/extri.yml), qualisys (.qca.txt, read only)"


@handle_errors
def calibrate(
    out: Path = typer.Option(..., "--out", "-o", help="Output calibration (format from the extension, or --format)."),
    from_file: Optional[Path] = typer.Option(None, "--from-file", help="Convert this calibration file (or EasyMocap folder)."),
    from_joints: Optional[Path] = typer.Option(
        None, "--from-joints", help="Estimate cameras from the person: a videos folder or a `mvmocap detect` work folder."
    ),
    format: Optional[str] = typer.Option(None, "--format", help=f"Output format: {FORMAT_HELP}."),
    in_format: Optional[str] = typer.Option(None, "--in-format", help="Input format, when the name does not tell."),
    units: str = typer.Option("m", "--units", help="Units of a TOML input's translations (Anipose often uses mm)."),
    intrinsics: Optional[Path] = typer.Option(
        None, "--intrinsics", help="--from-joints: known intrinsics (any format); else one focal length per camera is estimated."
    ),
    height: float = typer.Option(1.70, "--height", help="--from-joints: the subject's height in metres (metric scale)."),
    work: Optional[Path] = typer.Option(None, "--work", help="--from-joints: where detections are cached (default: OUT's folder/<stem>_work)."),
    force: bool = typer.Option(False, "--force", help="--from-joints: write even when a sanity check fails."),
    same_focal: bool = typer.Option(False, "--same-focal", help="--from-joints without --intrinsics: one focal length shared by all cameras."),
    sync: str = typer.Option("none", "--sync", help="--from-joints: auto = estimate sub-frame time offsets together with the cameras; none = synchronised videos."),
    offset: Optional[List[str]] = typer.Option(None, "--offset", help="--from-joints --sync auto: CAMERA=FRAMES, a known offset kept as given (repeatable)."),
    board: Optional[str] = typer.Option(None, "--board", help="Intrinsics from a board: checkerboard:COLSxROWS:SQUARE_M (inner corners) or charuco:COLSxROWS:SQUARE_M:MARKER_M:DICT."),
    images: Optional[Path] = typer.Option(None, "--images", help="--board: folder with one image folder or video per camera."),
    extrinsics: bool = typer.Option(False, "--extrinsics", help="--board: also the camera poses, from images taken at the same moment (same name without the camera's)."),
    init: str = typer.Option("auto", "--init", help="--from-joints: the bundle adjustment's start: auto (mono3d-procrustes or essential, the better) | metapose (MetaPose S1+S2 per frame-set, averaged; needs its checkpoint) | metapose-s1 (stage 1 alone, no checkpoint)."),
    max_people: int = typer.Option(1, "--max-people", help="--from-joints: several people in view (N > 1): match them across cameras and calibrate from the N seen longest; --height is the height of the one seen longest."),
) -> None:
    """Convert camera calibrations between formats, estimate them from the person's joints, or intrinsics from a board."""
    from mvmocap.sync.modes import check_mode

    start = _start(init, from_joints, sync, max_people)  # a bad --init or a missing checkpoint fails before detection
    if board is not None or images is not None:
        if board is None or images is None or from_file is not None or from_joints is not None:
            raise fail("board calibration takes --board SPEC and --images DIR (and neither --from-file nor --from-joints)")
        return board_intrinsics(images, board, out, out_format=format, extrinsics=extrinsics)
    if check_mode(sync) == "auto":
        if from_joints is None:
            raise fail("--sync auto needs --from-joints")
        if max_people != 1:
            return estimate_from_people(from_joints, out, out_format=format, intrinsics=intrinsics, height=height,
                                        work=work, force=force, same_focal=same_focal, max_people=max_people,
                                        sync=True, offsets=offset)
        return estimate_with_sync(from_joints, out, out_format=format, intrinsics=intrinsics, height=height, work=work,
                                  force=force, same_focal=same_focal, offsets=offset)
    if (from_file is None) == (from_joints is None):
        raise fail("give exactly one of --from-file, --from-joints or --board")
    if from_joints is not None and max_people != 1:
        estimate_from_people(from_joints, out, out_format=format, intrinsics=intrinsics, height=height, work=work,
                             force=force, same_focal=same_focal, max_people=max_people)
    elif from_joints is not None:
        estimate_from_joints(
            from_joints, out, out_format=format, intrinsics=intrinsics, height=height, work=work, force=force, same_focal=same_focal,
            start=start,
        )
    else:
        convert(from_file, out, in_format=in_format, out_format=format, units=units)


def convert(source: Path, out: Path, *, in_format: str | None, out_format: str | None, units: str = "m") -> None:
    """Read ``source`` and write ``out``; print a one-table summary."""
    from mvmocap.io.calibration import detect_format, load_cameras, save_rig, writable_format

    writable_format(out, out_format)
    fmt = in_format or detect_format(source)
    options = {"units": units} if fmt == "toml" else {}
    cameras = load_cameras(source, fmt, **options)
    written = save_rig(cameras, out, out_format)
    print_camera_table(cameras, title=f"{len(cameras)} cameras: {source} -> {written}")


def _start(init: str, from_joints: Path | None, sync: str, max_people: int):
    """The per-frame camera estimator of ``--init`` (None for auto), refused where it does not apply."""
    if init == "auto":
        return None
    from mvmocap.methods.registry import calibration_start, calibration_starts

    if init in calibration_starts() and (from_joints is None or sync == "auto" or max_people != 1):
        raise fail(f"--init {init} works with --from-joints for one person in synchronised videos (no --sync auto, no --max-people)")
    return calibration_start(init)


def estimate_from_joints(
    source: Path, out: Path, *, out_format: str | None, intrinsics: Path | None, height: float, work: Path | None,
    force: bool, same_focal: bool, start=None,
) -> None:
    """Detect (or reuse a work folder's detections), estimate the cameras, write them and a quality report."""
    from mvmocap.calibrate.command import calibrate_from_joints_to_file

    result, written, report = calibrate_from_joints_to_file(
        source, out, intrinsics=intrinsics, height_m=height, force=force, same_focal=same_focal,
        out_format=out_format, work_dir=work, progress=True, frame_cameras=start,
    )
    console.print(result.report.to_text(), highlight=False, soft_wrap=True)
    print_camera_table(result.rig.cameras(), title=f"{len(result.rig)} cameras estimated from the joints -> {written} (report: {report})")


def estimate_from_people(source: Path, out: Path, *, out_format: str | None, intrinsics: Path | None, height: float,
                         work: Path | None, force: bool, same_focal: bool, max_people: int, sync: bool = False,
                         offsets=None) -> None:
    """Several people: detect them all (or reuse a work folder's), match them across cameras, calibrate from everyone."""
    from mvmocap.io.video import parse_offsets
    from mvmocap.reconstruct.people_calibrate import calibrate_people_to_file

    found, written, report = calibrate_people_to_file(
        source, out, max_people=max_people, intrinsics=intrinsics, height_m=height, force=force, same_focal=same_focal,
        out_format=out_format, work_dir=work, sync=sync, pinned=parse_offsets(offsets), progress=True,
    )
    console.print(found.result.report.to_text(), highlight=False, soft_wrap=True)
    rounds = ", ".join(f"round {k + 1}: {r['people']} people ({'/'.join(map(str, r['frames_3d']))} frames in 3D)"
                       for k, r in enumerate(found.rounds))
    console.print(f"one person's joints first, then everyone's: {rounds}", highlight=False)
    print_camera_table(found.result.rig.cameras(), title=f"{len(found.result.rig)} cameras estimated from the joints of "
                       f"{found.rounds[-1]['people']} people -> {written} (report: {report})")


def board_intrinsics(images: Path, board: str, out: Path, *, out_format: str | None, extrinsics: bool = False) -> None:
    """Every camera's intrinsics from its board images; a table with RMS and standard deviations."""
    from rich.table import Table

    from mvmocap.calibrate.intrinsics import calibrate_board_to_file, intrinsics_table_rows

    results, written, report = calibrate_board_to_file(images, board, out, out_format=out_format, extrinsics=extrinsics,
                                                       log=lambda line: console.print(line, highlight=False))
    poses = "poses from the board" if extrinsics else "poses are identities: use it with --intrinsics"
    table = Table(title=f"{len(results)} cameras, intrinsics from {board} -> {written} (report: {report}; {poses})",
                  title_justify="left")
    for column in ("camera", "fx, fy (px)", "cx, cy (px)", "RMS (px)", "views used/with board/images"):
        table.add_column(column)
    for row in intrinsics_table_rows(results):
        table.add_row(*row)
    console.print(table)


def estimate_with_sync(source: Path, out: Path, *, out_format, intrinsics, height: float, work, force: bool,
                       same_focal: bool, offsets) -> None:
    """Time offsets and cameras together (the videos were not started together)."""
    from mvmocap.io.video import parse_offsets
    from mvmocap.sync.workflows import calibrate_with_sync_to_file

    result, sync, written, report = calibrate_with_sync_to_file(
        source, out, intrinsics=intrinsics, height_m=height, force=force, same_focal=same_focal, out_format=out_format,
        work_dir=work, pinned=parse_offsets(offsets), progress=True,
    )
    console.print(sync.to_text(), highlight=False)
    console.print(result.report.to_text(), highlight=False, soft_wrap=True)
    print_camera_table(result.rig.cameras(), title=f"{len(result.rig)} cameras estimated from the joints -> {written} (report: {report})")


def print_camera_table(cameras, title: str) -> None:
    import numpy as np
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("camera", "size (px)", "fx, fy (px)", "centre (m)", "distance to origin (m)"):
        table.add_column(column)
    for cam in cameras:
        c = cam.center
        table.add_row(
            cam.name,
            f"{cam.size[0]}x{cam.size[1]}",
            f"{cam.K[0, 0]:.1f}, {cam.K[1, 1]:.1f}",
            f"({c[0]:+.3f}, {c[1]:+.3f}, {c[2]:+.3f})",
            f"{np.linalg.norm(c):.3f}",
        )
    console.print(table)
