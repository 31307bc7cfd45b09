"""The synthetic sequence benchmark: methods compared on motion clips (``mvmocap eval --dataset synthetic --sequence``).

For every cell (number of cameras x evidence condition) the same ``clips`` captures are generated
(:func:`mvmocap.synth.sequence.synthetic_capture`: clip ``i`` of a seed is the same motion in
every cell; its rig depends on the number of cameras only) and every method runs on each of them
in this process, fed as ``reconstruct`` feeds it (:mod:`mvmocap.evaluate.sequence_methods`).
Scores: :mod:`mvmocap.evaluate.sequence_scores` (MPJPE, PA-MPJPE, PVE, PCK@50 mm, coverage; in
the uncalibrated mode after a per-frame similarity in camera 0's frame, plus the cameras'
relative rotation error).

Temporal handling: ``fit`` (and ``<regressor>+fit``) minimises its energy over the whole clip with
its temporal smoothness terms (the default fit configuration of ``reconstruct``); the per-frame
regressors get what ``reconstruct --method`` gives them, nothing more (``volumetric``: one shape
per clip, the median of its frames' betas; every frame's pose and limb IK on its own; no
smoothing); ``triangulation`` and ``triangulation-selfcal`` are per frame.

Held-out families: the rig family :data:`HELDOUT_RIG_FAMILY` and the pose family
:data:`HELDOUT_POSE_FAMILY` are left out of the volumetric regressor's training; ``--heldout``
makes them the defaults.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

from mvmocap.errors import InputError
from mvmocap.evaluate.sequence_methods import (
    NEEDS_CAMERAS,
    SELFCAL,
    MethodFailed,
    calibrated_inputs,
    check_methods,
    needs_calibration,
    needs_masks,
    run_method,
    uncalibrated_inputs,
)
from mvmocap.evaluate.sequence_scores import (
    Pool,
    calibrated_frame_errors,
    relative_rotation_errors_deg,
    uncalibrated_frame_errors,
)
from mvmocap.synth.motion import MotionConfig
from mvmocap.synth.pose_sampler import ALL_FAMILIES, FAMILIES
from mvmocap.synth.rig_sampler import TRAINING_RIG_FAMILIES
from mvmocap.synth.sequence import CONDITIONS, SequenceConfig, SyntheticCapture, synthetic_capture

HELDOUT_RIG_FAMILY = "high_wide"
HELDOUT_POSE_FAMILY = "gesturing"  # in neither the stage-2 nor the stage-3 training families
DEFAULT_METHODS = ("fit", "triangulation", "volumetric", "volumetric-net", "volumetric+fit")
SELFCAL_DEFAULTS = DEFAULT_METHODS + (SELFCAL,)  # --uncalibrated without --methods: all, those needing cameras reported so
SEQUENCE_SEED_OFFSET = 9_000_000  # keeps benchmark clips apart from training seeds 0, 1, ...
MASK_SIDE = 320  # rendered masks' longer side, px: the volumetric inference decodes masks at this size


@dataclass(frozen=True)
class SequenceBenchmark:
    """What to run (see the module docstring)."""

    cameras: tuple[int, ...] = (2, 4, 8)
    conditions: tuple[str, ...] = CONDITIONS
    rig_families: tuple[str, ...] = TRAINING_RIG_FAMILIES
    pose_families: tuple[str, ...] = FAMILIES
    clips: int = 3
    frames: int = 90
    fps: float = 30.0
    methods: tuple[str, ...] = DEFAULT_METHODS
    uncalibrated: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.cameras or any(not 2 <= c <= 8 for c in self.cameras):
            raise InputError(f"--cameras must be between 2 and 8, got {', '.join(map(str, self.cameras)) or 'none'}")
        if not self.conditions or any(c not in CONDITIONS for c in self.conditions):
            raise InputError(f"unknown condition in {', '.join(self.conditions) or '(none)'}; known: {', '.join(CONDITIONS)}")
        unknown_poses = [f for f in self.pose_families if f not in ALL_FAMILIES]
        if unknown_poses or not self.pose_families:
            raise InputError(f"unknown pose family {', '.join(unknown_poses) or '(none given)'}; known: {', '.join(ALL_FAMILIES)}")
        if not 1 <= self.clips <= 10_000:
            raise InputError(f"--clips must be between 1 and 10000, got {self.clips}")
        if not 10 <= self.frames <= 1000:
            raise InputError(f"--frames must be between 10 and 1000, got {self.frames}")
        if not self.methods:
            raise InputError("no method to run")
        check_methods(list(self.methods))
        if SELFCAL in self.methods and not self.uncalibrated:
            raise InputError(f"{SELFCAL} estimates its own cameras: run it with --uncalibrated")
        for cameras in self.cameras:
            self.cell(cameras, self.conditions[0])  # rig families known and allowing these cameras

    def cell(self, cameras: int, condition: str) -> SequenceConfig:
        motion = MotionConfig(frames=self.frames, fps=self.fps, pose_families=tuple(self.pose_families))
        mask_side = MASK_SIDE if any(needs_masks(m) and self._runs(m) for m in self.methods) else 0
        return SequenceConfig(cameras=cameras, condition=condition, rig_families=tuple(self.rig_families),
                              motion=motion, mask_side=mask_side)

    def _runs(self, method: str) -> bool:
        return not (self.uncalibrated and needs_calibration(method))


def heldout_preset(rig_families: tuple[str, ...] | None, pose_families: tuple[str, ...] | None) -> tuple[tuple, tuple]:
    """``--heldout``: the held-out rig and pose families wherever none were given."""
    return rig_families or (HELDOUT_RIG_FAMILY,), pose_families or (HELDOUT_POSE_FAMILY,)


def run_sequence_benchmark(bench: SequenceBenchmark, body_model=None,
                           progress: Callable[[int, int], None] | None = None) -> dict:
    """Run every method on every cell's clips; a JSON-ready dict (``cells``: one per cameras x condition)."""
    from mvmocap.synth.dataset import load_body

    if body_model is None or isinstance(body_model, str):
        body_model = load_body(body_model)
    cells = [(c, cond) for c in bench.cameras for cond in bench.conditions]
    total, done = len(cells) * bench.clips, 0
    start = time.perf_counter()
    results = []
    for cameras, condition in cells:
        config = bench.cell(cameras, condition)
        pools = {m: Pool() for m in bench.methods if bench._runs(m)}
        families: dict[str, int] = {}
        for index in range(bench.clips):
            capture = synthetic_capture(body_model, config, SEQUENCE_SEED_OFFSET + bench.seed, index)
            families[capture.rig_family] = families.get(capture.rig_family, 0) + 1
            _score_clip(capture, index, body_model, bench, pools)
            done += 1
            if progress is not None:
                progress(done, total)
        methods = {m: (pools[m].summary() if m in pools else {"status": NEEDS_CAMERAS}) for m in bench.methods}
        results.append({"cameras": cameras, "condition": condition, "rig_families_drawn": families, "methods": methods})
    return {
        "benchmark": "synthetic-sequence",
        "settings": {**asdict(bench), "seed_offset": SEQUENCE_SEED_OFFSET},
        "body_model": getattr(body_model, "name", "?"),
        "evidence": _evidence_source(),
        "temporal_handling": TEMPORAL_HANDLING,
        "cells": results,
        "seconds": round(time.perf_counter() - start, 1),
    }


TEMPORAL_HANDLING = {
    "fit": "the fit's energy over the whole clip, with its temporal smoothness terms (reconstruct's defaults)",
    "regressors": "as reconstruct --method gives them: one shape per clip (median betas), each frame's pose on its "
                  "own, no smoothing",
    "triangulation": "per frame",
}


def _evidence_source() -> str:
    from mvmocap.synth.sequence import condition_noise

    return (f"noisy: {condition_noise('noisy').source}; occluded: {condition_noise('occluded').source}, "
            "with z-buffer self-occlusion and faults")


def _score_clip(capture: SyntheticCapture, index: int, body_model, bench: SequenceBenchmark, pools: dict[str, Pool]) -> None:
    """Every method that runs, on one capture, into its pool."""
    inputs = uncalibrated_inputs(capture, body_model) if bench.uncalibrated else calibrated_inputs(capture, body_model)
    T = capture.num_frames
    gt_joints, gt_vertices = capture.joints17, capture.posed.vertices
    for name, pool in pools.items():
        try:
            estimate = run_method(name, inputs)
        except MethodFailed as exc:
            pool.failures.append(f"clip {index}: {exc}")
            pool.add(T, None)
            continue
        v = estimate.valid
        known = estimate.known[v]
        pred_vertices = None if estimate.vertices is None else estimate.vertices[v]
        gt_v = None if pred_vertices is None else gt_vertices[v]
        if bench.uncalibrated:
            scores = uncalibrated_frame_errors(estimate.joints[v], gt_joints[v], estimate.rig, capture.rig, known,
                                               pred_vertices, gt_v)
            rotation = None if estimate.rig is None else relative_rotation_errors_deg(estimate.rig, capture.rig)
        else:
            scores = calibrated_frame_errors(estimate.joints[v], gt_joints[v], known, pred_vertices, gt_v)
            rotation = None
        pool.add(T, scores if bool(v.any()) else None, estimate.seconds, rotation, int(known.sum()))


# -- output ------------------------------------------------------------------------------------------------
COLUMNS = (("mpjpe", "MPJPE", 1.0), ("pa_mpjpe", "PA-MPJPE", 1.0), ("pve", "PVE", 1.0), ("pck50", "PCK@50", 100.0),
           ("coverage", "coverage", 100.0), ("joint_share", "joints", 100.0))


def table_rows(result: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows (strings) of the result table: one row per cell and method."""
    uncalibrated = result["settings"]["uncalibrated"]
    header = ["cameras", "condition", "method"] + [label for _, label, _ in COLUMNS]
    header += (["rot. err °"] if uncalibrated else []) + ["s/clip"]
    rows = []
    clips = max(1, int(result["settings"]["clips"]))
    for cell in result["cells"]:
        for method, m in cell["methods"].items():
            row = [str(cell["cameras"]), cell["condition"], method]
            if "status" in m:
                rows.append(row + [m["status"]] + [""] * (len(header) - 4))
                continue
            for key, _, scale in COLUMNS:
                value = m.get(key)
                row.append("n/a" if value is None else (f"{scale * value:.1f}" + ("%" if scale == 100.0 else "")))
            if uncalibrated:
                rot = m.get("rotation_error_deg")
                row.append("n/a" if rot is None else f"{rot:.2f}")
            row.append(f"{m['seconds'] / clips:.1f}")
            rows.append(row)
    return header, rows


def format_markdown(result: dict) -> str:
    """The result table in Markdown (mm; PCK and coverage in %)."""
    header, rows = table_rows(result)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rich_table(result: dict):
    """The result table for the console."""
    from rich.table import Table

    s = result["settings"]
    title = (f"sequence benchmark: {s['clips']} clips x {s['frames']} frames, rigs {', '.join(s['rig_families'])}, "
             f"poses {', '.join(s['pose_families'])}" + (", uncalibrated" if s["uncalibrated"] else ""))
    header, rows = table_rows(result)
    table = Table(title=title)
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i < 3 else "right")
    for row in rows:
        table.add_row(*row)
    return table


__all__ = ["DEFAULT_METHODS", "SELFCAL_DEFAULTS", "HELDOUT_POSE_FAMILY", "HELDOUT_RIG_FAMILY", "SequenceBenchmark", "format_markdown",
           "heldout_preset", "rich_table", "run_sequence_benchmark", "table_rows"]
