"""The ``--sync`` values (kept free of heavy imports: the CLI checks them first)."""

from __future__ import annotations

from mvmocap.errors import InputError

SYNC_MODES = ("none", "auto")


def check_mode(mode: str) -> str:
    """``mode`` if it is a ``--sync`` value, else :class:`InputError`."""
    if mode not in SYNC_MODES:
        raise InputError(f"--sync {mode!r}: use one of {', '.join(SYNC_MODES)}")
    return mode
