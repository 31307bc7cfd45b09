"""The ``train-synthetic`` loop: synthetic batches -> a registered method -> AdamW, with
deterministic data, JSONL metrics, periodic validation, checkpoints and ``--resume``, on the
CPU, one GPU, or several processes under ``torchrun`` (DDP).

Determinism: sample ``i`` of the training stream depends only on ``(seed, i)``; step ``s`` of
process ``r`` of ``W`` uses samples ``s*B*W + r*B ... + B - 1`` (B = batch_size per process). A
resumed run therefore sees exactly the batches an uninterrupted run would, and a DDP run with W
processes sees the same samples as one process with batch ``B*W``.

Outputs in ``out_dir``: ``config.yaml`` (the resolved config), ``metrics.jsonl`` (one JSON
object per line: ``{"step", "split": "train", "loss", ...}`` every ``log_every`` steps and
``{"step", "split": "val", "mpjpe", "pa_mpjpe", ...}`` at each validation), ``checkpoint.pt``.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import torch
import yaml

from mvmocap.console import console
from mvmocap.errors import InputError, MissingFileError
from mvmocap.evaluate import metrics
from mvmocap.io.atomic import atomic_write_text
from mvmocap.synth import evidence as ev
from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body
from mvmocap.train import distributed
from mvmocap.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from mvmocap.train.config import TrainConfig, load_config
from mvmocap.train.methods import get_method
from mvmocap.train.pool import PooledSamples, load_or_generate_pool, pool_key

VAL_SEED_OFFSET = 5_000_000
METRICS_NAME = "metrics.jsonl"
# Config fields that must not change when resuming (the rest, e.g. steps or log_every, may).
_FROZEN_ON_RESUME = ("method", "seed", "body_model", "batch_size", "data", "model")


class StepSampler(torch.utils.data.Sampler):
    """Yields, for steps ``start .. steps-1``, the list of sample indices of this process."""

    def __init__(self, start: int, steps: int, batch_size: int, rank: int, world: int):
        self.start, self.steps, self.batch, self.rank, self.world = start, steps, batch_size, rank, world

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.steps):
            first = step * self.batch * self.world + self.rank * self.batch
            yield list(range(first, first + self.batch))

    def __len__(self) -> int:
        return max(self.steps - self.start, 0)


def _truncate_metrics(path: Path, last_step: int) -> None:
    """Keep the metric lines up to ``last_step`` (a resumed run rewrites what came after)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text(errors="replace").splitlines() if _step_of(line) <= last_step]
    atomic_write_text(path, "".join(line + "\n" for line in kept))


def _step_of(line: str) -> float:
    """The step of a metrics line; infinity (dropped) for a damaged or foreign line."""
    try:
        step = json.loads(line)["step"]
        return float(step) if isinstance(step, (int, float)) else float("inf")
    except (ValueError, TypeError, KeyError, RecursionError):
        return float("inf")


def _single_thread_worker(_: int) -> None:
    """Data workers generate many small tensors: one intra-op thread each is fastest."""
    torch.set_num_threads(1)


def _to(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def validate(method, val_batches: list[dict], device: torch.device) -> dict[str, float]:
    """Metrics of :func:`mvmocap.evaluate.metrics.summarize` on the fixed validation set."""
    was_training = method.training
    method.eval()
    preds, gts = [], []
    with torch.no_grad():
        for batch in val_batches:
            pred = method(_to(batch, device))
            preds.append(pred["joints3d"].float().cpu())
            gts.append(batch["joints3d"])
    method.train(was_training)
    return metrics.summarize(torch.cat(preds), torch.cat(gts))


def _pooled(train_set: SyntheticMultiView, config: TrainConfig, body) -> PooledSamples:
    """``train_set`` served from a fixed pool of its first ``config.pool_size`` samples."""
    size = min(config.pool_size, len(train_set))
    key = pool_key({**config.data, **get_method(config.method).data_overrides}, getattr(body, "name", None),
                   config.seed, size)
    began = time.perf_counter()
    pool = load_or_generate_pool(train_set, size, config.pool_cache, key)
    console.print(f"sample pool: {size} samples (key {key}) ready in {time.perf_counter() - began:.0f} s")
    return PooledSamples(pool, len(train_set))


def _check_resume(saved: dict[str, Any], config: TrainConfig, world: int) -> None:
    current = config.to_dict()
    changed = [k for k in _FROZEN_ON_RESUME if saved["config"].get(k) != current.get(k)]
    if changed:
        raise InputError(f"cannot resume: the config changed in {', '.join(changed)} since the checkpoint")
    if saved.get("world_size", 1) != world:
        raise InputError(f"cannot resume: the checkpoint ran on {saved.get('world_size')} process(es), now {world}")
    if saved["step"] > config.steps:
        raise InputError(f"cannot resume: the checkpoint is at step {saved['step']} > steps {config.steps}")


def run(
    method: str | None,
    config_path: str | Path,
    out_dir: str | Path,
    resume: bool = False,
    device: str = "cpu",
    overrides: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``method`` (None: the config's) with the YAML config at ``config_path`` into ``out_dir``.

    Returns ``{"out_dir", "step", "val": last validation metrics, "seconds"}`` (the same on every
    process). Raises :class:`InputError` when ``out_dir`` already holds a run and ``resume`` is
    False, or when resuming with a changed config.
    """
    config = load_config(config_path, {**(overrides or {}), "method": method})
    if config.threads:
        torch.set_num_threads(config.threads)
    info = distributed.setup(device)
    try:
        return _train(config, Path(out_dir), resume, info, progress)
    finally:
        distributed.teardown(info)


def _train(config: TrainConfig, out: Path, resume: bool, info: distributed.DistInfo, progress: bool) -> dict:
    ckpt_file = out / CHECKPOINT_NAME
    if ckpt_file.exists() and not resume:
        raise InputError(f"{out} already holds a training run; pass --resume to continue it or choose another --out")
    if resume and not ckpt_file.exists():
        raise MissingFileError(ckpt_file, "checkpoint to resume from")
    cls = get_method(config.method)
    data_cfg = SynthConfig.from_dict({**config.data, **cls.data_overrides})
    data_body = load_body(config.body_model)  # data generation stays on the CPU
    torch.manual_seed(config.seed)
    method = cls(config.model, data_cfg, data_body.to(device=info.device)).to(info.device)
    optimizer = torch.optim.AdamW(method.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    start = 0
    if resume:
        saved = load_checkpoint(ckpt_file, map_location=info.device)
        _check_resume(saved, config, info.world_size)
        method.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["torch_rng"])
        start = int(saved["step"])
    model = method
    if info.enabled:
        model = torch.nn.parallel.DistributedDataParallel(
            method, device_ids=[info.device.index] if info.device.type == "cuda" else None
        )
    metrics_file = out / METRICS_NAME
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
        if resume:
            _truncate_metrics(metrics_file, start)
        elif metrics_file.exists():
            metrics_file.unlink()
    distributed.barrier(info)

    train_set = SyntheticMultiView(data_body, data_cfg, length=config.steps * config.batch_size * info.world_size,
                                   seed=config.seed)
    if config.pool_size:
        train_set = _pooled(train_set, config, data_body)
    loader = torch.utils.data.DataLoader(
        train_set, sampler=StepSampler(start, config.steps, config.batch_size, info.rank, info.world_size),
        batch_size=None, num_workers=config.num_workers, worker_init_fn=_single_thread_worker,
        persistent_workers=config.num_workers > 0,
    )
    val_cfg = replace(data_cfg, augment=ev.AugmentConfig.none(), return_vertices=False)
    val_set = SyntheticMultiView(data_body, val_cfg, length=config.val_size, seed=VAL_SEED_OFFSET + config.seed)
    val_batches: list[dict] | None = None
    last_val: dict[str, float] = {}

    def log(record: dict) -> None:
        if info.is_main:
            with open(metrics_file, "a") as fh:
                fh.write(json.dumps(record) + "\n")

    def checkpoint(step: int) -> None:
        if info.is_main:
            save_checkpoint(ckpt_file, {
                "step": step, "config": config.to_dict(), "model": method.state_dict(),
                "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
                "world_size": info.world_size, "body_model_name": getattr(data_body, "name", None),
            })
        distributed.barrier(info)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("[bold]train-synthetic[/] {task.fields[method]}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]}"), TimeRemainingColumn(), console=console,
                   disable=not (progress and info.is_main), transient=False)
    began = time.perf_counter()
    window_start, window_samples = time.perf_counter(), 0
    step = start
    with bar:
        task = bar.add_task("train", total=config.steps, completed=start, method=config.method, loss="-")
        method.train()
        for step_index, batch in zip(range(start, config.steps), loader):
            step = step_index + 1
            batch = _to(batch, info.device)
            pred = model(batch)
            loss, parts = method.loss(batch, pred)
            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate(step_index)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(method.parameters(), config.grad_clip)
            optimizer.step()
            window_samples += config.batch_size * info.world_size
            last = step == config.steps
            if (config.log_every and step % config.log_every == 0) or last:
                values = torch.tensor([float(loss.detach())] + list(parts.values()), dtype=torch.float64)
                if info.enabled:
                    torch.distributed.all_reduce(values)
                    values /= info.world_size
                now = time.perf_counter()
                record = {"step": step, "split": "train", "loss": float(values[0]),
                          **{k: float(v) for k, v in zip(parts, values[1:])},
                          "lr": optimizer.param_groups[0]["lr"],
                          "samples_per_s": round(window_samples / max(now - window_start, 1e-9), 2),
                          "elapsed_s": round(now - began, 2)}
                log(record)
                window_start, window_samples = now, 0
                bar.update(task, loss=f"{record['loss']:.4f}")
            if (config.val_every and step % config.val_every == 0) or last:
                if info.is_main:
                    if val_batches is None:
                        val_batches = [val_set.batch(list(range(i, min(config.val_size, i + 64))))
                                       for i in range(0, config.val_size, 64)]
                    last_val = validate(method, val_batches, info.device)
                    log({"step": step, "split": "val", **last_val})
                distributed.barrier(info)
            if (config.checkpoint_every and step % config.checkpoint_every == 0) or last:
                checkpoint(step)
            bar.update(task, completed=step)
    return {"out_dir": str(out), "step": step, "val": last_val, "seconds": round(time.perf_counter() - began, 2)}
