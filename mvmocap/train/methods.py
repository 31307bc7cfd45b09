"""Which methods ``train-synthetic`` trains: the reference ``mlp`` (:mod:`mvmocap.train.mlp`) and
every regressor package's (declared in its ``TRAINING_METHODS``, collected by :mod:`mvmocap.methods`).

A method is a :class:`mvmocap.train.base.SyntheticMethod` subclass; a training config names it.
"""

from __future__ import annotations

from mvmocap.errors import InputError
from mvmocap.train.base import SyntheticMethod

__all__ = ["SyntheticMethod", "available_methods", "get_method"]


def _methods() -> dict[str, type]:
    from mvmocap.methods import training_methods
    from mvmocap.train.mlp import MultiViewJointsMLP

    return {"mlp": MultiViewJointsMLP, **training_methods()}


def available_methods() -> list[str]:
    return sorted(_methods())


def get_method(name: str) -> type:
    """The method class for ``name``; :class:`InputError` listing the known ones."""
    methods = _methods()
    if name not in methods:
        raise InputError(f"unknown training method {name!r}; available: {', '.join(sorted(methods))}")
    return methods[name]
