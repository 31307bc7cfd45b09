"""Registry of trainable methods for ``train-synthetic``.

A method is a ``torch.nn.Module`` subclass of :class:`SyntheticMethod`, registered by name::

    @register_method("mymethod")
    class MyMethod(SyntheticMethod):
        def forward(self, batch): ...        # -> {"joints3d": (B, 17, 3) m world, ...}
        def loss(self, batch, pred): ...     # -> (scalar loss, {"name": float, ...})

``batch`` is a dict from :class:`mvmocap.synth.dataset.SyntheticMultiView` on the training
device. ``data_overrides`` lets a method ask for inputs (heatmaps, masks, IUV) it needs.
"""

from __future__ import annotations

from typing import Any

import torch

from mvmocap.errors import InputError

_METHODS: dict[str, type] = {}


class SyntheticMethod(torch.nn.Module):
    """Base class: keeps the body model outside the module's parameters and buffers."""

    #: SynthConfig fields the method needs set (merged over the config's ``data``).
    data_overrides: dict[str, Any] = {}

    def __init__(self, options: dict[str, Any], data_config, body_model):
        super().__init__()
        self.options = dict(options)
        self.data_config = data_config
        self._body = [body_model]  # a list: not registered as a submodule, not in state_dict

    @property
    def body_model(self):
        return self._body[0]

    def loss(self, batch: dict, pred: dict) -> tuple[torch.Tensor, dict[str, float]]:  # pragma: no cover
        raise NotImplementedError


def register_method(name: str):
    """Class decorator registering a :class:`SyntheticMethod` under ``name``."""

    def decorate(cls: type) -> type:
        _METHODS[name] = cls
        return cls

    return decorate


def available_methods() -> list[str]:
    _import_builtins(regressors=True)
    return sorted(_METHODS)


def get_method(name: str) -> type:
    """The method class registered as ``name``; :class:`InputError` listing the known ones."""
    _import_builtins()
    if name not in _METHODS:
        _import_builtins(regressors=True)
    if name not in _METHODS:
        raise InputError(f"unknown training method {name!r}; available: {', '.join(sorted(_METHODS))}")
    return _METHODS[name]


def _import_builtins(regressors: bool = False) -> None:
    """Register the reference ``mlp``; with ``regressors``, also the package :mod:`mvmocap.regressors`
    (its methods register themselves on import), when it is installed."""
    import importlib.util

    import mvmocap.train.mlp  # noqa: F401  (registers "mlp")

    if regressors and importlib.util.find_spec("mvmocap.regressors") is not None:
        import mvmocap.regressors  # noqa: F401
