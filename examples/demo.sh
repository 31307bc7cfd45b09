#!/usr/bin/env bash
# `make demo`: run mvmocap on the bundled 4-camera example (examples/pose2sim_demo).
set -euo pipefail
cd "$(dirname "$0")/.."
MVMOCAP=.venv/bin/mvmocap
OUT=out/pose2sim_demo

echo "== reconstruct: 4 videos + calibration -> SMPL parameters, overlays ($OUT)"
$MVMOCAP reconstruct examples/pose2sim_demo/videos \
    --calibration examples/pose2sim_demo/calibration.yaml \
    --out "$OUT" --render --export bvh,glb,trc,c3d

echo
echo "Outputs in $OUT: smpl_params.npz, joints3d.npz, cameras.yaml, report.json, motion.bvh, body.glb, markers.trc, markers.c3d, overlays/ (contact_sheet.png)."
