"""Commands that are planned but not built yet: they refuse with exit code 2 and write nothing."""

from __future__ import annotations

from typing import List, Optional

import typer

from mvmocap.cli.common import not_implemented


def train_synthetic(
    args: Optional[List[str]] = typer.Argument(None, help="(not implemented yet)"),
) -> None:
    """Train a multi-view regressor on synthetic data (not implemented yet)."""
    raise not_implemented("train-synthetic", "issue #7")
