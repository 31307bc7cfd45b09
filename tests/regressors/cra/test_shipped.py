"""The shipped CRA checkpoints: CRA-S (silhouette) and the IUV model load weights-only, are the
models the card says, are picked by input, and regress bodies on their own synthetic test
distribution far better than the start they regress from."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from mvmocap.regressors.cra import inference
from mvmocap.regressors.cra.model import BodyDecoder, initial_theta

SHIPPED = {"cra_s.pt": 1, "cra_iuv.pt": 24}
CONFIGS = {"cra_s.pt": "cra_s.yaml", "cra_iuv.pt": "cra_iuv.yaml"}
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name,parts", sorted(SHIPPED.items()))
def test_shipped_checkpoint_is_the_model_the_card_names(name, parts):
    net, meta = inference.load_network(inference.MODELS / name)
    assert net.options["variant"] == "cra" and int(net.options["parts"]) == parts
    assert int(net.options["crop"]) == 64
    assert meta["train_config"]["model"]["parts"] == parts


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_checkpoint_was_trained_with_its_example_config(name):
    """``examples/configs/<config>`` reproduces the shipped model (the card's training command)."""
    import yaml

    _, meta = inference.load_network(inference.MODELS / name)
    example = yaml.safe_load((REPO / "examples" / "configs" / CONFIGS[name]).read_text())
    trained = meta["train_config"]
    for key in ("model", "data", "steps", "seed", "lr", "batch_size", "lr_schedule"):
        assert trained[key] == example[key], key


def test_the_iuv_model_is_picked_for_iuv_evidence(monkeypatch):
    monkeypatch.delenv(inference.CHECKPOINT_ENV, raising=False)
    assert inference.checkpoint_file(None, iuv=True) == inference.SHIPPED_IUV
    assert inference.checkpoint_file(None) == inference.SHIPPED
    monkeypatch.setenv(inference.CHECKPOINT_ENV, str(inference.SHIPPED))
    assert inference.checkpoint_file(None, iuv=True) == inference.SHIPPED


def _test_views(meta: dict, body, samples: int):
    from mvmocap.regressors.cra.training import CRAMethod
    from mvmocap.synth import evidence as ev
    from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView

    data = dict(meta["train_config"]["data"])
    cfg = replace(SynthConfig.from_dict({**data, **CRAMethod.data_overrides}), augment=ev.AugmentConfig.none())
    return SyntheticMultiView(body, cfg, length=samples, seed=123_456).batch(list(range(samples)))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_network_beats_its_start_in_distribution(name):
    from mvmocap.evaluate.metrics import pa_mpjpe
    from mvmocap.regressors.cra.training import flat_views, synthetic_evidence, view_targets
    from mvmocap.synth.dataset import load_body

    net, meta = inference.load_network(inference.MODELS / name)
    body = load_body(meta["train_config"].get("body_model"))
    decoder = BodyDecoder.for_body(body, int(net.options["parts"]), int(net.options["render_stride"]))
    batch = _test_views(meta, body, samples=4)
    target = view_targets(batch, int(net.options["crop"]), int(net.options["render_stride"]))
    ok = flat_views(batch["view_valid"]).bool()
    with torch.no_grad():
        evidence = synthetic_evidence(batch, net.options)
        network = pa_mpjpe(decoder.decode(net(evidence, decoder)["theta"])["joints"][ok], target["joints"][ok]).mean()
        start = pa_mpjpe(decoder.decode(initial_theta(len(ok)))["joints"][ok], target["joints"][ok]).mean()
    # measured on these 16 views: both ~51 mm, the rest pose 165 mm
    assert float(network) < 0.5 * float(start), (float(network), float(start))
