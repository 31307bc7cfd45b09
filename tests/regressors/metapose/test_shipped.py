"""The shipped ``models/regressors/metapose.pt``: it loads safely and its stage 2 improves on stage 1
on synthetic frame-sets of its training distribution (a damaged or wrong file fails here)."""

from __future__ import annotations

import pytest
import torch

from mvmocap.evaluate.metrics import pa_mpjpe
from mvmocap.regressors.metapose.inference import SHIPPED, estimate, load_optimizer
from mvmocap.regressors.metapose.training import synthetic_inputs
from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body
from mvmocap.synth.mono3d import MonocularNoise

pytestmark = pytest.mark.skipif(not SHIPPED.is_file(), reason="models/regressors/metapose.pt is not in this checkout")


def test_shipped_checkpoint_loads_with_its_training_config():
    net, meta = load_optimizer(SHIPPED)
    assert meta["options"]["architecture"] == "equivariant" and len(net.steps) == meta["options"]["steps"] == 4
    assert meta["train_config"]["data"]["rig_families"] and "high_wide" not in meta["train_config"]["data"]["rig_families"]


def test_shipped_stage_2_improves_on_stage_1_in_distribution():
    net, meta = load_optimizer(SHIPPED)
    cfg = SynthConfig.from_dict({"views": 4, "noise": {"kind": "realistic"}, "rig_families": ["qualisys_demo"],
                                 "augment": "none"})
    batch = SyntheticMultiView(load_body(None), cfg, length=96, seed=12_345).batch(list(range(96)))
    inputs, _, _, _ = synthetic_inputs(batch, MonocularNoise())
    truth = batch["joints3d"][:, :17].double()
    s1 = pa_mpjpe(estimate(inputs, "s1")[0].double(), truth).mean()
    s2 = pa_mpjpe(estimate(inputs, "s2", net)[0].double(), truth).mean()
    assert float(s2) < 0.95 * float(s1), (float(s1), float(s2))
