"""What a learned regressor package declares; :mod:`mvmocap.methods` collects the declarations.

A regressor package (``mvmocap/regressors/NAME/``) imports only lower layers (geometry, body,
synth, fit's data types, train's base class) and exposes three module attributes:

* ``REGRESSORS``: a tuple of :class:`RegressorSpec`, one per ``--method`` name it answers
  (``NAME``; the registry adds ``NAME+fit``);
* ``ESTIMATORS``: ``{name: estimator}`` for the synthetic benchmark
  (:mod:`mvmocap.evaluate.synthetic`: ``f(batch, body_model, device) -> {"joints3d": ..., ...}``);
* ``TRAINING_METHODS``: ``{name: class}`` of :class:`mvmocap.train.base.SyntheticMethod`
  subclasses for ``train-synthetic``;
* optionally ``ADAPTATION_METHODS``: ``{name: load(checkpoint, body_model) -> (method, train config,
  body model name)}`` for ``mvmocap adapt`` (:mod:`mvmocap.adapt`; the method offers ``prepare``,
  ``regress_frames`` and ``sequence_params``, see :mod:`mvmocap.regressors.volumetric.adaptation`; or its
  own steps through ``adaptation_steps()``, see :mod:`mvmocap.regressors.cmanet.adaptation`).

It never registers itself anywhere and never imports the registry, the evaluator or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mvmocap.errors import InputError


@dataclass(frozen=True)
class RegressorSpec:
    """One ``--method`` a regressor answers.

    Attributes:
        name: the ``--method`` name (letters, digits, ``_``, ``-``; not ``fit``, no ``+``).
        regress: ``f(MethodInputs) -> BodyParams`` for the frames of the inputs.
        description: one line for ``--help`` and the README.
        needs_calibration: reads ``MethodInputs.rig`` (calibrated cameras); False for methods that
            estimate the cameras themselves.
        needs_images: reads the video frames (``MethodInputs.extras["videos"]``).
        needs_masks: uses person masks when the detections have them.
        cameras: for a method that estimates the cameras itself (``needs_calibration`` False),
            ``f(MethodInputs) -> scene`` run by ``reconstruct`` without a calibration, as its camera
            stage: ``scene.rig`` the cameras (a :class:`~mvmocap.geometry.frame_rig.FrameRig`: they
            may change per frame), ``scene.joints3d (F, 23, 3)`` metres and ``scene.confidence (F, 23)``
            the method's joints in their world, ``scene.view_valid (F, C)`` the cameras estimated per
            frame, ``scene.summary`` a dict for the report. The inputs''
            ``rig`` is then a placeholder (names and image sizes) and ``extras["subject_height_m"]``
            the subject's height.
        checkpoint: ``f(path)`` checks that ``path`` is a checkpoint this method loads (a regular file of
            a sane size, weights only, this method's, loadable), raising the project's errors; None: the
            method takes no checkpoint. ``reconstruct --checkpoint`` calls it before any long work and
            hands the path to ``regress`` / ``cameras`` as ``MethodInputs.extras["checkpoint"]`` (None
            there: the method's own default, e.g. its ``$MVMOCAP_<NAME>_CHECKPOINT`` or the shipped one).
    """

    name: str
    regress: Callable
    description: str = ""
    needs_calibration: bool = True
    needs_images: bool = False
    needs_masks: bool = False
    cameras: Callable | None = None
    checkpoint: Callable | None = None

    def __post_init__(self) -> None:
        valid = self.name and self.name != "fit" and all(ch.isalnum() or ch in "_-" for ch in self.name)
        if not valid:
            raise InputError(f"invalid regressor name {self.name!r} (letters, digits, '_' and '-'; not 'fit')")
