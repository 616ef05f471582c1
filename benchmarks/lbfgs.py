"""The package's projected L-BFGS against scipy's L-BFGS-B, which it replaced (issue 22).

Both drive the same ``stylize`` run (default objective, Tubingen / The Starry Night,
``--size`` px, lr 0.1, no pyramid): scipy's through the package's optimizer interface, as
the package called it until then (the loss scaled so the first step moves a pixel by lr on
average, float64 copies each way). Printed: the delivered (8-bit) score every
``--score-every`` evaluations and the median seconds per evaluation, alternated repeats.
First, each optimizer alone: its seconds per evaluation outside a cheap quadratic of the
image's size (the two-loop recursion, projection, line search, copies, the best image),
which the difference of two whole steps cannot resolve against this machine's noise.

    python benchmarks/lbfgs.py [--size 512] [--evaluations 100] [--repeats 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from unittest import mock

import gluon_style  # noqa: F401  (before mxnet: it sets the thread count MXNet reads once)
import mxnet as mx
import numpy as np

from gluon_style import optimizers
from time_to_quality import Scorer, run


class _Budget(Exception):
    pass


def scipy_lbfgs(X, evaluate, *, steps: int, lr: float, bounds, on_step) -> bool:
    """scipy's L-BFGS-B with the interface of ``optimizers._lbfgs``."""
    from scipy.optimize import Bounds, minimize

    count, scale, stopped = 0, None, False

    def fun(x):
        nonlocal count, scale, stopped
        if count > steps:
            raise _Budget
        X[:] = mx.nd.array(x.reshape(X.shape), ctx=X.context, dtype="float32")
        total, stopped = evaluate(count, None)
        g = X.grad.asnumpy().astype(np.float64).ravel()
        if scale is None:
            scale = lr / max(np.abs(g).mean(), 1e-30)
        if count and on_step is not None:
            on_step()
        if stopped:
            raise _Budget
        count += 1
        return scale * total, scale * g

    lo, hi = np.ravel(bounds[0]), np.ravel(bounds[1])
    x0 = np.clip(X.asnumpy().astype(np.float64).ravel(), lo, hi)
    try:
        minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=Bounds(lo, hi),
                 options=dict(maxiter=steps + 1, maxfun=steps + 1, ftol=0.0, gtol=0.0))
    except _Budget:
        pass
    return stopped


def alone(shape, *, use_scipy: bool, evaluations: int = 30) -> float:
    """Median seconds per evaluation spent outside ``evaluate`` on a quadratic."""
    from gluon_style.image import pixel_bounds

    rng = np.random.default_rng(0)
    a, b = (mx.nd.array(rng.random(shape) + k) for k in (0.5, 0.0))
    stamps, spent = [], []

    def evaluate(X, step, lr, gradient=True):
        tic = time.perf_counter()
        stamps.append(tic)
        d = X - b
        X.grad[:] = a * d
        value = float((0.5 * a * d * d).sum().asscalar())
        spent.append(time.perf_counter() - tic)
        return value

    with mock.patch.object(optimizers, "_lbfgs", scipy_lbfgs if use_scipy else optimizers._lbfgs):
        optimizers.minimize(mx.nd.zeros(shape), evaluate, optimizer="lbfgs", steps=evaluations,
                            lr=0.1, bounds=pixel_bounds(shape))
    return statistics.median(t1 - t0 - s for t0, t1, s in zip(stamps[2:], stamps[3:], spent[2:]))


def one_run(scorer, *, size: int, evaluations: int, every: int, use_scipy: bool) -> dict:
    settings = dict(size=size, budget=evaluations, every=every, target=None,
                    optimizer="lbfgs", lr=0.1, pyramid=())
    if use_scipy:
        with mock.patch.object(optimizers, "_lbfgs", scipy_lbfgs):
            return run(scorer, **settings)
    return run(scorer, **settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--evaluations", type=int, default=100)
    parser.add_argument("--score-every", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    from gluon_style.runtime import cpu_name

    print(f"{cpu_name()}; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; size {args.size}",
          flush=True)
    scorer = Scorer(args.size)
    shape = (1, 3, *scorer.shape)
    for name in ("package", "scipy"):
        ms = 1000 * statistics.median(alone(shape, use_scipy=name == "scipy") for _ in range(3))
        print(f"{name} L-BFGS alone at {shape[3]}x{shape[2]}: {ms:.1f} ms per evaluation",
              flush=True)
    results = {"package": [], "scipy": []}
    for i in range(args.repeats):
        for name in results:
            r = one_run(scorer, size=args.size, evaluations=args.evaluations,
                        every=args.score_every, use_scipy=name == "scipy")
            stamps = [h["seconds"] for h in r["history"]]
            r["per_eval"] = statistics.median(b - a for a, b in zip(stamps[1:], stamps[2:]))
            results[name].append(r)
            print(f"round {i + 1} {name}: {r['per_eval']:.3f} s per evaluation, delivered "
                  f"score {r['final']:.5g} after {r['evaluations']} evaluations", flush=True)
    print(f"\nbest delivered score within k evaluations (last round)\n{'k':>5} "
          + "".join(f"{name:>12}" for name in results))
    best = {name: np.minimum.accumulate([s for _, s in rs[-1]["scored"]])
            for name, rs in results.items()}
    for k, row in enumerate(zip(*best.values())):
        print(f"{k * args.score_every:>5} " + "".join(f"{score:>12.5g}" for score in row))
    med = {name: statistics.median(r["per_eval"] for r in rs) for name, rs in results.items()}
    print(f"\nseconds per evaluation (median of rounds): package {med['package']:.3f}, "
          f"scipy {med['scipy']:.3f}: package / scipy {med['package'] / med['scipy']:.3f}")


if __name__ == "__main__":
    main()
