"""Body-model figures for the model card: fidelity to Anny, shape space, speed against smplx.

    python benchmarks/body_model.py [--bodies 20] [--skip-anny] [--threads 2]

Prints:
1. Against Anny's own skinning (needs the build-open extra): fresh adult bodies, not those of the
   build, each projected on the shape space (least-squares betas); mean vertex deviation of our
   layer from Anny in the T-pose and in random poses (sigma = 0.25 rad per joint).
2. Shape space: variance kept by the PCA (from the file), height of beta1 = -2 / 0 / +2.
3. Speed: forward of batch 1 and 1024 on the CPU, our layer vs smplx's SMPL on the same arrays
   (a random SMPL-sized model with pose correctives, and open_neutral with zero correctives).
Anny's cache goes to a temporary folder deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "body"))

from mvmocap.body import load_body_model  # noqa: E402
from mvmocap.body.loading import MODELS_DIR, SHIPPED_MODELS  # noqa: E402

POSE_SIGMA = 0.25


def anny_fidelity(bodies: int, seed: int = 100, cache_dir: str | None = None) -> None:
    from mvmocap.body import build_open as bo

    print(f"\n1. Against Anny's own skinning ({bodies} fresh bodies per model, seed {seed})")
    with bo.anny_cache(cache_dir):
        anny_model = bo.load_anny()
        labels, parents = list(anny_model.bone_labels), list(anny_model.bone_parents)
        bones = bo.bone_map(labels, parents)
        for name in SHIPPED_MODELS:
            gender = name.removeprefix("open_")
            ours = load_body_model(name, dtype=torch.float64)
            phenotypes = bo.sample_phenotypes(anny_model, bodies, bo.GENDER_RANGES[gender], seed)
            rest = bo.rest_bodies(anny_model, phenotypes)
            tposed = bo.t_pose(anny_model, rest, bones)
            shift = torch.tensor(metadata(name)["template_shift_m"], dtype=torch.float64)
            target_t = tposed.vertices - shift  # our template was shifted so that the pelvis is at 0
            directions = ours.shapedirs.reshape(-1, ours.num_betas)
            offsets = (target_t - ours.v_template).reshape(bodies, -1)
            betas = torch.linalg.lstsq(directions, offsets.T).solution.T
            g = torch.Generator().manual_seed(seed)
            pose = POSE_SIGMA * torch.randn(bodies, 23, 3, generator=g, dtype=torch.float64)
            rotations = torch.cat([torch.eye(3, dtype=torch.float64).expand(bodies, 1, 3, 3),
                                   bo.axis_angle_to_matrix(pose)], dim=1)
            with torch.no_grad():
                t_ours = ours(betas=betas).vertices
                posed_ours = ours(body_pose=pose, betas=betas).vertices
            t_dev = (t_ours - target_t).norm(dim=-1)
            heights = tposed.vertices[..., 1].amax(1) - tposed.vertices[..., 1].amin(1)
            print(f"  {name}: Anny heights {heights.min():.2f}-{heights.max():.2f} m; T-pose (shape only) mean "
                  f"deviation {1000 * t_dev.mean():.2f} mm (max {1000 * t_dev.max():.1f} mm)")
            extremities = ours.weights[:, [10, 11, 22, 23]].sum(1) > 0.5  # mostly skinned to feet/hands
            for mode in ("groups", "head-bones"):
                target = bo.anny_posed_vertices(anny_model, phenotypes, rest, tposed, bones, rotations, mode=mode)
                dev = (posed_ours - (target - shift)).norm(dim=-1)
                print(f"    posed, sigma {POSE_SIGMA} rad, Anny replay '{mode}': mean {1000 * dev.mean():.2f} mm, "
                      f"95th pct {1000 * dev.quantile(0.95):.2f} mm, max {1000 * dev.max():.1f} mm; "
                      f"mean without hands/feet {1000 * dev[:, ~extremities].mean():.2f} mm, "
                      f"on hands/feet {1000 * dev[:, extremities].mean():.2f} mm")


def metadata(name: str) -> dict:
    with np.load(MODELS_DIR / f"{name}.npz", allow_pickle=False) as data:
        return json.loads(str(data["metadata"]))


def shape_space() -> None:
    print("\n2. Shape space")
    for name in SHIPPED_MODELS:
        model = load_body_model(name)
        info = metadata(name)
        betas = torch.zeros(3, 10)
        betas[:, 0] = torch.tensor([-2.0, 0.0, 2.0])
        with torch.no_grad():
            v = model(betas=betas).vertices
        heights = (v[..., 1].amax(-1) - v[..., 1].amin(-1)).tolist()
        rms = np.array(info["joint_regressor_rms_m"]) * 1000
        print(f"  {name}: {info['bodies']} bodies, PCA(10) keeps {100 * info['variance_kept']:.3f}% of the variance; "
              f"height at beta1 = -2 / 0 / +2: {heights[0]:.3f} / {heights[1]:.3f} / {heights[2]:.3f} m; "
              f"joint regressor RMS {rms.mean():.2f} mm (max {rms.max():.2f})")


def _time_pair(ours, theirs, repeats: int) -> tuple[float, float]:
    """Median seconds of two functions timed alternately (so that machine load hits both alike)."""
    for fn in (ours, theirs, ours, theirs):
        fn()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, bucket in ((ours, times[0]), (theirs, times[1])):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def speed(threads: int) -> None:
    import smplx

    from smpl_fixture import random_smpl_arrays, write_smpl_pickle

    torch.set_num_threads(threads)
    import os

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n3. Speed, CPU, float32, {threads} threads, median forward time (ms), no autograd, "
          f"timed alternately (load average {load} on {os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as folder:
        random_pkl = write_smpl_pickle(Path(folder) / "SMPL_NEUTRAL.pkl", random_smpl_arrays(np.random.default_rng(0)))
        open_arrays = open_as_smpl_arrays("open_neutral")
        open_pkl = write_smpl_pickle(Path(folder) / "open_neutral_as_smpl.pkl", open_arrays)
        cases = [("random SMPL arrays (6890 vertices, pose correctives)", random_pkl, random_pkl),
                 ("open_neutral (13718 vertices; smplx gets zero posedirs)", "open_neutral", open_pkl)]
        for title, ours_source, smplx_file in cases:
            ours = load_body_model(ours_source)
            reference = smplx.SMPL(model_path=str(smplx_file), dtype=torch.float32)
            print(f"  {title}")
            for batch in (1, 1024):
                g = torch.Generator().manual_seed(batch)
                go = 0.3 * torch.randn(batch, 3, generator=g)
                bp = 0.3 * torch.randn(batch, 23, 3, generator=g)
                be = torch.randn(batch, 10, generator=g)
                tr = torch.randn(batch, 3, generator=g)
                repeats = 100 if batch == 1 else 7
                with torch.no_grad():
                    t_ours, t_ref = _time_pair(
                        lambda: ours(global_orient=go, body_pose=bp, betas=be, transl=tr),
                        lambda: reference(global_orient=go, body_pose=bp.reshape(batch, 69), betas=be, transl=tr),
                        repeats,
                    )
                print(f"    batch {batch:5d}: ours {1000 * t_ours:8.2f} ms   smplx {1000 * t_ref:8.2f} ms   "
                      f"ratio smplx/ours {t_ref / t_ours:.2f}")


def open_as_smpl_arrays(name: str) -> dict:
    """The open model's arrays in the official SMPL layout (zero posedirs), for smplx."""
    model = load_body_model(name, dtype=torch.float64)
    vertices = model.num_vertices
    parents = model.parents.numpy().copy()
    return {
        "v_template": model.v_template.numpy(),
        "shapedirs": model.shapedirs.numpy(),
        "posedirs": np.zeros((vertices, 3, 207)),
        "J_regressor": model.joint_regressor.numpy(),
        "weights": model.weights.numpy(),
        "kintree_table": np.stack([parents % 2**32, np.arange(24)]).astype(np.int64),
        "f": model.faces.numpy().astype(np.uint32),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bodies", type=int, default=20, help="fresh Anny bodies per model for part 1")
    parser.add_argument("--skip-anny", action="store_true", help="skip part 1 (needs anny, about a minute)")
    parser.add_argument("--skip-speed", action="store_true", help="skip part 3")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--anny-cache", default=None, help="keep Anny's cache in this folder (default: temporary)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not args.skip_anny:
        anny_fidelity(args.bodies, cache_dir=args.anny_cache)
    shape_space()
    if not args.skip_speed:
        speed(args.threads)


if __name__ == "__main__":
    main()
