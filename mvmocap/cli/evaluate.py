"""``mvmocap eval``: compare estimates with references."""

from __future__ import annotations

import typer

from mvmocap.cli.common import not_implemented

app = typer.Typer(help="Evaluate calibrations and reconstructions.", no_args_is_help=True)


@app.command("synthetic")
def synthetic() -> None:
    """Synthetic benchmark (not implemented yet)."""
    raise not_implemented("eval synthetic", "issue #7")
