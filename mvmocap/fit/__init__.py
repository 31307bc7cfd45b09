"""Stage 4: multi-view keypoints (+ triangulated joints) -> SMPL-style body parameters per frame.

Conventions: world right-handed, +Z up, metres, radians; OpenCV cameras.

Usage::

    from mvmocap.fit import FitConfig, fit_sequence

    keypoints = torch.as_tensor(detections.keypoints).permute(1, 0, 2, 3)  # (C, F, 23, 3) -> (F, C, 23, 3)
    tri = rig.triangulate_robust(keypoints[..., :2], keypoints[..., 2])
    result = fit_sequence(keypoints, rig, body_model, tri.points, tri.confidence, FitConfig())
    result.params.to_smpl_poses()  # (F, 72); result.params.betas (10,), .transl (F, 3), .valid (F,)

``--method`` specs (``fit``, ``<regressor>``, ``<regressor>+fit``) resolve through
:func:`resolve_method`; learned regressors register with :func:`register_regressor`.
"""

from mvmocap.fit.methods import MethodInputs, available_methods, register_regressor, resolve_method
from mvmocap.fit.params import BodyParams, fill_invalid_frames
from mvmocap.fit.smplify import FitConfig, FitResult, fit_sequence

__all__ = [
    "BodyParams",
    "FitConfig",
    "FitResult",
    "MethodInputs",
    "available_methods",
    "fill_invalid_frames",
    "fit_sequence",
    "register_regressor",
    "resolve_method",
]
