"""``mvmocap detect``."""

from __future__ import annotations

from typing import List, Optional

import typer

from mvmocap.cli.common import not_implemented


def detect(
    args: Optional[List[str]] = typer.Argument(None, help="(not implemented yet)"),
) -> None:
    """2D detection on synchronised videos (not implemented yet)."""
    raise not_implemented("detect", "issue #4")
