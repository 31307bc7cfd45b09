"""Checking an output path before long work: it can be created where it is asked for.

A path whose parent is a file, or an output file that is a folder (or the reverse), would
otherwise fail only when the result is written, minutes later. Nothing is created here.
"""

from __future__ import annotations

import os
from pathlib import Path

from mvmocap.errors import FileFormatError, InputError


def check_output(path: str | os.PathLike, kind: str = "file", option: str = "--out") -> Path:
    """``path`` as a :class:`Path` once it is known that a ``kind`` (``"file"`` or ``"folder"``)
    can be written there: an existing entry has that kind, the nearest existing ancestor is a
    writable folder. Raises :class:`FileFormatError` naming the path in the way."""
    if kind not in ("file", "folder"):
        raise InputError(f"kind must be 'file' or 'folder', got {kind!r}")
    path = Path(path)
    if path.exists():
        if kind == "file" and path.is_dir():
            raise FileFormatError(path, f"{option} is a folder, expected a file name")
        if kind == "folder" and not path.is_dir():
            raise FileFormatError(path, f"{option} is a file, expected a folder")
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise FileFormatError(ancestor, "is a file where a folder is needed")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise FileFormatError(ancestor, f"folder is not writable ({option} {path})")
    return path
