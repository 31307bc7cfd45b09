"""Progress bars per camera and the end-of-run summary table (rich, on stderr)."""

from __future__ import annotations

import time
from typing import Mapping

from mvmocap.detect.detections import Detections


class Reporter:
    """Rich progress bars per camera (frames/s), silent when ``enabled`` is False."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.status: dict[str, str] = {}
        self._progress = None
        self._tasks: dict[str, int] = {}
        self._started: dict[str, float] = {}

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description:>10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def start(self, camera: str, total: int) -> None:
        self.status[camera] = "detected"
        self._started[camera] = time.perf_counter()
        if self._progress is not None:
            self._tasks[camera] = self._progress.add_task(camera, total=total, rate="")

    def advance(self, camera: str) -> None:
        if self._progress is None:
            return
        task = self._tasks[camera]
        self._progress.advance(task)
        done = self._progress.tasks[task].completed
        elapsed = max(time.perf_counter() - self._started[camera], 1e-9)
        self._progress.update(task, rate=f"{done / elapsed:5.1f} frames/s")

    def skip(self, camera: str, total: int) -> None:
        self.status[camera] = "cached"
        if self._progress is not None:
            self._progress.add_task(camera, total=total, completed=total, rate="cached")


def summarize(detections: Detections) -> list[dict]:
    """Per camera: frames, fraction of frames with a person, mean COCO-17 confidence over those frames."""
    rows = []
    for c, name in enumerate(detections.camera_names):
        found = detections.boxes[c, :, 4] > 0
        conf = detections.keypoints[c, found, :17, 2]
        rows.append({
            "camera": name,
            "frames": int(detections.num_frames),
            "detected": float(found.mean()) if len(found) else 0.0,
            "mean_confidence": float(conf.mean()) if conf.size else 0.0,
        })
    return rows


def print_summary(detections: Detections, status: Mapping[str, str] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"detections ({detections.detector})")
    for column in ("camera", "frames", "detected", "mean confidence", "source"):
        table.add_column(column, justify="left" if column in ("camera", "source") else "right")
    for row in summarize(detections):
        table.add_row(row["camera"], str(row["frames"]), f"{100 * row['detected']:.1f}%",
                      f"{row['mean_confidence']:.2f}", (status or {}).get(row["camera"], ""))
    Console(stderr=True).print(table)


def summarize_people(people) -> list[dict]:
    """Per camera of :class:`~mvmocap.detect.people.PeopleDetections`: frames, people per frame (mean and
    most), frames with nobody, and the mean COCO-17 confidence over every detected person."""
    rows = []
    for c, name in enumerate(people.camera_names):
        present = people.present[c]  # (F, P)
        counts = present.sum(-1)
        conf = people.keypoints[c][present][:, :17, 2]
        rows.append({
            "camera": name,
            "frames": int(people.num_frames),
            "people_per_frame": float(counts.mean()) if counts.size else 0.0,
            "most_people": int(counts.max()) if counts.size else 0,
            "frames_without_people": int((counts == 0).sum()),
            "mean_confidence": float(conf.mean()) if conf.size else 0.0,
        })
    return rows


def print_people_summary(people, status: Mapping[str, str] | None = None) -> None:
    """The multi-person counterpart of :func:`print_summary`: one table, one row per camera (stderr)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"people detections ({people.detector})")
    for column in ("camera", "frames", "people per frame", "most", "frames with nobody", "mean confidence", "source"):
        table.add_column(column, justify="left" if column in ("camera", "source") else "right")
    for row in summarize_people(people):
        table.add_row(row["camera"], str(row["frames"]), f"{row['people_per_frame']:.2f}", str(row["most_people"]),
                      str(row["frames_without_people"]), f"{row['mean_confidence']:.2f}",
                      (status or {}).get(row["camera"], ""))
    Console(stderr=True).print(table)
