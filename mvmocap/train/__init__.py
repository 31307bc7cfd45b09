"""``mvmocap train-synthetic``: train multi-view regressors on synthetic data generated on the fly.

``mvmocap.train.run(method, config_path, out_dir, resume=False, device="cpu")``; methods
register with :func:`register_method` (built in: ``mlp``, the reference MLP).
"""

from mvmocap.train.config import TrainConfig, load_config
from mvmocap.train.loop import run
from mvmocap.train.methods import SyntheticMethod, available_methods, get_method, register_method

__all__ = ["SyntheticMethod", "TrainConfig", "available_methods", "get_method", "load_config", "register_method", "run"]
