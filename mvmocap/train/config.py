"""``train-synthetic`` configuration: a YAML file, validated into :class:`TrainConfig`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from mvmocap.errors import FileFormatError, InputError
from mvmocap.io.safe_read import CONFIG_MAX_BYTES, load_yaml
from mvmocap.io.settings import check_finite, check_range, check_values

# Bounds checked before anything is allocated (a batch of 10^8 samples would take all memory).
LIMITS = {
    "steps": (1, 10**9),
    "batch_size": (1, 65536),
    "val_size": (1, 10**6),
    "num_workers": (0, 256),
    "threads": (0, 1024),
    "lr": (0, 10.0),
    "grad_clip": (0, 1e6),
    "pool_size": (0, 10**7),
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (the run is a function of this and the code).

    Attributes:
        method: registered method name (see :func:`mvmocap.train.available_methods`).
        seed: seeds model initialisation and the training data stream.
        body_model: ``"toy"``, a shipped body-model name, a path, or None (the default model).
        steps: optimisation steps; batch_size: samples per step *per process*.
        lr, weight_decay, grad_clip: AdamW settings (grad_clip 0 = off).
        lr_schedule: ``"constant"`` or ``"cosine"`` (from ``lr`` at step 0 to ``lr_min`` at ``steps``;
            a function of the step only, so a resumed run follows the same curve).
        log_every, val_every, checkpoint_every: in steps (0 = never, except the end of the run).
        val_size: samples of the fixed validation set (seed ``VAL_SEED_OFFSET + seed``).
        num_workers: DataLoader worker processes generating data (0 = in the main process).
        threads: torch intra-op threads of the training process (0 = torch's default). On a
            shared or small CPU, 1 is often fastest: this workload is many small tensor ops.
        pool_size: 0 (new samples every step) or N: generate N samples once and cycle through them
            (:mod:`mvmocap.train.pool`; for methods whose step is much cheaper than a sample).
        pool_cache: a folder where pools are saved and reused by runs with the same data, body,
            seed and size (None: generate in every run).
        data: options of :class:`mvmocap.synth.dataset.SynthConfig`.
        model: the method's own options.
    """

    method: str
    seed: int = 0
    body_model: str | None = None
    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    lr_schedule: str = "constant"
    lr_min: float = 0.0
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    log_every: int = 10
    val_every: int = 200
    val_size: int = 128
    checkpoint_every: int = 200
    num_workers: int = 0
    threads: int = 0
    pool_size: int = 0
    pool_cache: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "val_size"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("log_every", "val_every", "checkpoint_every", "num_workers", "threads", "pool_size"):
            if int(getattr(self, name)) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        if float(self.lr) <= 0:
            raise InputError(f"lr must be > 0, got {self.lr}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise InputError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if not 0 <= float(self.lr_min) <= float(self.lr):
            raise InputError(f"lr_min must be in [0, lr], got {self.lr_min}")

    def learning_rate(self, step: int) -> float:
        """The learning rate of optimisation step ``step`` (0-based)."""
        if self.lr_schedule == "constant":
            return float(self.lr)
        import math

        progress = min(max(step / self.steps, 0.0), 1.0)
        return float(self.lr_min) + 0.5 * (float(self.lr) - float(self.lr_min)) * (1 + math.cos(math.pi * progress))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"{source}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if "method" not in d:
            raise InputError(f"{source}: 'method' is required")
        check_values(cls, d, source)
        check_finite(d, source)
        for name, (low, high) in LIMITS.items():
            if name in d:
                check_range(source, name, d[name], low, high)
        try:
            return cls(**d)
        except TypeError as exc:
            raise InputError(f"{source}: {exc}") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config; ``overrides`` (e.g. ``{"method": "mlp"}``) win over the file."""
    path = Path(path)
    data = load_yaml(path, CONFIG_MAX_BYTES, "training config") or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise FileFormatError(path, "a training config must be a YAML mapping of option names")
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    config = TrainConfig.from_dict(data, source=str(path))
    _check_data_options(config, str(path))
    return config


def _check_data_options(config: TrainConfig, source: str) -> None:
    """The ``data:`` options build a valid :class:`SynthConfig` of sane sizes (before any work)."""
    from mvmocap.synth.dataset import SynthConfig

    try:
        data = SynthConfig.from_dict(config.data)
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{source}: data: {exc}") from None
    check_range(source, "data.views", data.views, 1, 64)
    check_range(source, "data.heatmap_size", data.heatmap_size, 0, 1024)
    check_range(source, "data.render_size", data.render_size, 0, 2048)
    for side in data.image_size or ():
        check_range(source, "data.image_size", side, 1, 100_000)
