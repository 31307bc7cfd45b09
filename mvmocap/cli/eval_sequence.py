"""``mvmocap eval --dataset synthetic --sequence``: the synthetic sequence benchmark (:mod:`mvmocap.evaluate.sequence`).

List options take comma-separated values or repeat: ``--cameras 2,4,8`` or ``--cameras 2 --cameras 4``.
"""

from __future__ import annotations

import json
from pathlib import Path

from mvmocap.cli.common import console
from mvmocap.errors import InputError


def split_values(values: list[str] | None) -> tuple[str, ...]:
    """``["2,4", "8"]`` -> ``("2", "4", "8")`` (empty items dropped)."""
    return tuple(item.strip() for value in (values or []) for item in str(value).split(",") if item.strip())


def single_frame_options_given(ctx, options: dict[str, str]) -> list[str]:
    """The flags among ``options`` (``{parameter name: flag}``) given on the command line."""
    source = getattr(ctx, "get_parameter_source", None)
    if source is None:
        return []
    return [flag for name, flag in options.items() if getattr(source(name), "name", "") == "COMMANDLINE"]


def _integers(values: tuple[str, ...], option: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in values)
    except ValueError:
        raise InputError(f"{option} takes whole numbers, got {', '.join(values)}") from None


def run_sequence_command(cameras: list[str] | None, conditions: list[str] | None, rig_families: list[str] | None,
                         pose_families: list[str] | None, clips: int, frames: int, methods: list[str] | None,
                         uncalibrated: bool, heldout: bool, seed: int, out: Path | None) -> None:
    """Validate the options (before any work), run the benchmark, print the table, write ``out`` (JSON) atomically."""
    from rich.progress import Progress

    from mvmocap.evaluate.sequence import (
        SELFCAL_DEFAULTS, SequenceBenchmark, heldout_preset, rich_table, run_sequence_benchmark,
    )
    from mvmocap.io.atomic import atomic_write_text
    from mvmocap.io.safe_read import json_safe

    rigs, poses = split_values(rig_families) or None, split_values(pose_families) or None
    if heldout:
        rigs, poses = heldout_preset(rigs, poses)
    chosen = split_values(methods)
    options = {"clips": clips, "frames": frames, "uncalibrated": uncalibrated, "seed": seed}
    if split_values(cameras):
        options["cameras"] = _integers(split_values(cameras), "--cameras")
    if split_values(conditions):
        options["conditions"] = split_values(conditions)
    if rigs:
        options["rig_families"] = rigs
    if poses:
        options["pose_families"] = poses
    if chosen:
        options["methods"] = chosen
    elif uncalibrated:
        options["methods"] = SELFCAL_DEFAULTS
    bench = SequenceBenchmark(**options)
    if out is not None:
        from mvmocap.io.outputs import check_output

        check_output(out, "file", "--out")
    total = len(bench.cameras) * len(bench.conditions) * bench.clips
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("sequence benchmark (clips)", total=total)
        result = run_sequence_benchmark(bench, progress=lambda done, _: bar.update(task, completed=done))
    console.print(rich_table(result))
    if out is not None:
        atomic_write_text(out, json.dumps(json_safe(result), indent=1))
