"""Volumetric progressive multi-view aggregation (../shared/papers/volumetric-progressive-synthetic-mv-hmr.txt).

Per view, joint heatmaps + a silhouette -> a 2D encoder -> features unprojected along camera rays
into a G^3 cube around the triangulated pelvis, oriented by a learned canonical world -> human
rotation; three IEF iterations read the consensus (intersection of occupancy), diversity (union)
and balance (per-view consistency with the current mesh) volumes.

Modules: ``evidence`` (heatmaps, silhouettes, crops), ``encoder``, ``volume`` (unprojection),
``aggregation``, ``ief``, ``model`` (the network), ``training`` (its ``train-synthetic`` method),
``losses``, ``inference`` (checkpoint loading, the ``--method`` functions, the benchmark estimators),
``adaptation`` (the network as ``mvmocap adapt`` trains it on real captures).

What the package offers (:mod:`mvmocap.regressors.spec`), collected by :mod:`mvmocap.methods`:
"""

from mvmocap.regressors.spec import RegressorSpec
from mvmocap.regressors.volumetric.adaptation import load_for_adaptation
from mvmocap.regressors.volumetric.inference import benchmark_estimator, check_checkpoint, regress_full, regress_network_only
from mvmocap.regressors.volumetric.training import VolumetricMethod

REGRESSORS = (
    RegressorSpec("volumetric", regress_full, "volumetric progressive-aggregation network, then the bone-length "
                  "shape and the limb IK", needs_masks=True, checkpoint=check_checkpoint),
    RegressorSpec("volumetric-net", regress_network_only, "the volumetric network alone", needs_masks=True,
                  checkpoint=check_checkpoint),
)

ESTIMATORS = {
    "volumetric": benchmark_estimator(),
    "volumetric-net": benchmark_estimator(keypoint_ik=False),
    "volumetric-nomask": benchmark_estimator(use_masks=False),
    **{f"volumetric-test-no-{part}": benchmark_estimator(overrides={part: False}, keypoint_ik=False)
       for part in ("consensus", "diversity", "balance")},
}

TRAINING_METHODS = {"volumetric": VolumetricMethod}

# ``mvmocap adapt --method volumetric`` (mvmocap.adapt): checkpoint -> (adaptable method, train config, body name)
ADAPTATION_METHODS = {"volumetric": load_for_adaptation}

# What the collaborative loop reads from a reconstruct folder (mvmocap.adapt.captures.RUN_FILES): everything.
ADAPTATION_NEEDS = {"volumetric": ("fit", "triangulation", "detections", "cameras")}
