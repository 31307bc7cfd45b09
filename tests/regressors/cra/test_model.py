import pytest
import torch

from mvmocap.regressors.cra.inputs import view_evidence
from mvmocap.regressors.cra.model import (
    FACING_CAMERA, THETA_SIZE, VARIANTS, BodyDecoder, CRANet, initial_theta, split_theta,
)
from tests.regressors.cra.conftest import TINY


def _evidence(gen, n=3, size=16, parts=24):
    kp = torch.cat([torch.rand(n, 17, 2, generator=gen) * size, torch.ones(n, 17, 1)], -1)
    part = torch.randint(0, 25 if parts == 24 else 2, (n, size, size), generator=gen).float()
    labels = torch.cat([part[:, None], torch.rand(n, 2, size, size, generator=gen)], 1)
    return view_evidence(kp, labels, parts, 1.0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_gives_a_finite_theta(variant, toy_body, gen):
    torch.manual_seed(0)
    net = CRANet({**TINY, "variant": variant})
    decoder = BodyDecoder.for_body(toy_body, 24, 4)
    out = net(_evidence(gen), decoder)
    assert out["theta"].shape == (3, THETA_SIZE) and torch.isfinite(out["theta"]).all()
    assert ("stream_thetas" in out) == (variant in ("two", "cra"))
    assert ("features" in out) == (variant == "cra")


def test_initial_theta_is_an_upright_body_facing_the_camera(toy_body):
    decoded = BodyDecoder.for_body(toy_body, 1, 4).decode(initial_theta(2))
    assert torch.allclose(decoded["global_orient"], torch.tensor(FACING_CAMERA).expand(2, 3, 3), atol=1e-6)
    head, ankles = decoded["joints"][:, 0], decoded["joints"][:, 15:17].mean(1)
    assert (head[:, 1] < ankles[:, 1] - 1.0).all()  # camera y points down: the head is above
    assert torch.allclose(decoded["joints"][:, [11, 12]].mean(1), torch.zeros(2, 3), atol=1e-6)
    root, body, betas, cam = split_theta(initial_theta(1))
    assert root.shape == (1, 6) and body.shape == (1, 23, 6) and betas.abs().sum() == 0
    assert torch.equal(cam, torch.tensor([[1.0, 0.0, 0.0]]))


def test_alignment_gradients_reach_both_streams(toy_body, gen):
    """The loss on the fused prediction trains both streams through D_J and D_M (paper sec. 3.4)."""
    torch.manual_seed(0)
    net = CRANet(TINY)
    decoder = BodyDecoder.for_body(toy_body, 24, 4)
    out = net(_evidence(gen), decoder)
    out["features"][1][:, 34:].sum().backward()  # D_M of the dense stream's prediction only
    grads = [p.grad for p in net.dense_stream.r2.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown CRA variant"):
        CRANet({"variant": "triple"})
