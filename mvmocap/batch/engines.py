"""Where batch tasks run: one function, :func:`run_tasks`, in front of a process pool or Ray.

An engine takes a picklable top-level ``function`` and a list of picklable tasks and
returns one outcome per task, in the tasks' order: the function's return value, or the
exception that stopped it (a crashed worker process included), so that one bad task never
stops the others. Another engine (Dask, Slurm array jobs) is one more ``_run_<name>``.

Every task reads its inputs from paths and writes its outputs under paths: with Ray on
several machines these paths must be on a filesystem every node sees (NFS, a cluster
file system) under the same names.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Sequence

from mvmocap.errors import DependencyError, InputError

ENGINES = ("local", "ray")


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Threads each of ``workers`` concurrent tasks may use so that workers x threads <= cores."""
    return max(1, (cores or available_cores()) // max(1, workers))


def check_engine(engine: str, workers: int, address: str | None = None) -> None:
    """Refuse unusable engine settings (and a missing Ray) before any work starts."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    if engine == "local" and address is not None:
        raise InputError("--address is for the ray engine")
    if engine == "ray":
        _import_ray()


def run_tasks(
    function: Callable[[Any], Any],
    tasks: Sequence[Any],
    engine: str = "local",
    workers: int = 1,
    *,
    address: str | None = None,
    cpus_per_task: int = 1,
    gpus_per_task: float = 0.0,
    on_done: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """Run ``function(task)`` for every task; return the outcomes in the tasks' order.

    Args:
        function: a module-level function (it is pickled by reference).
        engine: ``"local"`` (a process pool on this machine) or ``"ray"``.
        workers: concurrent tasks (local engine; with a local Ray, its CPUs are
            ``workers * cpus_per_task``).
        address: Ray only: ``"auto"`` or ``"HOST:PORT"`` joins an existing cluster;
            None starts a local Ray for the duration of the call.
        cpus_per_task, gpus_per_task: the resources Ray reserves for each task.
        on_done: called in this process as ``on_done(index, outcome)`` when a task ends.

    An outcome is the return value, or the exception the task raised.
    """
    check_engine(engine, workers, address)
    if engine == "local":
        return _run_local(function, tasks, workers, on_done)
    return _run_ray(function, tasks, workers, address, cpus_per_task, gpus_per_task, on_done)


def _die_with_parent() -> None:
    """Pool initializer: on Linux a worker is killed when the batch process dies (even by SIGKILL),
    so that no orphan keeps writing a trial that a rerun is about to redo."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _run_local(function, tasks, workers, on_done) -> list[Any]:
    """A spawn-context process pool: no fork of a process holding torch/OpenMP threads."""
    outcomes: list[Any] = [None] * len(tasks)
    if not tasks:
        return outcomes
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context,
                             initializer=_die_with_parent) as pool:
        futures = {pool.submit(function, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                outcomes[i] = future.result()
            except Exception as exc:  # noqa: BLE001 - the task's failure is its outcome
                outcomes[i] = exc
            if on_done is not None:
                on_done(i, outcomes[i])
    return outcomes


def _import_ray():
    try:
        import ray
    except ImportError:
        raise DependencyError("the ray engine needs Ray: pip install 'mvmocap[ray]'") from None
    return ray


def _run_ray(function, tasks, workers, address, cpus_per_task, gpus_per_task, on_done) -> list[Any]:
    ray = _import_ray()
    started = False
    if not ray.is_initialized():
        quiet = dict(log_to_driver=False, logging_level=logging.ERROR)
        if address is not None:
            try:
                ray.init(address=address, **quiet)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InputError(f"--address {address}: cannot join a Ray cluster ({exc})") from None
        else:
            ray.init(num_cpus=workers * cpus_per_task, include_dashboard=False, **quiet)
            started = True
    try:
        remote = ray.remote(num_cpus=cpus_per_task, num_gpus=gpus_per_task, max_retries=0)(function)
        refs = [remote.remote(task) for task in tasks]
        index = {ref: i for i, ref in enumerate(refs)}
        outcomes: list[Any] = [None] * len(tasks)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                i = index[ref]
                try:
                    outcomes[i] = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - RayTaskError, a lost worker: the task's outcome
                    outcomes[i] = exc
                if on_done is not None:
                    on_done(i, outcomes[i])
        return outcomes
    finally:
        if started:
            ray.shutdown()
