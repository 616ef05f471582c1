#!/bin/bash
# Issue 20: an AdaIN decoder (Huang and Belongie 2017), stage 1: learn to invert relu4_1
# features (style weight 0.01, as notebook 10's first stage: with 0.3 or more the style term
# won within a few hundred steps, colours but no shapes), with a pixel reconstruction term
# (--pixel-weight 1, not in the paper: without it the decoder gave purple blobs at 12-13 dB
# after 500 steps, benchmarks/results/2026-12-06-adain-stage1.txt), scored every 500 steps on the
# held-out photos: PSNR at alpha 0 (the issue's floor: 18 dB at 256 px) and the confusion
# matrix over three paintings it never sees (train_monitored.py --kind adain).
#   setsid nohup bash benchmarks/adain_stage.sh < /dev/null &     (progress in the log)
# Data: johnson_data.sh's varied set without the unseen paintings, 128 px crops (the
# paper: 256 px crops of MS-COCO and WikiArt, batch 8, 160k steps, one stage at lr 1e-4).
# SIGTERM saves a checkpoint at the current step; run again to resume exactly.
# RUN, LR, STYLE_WEIGHT, PIXEL_WEIGHT, INIT_FROM: another stage (adain_style_stage.sh).
set -euo pipefail
cd "$(dirname "$0")"
source johnson_data.sh
RUN=${RUN:-../data/models/adain_reconstruct}
UNSEEN=klimt_the_kiss,matisse_woman_with_a_hat,monet_water_lilies_1919
STYLES=$(tr , '\n' <<< "$PAINTINGS,vangogh_starry_night" | grep -v -x -F -e klimt_the_kiss \
         -e matisse_woman_with_a_hat -e monet_water_lilies_1919 | paste -sd, -)
CONTENT=$(tr , '\n' <<< "$VARIED" | grep -v -x -F -e klimt_the_kiss \
          -e matisse_woman_with_a_hat -e monet_water_lilies_1919 | paste -sd, -)
mkdir -p "$RUN"
exec "$PY" train_monitored.py "$RUN" --kind adain --styles "$STYLES" --unseen "$UNSEEN" \
    --steps "${STEPS:-20000}" --every 500 --lr "${LR:-1e-3}" --warmup 50 \
    --style-weight "${STYLE_WEIGHT:-0.01}" --pixel-weight "${PIXEL_WEIGHT:-1}" \
    ${INIT_FROM:+--init-from "$INIT_FROM"} \
    --photos "tubingen,$MOTO" --content "$CONTENT" --flip --full-frame 0.25 \
    --average "${AVERAGE:-4}" >> "$RUN/progress.log" 2>&1
