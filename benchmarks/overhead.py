"""How much of an optimization step is spent outside the network, for each optimizer.

The bare step is the objective's forward and backward pass to the image and reading the
loss (what every optimizer must do). Against it, in one process and alternated: a step of
``stylize`` with normalized GD, with Adam, and an L-BFGS loss evaluation (each the median
difference of consecutive history timestamps, so it includes the update, the best-image
copy, the history record and, for L-BFGS, its two-loop recursion, projection and line-search
bookkeeping). Default objective, Tubingen / The Starry Night, ``--size`` px, no pyramid.

    python benchmarks/overhead.py [--size 512] [--steps 8] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import gluon_style as gs
from mxnet import autograd

from time_to_quality import PAIR, Scorer


def bare_step(size: int, steps: int) -> float:
    """Median seconds of the objective's forward + backward + loss read, nothing else."""
    scorer = Scorer(size)   # the default objective on PAIR, single scale
    objective, X = scorer.objective, scorer.photo.copy()
    X.attach_grad()
    seconds = []
    for _ in range(steps + 1):
        tic = time.perf_counter()
        with autograd.record():
            terms = objective(X)
            total = terms[0] + terms[1] + terms[2]
        total.backward()
        total.asscalar()
        X.grad.wait_to_read()
        seconds.append(time.perf_counter() - tic)
    return statistics.median(seconds[1:])


def stylize_step(size: int, steps: int, optimizer: str) -> float:
    _, h = gs.stylize(*PAIR, size=size, steps=steps + 1, pyramid=(), optimizer=optimizer,
                      progress=False)
    return statistics.median(b["seconds"] - a["seconds"] for a, b in zip(h[1:-1], h[2:-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from gluon_style.runtime import cpu_name

    print(f"{cpu_name()}; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; size {args.size}",
          flush=True)
    runs = {"bare": lambda: bare_step(args.size, args.steps)}
    for optimizer in ("normalized_gd", "adam", "lbfgs"):
        runs[optimizer] = lambda o=optimizer: stylize_step(args.size, args.steps, o)
    times = {name: [] for name in runs}
    for i in range(args.repeats):
        for name, run in runs.items():
            times[name].append(run())
            print(f"  round {i + 1} {name}: {times[name][-1]:.3f} s", flush=True)
    med = {name: statistics.median(t) for name, t in times.items()}
    for name in ("normalized_gd", "adam", "lbfgs"):
        print(f"{name:14s} {med[name]:.3f} s vs bare {med['bare']:.3f} s: "
              f"{100 * (med[name] / med['bare'] - 1):+.1f}% outside the network", flush=True)


if __name__ == "__main__":
    main()
