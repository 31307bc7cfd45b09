"""CMANet (../shared/papers/cmanet-selfsupervised-multiview.txt): a self-supervised multi-view regressor in a
canonical parameter space, trained in two stages. **A library module, not yet a ``--method``** (it is not
listed in :data:`mvmocap.methods.registry.REGRESSOR_PACKAGES`; docs/adapt_handoff.md says what is missing).

Modules: ``inputs`` (detections -> per-view crop keypoints), ``model`` (the intra-view module IRV, the
inter-view module IEV, the canonical decode), ``losses`` (eq. 1-6), ``training`` (the two stages, the
``joint`` and ``inter-view only`` ablations, per-view and multi-view SMPLify targets from
:mod:`mvmocap.fit.uncalibrated`).

Deviations from the paper (the project runs on CPU and adapts to 2D detections): the per-view input
is the detector's COCO-17 keypoints in the view's crop (a lifting encoder, an MLP) instead of a Swin
encoder on the image; the per-view regressors share their weights (so any number of views is
accepted; the paper has N unshared ones); the inter-view fusion is one transformer encoder layer
(multi-head self-attention over the views' tokens) instead of a Swin layer; alpha and gamma, not
given in the paper, are 1.
"""
