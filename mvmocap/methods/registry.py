"""The registry of :mod:`mvmocap.methods`: the shipped regressor packages' declarations, collected
once (imported lazily: they load torch models), plus regressors added at run time
(:func:`register_regressor`, for a user's own or a test's)."""

from __future__ import annotations

import functools
import importlib
from typing import Any, Callable

from mvmocap.errors import InputError
from mvmocap.regressors.spec import RegressorSpec

# Every shipped regressor package; each declares REGRESSORS, ESTIMATORS and TRAINING_METHODS.
REGRESSOR_PACKAGES = ("mvmocap.regressors.volumetric", "mvmocap.regressors.metapose", "mvmocap.regressors.cra",
                      "mvmocap.regressors.cmanet")

_ADDED: dict[str, RegressorSpec] = {}


@functools.lru_cache(maxsize=None)
def _packages() -> tuple[Any, ...]:
    return tuple(importlib.import_module(name) for name in REGRESSOR_PACKAGES)


def regressor_specs() -> dict[str, RegressorSpec]:
    """``{name: spec}`` of every regressor: the shipped packages' and the ones added at run time."""
    specs: dict[str, RegressorSpec] = {}
    for package in _packages():
        for spec in package.REGRESSORS:
            specs[spec.name] = spec
    specs.update(_ADDED)
    return specs


def estimators() -> dict[str, Callable]:
    """The regressors' synthetic-benchmark estimators (:mod:`mvmocap.evaluate.synthetic`)."""
    return {name: f for package in _packages() for name, f in package.ESTIMATORS.items()}


def training_methods() -> dict[str, type]:
    """The regressors' ``train-synthetic`` methods (:mod:`mvmocap.train.methods` adds ``mlp``)."""
    return {name: cls for package in _packages() for name, cls in package.TRAINING_METHODS.items()}


def adaptation_methods() -> dict[str, Callable]:
    """The regressors ``mvmocap adapt`` can adapt: ``{name: load(checkpoint, body_model) -> (method,
    train config, body model name)}`` (:mod:`mvmocap.adapt`)."""
    return {name: f for package in _packages() for name, f in getattr(package, "ADAPTATION_METHODS", {}).items()}


def adaptation_needs() -> dict[str, tuple[str, ...]]:
    """What each adaptable regressor reads from a reconstruct folder (``mvmocap.adapt.captures.RUN_FILES``' keys:
    ``fit``, ``cameras``, ``triangulation``, ``detections``), as its package declares in ``ADAPTATION_NEEDS``;
    a method that declares nothing needs them all."""
    return {name: tuple(needs) for package in _packages()
            for name, needs in getattr(package, "ADAPTATION_NEEDS", {}).items()}


def calibration_starts() -> dict[str, Callable]:
    """The regressors' starts of the calibration from joints (``calibrate --from-joints --init NAME``):
    ``{name: factory(checkpoint=None) -> (Observations -> FrameCameras)}`` (:mod:`mvmocap.calibrate.init_frame_cameras`)."""
    return {name: f for package in _packages() for name, f in getattr(package, "CALIBRATION_STARTS", {}).items()}


def calibration_start(init: str, checkpoint=None) -> Callable | None:
    """The per-frame camera estimator of ``--init`` (None for ``auto``: the calibration's own starts), its
    checkpoint loaded now; :class:`InputError` listing the choices for an unknown name."""
    if init == "auto":
        return None
    starts = calibration_starts()
    if init not in starts:
        raise InputError(f"--init must be one of {', '.join(['auto', *sorted(starts)])}, got {init!r}")
    return starts[init](checkpoint)


def register_regressor(spec: RegressorSpec) -> RegressorSpec:
    """Add a regressor at run time (it answers ``spec.name`` and ``spec.name+fit``)."""
    if not isinstance(spec, RegressorSpec):
        raise InputError(f"register_regressor takes a RegressorSpec, got {type(spec).__name__}")
    _ADDED[spec.name] = spec
    return spec


def unregister_regressor(name: str) -> None:
    _ADDED.pop(name, None)


def available_methods() -> list[str]:
    """Every accepted ``--method`` value."""
    names = ["fit"]
    for name in sorted(regressor_specs()):
        names += [name, f"{name}+fit"]
    return names


def method_spec(spec: str) -> RegressorSpec | None:
    """The regressor behind a ``--method`` spec (None for ``fit``); :class:`InputError` if unknown."""
    spec = spec.strip()
    if spec == "fit":
        return None
    name, plus, tail = spec.partition("+")
    regressors = regressor_specs()
    if name in regressors and (not plus or tail == "fit"):
        return regressors[name]
    raise InputError(f"unknown method {spec!r}; available: {', '.join(available_methods())}")


def resolve_method(spec: str) -> Callable:
    """``f(MethodInputs) -> FitResult`` for a ``--method`` spec; :class:`InputError` listing the accepted ones."""
    from mvmocap.fit.inputs import evaluate_params, run_fit

    regressor = method_spec(spec)
    if regressor is None:
        return run_fit
    regress = regressor.regress
    if spec.strip().endswith("+fit"):  # the fit asks for the frames it starts from the regressor (the key frames by default)
        return lambda inputs: run_fit(inputs, init=lambda frames: regress(inputs.frames(frames)))
    return lambda inputs: evaluate_params(inputs, regress(inputs))
