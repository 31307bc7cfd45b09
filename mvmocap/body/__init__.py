"""SMPL-format body models: our own linear blend skinning, the shipped open bodies, official SMPL files.

``load_body_model(None)`` gives ``$MVMOCAP_BODY_MODEL`` or the shipped ``open_neutral``; calling
the model with pose and shape gives a :class:`BodyOutput`.
"""

from mvmocap.body.loading import SHIPPED_MODELS, load_body_model, resolve_model_path
from mvmocap.body.model import BodyModel, BodyOutput

__all__ = ["SHIPPED_MODELS", "BodyModel", "BodyOutput", "load_body_model", "resolve_model_path"]
