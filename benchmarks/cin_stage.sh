#!/bin/bash
# Issue 20: one conditional-instance-norm network for four paintings (Dumoulin et al. 2017),
# started from the shipped Johnson network for The Starry Night: every painting's scale and
# shift begin as that network's, so the convolutions start trained and the Starry Night row
# starts at the single-style network's quality (the paper trains from scratch).
#   setsid nohup bash benchmarks/cin_stage.sh < /dev/null &     (progress in the log)
# Same data as the Johnson stage 2 (johnson_data.sh) without the four paintings themselves;
# held out: Tubingen and motorcycle_left. Every 500 steps the monitor scores the confusion
# matrix of style distances and the Starry Night total loss over the Johnson network's
# (train_monitored.py --kind cin), also for the mean of the last four snapshots.
# SIGTERM saves a checkpoint at the current step; run again to resume exactly.
set -euo pipefail
cd "$(dirname "$0")"
source johnson_data.sh
RUN=../data/models/cin_four_paintings
STYLES=vangogh_starry_night,munch_the_scream,hokusai_great_wave,picabia_udnie
CONTENT=$(tr , '\n' <<< "$VARIED" | grep -v -x -F -e munch_the_scream -e hokusai_great_wave \
          -e picabia_udnie | paste -sd, -)
mkdir -p "$RUN"
exec "$PY" train_monitored.py "$RUN" --kind cin --styles "$STYLES" --steps "${STEPS:-20000}" \
    --every 500 --lr 5e-4 --warmup 50 --init-from starry_night --johnson starry_night \
    --photos "tubingen,$MOTO" --content "$CONTENT" --flip --full-frame 0.25 \
    --average "${AVERAGE:-4}" >> "$RUN/progress.log" 2>&1
