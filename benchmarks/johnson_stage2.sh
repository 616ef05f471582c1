#!/bin/bash
# Issue 20: continue the Johnson network's second stage exactly where its checkpoint is.
# Stage 1 (data/models/johnson_vangogh_starry_night) trained 8870 steps on nine photos; stage
# 2 starts from that network on arm C's data of johnson_data_arms.sh (the nine photos, Grace
# Hopper, the 11 other paintings, flips, a quarter of the steps on whole frames), measured
# best with arm B (benchmarks/results/2026-12-03-johnson-data-arms.txt).
#   setsid nohup bash benchmarks/johnson_stage2.sh < /dev/null &     (progress in the log)
# Paths are spelt as when the run began (the checkpoint refuses other settings), so keep the
# checkout at /work/main with its .venv; SIGTERM saves a checkpoint at the current step.
# Each stretch from step 4000 on saves a snapshot, and from 5500 on also scores the mean of
# the last AVERAGE (4) snapshots (train_monitored.py --average).
# Stage 2 counts from 0: its 31,130 steps and stage 1's 8870 make the paper's 40,000.
set -euo pipefail
cd "$(dirname "$0")"
source johnson_data.sh
RUN=../data/models/johnson_vangogh_starry_night_stage2
exec "$PY" train_monitored.py "$RUN" --steps "${STEPS:-31130}" --every 500 --lr 5e-4 \
    --warmup 50 --init-from ../data/models/johnson_vangogh_starry_night \
    --photos "tubingen,$MOTO" --content "$VARIED" \
    --flip --full-frame 0.25 --average "${AVERAGE:-4}" >> "$RUN/progress.log" 2>&1
