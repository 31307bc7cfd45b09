"""The batch's account of itself: ``summary.csv`` / ``summary.json``, a table, a progress bar.

One row per trial: status (ok, reused, failed), frames, valid frames, median
reprojection (fit and triangulation, px), height (m), seconds per stage and the
error line of a failed trial.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from pathlib import Path
from typing import Sequence

from mvmocap.batch.trial import FAILED, STAGES, TrialResult
from mvmocap.console import console
from mvmocap.io.atomic import atomic_write_text

SUMMARY_FORMAT = "mvmocap-batch-summary/1"
COLUMNS = ("trial", "status", "frames", "valid_frames", "reprojection_px", "triangulation_reprojection_px", "height_m")


def rows(results: Sequence[TrialResult]) -> list[dict]:
    """Flat rows (CSV-ready): the columns above, ``seconds_<stage>`` and the error line."""
    stages = [s for s in (*STAGES, "total") if any(s in r.seconds for r in results)]
    table = []
    for r in results:
        row = {"trial": r.name, "status": r.status, "frames": r.frames, "valid_frames": r.valid_frames,
               "reprojection_px": _round(r.reprojection_px), "triangulation_reprojection_px": _round(r.triangulation_reprojection_px),
               "height_m": _round(r.height_m, 3)}
        row.update({f"seconds_{s}": r.seconds.get(s) for s in stages})
        row["error"] = r.error or ""
        table.append(row)
    return table


def write_summary(out: str | Path, results: Sequence[TrialResult], info: dict) -> tuple[Path, Path]:
    """Write ``OUT/summary.csv`` and ``OUT/summary.json`` (atomically); return both paths."""
    out = Path(out)
    flat = rows(results)
    buffer = io.StringIO()
    if flat:
        writer = csv.DictWriter(buffer, fieldnames=list(flat[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
    csv_path, json_path = out / "summary.csv", out / "summary.json"
    atomic_write_text(csv_path, buffer.getvalue())
    document = {"format": SUMMARY_FORMAT, **info,
                "trials": [{"trial": r.name, **{k: v for k, v in r.to_dict().items() if k != "name"}} for r in results]}
    atomic_write_text(json_path, json.dumps(document, indent=1))
    return csv_path, json_path


def print_table(results: Sequence[TrialResult], wall_s: float) -> None:
    from rich.table import Table

    table = Table(title=f"mvmocap batch: {len(results)} trials in {wall_s:.1f} s (reprojection px, height m, seconds)",
                  title_justify="left")
    for name in ("trial", "status", "frames", "valid", "reproj", "height", "time"):
        table.add_column(name, justify="left" if name in ("trial", "status") else "right", no_wrap=name != "trial",
                         overflow="fold")
    table.add_column("notes")
    for r in results:
        style = {"ok": "green", "reused": "cyan", FAILED: "red"}.get(r.status, "")
        note = "error" if r.error else (f"{len(r.warnings)} warnings" if r.warnings else "")
        table.add_row(r.name, f"[{style}]{r.status}[/]", _text(r.frames), _text(r.valid_frames), _text(r.reprojection_px, 1),
                      _text(r.height_m, 2), _text(r.seconds.get("total"), 1), _escape(note))
    console.print(table)
    for r in results:
        if r.error:
            console.print(f"[red]{r.name}[/]: {_escape(r.error)}", highlight=False, soft_wrap=True)


def _round(value, digits: int = 2):
    return None if value is None else round(float(value), digits)


def _text(value, digits: int | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if digits is not None else str(value)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


# -- progress ---------------------------------------------------------------------------------


def current_stage(run_dir: Path, started_ns: int) -> str | None:
    """The stage a trial's run is in, read from its output folder; None before it starts.

    ``config.yaml`` is written when a run starts, the detection index when detection
    ends, ``stages/fit.npz`` when the fit ends (only when it was not cached already).
    """
    config = run_dir / "config.yaml"
    if not config.is_file() or config.stat().st_mtime_ns < started_ns:
        return None
    begun = config.stat().st_mtime_ns
    index = run_dir / "work" / "detections" / "index.json"
    if not index.is_file() or index.stat().st_mtime_ns < begun:
        return "detect"
    fit = run_dir / "stages" / "fit.npz"
    if not fit.is_file() or fit.stat().st_mtime_ns < begun:
        return "cameras, fit"
    return "export"


class BatchProgress:
    """An overall bar over trials, with the stage of each running trial (polled from its folder)."""

    def __init__(self, enabled: bool, runs: dict[str, Path], total: int, label: str = "trials"):
        self.enabled = enabled
        self.runs = runs
        self.total = total
        self.label = label
        self.finished: set[str] = set()
        self._started_ns = time.time_ns()
        self._stop = threading.Event()
        self._progress = None
        self._task = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "BatchProgress":
        if not self.enabled:
            return self
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn(f"[bold cyan]batch[/] {self.label}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("{task.fields[running]}"), console=console)
        self._progress.__enter__()
        self._task = self._progress.add_task(self.label, total=self.total, running="")
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._progress is not None:
            self._refresh()
            self._progress.__exit__(*exc)

    def done(self, name: str, status: str) -> None:
        self.finished.add(name)
        if self._progress is not None:
            self._progress.advance(self._task)
            colour = "red" if status == FAILED else "green"
            self._progress.console.print(f"[bold cyan]batch[/] {name}: [{colour}]{status}[/]", highlight=False)

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            self._refresh()

    def _refresh(self) -> None:
        running = []
        for name, run_dir in self.runs.items():
            if name in self.finished:
                continue
            try:
                stage = current_stage(run_dir, self._started_ns)
            except OSError:  # a file replaced while looking
                stage = None
            if stage is not None:
                running.append(f"{name}: {stage}")
        self._progress.update(self._task, running="  ".join(running))
