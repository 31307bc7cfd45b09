"""``ReconstructConfig``: every setting of ``mvmocap reconstruct``, loadable from YAML.

The resolved configuration is saved beside the outputs (``config.yaml``) so a
result can always be traced back to the settings that produced it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from mvmocap.devices import check_device
from mvmocap.errors import FileFormatError, InputError
from mvmocap.io.safe_read import CONFIG_MAX_BYTES, load_yaml
from mvmocap.io.settings import check_values
from mvmocap.reconstruct.settings_check import check_settings


@dataclass
class DetectSettings:
    detector: str = "blazepose"
    frames: str | None = None  # "start:stop:step" on the common timeline
    offsets: list[str] = field(default_factory=list)  # ["cam02=3"]
    sync: str = "none"  # "auto": estimate sub-frame time offsets from the people (mvmocap.sync)
    scale: float = 0.5  # BlazePose input downscale (speed)
    strict: bool = False
    max_people: int = 1  # > 1: several people (mvmocap.reconstruct.people)
    min_track_frames: int = 10  # with max_people > 1: shorter 3D tracks are dropped as passers-by


@dataclass
class TriangulationSettings:
    threshold_px: float = 20.0  # drop a point's worst view while its error exceeds this
    min_confidence: float = 0.2  # detections below this are treated as missing


@dataclass
class ExportSettings:
    render: bool = False
    json: bool = False
    render_stride: int = 1  # render every n-th frame in the overlay videos
    formats: list[str] = field(default_factory=list)  # mvmocap export formats written after the fit (bvh, glb, ...)
    rerun: bool = False  # also write recording.rrd (needs the view extra, rerun-sdk)


@dataclass
class ReconstructConfig:
    """All settings; ``fit`` holds :class:`mvmocap.fit.FitConfig` fields (defaults when empty)."""

    method: str = "fit"
    body_model: str | None = None  # None: $MVMOCAP_BODY_MODEL or the shipped open_neutral
    device: str = "cpu"
    subject_height_m: float = 1.70  # used by --calibrate-from-joints for the metric scale
    static_rig: bool = False  # --static-rig: MetaPose starts the calibration from joints (mvmocap.reconstruct.static_rig)
    checkpoint: str | None = None  # --checkpoint: the learned --method's weights (mvmocap.methods.checkpoints)
    detect: DetectSettings = field(default_factory=DetectSettings)
    triangulation: TriangulationSettings = field(default_factory=TriangulationSettings)
    fit: dict[str, Any] = field(default_factory=dict)
    export: ExportSettings = field(default_factory=ExportSettings)

    def __post_init__(self) -> None:
        if self.device not in ("cpu", "cuda"):
            raise InputError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        check_device(self.device, "device")
        from mvmocap.calibrate.from_joints import check_subject_height

        check_subject_height(self.subject_height_m)
        if not isinstance(self.detect.max_people, int) or self.detect.max_people < 1:
            raise InputError(f"max_people (--max-people) must be an integer >= 1, got {self.detect.max_people}")
        if not isinstance(self.detect.min_track_frames, int) or self.detect.min_track_frames < 1:
            raise InputError(f"detect.min_track_frames must be an integer >= 1, got {self.detect.min_track_frames}")
        check_settings(self)  # values checked now, not after detection
        if self.export.render_stride < 1:
            raise InputError("export.render_stride must be >= 1")
        if self.detect.sync not in ("none", "auto"):
            raise InputError(f"detect.sync must be 'none' or 'auto', got {self.detect.sync!r}")
        if not 0 <= self.triangulation.min_confidence < 1:
            raise InputError("triangulation.min_confidence must be in [0, 1)")
        if self.checkpoint is not None and self.method.strip() == "fit":
            raise InputError("--checkpoint gives a learned regressor's weights; --method fit has none (use --method NAME or NAME+fit)")
        self.fit_config()  # validate the fit options early

    def fit_config(self):
        from mvmocap.fit.smplify import FitConfig

        values = dict(self.fit)
        values.setdefault("device", self.device)
        return FitConfig.from_dict(values)

    def to_dict(self) -> dict:
        return asdict(self)

    def resolved(self) -> "ReconstructConfig":
        """A copy with the defaults written out (what ``config.yaml`` records): every fit option and
        the body model used ($MVMOCAP_BODY_MODEL or the shipped default when none was given)."""
        from mvmocap.body.loading import DEFAULT_MODEL, ENV_VARIABLE

        fit = self.fit_config().to_dict()
        fit.pop("device", None)  # the top-level device decides
        return replace(self, fit=fit, body_model=self.body_model or os.environ.get(ENV_VARIABLE) or DEFAULT_MODEL)

    @classmethod
    def from_dict(cls, values: dict, source: str = "config") -> "ReconstructConfig":
        sections = {"detect": DetectSettings, "triangulation": TriangulationSettings, "export": ExportSettings}
        known = {f.name for f in fields(cls)}
        _check_keys(values, source)
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"{source}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        kwargs = dict(values)
        check_values(cls, {k: v for k, v in kwargs.items() if k not in sections}, source)
        for name, section in sections.items():
            if name in kwargs:
                sub = kwargs[name] or {}
                if not isinstance(sub, dict):
                    raise InputError(f"{source}: option {name} must be a mapping, got {sub!r:.60}")
                _check_keys(sub, source, f"{name}.")
                sub_known = {f.name for f in fields(section)}
                bad = sorted(set(sub) - sub_known)
                if bad:
                    raise InputError(f"{source}: unknown {name} option(s) {', '.join(bad)}; known: {', '.join(sorted(sub_known))}")
                check_values(section, sub, source, prefix=f"{name}.")
                kwargs[name] = section(**sub)
        try:
            return cls(**kwargs)
        except InputError as exc:  # a value the settings refuse: say which file holds it
            raise InputError(f"{source}: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> "ReconstructConfig":
        path = Path(path)
        values = load_yaml(path, CONFIG_MAX_BYTES, "configuration file") or {}
        if not isinstance(values, dict):
            raise FileFormatError(path, "expected a YAML mapping of options")
        try:
            return cls.from_dict(values, source=str(path))
        except TypeError as exc:
            raise FileFormatError(path, str(exc)) from None

    def dumps(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _check_keys(values: dict, source: str, prefix: str = "") -> None:
    odd = [k for k in values if not isinstance(k, str)]
    if odd:
        raise InputError(f"{source}: option names must be text, found {prefix}{odd[0]!r}")
