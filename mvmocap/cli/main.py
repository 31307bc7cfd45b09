"""The ``mvmocap`` command line. ``--help`` must stay fast: no torch at import time."""

from __future__ import annotations

from typing import Optional

import typer

from mvmocap import __version__
from mvmocap.cli import adapt, batch, body, calibrate, detect, evaluate, export, reconstruct, train, view
from mvmocap.cli.common import set_debug

app = typer.Typer(
    name="mvmocap",
    help="Multi-view markerless motion capture: synchronised videos in, SMPL parameters out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mvmocap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of an unexpected error (also MVMOCAP_DEBUG=1)."),
) -> None:
    """Multi-view markerless motion capture: synchronised videos in, SMPL parameters out."""
    set_debug(debug)


app.command("detect")(detect.detect)
app.command("calibrate")(calibrate.calibrate)
app.command("reconstruct")(reconstruct.reconstruct)
app.command("export")(export.export)
app.command("view")(view.view)
app.command("train-synthetic")(train.train_synthetic)
app.command("adapt")(adapt.adapt)
app.command("batch")(batch.batch)
app.add_typer(evaluate.app, name="eval")
app.add_typer(body.app, name="body")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
