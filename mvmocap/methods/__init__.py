"""The estimation methods: one registry above the fit and the regressors (``--method``).

Layering: ``reconstruct``, ``evaluate`` and ``train`` ask this package; it knows the fit
(:mod:`mvmocap.fit`) and the regressor packages listed in :data:`REGRESSOR_PACKAGES`, whose
declarations (:mod:`mvmocap.regressors.spec`) it collects on first use; nothing below imports it.

* ``fit``: multi-view SMPLify from a geometric start;
* ``<regressor>``: a learned regressor's parameters as they are;
* ``<regressor>+fit``: the regressor's parameters as SMPLify's starting point, asked for only on
  the frames the fit starts from them (the key frames with ``FitConfig.refine_start = "anchors"``,
  the default; every frame otherwise), and there also the mean of its pose prior
  (``FitConfig.refine_pose_prior``).
"""

from mvmocap.methods.registry import (
    REGRESSOR_PACKAGES,
    adaptation_methods,
    adaptation_needs,
    available_methods,
    estimators,
    method_spec,
    register_regressor,
    regressor_specs,
    resolve_method,
    training_methods,
    unregister_regressor,
)

__all__ = [
    "REGRESSOR_PACKAGES",
    "adaptation_methods",
    "adaptation_needs",
    "available_methods",
    "estimators",
    "method_spec",
    "register_regressor",
    "regressor_specs",
    "resolve_method",
    "training_methods",
    "unregister_regressor",
]
