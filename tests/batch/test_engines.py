"""Engines: the local process pool and Ray return one outcome per task, in order, failures included."""

from __future__ import annotations

import os
import sys

import pytest

from mvmocap.batch.engines import run_tasks, threads_per_worker
from mvmocap.errors import DependencyError, InputError


def square_or_fail(x: int) -> tuple[int, int]:
    """A task: x squared and the worker's pid; 3 raises, -1 kills its worker process."""
    if x == 3:
        raise ValueError("three is refused")
    if x == -1:
        os._exit(1)
    return x * x, os.getpid()


def test_threads_per_worker_keep_workers_times_threads_within_the_cores():
    assert threads_per_worker(1, cores=2) == 2
    assert threads_per_worker(2, cores=2) == 1
    assert threads_per_worker(3, cores=2) == 1  # never 0
    assert threads_per_worker(4, cores=16) == 4


def test_local_engine_returns_outcomes_in_order_with_failures_isolated():
    seen = []
    outcomes = run_tasks(square_or_fail, [1, 2, 3, 4], engine="local", workers=2, on_done=lambda i, o: seen.append(i))
    assert [o[0] for o in (outcomes[0], outcomes[1], outcomes[3])] == [1, 4, 16]
    assert isinstance(outcomes[2], ValueError) and "three is refused" in str(outcomes[2])
    assert sorted(seen) == [0, 1, 2, 3]
    pids = {o[1] for o in outcomes if isinstance(o, tuple)}
    assert os.getpid() not in pids  # ran in worker processes


def test_local_engine_survives_a_crashed_worker():
    outcomes = run_tasks(square_or_fail, [-1], engine="local", workers=1)
    assert isinstance(outcomes[0], Exception)  # BrokenProcessPool: the task's outcome, not a crash of the batch


def test_bad_engine_arguments():
    with pytest.raises(InputError, match="unknown engine 'dask'"):
        run_tasks(square_or_fail, [1], engine="dask")
    with pytest.raises(InputError, match="workers must be >= 1"):
        run_tasks(square_or_fail, [1], workers=0)
    with pytest.raises(InputError, match="--address is for the ray engine"):
        run_tasks(square_or_fail, [1], address="auto")


def test_ray_missing_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(DependencyError, match=r"pip install 'mvmocap\[ray\]'"):
        run_tasks(square_or_fail, [1], engine="ray")


def test_ray_address_without_a_cluster_is_one_clear_error(monkeypatch):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'mvmocap[ray]')")
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(InputError, match="--address auto: cannot join a Ray cluster"):
        run_tasks(square_or_fail, [1], engine="ray", address="auto")
