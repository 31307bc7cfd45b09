"""Pretrained multi-view regressors: 2D evidence of several views -> SMPL parameters.

One package per method (``volumetric/``); each declares what it offers (:mod:`mvmocap.regressors.spec`)
and the registry, :mod:`mvmocap.methods`, collects the declarations. Importing this package loads
nothing heavy.
"""
