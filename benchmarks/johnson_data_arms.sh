#!/bin/bash
# Issue 20: which training data closes the Johnson network's gap on held-out photos?
# Three arms from one checkpoint (Adam afresh, 50 warm-up steps, lr 5e-4, 1000 steps each),
# scored every 250 steps on Tubingen and scikit-image's motorcycle_left (both held out):
#   A  the nine photos the run trained on (the plain continuation)
#   B  A + Grace Hopper (matplotlib's sample) + the 11 other registered paintings, flipped
#   C  B + a quarter of the steps on whole frames (--full-frame 0.25)
# B changes the photos and flips at once: it asks whether more varied data helps at all.
#
#   bash benchmarks/johnson_data_arms.sh FROM_RUN OUT_DIR     (about 3 x 13 min on a fast
#   2-core machine at 0.6 s a step; each arm resumes if stopped; progress in OUT_DIR/progress.log)
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 FROM_RUN OUT_DIR" >&2; exit 2; }
mkdir -p "$2"; from=$(cd "$1" && pwd); out=$(cd "$2" && pwd)
cd "$(dirname "$0")"
source johnson_data.sh
common=(--steps 1000 --every 250 --lr 5e-4 --warmup 50 --init-from "$from" --photos "tubingen,$MOTO")
for arm in A B C; do
  case $arm in
    A) extra=() ;;
    B) extra=(--content "$VARIED" --flip) ;;
    C) extra=(--content "$VARIED" --flip --full-frame 0.25) ;;
  esac
  echo "=== arm $arm $(date -u +%FT%TZ)" >> "$out/progress.log"
  "$PY" train_monitored.py "$out/$arm" "${common[@]}" ${extra[@]+"${extra[@]}"} >> "$out/progress.log" 2>&1
done
echo "=== done $(date -u +%FT%TZ)" >> "$out/progress.log"
