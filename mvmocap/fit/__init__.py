"""Stage 4: multi-view keypoints (+ triangulated joints) -> SMPL-style body parameters per frame.

Conventions: world right-handed, +Z up, metres, radians; OpenCV cameras.

Usage::

    from mvmocap.fit import FitConfig, fit_sequence

    keypoints = torch.as_tensor(detections.keypoints).permute(1, 0, 2, 3)  # (C, F, 23, 3) -> (F, C, 23, 3)
    tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2])
    result = fit_sequence(keypoints, rig, body_model, tri.points, tri.confidence, FitConfig())
    result.params.to_smpl_poses()  # (F, 72); result.params.betas (10,), .transl (F, 3), .valid (F,)

``--method`` specs (``fit``, ``<regressor>``, ``<regressor>+fit``) resolve through the registry,
:mod:`mvmocap.methods`, which sits above this package and the regressors.
"""

from mvmocap.fit.inputs import MethodInputs, evaluate_params, run_fit
from mvmocap.body.params import BodyParams, fill_invalid_frames
from mvmocap.fit.smplify import FitConfig, FitResult, fit_sequence

__all__ = [
    "BodyParams",
    "FitConfig",
    "FitResult",
    "MethodInputs",
    "evaluate_params",
    "fill_invalid_frames",
    "fit_sequence",
    "run_fit",
]
