"""``SyntheticMethod``: the base class of every method ``train-synthetic`` trains.

A method is a ``torch.nn.Module`` subclass::

    class MyMethod(SyntheticMethod):
        def forward(self, batch): ...        # -> {"joints3d": (B, 17, 3) m world, ...}
        def loss(self, batch, pred): ...     # -> (scalar loss, {"name": float, ...})

``batch`` is a dict from :class:`mvmocap.synth.dataset.SyntheticMultiView` on the training
device. ``data_overrides`` lets a method ask for inputs (heatmaps, masks, IUV) it needs. This
module imports nothing of the package: regressor packages subclass it without depending on the
training loop.
"""

from __future__ import annotations

from typing import Any

import torch


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
