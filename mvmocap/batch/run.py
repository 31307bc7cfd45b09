"""``run_batch``: every trial of a session reconstructed into ``OUT/<trial>``, then a summary.

Flow: discover the session -> resolve each trial's settings -> cameras (the session's
calibration file, or one calibration from the joints of all trials) -> skip the trials a
previous run finished (``resume``) -> run the others on an engine -> ``summary.csv``,
``summary.json`` and a table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from mvmocap.batch.config import read_layer, resolve
from mvmocap.batch.engines import check_engine, run_tasks, threads_per_worker
from mvmocap.batch.session import Trial, discover_session
from mvmocap.batch.summary import BatchProgress, print_table, write_summary
from mvmocap.batch.trial import FAILED, OK, TrialResult, TrialTask, is_up_to_date, result_from_report, run_trial
from mvmocap.console import console
from mvmocap.errors import InputError, MvmocapError

EXIT_OK, EXIT_SOME_FAILED = 0, 3


@dataclass
class BatchResult:
    out: Path
    results: list[TrialResult]
    wall_s: float

    @property
    def failed(self) -> list[TrialResult]:
        return [r for r in self.results if r.status == FAILED]

    @property
    def exit_code(self) -> int:
        """0 when every trial has a result, 3 when some failed (bad input for the whole session raises instead)."""
        return EXIT_SOME_FAILED if self.failed else EXIT_OK


def run_batch(
    session_dir: str | Path,
    out: str | Path,
    *,
    config: str | Path | None = None,
    overrides: dict | None = None,
    engine: str = "local",
    workers: int = 1,
    address: str | None = None,
    cpus_per_trial: int | None = None,
    gpus_per_trial: float = 0.0,
    resume: bool = False,
    calibration: str | Path | None = None,
    calibrate_from_joints: bool = False,
    progress: bool = True,
) -> BatchResult:
    """Reconstruct every trial of ``session_dir`` into ``out/<trial>``; see the module docstring.

    Args:
        config: the session config (default ``SESSION/config.yaml`` when present).
        overrides: command-line options as a config layer (highest precedence).
        engine, workers, address, gpus_per_trial: see :func:`mvmocap.batch.engines.run_tasks`.
        cpus_per_trial: threads (and Ray CPUs) per trial; default cores // workers.
        resume: skip trials whose output is complete, with the same settings, newer than their inputs.
        calibration, calibrate_from_joints: the session's cameras (default: found in the session).

    Raises the project's errors for a bad session (no trials, no calibration, a bad session
    config); a trial's own failure is a ``failed`` row instead.
    """
    start = time.perf_counter()
    out = Path(out)
    check_engine(engine, workers, address)
    session = discover_session(session_dir, calibration=calibration, calibrate_from_joints=calibrate_from_joints,
                               exclude=(out,))
    session_config = Path(config) if config is not None else session.config
    session_layer = read_layer(session_config) if session_config is not None else {}
    overrides = overrides or {}
    base = resolve(session_layer, overrides, source=str(session_config or "options"))  # a bad session config fails here
    threads = cpus_per_trial or threads_per_worker(workers)
    out.mkdir(parents=True, exist_ok=True)

    tasks: dict[str, TrialTask] = {}
    results: dict[str, TrialResult] = {}
    for trial in session.trials:
        try:
            tasks[trial.name] = _task(trial, out, session_layer, overrides, session.calibration, threads)
        except MvmocapError as exc:  # a bad TRIAL/config.yaml fails that trial only
            results[trial.name] = TrialResult(trial.name, FAILED, error=str(exc))
    run = dict(engine=engine, workers=workers, address=address, cpus_per_task=threads, gpus_per_task=gpus_per_trial)

    if calibrate_from_joints and tasks:
        cameras = _calibrate_session(tasks, results, out, base.subject_height_m, run, progress,
                                     base.detect.max_people)
        tasks = {name: replace(task, calibration=str(cameras)) for name, task in tasks.items()}

    todo = []
    for trial in session.trials:
        task = tasks.get(trial.name)
        if task is None:
            continue
        if resume and is_up_to_date(task, _config_files(trial, session_config)):
            results[trial.name] = result_from_report(trial.name, task.out)
        else:
            todo.append(task)
    if progress and resume:
        reused = sum(r.status != FAILED for r in results.values())
        console.print(f"[bold cyan]batch[/] resume: {reused} finished trial(s) kept, {len(todo)} to run", highlight=False)
    results.update(_run(todo, run, progress, label="trials"))

    ordered = [results[t.name] for t in session.trials]
    wall = time.perf_counter() - start
    info = {"session": str(session.folder), "calibration": str(tasks[next(iter(tasks))].calibration) if tasks else None,
            "engine": engine, "workers": workers, "threads_per_trial": threads, "wall_s": round(wall, 3)}
    write_summary(out, ordered, info)
    if progress:
        _print_warnings(ordered)
        print_table(ordered, wall)
    return BatchResult(out, ordered, wall)


def _task(trial: Trial, out: Path, session_layer: dict, overrides: dict, calibration, threads: int) -> TrialTask:
    trial_layer = read_layer(trial.config) if trial.config is not None else {}
    config = resolve(session_layer, trial_layer, overrides, source=str(trial.config or trial.folder))
    return TrialTask(
        name=trial.name,
        inputs_dir=str(trial.inputs_dir),
        out=str(out / trial.name),
        config=config.resolved().to_dict(),  # as reconstruct records it in config.yaml (resume compares them)
        calibration=str(calibration) if calibration is not None else None,
        keypoints_dir=str(trial.keypoints) if trial.keypoints is not None else None,
        threads=threads,
    )


def _config_files(trial: Trial, session_config: Path | None) -> tuple[Path, ...]:
    return tuple(p for p in (trial.config, session_config) if p is not None)


def _run(tasks: list[TrialTask], run: dict, progress: bool, label: str) -> dict[str, TrialResult]:
    """Run ``tasks`` on the engine; an engine-level failure (a crashed worker) is that trial's error."""
    if not tasks:
        return {}
    runs = {t.name: Path(t.out) for t in tasks}
    with BatchProgress(progress, runs, len(tasks), label) as bar:
        def done(i: int, outcome) -> None:
            bar.done(tasks[i].name, outcome.status if isinstance(outcome, TrialResult) else FAILED)

        outcomes = run_tasks(run_trial, tasks, on_done=done, **run)
    results = {}
    for task, outcome in zip(tasks, outcomes):
        if not isinstance(outcome, TrialResult):
            outcome = TrialResult(task.name, FAILED, error=f"worker failed: {type(outcome).__name__}: {outcome}")
        results[task.name] = outcome
    return results


def _calibrate_session(tasks: dict[str, TrialTask], results: dict[str, TrialResult], out: Path, height_m: float,
                       run: dict, progress: bool, max_people: int = 1) -> Path:
    """Detect every trial (cached for its reconstruct run), then calibrate once from all of them (from every
    person's joints with ``max_people`` > 1: :mod:`mvmocap.batch.people_calibration`)."""
    from mvmocap import detect
    from mvmocap.batch.calibration import calibrate_session

    detected = _run([replace(t, detect_only=True) for t in tasks.values()], run, progress, label="detection")
    usable = []
    for name, result in detected.items():
        if result.status == OK:
            usable.append(name)
        else:
            results[name] = result
            del tasks[name]
    if not usable:
        raise InputError("--calibrate-from-joints: detection failed in every trial; nothing to calibrate from")
    if max_people > 1:  # every person of every trial
        from mvmocap.batch.people_calibration import calibrate_session_people
        from mvmocap.detect.people_run import load_people

        per_trial = [load_people(Path(tasks[name].out) / "work") for name in usable]
    else:
        per_trial = [detect.load(Path(tasks[name].out) / "work") for name in usable]
    if progress:
        console.print(f"[bold cyan]batch[/] calibrating the cameras once from {len(usable)} trials "
                      f"({sum(d.num_frames for d in per_trial)} frames)", highlight=False)
    if max_people > 1:
        return calibrate_session_people(per_trial, out / "calibration", height_m, max_people, progress=progress)
    return calibrate_session(per_trial, out / "calibration", height_m, progress=progress)


def _print_warnings(results: list[TrialResult]) -> None:
    for r in results:
        for line in r.warnings:
            console.print(f"[yellow]warning[/] {r.name}: {line}", highlight=False, markup=True, soft_wrap=True)
