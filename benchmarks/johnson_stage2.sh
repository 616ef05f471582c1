#!/bin/bash
# Issue 20: continue the Johnson network's second stage exactly where its checkpoint is.
# Stage 1 (data/models/johnson_vangogh_starry_night) trained 8870 steps on nine photos; stage
# 2 starts from that network on arm C's data of johnson_data_arms.sh (the nine photos, Grace
# Hopper, the 11 other paintings, flips, a quarter of the steps on whole frames), measured
# best with arm B (benchmarks/results/2026-12-03-johnson-data-arms.txt).
#   setsid nohup bash benchmarks/johnson_stage2.sh < /dev/null &     (progress in the log)
# Paths are spelt as when the run began (the checkpoint refuses other settings), so keep the
# checkout at /work/main with its .venv; SIGTERM saves a checkpoint at the current step.
# Stage 2 counts from 0: its 31,130 steps and stage 1's 8870 make the paper's 40,000.
set -euo pipefail
cd "$(dirname "$0")"
PY="$(cd .. && pwd)/.venv/bin/python"   # not realpath: that resolves the venv
SITE=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
RUN=../data/models/johnson_vangogh_starry_night_stage2
PHOTOS=astronaut,chelsea,coffee,rocket,beach_city,columns,golden_gate_fog,rainier,flowers
PHOTOS=$PHOTOS,$SITE/matplotlib/mpl-data/sample_data/grace_hopper.jpg
PHOTOS=$PHOTOS,hokusai_great_wave,kandinsky_composition_vii,klimt_the_kiss
PHOTOS=$PHOTOS,matisse_woman_with_a_hat,monet_impression_sunrise
PHOTOS=$PHOTOS,monet_san_giorgio_maggiore_dusk,monet_water_lilies_1919,munch_the_scream
PHOTOS=$PHOTOS,picabia_udnie,seurat_grande_jatte,turner_shipwreck
exec "$PY" train_monitored.py "$RUN" --steps "${STEPS:-31130}" --every 500 --lr 5e-4 \
    --warmup 50 --init-from ../data/models/johnson_vangogh_starry_night \
    --photos "tubingen,$SITE/skimage/data/motorcycle_left.png" --content "$PHOTOS" \
    --flip --full-frame 0.25 >> "$RUN/progress.log" 2>&1
