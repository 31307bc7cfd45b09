"""``mvmocap view``: a Rerun recording of a reconstruct run (cameras, detections, joints, mesh)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mvmocap.cli.common import console, handle_errors


@handle_errors
def view(
    run_dir: Path = typer.Argument(..., help="A `mvmocap reconstruct` output folder."),
    videos: Optional[Path] = typer.Option(None, "--videos", help="The run's videos folder, to show the frames in the camera views."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write (default: RUN_DIR/recording.rrd)."),
    open_viewer: bool = typer.Option(False, "--open", help="Start the Rerun viewer on the recording."),
    body_model: Optional[str] = typer.Option(None, "--body-model", help="The body model file, when the run used one not found here."),
) -> None:
    """Write RUN_DIR/recording.rrd for the Rerun viewer (needs the view extra: rerun-sdk)."""
    from mvmocap.export.rerun_recording import write_recording

    path = write_recording(run_dir, videos, out, body_model=body_model)
    typer.echo(str(path))
    if open_viewer:
        import shutil
        import subprocess
        import sys

        command = [shutil.which("rerun") or sys.executable, *([] if shutil.which("rerun") else ["-m", "rerun"]), str(path)]
        try:
            subprocess.Popen(command, start_new_session=True)
        except OSError as exc:
            console.print(f"could not start the Rerun viewer ({exc}); open {path} with `rerun {path}`", style="yellow")
