"""``mvmocap body``: body-model tools."""

from __future__ import annotations

import typer

from mvmocap.cli.common import not_implemented

app = typer.Typer(help="Body-model tools.", no_args_is_help=True)


@app.command("build-open")
def build_open() -> None:
    """Build the free SMPL-format body from Anny (not implemented yet)."""
    raise not_implemented("body build-open", "issue #3")
