"""MetaPose (../shared/papers/metapose-uncalibrated-multiview.txt): 3D pose and cameras of each
frame-set from uncalibrated views.

Stage 1: weak-projection cameras by rigid alignment of per-view monocular 3D, camera 0 fixed
(:func:`mvmocap.calibrate.init_procrustes.weak_cameras_from_mono3d`, the same Kabsch as
``calibrate --from-joints``'s start). Stage 2: K refinement networks, each permutation-equivariant
over the views, reading per view [pose, per-joint log-likelihood, camera, Gaussian mixtures,
projections] (``model``). Baselines: the non-equivariant MLP (``model.MLPStep``) and the iterative
refiner (``refine``).

Modules: ``gmm`` (2D uncertainty), ``inputs`` (evidence -> tensors), ``model``, ``losses`` (eq. 16,
19, 6), ``refine`` (IR), ``training`` (``train-synthetic --method metapose``), ``inference``
(checkpoints, the estimate), ``cameras`` (weak -> pinhole per frame, one metric +Z-up world),
``body`` (``--method metapose``: per-frame cameras and the body).

The trained optimizer comes from ``$MVMOCAP_METAPOSE_CHECKPOINT`` or ``models/regressors/metapose.pt``.
"""

from mvmocap.regressors.metapose.body import estimate_scene, regress
from mvmocap.regressors.metapose.inference import check_checkpoint
from mvmocap.regressors.metapose.static_rig import CALIBRATION_STARTS
from mvmocap.regressors.metapose.training import MetaPoseMethod
from mvmocap.regressors.spec import RegressorSpec

REGRESSORS = (
    RegressorSpec("metapose", regress, "MetaPose: per-frame cameras and 3D joints from uncalibrated views",
                  needs_calibration=False, cameras=estimate_scene, checkpoint=check_checkpoint),
)

ESTIMATORS: dict = {}  # the calibrated synthetic benchmark does not apply: MetaPose returns no metric world pose

TRAINING_METHODS = {"metapose": MetaPoseMethod}
