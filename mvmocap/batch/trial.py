"""One trial as one task: a ``mvmocap.reconstruct.run`` into ``OUT/<trial>``, never raising.

:func:`run_trial` is what an engine runs (in a worker process or on a Ray node); every
failure becomes a ``failed`` :class:`TrialResult` with a one-line error, so one bad
trial never stops a batch.
"""

from __future__ import annotations

import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mvmocap.errors import MvmocapError
from mvmocap.io.safe_read import load_json, load_yaml
from mvmocap.reconstruct.run_state import MARKER, is_complete as run_is_complete

_PACKAGE = Path(__file__).resolve().parents[1]
STAGES = ("detect", "cameras", "left_right", "triangulate", "fit", "export", "render")
OK, REUSED, FAILED = "ok", "reused", "failed"


@dataclass(frozen=True)
class TrialTask:
    """Everything a worker needs, as plain picklable values (paths the worker can see)."""

    name: str
    inputs_dir: str
    out: str
    config: dict
    calibration: str | None = None
    keypoints_dir: str | None = None
    threads: int = 1
    detect_only: bool = False  # session calibration from joints: only the detection stage


@dataclass
class TrialResult:
    """One row of the batch summary."""

    name: str
    status: str  # ok | reused | failed
    frames: int | None = None
    valid_frames: int | None = None
    reprojection_px: float | None = None  # median fitted-keypoint reprojection, COCO-17
    triangulation_reprojection_px: float | None = None
    height_m: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, and "total"
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def is_complete(run_dir: str | Path) -> bool:
    """Did a reconstruct run into ``run_dir`` finish, its result files unchanged since?
    (reconstruct's completion marker, :func:`mvmocap.reconstruct.run_state.is_complete`)."""
    return run_is_complete(run_dir)


def is_up_to_date(task: TrialTask, extra_inputs: tuple[Path, ...] = ()) -> bool:
    """Complete, with the same settings, and newer than every input file (videos, JSON, calibration, configs)."""
    run_dir = Path(task.out)
    if not is_complete(run_dir):
        return False
    import yaml

    try:
        saved = load_yaml(run_dir / "config.yaml", what="run configuration")
    except (OSError, MvmocapError):
        return False
    if saved != yaml.safe_load(yaml.safe_dump(task.config)):  # the settings as config.yaml records them
        return False
    finished = (run_dir / MARKER).stat().st_mtime_ns
    roots = [Path(task.inputs_dir), *(Path(p) for p in (task.keypoints_dir, task.calibration) if p), *extra_inputs]
    return all(_newest_mtime_ns(root) <= finished for root in roots)


def _newest_mtime_ns(path: Path) -> int:
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_mtime_ns
    return max([path.stat().st_mtime_ns, *(p.stat().st_mtime_ns for p in path.rglob("*"))])


def result_from_report(name: str, run_dir: str | Path, status: str = REUSED) -> TrialResult:
    """The summary row of a finished run, read back from its ``report.json`` (several people: ``people.json``,
    person 0's figures, as :func:`_reconstruct` gives them)."""
    people = Path(run_dir) / "people.json"
    if people.is_file() and not (Path(run_dir) / "report.json").is_file():
        record = load_json(people, what="people.json of a finished run")
        persons = record.get("persons") or [record.get("summary", {})]
        return _result(name, status, persons[0], record.get("timings_s", {}))
    report = load_json(Path(run_dir) / "report.json", what="report.json of a finished run")
    return _result(name, status, report["summary"], report.get("timings_s", {}))


def _result(name: str, status: str, summary: dict, timings: dict) -> TrialResult:
    return TrialResult(
        name=name,
        status=status,
        frames=summary.get("frames"),
        valid_frames=summary.get("valid_frames"),
        reprojection_px=_number(summary.get("median_reprojection_fit_px")),
        triangulation_reprojection_px=_number(summary.get("median_reprojection_triangulation_px")),
        height_m=_number(summary.get("height_m")),
        seconds={k: round(float(v), 3) for k, v in timings.items()},
    )


def _number(value) -> float | None:
    return None if value is None or value != value else float(value)  # NaN -> None (JSON null)


def run_trial(task: TrialTask) -> TrialResult:
    """Reconstruct one trial (or only detect it, with ``task.detect_only``); never raises."""
    _limit_threads(task.threads)
    Path(task.out, "error.log").unlink(missing_ok=True)  # from an earlier failed run of this trial
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = _detect_only(task) if task.detect_only else _reconstruct(task)
        except Exception as exc:  # noqa: BLE001 - isolation: the error is the trial's result
            result = TrialResult(task.name, FAILED, error=_error_line(exc, task))
            result.seconds["total"] = round(time.perf_counter() - start, 3)
    result.warnings = _unique(str(w.message) for w in caught if _is_ours(w.filename))
    return result


def _reconstruct(task: TrialTask) -> TrialResult:
    from mvmocap.reconstruct import ReconstructConfig, run

    config = ReconstructConfig.from_dict(task.config, source=f"{task.name} config")
    output = run(
        task.inputs_dir, task.out,
        calibration=task.calibration, calibrate_from_joints=task.calibration is None,
        keypoints_dir=task.keypoints_dir, config=config, progress=False,
    )
    people = getattr(output, "people", None)  # several people (--max-people): the row holds person 0's figures
    return _result(task.name, OK, people[0] if people else output.summary, output.timings)


def _detect_only(task: TrialTask) -> TrialResult:
    """The detection stage exactly as reconstruct runs it, so that its cache serves the later run."""
    from mvmocap import detect
    from mvmocap.reconstruct import ReconstructConfig

    config = ReconstructConfig.from_dict(task.config, source=f"{task.name} config")
    d = config.detect
    tick = time.perf_counter()
    detections = detect.run(
        task.inputs_dir, out=Path(task.out) / "work",
        detector="openpose-json" if task.keypoints_dir is not None else d.detector,
        frames=d.frames, offsets=list(d.offsets), strict=d.strict, device=config.device,
        progress=False, openpose_dir=task.keypoints_dir, scale=d.scale, max_people=d.max_people,
    )
    return TrialResult(task.name, OK, frames=detections.num_frames,
                       seconds={"detect": round(time.perf_counter() - tick, 3)})


def _limit_threads(threads: int) -> None:
    import cv2
    import torch

    torch.set_num_threads(max(1, threads))
    cv2.setNumThreads(max(1, threads))


def _error_line(exc: BaseException, task: TrialTask) -> str:
    """The project's errors are already one readable line; anything else is a bug: keep its traceback."""
    if isinstance(exc, MvmocapError):
        return str(exc)
    log = Path(task.out) / "error.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    except OSError:
        pass
    return f"{type(exc).__name__}: {exc} (traceback in {log})"


def _is_ours(filename: str) -> bool:
    """Warnings mvmocap gives about the data (not libraries' deprecation notices)."""
    return Path(filename).resolve().is_relative_to(_PACKAGE)


def _unique(lines) -> list[str]:
    seen: dict[str, None] = {}
    for line in lines:
        seen.setdefault(line, None)
    return list(seen)
