"""How much L-BFGS's ``lr`` (the first step's size) matters: seconds and evaluations until
the delivered picture reaches the time-to-quality target, for several lr.

Same scorer, pair and target as ``time_to_quality.py`` (the tutorial's delivered score after
500 normalized-GD steps, recomputed here unless ``--target`` gives it), one run per lr.

    python benchmarks/lbfgs_lr.py [--size 512] [--lrs 0.03,0.1,1.0] [--target SCORE]
"""
from __future__ import annotations

import argparse
import math
import os

import gluon_style  # noqa: F401  (before mxnet: it sets the thread count MXNet reads once)

from time_to_quality import TUTORIAL, Scorer, run, to_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--lrs", default="0.03,0.1,1.0")
    parser.add_argument("--target", type=float)
    parser.add_argument("--budget", type=int, default=200)
    args = parser.parse_args()
    from gluon_style.runtime import cpu_name

    print(f"{cpu_name()}; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; size {args.size}",
          flush=True)
    scorer = Scorer(args.size)
    target = args.target
    if target is None:
        target = run(scorer, size=args.size, budget=500, every=500, target=None, **TUTORIAL)["final"]
    print(f"target: delivered score {target:.6g}", flush=True)
    for lr in (float(v) for v in args.lrs.split(",")):
        r = run(scorer, size=args.size, budget=args.budget, every=1, target=target,
                optimizer="lbfgs", lr=lr, pyramid=())
        seconds = to_target(r, target)
        evals = next((k for k, (_, s) in enumerate(r["scored"]) if s <= target), None)
        shown = "not reached" if math.isinf(seconds) else f"{seconds:.1f} s, {evals + 1} evaluations"
        print(f"lr {lr:g}: {shown} to target; delivered score {r['final']:.5g}", flush=True)


if __name__ == "__main__":
    main()
