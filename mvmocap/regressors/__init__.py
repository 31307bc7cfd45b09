"""Pretrained multi-view regressors: 2D evidence of several calibrated views -> SMPL parameters.

Importing this package registers every regressor with :func:`mvmocap.fit.methods.register_regressor`
(``--method volumetric`` / ``volumetric+fit``), its training method with
:func:`mvmocap.train.register_method` and its benchmark estimator with
:func:`mvmocap.evaluate.synthetic.register_estimator`.
"""

from mvmocap.regressors import volumetric  # noqa: F401  (registers "volumetric")
