"""``mvmocap calibrate`` (placeholder, filled in by the foundation work)."""

from __future__ import annotations

from mvmocap.cli.common import not_implemented


def calibrate() -> None:
    """Convert or estimate camera calibrations."""
    raise not_implemented("calibrate", "issue #2")
