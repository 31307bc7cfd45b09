"""CRA (cross-representation alignment, ../shared/papers/cra-cross-representation-alignment.md):
a single-view body regressor from keypoint heatmaps and dense evidence (DensePose IUV, or the
person's silhouette for CRA-S), whose fusion regressor reads how far each stream's prediction is
from both pieces of evidence.

Modules: ``inputs`` (evidence -> tensors, PartDrop, limb-keypoint removal), ``encoder`` (a small
GroupNorm ResNet + the paper's perceptrons), ``alignment`` (D_J, D_M and the soft IUV render),
``model`` (streams, R1 / R2, fusion; the Table 4 variants), ``losses`` (eq. 6), ``training`` (the
``train-synthetic`` method ``cra``), ``inference`` (checkpoints, ``predict_views``), ``views``
(:class:`ViewBodies`, the per-view output's contract with its multi-view use, ``multiview``).

What the package offers (:mod:`mvmocap.regressors.spec`): ``--method cra`` (each view's body from
``predict_views``, fused into the world by ``multiview.fuse_views``; ``cra+fit`` also fits the frames
one camera sees, :mod:`mvmocap.fit.single_view`) and the ``train-synthetic`` method ``cra``. No
synthetic-benchmark estimator yet (``benchmarks/cra_table4.py`` scores the views directly).
"""

from mvmocap.regressors.cra.inference import check_checkpoint, predict_views
from mvmocap.regressors.cra.multiview import regress_with
from mvmocap.regressors.cra.training import CRAMethod
from mvmocap.regressors.spec import RegressorSpec

REGRESSORS = (
    RegressorSpec("cra", regress_with(predict_views), "CRA per-view network (keypoint heatmaps + silhouette/IUV), "
                  "views fused in the world; with +fit also the frames one camera sees", needs_masks=True,
                  checkpoint=check_checkpoint),
)

ESTIMATORS: dict = {}

TRAINING_METHODS = {"cra": CRAMethod}
