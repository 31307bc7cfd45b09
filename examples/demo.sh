#!/usr/bin/env bash
# `make demo`: run mvmocap on the bundled 4-camera example (examples/pose2sim_demo).
set -euo pipefail
cd "$(dirname "$0")/.."
MVMOCAP=.venv/bin/mvmocap
OUT=out/pose2sim_demo

RERUN=""
if .venv/bin/python -c "import rerun" 2>/dev/null; then
    RERUN="--rerun"
else
    echo "(no recording.rrd: the Rerun recording needs the view extra, .venv/bin/pip install -e '.[view]')"
fi

echo "== reconstruct: 4 videos + calibration -> SMPL parameters, overlays, exports ($OUT)"
$MVMOCAP reconstruct examples/pose2sim_demo/videos \
    --calibration examples/pose2sim_demo/calibration.yaml \
    --out "$OUT" --render --export bvh,glb,trc,c3d $RERUN

echo
echo "Outputs in $OUT: smpl_params.npz, joints3d.npz, cameras.yaml, report.json, motion.bvh, body.glb, markers.trc, markers.c3d, overlays/ (contact_sheet.png)${RERUN:+, recording.rrd (rerun $OUT/recording.rrd)}."
