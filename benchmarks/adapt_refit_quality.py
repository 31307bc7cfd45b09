"""The adapt loop's refits against ground truth: PA-MPJPE (mm, COCO-17) of a synthetic capture's own calibrated
multi-view fit and of the uncalibrated MV-SMPLify / per-view SMPLify refits started from it
(:func:`mvmocap.adapt.view_fits.view_refit`), 3 clips of 30 frames, 4 cameras, noisy detections, seed 7.

    python benchmarks/adapt_refit_quality.py
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mvmocap.adapt.captures import capture_from_detections
from mvmocap.adapt.view_fits import view_refit
from mvmocap.evaluate.metrics import pa_mpjpe
from mvmocap.synth.dataset import load_body
from mvmocap.synth.motion import MotionConfig
from mvmocap.synth.sequence import SequenceConfig, synthetic_capture
body = load_body(None)
b64 = body.to(dtype=torch.float64)
def err(p, truth):
    F = p.global_orient.shape[0]
    j = b64(global_orient=p.global_orient.double(), body_pose=p.body_pose.double(), betas=p.betas.double().expand(F, -1), transl=p.transl.double()).coco23[:, :17]
    return float(pa_mpjpe(j[p.valid], truth[p.valid]).mean())
torch.set_num_threads(1)
for index in range(3):
    sc = synthetic_capture(body, SequenceConfig(cameras=4, condition="noisy", motion=MotionConfig(frames=30)), seed=7, index=index)
    cap = capture_from_detections(f"c{index}", sc.detections, sc.rig, body)
    truth = sc.posed.coco23[:, :17].double()
    row = {"calibrated fit": err(cap.fit, truth)}
    for mode in ("uncalibrated", "single-view"):
        row[mode] = err(view_refit(cap.inputs, cap.fit, mode), truth)
    print(index, {k: round(v, 1) for k, v in row.items()}, flush=True)
