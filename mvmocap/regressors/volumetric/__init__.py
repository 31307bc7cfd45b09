"""Volumetric progressive multi-view aggregation (../shared/papers/volumetric-progressive-synthetic-mv-hmr.txt).

Per view, joint heatmaps + a silhouette -> a 2D encoder -> features unprojected along camera rays
into a G^3 cube around the triangulated pelvis, oriented by a learned canonical world -> human
rotation; three IEF iterations read the consensus (intersection of occupancy), diversity (union)
and balance (per-view consistency with the current mesh) volumes.

Modules: ``evidence`` (heatmaps, silhouettes, crops), ``encoder``, ``volume`` (unprojection),
``aggregation``, ``ief``, ``model`` (the network and its ``train-synthetic`` method), ``losses``,
``inference`` (checkpoint loading, ``--method volumetric``, the benchmark estimator).
"""

from mvmocap.regressors.volumetric import model as _model  # noqa: F401  (registers the training method)
from mvmocap.regressors.volumetric import inference as _inference  # noqa: F401  (registers the regressor)
