"""CMANet (../shared/papers/cmanet-selfsupervised-multiview.txt): a self-supervised multi-view regressor in a
canonical parameter space, trained in two stages.

``--method cmanet`` (:mod:`mvmocap.regressors.cmanet.on_cra`): stage 1 is the project's pretrained
single-view regressor CRA (frozen), stage 2 the inter-view module on CRA's per-view bodies, trained on the
user's captures without 3D labels by ``mvmocap adapt RUN... --method cmanet --out DIR``
(:mod:`mvmocap.regressors.cmanet.adaptation`). Stage 1 on the user's captures is ``mvmocap adapt RUN...
--method cra`` (:mod:`mvmocap.regressors.cmanet.intra_view`: CRA fine-tuned per view); with
``$MVMOCAP_CRA_CHECKPOINT`` naming its result, stage 2 trains and runs on the adapted stage 1. The drift guard
of both (``--synthetic-every``) replays their training domain with labels (``source``). Shipped:
``models/regressors/cmanet.pt`` (stage 2 trained without labels on synthetic captures of the training domain:
models/regressors/CMANET.md), loaded unless
``--checkpoint`` or ``$MVMOCAP_CMANET_CHECKPOINT`` names another (an adapt run's ``checkpoint.pt`` included).

The from-scratch library version (a keypoint lifter as the intra-view module): ``inputs`` (detections ->
per-view crop keypoints), ``model`` (IRV, IEV, the canonical decode), ``losses`` (eq. 1-6), ``training``
(the two stages, the ``joint`` and ``inter-view only`` ablations, per-view and multi-view SMPLify targets
from :mod:`mvmocap.fit.uncalibrated`).

Deviations from the paper (the project runs on CPU and adapts to 2D detections): the from-scratch per-view
input is the detector's COCO-17 keypoints in the view's crop (a lifting encoder, an MLP) instead of a Swin
encoder on the image; the per-view regressors share their weights (so any number of views is accepted; the
paper has N unshared ones); the inter-view fusion is one transformer encoder layer (multi-head
self-attention over the views' tokens) instead of a Swin layer; alpha and gamma, not given in the paper, are 1.
"""

from mvmocap.regressors.cmanet.adaptation import load_for_adaptation
from mvmocap.regressors.cmanet.intra_view import load_for_adaptation as load_cra_for_adaptation
from mvmocap.regressors.cmanet.on_cra import check_checkpoint, regress
from mvmocap.regressors.spec import RegressorSpec

REGRESSORS = (
    RegressorSpec("cmanet", regress, "CMANet's inter-view module (one attention layer, canonical space) on CRA's "
                  "per-view bodies (shipped: trained on synthetic captures; adapt it to yours)", needs_masks=True,
                  checkpoint=check_checkpoint),
)

ESTIMATORS: dict = {}

TRAINING_METHODS: dict = {}

# cmanet: stage 2 (the inter-view module on frozen CRA); cra: stage 1 (CRA itself, per view: intra_view).
ADAPTATION_METHODS = {"cmanet": load_for_adaptation, "cra": load_cra_for_adaptation}

# What the two stages read from a reconstruct folder (mvmocap.adapt.captures.RUN_FILES): never the fit.
ADAPTATION_NEEDS = {"cmanet": ("detections", "cameras"), "cra": ("detections", "cameras")}
