"""Checks of reconstruct settings that would otherwise fail only after detection (seconds to
minutes in): the frame range and offsets syntax, the detector name, and numeric ranges."""

from __future__ import annotations

from mvmocap.errors import InputError


def check_settings(cfg) -> None:
    """Raise :class:`InputError` for a :class:`ReconstructConfig` value that cannot work."""
    from mvmocap.detect.run import DETECTORS
    from mvmocap.io.video import parse_frames, parse_offsets

    parse_frames(cfg.detect.frames)
    parse_offsets(list(cfg.detect.offsets))
    if cfg.detect.detector not in DETECTORS:
        raise InputError(f"detect.detector must be one of {', '.join(DETECTORS)}, got {cfg.detect.detector!r}")
    if not 0.05 <= cfg.detect.scale <= 1.0:
        raise InputError(f"detect.scale must be in [0.05, 1], got {cfg.detect.scale}")
    if not cfg.triangulation.threshold_px > 0:
        raise InputError(f"triangulation.threshold_px must be > 0, got {cfg.triangulation.threshold_px}")
