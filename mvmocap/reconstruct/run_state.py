"""The state of one output folder: a lock against concurrent runs and a completion marker.

A ``reconstruct`` run into ``OUT`` holds an exclusive lock on ``OUT/.lock`` while it writes,
so a second run into the same folder is refused with one line instead of mixing files.
The last file a run writes is ``OUT/run.json`` with ``"status": "complete"`` and the SHA-256
of every result file; a run that was interrupted (or refused half-way) has no such file,
or one whose status is ``"running"``. :func:`is_complete` is what tools (``batch``, a user's
script) check; a rerun resumes from the stage caches and completes the folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Iterator, Sequence

from mvmocap import __version__
from mvmocap.errors import InputError
from mvmocap.io.atomic import atomic_write_text

MARKER = "run.json"
LOCK = ".lock"


@contextlib.contextmanager
def exclusive_run(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` for the duration; refuse when another process holds it.

    An OS-level advisory lock (``flock``): it is released by the kernel when the process
    ends, so a killed run never leaves a stale lock behind.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = open(out / LOCK, "a+")
    except OSError as exc:
        raise InputError(f"{out}: cannot write the output folder here ({exc.strerror or exc})") from None
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking, but the marker still tells complete runs apart
        with handle:
            yield
        return
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = (out / LOCK).read_text().strip() or "another process"
            raise InputError(f"{out}: another mvmocap run ({holder}) is writing to this folder; "
                             "wait for it to finish or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def mark_running(out: Path) -> None:
    """Replace any previous marker: from now on the folder's files are not a finished set."""
    _write(out, {"status": "running", "mvmocap_version": __version__, "started": _now()})


def mark_complete(out: Path, files: Sequence[str]) -> None:
    """Written last: the run finished, and these result files (relative to ``out``) belong to it."""
    previous = read_marker(out) or {}
    digests = {name: _sha256(out / name) for name in files if (out / name).is_file()}
    _write(out, {"status": "complete", "mvmocap_version": __version__,
                 "started": previous.get("started"), "finished": _now(), "files": digests})


def read_marker(out: str | Path) -> dict | None:
    path = Path(out) / MARKER
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def is_complete(out: str | Path) -> bool:
    """True when ``out`` holds a finished run whose result files are unchanged since it finished."""
    marker = read_marker(out)
    if not marker or marker.get("status") != "complete" or not isinstance(marker.get("files"), dict):
        return False
    out = Path(out)
    return all((out / name).is_file() and _sha256(out / name) == digest for name, digest in marker["files"].items())


def _write(out: Path, value: dict) -> None:
    atomic_write_text(out / MARKER, json.dumps(value, indent=1) + "\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
