"""CRA's speed: ``predict_views`` on frame-sets of 4 views (the issue's target: >= 20 frame-sets/s on the CPU).

Usage: python benchmarks/cra_speed.py [--checkpoint runs/cra_s] [--frames 64] [--views 4] [--threads 1]
           [--batch-size 128] [--repeats 3]

Inputs: a synthetic ``MethodInputs``: the default body walking in place (random poses of the
``walking`` family), seen by a ring of ``--views`` cameras (1080 x 1920, with lens distortion), its
COCO-23 keypoints projected (confidence 1). No detector masks: mask decoding and resampling (the
volumetric regressor's code, shared) are not included; the network still reads a silhouette
channel. Printed: the whole ``predict_views`` (crops, heatmaps, both streams, alignment features,
fusion, residual) and the network alone on prepared evidence, frame-sets / s (best of ``--repeats``)
by the wall clock and per CPU-second of this process (with ``--threads 1`` the latter is what an
unloaded core gives).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def synthetic_inputs(body, frames: int, views: int, seed: int = 0):
    from mvmocap.fit.inputs import MethodInputs
    from mvmocap.geometry.camera import CameraRig
    from mvmocap.geometry.projection import project_points
    from mvmocap.synth.pose_sampler import sample_poses
    from tests.conftest import ring_cameras

    gens = [torch.Generator().manual_seed(seed * 1000 + f) for f in range(frames)]
    poses = sample_poses(frames, gens, ("walking",))
    rig = CameraRig.from_cameras(ring_cameras(views, np.random.default_rng(seed)))
    out = body(global_orient=poses.global_orient.float(), body_pose=poses.body_pose.float())
    joints = out.coco23 - out.coco23[:, [11, 12]].mean(1, keepdim=True) + torch.tensor([0.0, 0.0, 1.0])
    px = project_points(joints.double()[:, None], rig.K, rig.dist, rig.R, rig.t)
    kp = torch.cat([px, torch.ones(*px.shape[:-1], 1, dtype=px.dtype)], -1)
    return MethodInputs(keypoints_2d=kp, rig=rig, body_model=body)


def best_of(fn, repeats: int) -> tuple[float, float]:
    """Best wall-clock and best process CPU seconds of ``repeats`` calls (on a shared machine the CPU
    time is the figure that does not depend on the other processes)."""
    walls, cpus = [], []
    for _ in range(repeats):
        began, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="runs/cra_s")
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--views", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from mvmocap.regressors.cra import inference
    from mvmocap.regressors.cra.model import BodyDecoder
    from mvmocap.synth.dataset import load_body
    from mvmocap.train.checkpoint import checkpoint_path

    ckpt = checkpoint_path(args.checkpoint)
    net, meta = inference.load_network(ckpt)
    body = load_body(meta["train_config"].get("body_model")).to(dtype=torch.float32)
    inputs = synthetic_inputs(body, args.frames, args.views)
    views = inference.predict_views(inputs, ckpt, args.batch_size)  # warm-up
    assert bool(views.valid.all()), "every view should see the person"
    whole = best_of(lambda: inference.predict_views(inputs, ckpt, args.batch_size), args.repeats)
    evidence, _, _ = inference.real_evidence(inputs, net.options)
    decoder = BodyDecoder.for_body(body, int(net.options["parts"]), int(net.options["render_stride"]))
    network = best_of(lambda: inference.predict(net, decoder, evidence, args.batch_size), args.repeats)
    print(f"CRA ({net.options['variant']}, parts {net.options['parts']}, crop {net.options['crop']}), "
          f"{args.frames} frame-sets x {args.views} views, {args.threads} thread(s), batch {args.batch_size}:")
    for name, (wall, cpu) in (("predict_views", whole), ("network only", network)):
        print(f"  {name:<14} {args.frames / wall:5.1f} frame-sets/s wall ({wall:.2f} s), "
              f"{args.frames / cpu:5.1f} per CPU-second ({cpu:.2f} s of CPU)")


if __name__ == "__main__":
    main()
