#!/bin/bash
# Issue 20: does a deeper transformation network close the held-out gap faster? One arm,
# compared with stage 2 itself (johnson_stage2.sh) over the same 1630 steps from step 11370.
#   bash benchmarks/johnson_depth_arm.sh INIT OUT [RES_BLOCKS]
# INIT: a copy of stage 2's checkpoint at step 11370 (git show of the commit that holds it);
# OUT: the arm's run folder. The arm starts from that network with RES_BLOCKS (10) residual
# blocks, the five extra ones as the identity, Adam afresh with 50 warm-up steps, on stage
# 2's data and lr. Its stretches end 130, 630, 1130 and 1630 steps in, as stage 2's end at
# 11500, 12000, 12500 and 13000, so the mean of the last four snapshots spans the same steps.
set -euo pipefail
INIT=$(realpath "$1") OUT=$(realpath -m "$2") BLOCKS=${3:-10}   # before the cd below
cd "$(dirname "$0")"
source johnson_data.sh
mkdir -p "$OUT"
for UNTIL in 130 630 1130 1630; do   # one stretch per call (--every past --steps)
    "$PY" train_monitored.py "$OUT" --steps $UNTIL --every 100000 --lr 5e-4 --warmup 50 \
        --init-from "$INIT" --res-blocks "$BLOCKS" --photos "tubingen,$MOTO" --content "$VARIED" \
        --flip --full-frame 0.25 --average 4 >> "$OUT/progress.log" 2>&1
done
