"""``mvmocap calibrate``: convert a calibration file, or estimate one from the body (--from-joints)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

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
) -> None:
    """Convert camera calibrations between formats, or estimate them from the person's joints."""
    if (from_file is None) == (from_joints is None):
        raise fail("give exactly one of --from-file or --from-joints")
    if from_joints is not None:
        raise fail("--from-joints is not implemented yet (issue #5); nothing was written")
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
