"""``mvmocap train-synthetic``: train multi-view regressors on synthetic data generated on the fly.

``mvmocap.train.run(method, config_path, out_dir, resume=False, device="cpu")``; the methods are
the reference ``mlp`` and the regressors' (:mod:`mvmocap.train.methods`).
"""

from mvmocap.train.config import TrainConfig, load_config
from mvmocap.train.loop import run
from mvmocap.train.base import SyntheticMethod
from mvmocap.train.methods import available_methods, get_method

__all__ = ["SyntheticMethod", "TrainConfig", "available_methods", "get_method", "load_config", "run"]
