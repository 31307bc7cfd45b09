"""``mvmocap adapt``: the collaborative regression <-> multi-view SMPLify loop on a user's captures.

Li, Oskarsson & Heyden (../shared/papers/collaborative-mv-smplify.md, section 3.4): "the CNN can
provide initialization of the SMPL model for optimization, while the optimized results can
supervise the training of the CNN". Per step:

1. every ``refit_every`` steps (step 0 included), the regressor predicts every frame of every
   capture and multi-view SMPLify refines from there; the SPIN-style cache keeps the better fit
   per frame (:func:`mvmocap.adapt.steps.refit`); the cache starts with the runs' own fits;
2. a batch of ``batch_size`` frames of one capture (drawn from ``(seed, step)`` only) -> the
   regressor -> eq. 6 against the detections and the cached fits; optionally, every
   ``synthetic_every`` steps, plus a labelled loss on synthetic data of the network's own source
   domain (the drift guard: the network's ``train-synthetic`` loss; for CMANet's stage 2, its loss against
   the true parameters of a few captures of its training domain, :mod:`mvmocap.regressors.cmanet.source`);
3. Adam step.

Outputs in ``out``: ``checkpoint.pt`` (a ``train-synthetic`` checkpoint of the adapted network:
``MVMOCAP_VOLUMETRIC_CHECKPOINT=out/checkpoint.pt mvmocap reconstruct --method volumetric`` uses it;
plus the optimizer, the fit caches and the adapt settings, for ``--resume``), ``metrics.jsonl``
(``split`` ``train`` every ``log_every`` steps, ``refit`` per capture and refit, ``eval`` = the
self-supervised loss over every frame: at step 0 the unadapted network against the cache after the
first refit, at the end the adapted one against the final cache) and ``adapt.yaml``.

Determinism: the frames of step ``s`` depend on ``(seed, s)`` only, the fit is deterministic and
the checkpoint holds the optimizer, the caches and torch's RNG, so a resumed run ends with the same
weights as an uninterrupted one. Under ``torchrun`` (several processes, gloo) each process trains on
its share of the step's frames, ``batch_size`` per process (:mod:`mvmocap.adapt.shards`): ``W``
processes give the weights one process gives with ``batch_size * W`` (to float tolerance; the drift
volumetric drift guard's augmentation draws excepted); rank 0 writes; a resume needs the same ``W``. The loop never
reads ground truth: captures carry detections, cameras, triangulated joints and fits, nothing else.

The steps above are the collaborative loop's (:class:`mvmocap.adapt.steps.CollaborativeSteps`); a method
may bring its own with the same signatures (``method.adaptation_steps()``: CMANet's stage 2, whose "cache"
holds the multi-view SMPLify targets of its views, :mod:`mvmocap.regressors.cmanet.adaptation`; its stage 1 on
CRA, per view, :mod:`mvmocap.regressors.cmanet.intra_view`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import torch
import yaml
from torch import Tensor

from mvmocap.adapt.captures import (
    ALL_NEEDS, Capture, check_run_dirs, load_capture, run_body_model_name, select, unfitted_captures,
)
from mvmocap.adapt.config import FROZEN_ON_RESUME, AdaptConfig
from mvmocap.adapt.shards import Shards
from mvmocap.adapt.steps import steps_for
from mvmocap.console import console
from mvmocap.errors import InputError, MissingFileError
from mvmocap.io.atomic import atomic_write_text
from mvmocap.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint

METRICS_NAME = "metrics.jsonl"
SETTINGS_NAME = "adapt.yaml"
SYNTHETIC_SEED_OFFSET = 9_000_000  # the drift guard's synthetic stream, apart from train-synthetic's


def run(run_dirs: list[str | Path], out: str | Path, config: AdaptConfig, resume: bool = False,
        progress: bool = True) -> dict[str, Any]:
    """Adapt ``config.method`` on the reconstruct folders ``run_dirs`` into ``out`` (see the module docstring).

    Everything is checked before any long work and before ``out`` is created: the method, the folders
    (the files the method declares it reads: ``volumetric`` a fit, triangulated joints, detections and
    cameras; ``cmanet`` detections and cameras), the starting checkpoint (of this method), ``out`` (a run
    there needs ``resume``; ``resume`` needs one, with the same settings and number of processes).
    Launched by ``torchrun`` (``WORLD_SIZE`` > 1) it joins the process group (gloo) unless the caller
    already has, and leaves it at the end only if it joined it.
    """
    import torch.distributed as dist

    from mvmocap.train import distributed

    joined = not (dist.is_available() and dist.is_initialized())
    info = distributed.setup("cpu")
    try:
        return _run(run_dirs, out, config, resume, progress, Shards(info.rank, info.world_size))
    finally:
        if joined:
            distributed.teardown(info)


def _run(run_dirs, out, config: AdaptConfig, resume: bool, progress: bool, shards: Shards) -> dict[str, Any]:
    from mvmocap.methods import adaptation_methods, adaptation_needs

    loaders = adaptation_methods()
    if config.method not in loaders:
        raise InputError(f"adapt --method must be one of {', '.join(sorted(loaders))}, got {config.method!r}")
    paths = check_run_dirs(run_dirs, adaptation_needs().get(config.method, ALL_NEEDS))  # what the method reads
    out = Path(out)
    ckpt_file = out / CHECKPOINT_NAME
    if ckpt_file.exists() and not resume:
        raise InputError(f"{out} already holds an adapt run; pass --resume to continue it or choose another --out")
    if resume and not ckpt_file.exists():
        raise MissingFileError(ckpt_file, "adapt checkpoint to resume from")
    saved = load_checkpoint(ckpt_file) if resume else None
    if saved is not None:
        _check_resume(saved, config, ckpt_file, shards.world)
    body = _body_model(run_body_model_name(paths[0]))
    source = ckpt_file if saved is not None else config.checkpoint
    method, train_config, trained_on = loaders[config.method](source, body)
    if trained_on and trained_on != getattr(body, "name", None):
        raise InputError(f"the {config.method} checkpoint was trained with body model {trained_on!r}; "
                         f"the runs were fitted with {getattr(body, 'name', '?')!r}")
    names = _unique_names(paths)
    captures = [select(load_capture(p, body, name, config.fit_config(), list(config.cameras or []) or None), config.frames)
                for p, name in zip(paths, names)]
    shards.barrier()  # every process has checked everything before rank 0 writes
    return adapt(method, train_config, captures, out, config, saved=saved, progress=progress,
                 sources=[str(p) for p in paths], shards=shards)


def _body_model(name: str | None):
    """The body model a run's ``smpl_params.npz`` names (the built-in toy body included)."""
    from mvmocap.synth.dataset import load_body
    from mvmocap.synth.toy_body import ToyBodyModel

    return load_body("toy" if name == ToyBodyModel.name else name)


def _unique_names(paths: list[Path]) -> list[str]:
    names, seen = [], {}
    for p in paths:
        seen[p.name] = seen.get(p.name, 0) + 1
        names.append(p.name if seen[p.name] == 1 else f"{p.name}-{seen[p.name]}")
    return names


def _check_resume(saved: dict, config: AdaptConfig, file: Path, world: int = 1) -> None:
    previous = saved.get("adapt", {}).get("settings")
    if not isinstance(previous, dict):
        raise InputError(f"{file}: not an adapt checkpoint (a train-synthetic run?); choose another --out")
    current = config.to_dict()
    defaults = AdaptConfig().to_dict()  # a setting added since the checkpoint was written had its default
    changed = [k for k in FROZEN_ON_RESUME if previous.get(k, defaults.get(k)) != current.get(k)]
    if changed:
        raise InputError(f"cannot resume: the settings changed in {', '.join(changed)} since the checkpoint")
    if saved["step"] > config.steps:
        raise InputError(f"cannot resume: the checkpoint is at step {saved['step']} > steps {config.steps}")
    if int(saved.get("world_size", 1)) != world:
        raise InputError(f"cannot resume: the checkpoint ran on {saved.get('world_size', 1)} process(es), now {world}")


def _frames_of_step(seed: int, step: int, captures: list[Capture], prepared: list, batch_size: int
                    ) -> tuple[int, torch.Tensor]:
    """Step ``step``'s capture (chosen in proportion to its usable frames) and ``batch_size`` of its
    usable frames (without repeats when it has enough), from ``(seed, step)`` only."""
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(step))
    counts = torch.tensor([float(p.ok.sum()) for p in prepared])
    which = int(torch.multinomial(counts, 1, generator=g))
    usable = torch.nonzero(prepared[which].ok).flatten()
    if len(usable) >= batch_size:
        pick = torch.randperm(len(usable), generator=g)[:batch_size]
    else:
        pick = torch.randint(len(usable), (batch_size,), generator=g)
    return which, usable[pick]


def adapt(method, train_config: dict, captures: list[Capture], out: Path, config: AdaptConfig,
          saved: dict | None = None, progress: bool = True, sources: list[str] | None = None,
          shards: Shards | None = None) -> dict[str, Any]:
    """The loop on ``captures`` (already loaded; :func:`run` reads them from reconstruct folders)
    with ``method`` (an adaptable regressor with its weights loaded); ``saved``: a checkpoint to
    resume from; ``shards``: this process's place under ``torchrun`` (None: one process).
    Returns ``{"out_dir", "step", "eval_start", "eval_end", "seconds"}`` (the same on every process)."""
    out = Path(out)
    shards = shards or Shards()
    steps = steps_for(method)  # the collaborative loop's, or the method's own (CMANet's stage 2)
    steps.check_adapt_config(config)
    prepared = [steps.prepare(c.inputs) for c in captures]
    for capture, prep in zip(captures, prepared):
        if not bool(prep.ok.any()):
            raise InputError(f"{capture.name}: no frame has a person seen by two cameras with a triangulable pelvis")
    optimizer = torch.optim.Adam(method.parameters(), lr=config.lr)
    start = 0
    if saved is not None:
        method.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state((saved.get("torch_rng_ranks") or [saved["torch_rng"]])[shards.rank])
        caches = [steps.cache_from_state(saved["fit_cache"][c.name]) for c in captures]
        start = int(saved["step"])
    else:
        torch.manual_seed(shards.seed(config.seed))
        caches = [steps.initial_cache(c, p, config) for c, p in zip(captures, prepared)]

    metrics_file = out / METRICS_NAME
    settings = {"settings": config.to_dict(), "runs": sources or [c.name for c in captures],
                "captures": [c.name for c in captures]}
    if shards.is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / SETTINGS_NAME, yaml.safe_dump(settings, sort_keys=False))
        _start_metrics(metrics_file, start if saved is not None else None)
    shards.barrier()

    def log(record: dict) -> None:
        if shards.is_main:
            with open(metrics_file, "a") as fh:
                fh.write(json.dumps(record) + "\n")

    def checkpoint(step: int) -> None:
        rng_states = shards.gather(torch.get_rng_state())
        if shards.is_main:
            save_checkpoint(out / CHECKPOINT_NAME, {
                "step": step, "config": train_config, "model": method.state_dict(),
                "optimizer": optimizer.state_dict(), "torch_rng": rng_states[0], "torch_rng_ranks": rng_states,
                "world_size": shards.world, "body_model_name": getattr(method.body_model, "name", None),
                "adapt": settings, "fit_cache": {c.name: cache.state_dict() for c, cache in zip(captures, caches)},
            })
        shards.barrier()

    def evaluated() -> dict[str, float]:  # rank 0 evaluates, every rank returns its figures
        figures = steps.evaluate(captures, prepared, caches, config) if shards.is_main else None
        return shards.broadcast_object(figures, 0)

    began = time.perf_counter()
    eval_start = None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("[bold]adapt[/] {task.fields[method]}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[status]}"), TimeRemainingColumn(),
                   console=console, disable=not (progress and shards.is_main), transient=False)
    method.train()
    step = start
    with bar:
        task = bar.add_task("adapt", total=config.steps, completed=start, method=config.method, loss="-", status="")
        synthetic = None
        if config.synthetic_every:
            bar.update(task, status="drift guard: its synthetic data")
            synthetic = _synthetic_stream(method, steps, config, shards)
        for step_index in range(start, config.steps):
            if step_index % config.refit_every == 0:
                refits = {}
                for index, (capture, prep, cache) in enumerate(zip(captures, prepared, caches)):
                    if shards.owner(index) == shards.rank:
                        bar.update(task, status=f"refit {capture.name}")
                        refits[index] = steps.refit(capture, prep, cache, config)
                for index, (capture, cache) in enumerate(zip(captures, caches)):
                    shards.broadcast_cache(cache, shards.owner(index))
                    figures = shards.broadcast_object(refits.get(index), shards.owner(index))
                    log({"step": step_index, "split": "refit", "capture": capture.name, **figures})
                bar.update(task, status="")
                if step_index == 0:  # the unadapted network against the first refit's cache
                    eval_start = evaluated()
                    log({"step": 0, "split": "eval", **eval_start})
            which, frames = _frames_of_step(config.seed, step_index, captures, prepared,
                                            config.batch_size * shards.world)
            loss, parts = steps.capture_loss(captures[which], prepared[which], caches[which], shards.mine(frames),
                                             config, shards)
            if synthetic is not None and step_index % config.synthetic_every == 0:
                synth_loss = synthetic(step_index)
                loss = loss + config.w_synthetic * synth_loss
                parts["loss_synthetic"] = float(synth_loss.detach())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            shards.sum_gradients(method.parameters())
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(method.parameters(), config.grad_clip)
            optimizer.step()
            step = step_index + 1
            last = step == config.steps
            if (config.log_every and step % config.log_every == 0) or last:
                summed = shards.total(torch.tensor([float(loss.detach()), *parts.values()], dtype=torch.float64))
                record = {"step": step, "split": "train", **{k: float(v) for k, v in zip(parts, summed[1:])},
                          "loss": float(summed[0]),  # the step's whole loss (a method's parts may hold its own)
                          "capture": captures[which].name, "elapsed_s": round(time.perf_counter() - began, 2)}
                log(record)
                bar.update(task, loss=f"{record['loss']:.4f}")
            if (config.checkpoint_every and step % config.checkpoint_every == 0) or last:
                checkpoint(step)
            bar.update(task, completed=step)
    if start == config.steps:  # resumed a finished run: nothing to do
        checkpoint(step)
    eval_end = evaluated()
    log({"step": step, "split": "eval", **eval_end})
    return {"out_dir": str(out), "step": step, "eval_start": eval_start, "eval_end": eval_end,
            "seconds": round(time.perf_counter() - began, 2)}


def _start_metrics(path: Path, resumed_at: int | None) -> None:
    """A fresh metrics file, or, when resuming at step ``resumed_at``, the lines up to it (a refit
    logged at that step is redone, so its lines go too)."""
    if resumed_at is None:
        if path.exists():
            path.unlink()
        return
    if not path.exists():
        return
    kept = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
            step = int(record["step"])
        except (ValueError, TypeError, KeyError):
            continue
        if step < resumed_at or (step == resumed_at and record.get("split") == "train"):
            kept.append(line)
    atomic_write_text(path, "".join(line + "\n" for line in kept))


def _synthetic_stream(method, steps, config: AdaptConfig, shards: Shards) -> Callable[[int], Tensor]:
    """The drift guard: a function of the step giving this process's share of a labelled synthetic batch's
    loss (summed over the processes, the whole batch's). A method whose steps name their source captures
    (``source_sequences``: CMANet's stage 2) gets those captures, made here without a fit, and builds its
    own labelled loss (``labelled_source``); otherwise the network's own ``train-synthetic`` loss on its own
    synthetic training data, ``config.synthetic_batch`` samples per process."""
    from mvmocap.synth.dataset import SyntheticMultiView

    seed = SYNTHETIC_SEED_OFFSET + int(config.seed)
    sequences = getattr(steps, "source_sequences", None)
    if callable(sequences):
        from mvmocap.synth.sequence import synthetic_capture

        truths = [synthetic_capture(method.body_model, sequence, seed, index) for index, sequence in enumerate(sequences())]
        pairs = [(truth, capture.inputs) for truth, capture in unfitted_captures(truths, method.body_model, "source")]
        return steps.labelled_source(pairs, config, shards)
    data = SyntheticMultiView(method.body_model, method.data_config, length=10**9, seed=seed)

    def step_loss(step: int) -> Tensor:
        first = (step * shards.world + shards.rank) * config.synthetic_batch
        batch = data.batch(list(range(first, first + config.synthetic_batch)))
        return method.loss(batch, method(batch))[0] / shards.world

    return step_loss
