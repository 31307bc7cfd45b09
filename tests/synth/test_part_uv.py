import torch

from mvmocap.synth.part_uv import NUM_PARTS, PART_NAMES, body_part_uv, compute_part_uv, nearest_bone_joint


def test_every_vertex_labelled_and_charts_in_range(toy_body):
    puv = body_part_uv(toy_body)
    V = toy_body.num_vertices
    assert puv.vertex_parts.shape == (V,) and puv.vertex_uv.shape == (V, 2)
    assert puv.face_parts.shape == (toy_body.faces.shape[0],)
    assert puv.vertex_parts.min() >= 1 and puv.vertex_parts.max() <= NUM_PARTS
    assert set(puv.vertex_parts.unique().tolist()) == set(range(1, 25))
    assert puv.vertex_uv.min() >= 0 and puv.vertex_uv.max() <= 1
    assert len(PART_NAMES) == NUM_PARTS


def test_sides_and_halves_follow_the_rest_pose(toy_body):
    puv = body_part_uv(toy_body)
    rest = toy_body(betas=torch.zeros(1, 10)).vertices[0]
    parts = puv.vertex_parts
    name = lambda i: PART_NAMES[i - 1]  # noqa: E731
    for i in range(len(parts)):
        n = name(int(parts[i]))
        x = float(rest[i, 0])
        if n.startswith("left_") and ("arm" in n or "hand" in n):
            assert x > 0, n  # the subject's left is +x in the rest frame
        if n.startswith("right_") and ("arm" in n or "hand" in n):
            assert x < 0, n
    torso_front = rest[parts == 2]
    torso_back = rest[parts == 1]
    assert torso_front[:, 2].mean() > torso_back[:, 2].mean() + 0.1
    head_left, head_right = rest[parts == 24], rest[parts == 23]
    assert head_left[:, 0].min() >= -1e-6 and head_right[:, 0].max() <= 1e-6


def test_v_runs_along_the_bone(toy_body):
    puv = body_part_uv(toy_body)
    rest = toy_body(betas=torch.zeros(1, 10)).vertices[0]
    upper_arm = (puv.vertex_parts == 15) | (puv.vertex_parts == 17)  # left upper arm front / back
    x = rest[upper_arm, 0]
    v = puv.vertex_uv[upper_arm, 1]
    corr = torch.corrcoef(torch.stack([x, v]))[0, 1]
    assert corr > 0.95  # shoulder (small x) -> elbow (large x)


def test_geometric_fallback_agrees_with_skinning(toy_body):
    out = toy_body(betas=torch.zeros(1, 10))
    verts = out.vertices[0].double()
    by_weights = toy_body.lbs_weights[: toy_body.num_vertices].argmax(-1)
    by_bones = nearest_bone_joint(verts, out.joints[0].double(), toy_body.parents)
    a = compute_part_uv(verts, out.joints[0], toy_body.faces, by_weights).vertex_parts
    b = compute_part_uv(verts, out.joints[0], toy_body.faces, by_bones).vertex_parts
    assert (a == b).float().mean() > 0.75


def test_shipped_open_body_if_present():
    import pytest

    from mvmocap.errors import MvmocapError

    try:
        from mvmocap.body import load_body_model

        model = load_body_model("open_neutral")
    except (ImportError, MvmocapError) as exc:
        pytest.skip(f"the shipped open body model is not available here: {exc}")
    puv = body_part_uv(model)
    assert set(puv.vertex_parts.unique().tolist()) == set(range(1, 25))
    rest = model(betas=torch.zeros(1, 10)).vertices[0]
    left_hand, right_hand = rest[puv.vertex_parts == 4], rest[puv.vertex_parts == 3]
    assert left_hand[:, 0].min() > 0.5 and right_hand[:, 0].max() < -0.5  # T-pose hands far out on +-x
    feet = rest[(puv.vertex_parts == 5) | (puv.vertex_parts == 6)]
    assert feet[:, 1].max() < rest[:, 1].min() + 0.2  # feet at the bottom
