"""CRA (cross-representation alignment, ../shared/papers/cra-cross-representation-alignment.md):
a single-view body regressor from keypoint heatmaps and dense evidence (DensePose IUV, or the
person's silhouette for CRA-S), whose fusion regressor reads how far each stream's prediction is
from both pieces of evidence.

Modules: ``inputs`` (evidence -> tensors, PartDrop, limb-keypoint removal), ``encoder`` (a small
GroupNorm ResNet + the paper's perceptrons), ``alignment`` (D_J, D_M and the soft IUV render),
``model`` (streams, R1 / R2, fusion; the Table 4 variants), ``losses`` (eq. 6), ``training`` (the
``train-synthetic`` method ``cra``), ``inference`` (checkpoints, ``predict_views``), ``views``
(:class:`ViewBodies`, the per-view output's contract with its multi-view use, ``multiview``).

What the package offers (:mod:`mvmocap.regressors.spec`): ``TRAINING_METHODS`` only, so far; the
``--method cra`` wiring (``regress = fuse_views(predict_views(...))``) is added with the multi-view
use (see docs/cra_handoff.md).
"""

from mvmocap.regressors.cra.training import CRAMethod

TRAINING_METHODS = {"cra": CRAMethod}
