"""``mvmocap export``: a reconstruct run's result in other formats (BVH, glTF, TRC, C3D, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mvmocap.cli.common import handle_errors

FORMAT_HELP = "npz, bvh, glb, trc, c3d, easymocap, obj, ply (comma-separated)"


@handle_errors
def export(
    run_dir: Path = typer.Argument(..., help="A `mvmocap reconstruct` output folder (holding smpl_params.npz)."),
    to: str = typer.Option("bvh,glb,trc,c3d", "--to", "-t", help=FORMAT_HELP + "."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write (default: RUN_DIR)."),
    body_model: Optional[str] = typer.Option(None, "--body-model", help="The body model file, when the run used one not found here."),
) -> None:
    """Export a reconstruction: BVH, skinned glTF (.glb), TRC/C3D markers, EasyMocap JSON, OBJ/PLY meshes."""
    from mvmocap.export.formats import export_run

    for path in export_run(run_dir, to, out, body_model=body_model):
        typer.echo(str(path))
