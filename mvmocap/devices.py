"""Checking a ``--device`` value before any work: ``cpu``, ``cuda`` or ``cuda:N`` that exists."""

from __future__ import annotations

import re

from mvmocap.errors import InputError

_PATTERN = re.compile(r"^(cpu|cuda)(:\d+)?$")


def check_device(device: str, option: str = "--device") -> str:
    """``device`` unchanged if torch can use it here; else :class:`InputError` saying why."""
    if not isinstance(device, str) or not _PATTERN.match(device) or device.startswith("cpu:"):
        raise InputError(f"{option} must be cpu, cuda or cuda:N, got {device!r}")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InputError(f"{option} {device}: CUDA is not available on this machine (torch "
                             f"{torch.__version__}); use --device cpu")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise InputError(f"{option} {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device
