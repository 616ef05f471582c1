"""Optimizers over the pixels of one image: normalized gradient descent, Adam, L-BFGS.

They know nothing of style transfer. Each is handed the image ``X`` and
``evaluate(X, step, lr, gradient=True)``, which returns the loss at ``X`` (and fills
``X.grad``), and optionally ``stop(X)``, asked after every evaluation whether to end the
run. ``steps`` counts evaluations that are followed by an update (for L-BFGS: loss
evaluations, line-search trials included), so the methods compare at equal cost.

* ``'normalized_gd'`` (the MXNet/Gluon tutorial): X -= lr * g / mean|g|, so ``lr`` is about
  the average change of a normalized pixel per step whatever the loss weights; lr is
  multiplied by ``lr_decay`` every ``lr_decay_every`` steps.
* ``'adam'`` (Kingma and Ba 2015) with bias correction, same lr schedule.
* ``'lbfgs'``: L-BFGS projected onto the valid pixel range, as Gatys et al. used L-BFGS.
"""
from __future__ import annotations

import collections
import math

import mxnet as mx
import numpy as np

OPTIMIZERS = ("normalized_gd", "adam", "lbfgs")
BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
GRAD_EPS = 1e-8   # keeps normalized GD finite at a zero gradient
HISTORY = 10      # L-BFGS (s, y) pairs kept, the default of scipy and PyTorch
ARMIJO = 1e-4     # L-BFGS sufficient decrease (Nocedal and Wright's c1)
CURVATURE_EPS = 1e-10   # an (s, y) pair is kept only if s.y > CURVATURE_EPS * y.y


def minimize(X, evaluate, *, optimizer: str, steps: int, lr: float, lr_decay: float = 1.0,
             lr_decay_every: int = 50, bounds=None, on_step=None, stop=None):
    """Optimize ``X`` with ``steps`` updates; returns (image, how it ended).

    ``how`` is 'done', 'stopped' (``stop(X)`` returned True) or 'interrupted' (Ctrl-C).
    The image is the last one for a finished gradient-descent run and the lowest-loss one
    seen otherwise (L-BFGS's last evaluation may be a rejected line-search trial).
    ``bounds`` = (lo, hi) arrays of X's shape for L-BFGS; ``on_step()`` after each update
    (L-BFGS: after each evaluation but the first, line-search trials included).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"invalid optimizer {optimizer!r}; options are {OPTIMIZERS}")
    X = X.copy()
    X.attach_grad()
    best = [math.inf, X.copy()]

    def tracked(step, step_lr, gradient=True):
        """The loss at X, the best image so far updated; (total, whether to stop)."""
        total = evaluate(X, step, step_lr, gradient=gradient)
        if total < best[0]:
            best[:] = [total, X.copy()]
        return total, stop is not None and stop(X) is True

    try:
        if optimizer == "lbfgs":
            stopped = _lbfgs(X, tracked, steps=steps, lr=lr, bounds=bounds, on_step=on_step)
            return best[1], "stopped" if stopped else "done"
        if _descend(X, tracked, adam=optimizer == "adam", steps=steps, lr=lr, lr_decay=lr_decay,
                    lr_decay_every=lr_decay_every, on_step=on_step):
            return best[1], "stopped"
        return X, "done"
    except KeyboardInterrupt:
        return best[1], "interrupted"


def _descend(X, track, *, adam: bool, steps, lr, lr_decay, lr_decay_every, on_step) -> bool:
    """Normalized GD or Adam; a final evaluation of the last image. True if asked to stop."""
    m = v = None
    for step in range(steps):
        _, stop = track(step, lr)
        if stop:
            return True
        g = X.grad
        if not adam:
            X[:] = X - lr * g / (g.abs().mean() + GRAD_EPS)
        else:
            if m is None:
                m, v = mx.nd.zeros_like(X), mx.nd.zeros_like(X)
            m[:] = BETA1 * m + (1 - BETA1) * g
            v[:] = BETA2 * v + (1 - BETA2) * g * g
            k = step + 1
            X[:] = X - lr * (m / (1 - BETA1 ** k)) / ((v / (1 - BETA2 ** k)).sqrt() + ADAM_EPS)
        if (step + 1) % lr_decay_every == 0:
            lr *= lr_decay
        if on_step is not None:
            on_step()
    track(steps, lr, gradient=False)  # the final image, after the last update
    return False


def _lbfgs(X, track, *, steps: int, lr: float, bounds, on_step) -> bool:
    """Projected L-BFGS over X's pixels, in float32, ``steps`` + 1 evaluations at most.

    A search direction from the last ``HISTORY`` (s, y) pairs by the two-loop recursion
    (Nocedal and Wright, Alg. 7.4), over the pixels free to move: a pixel on a bound whose
    gradient pushes it outward stays there. Trial points are projected onto the bounds, and
    accepted on sufficient decrease (Armijo, along the projected step), else the step
    shrinks by quadratic interpolation. With no curvature known (the first step, or a
    restart after a direction that does not descend) the step moves the pixels by ``lr``
    on average (the pinned ones not at all) before clipping, as normalized gradient descent
    does; otherwise it starts at 1, L-BFGS's own scale. So ``lr`` sets the first step, and
    through the first (s, y) pair the scale of the next ones. ``track(step, lr)`` -> (loss
    at X, whether to stop) fills X.grad; ``on_step()`` after every evaluation but the first. The vectors are NumPy arrays:
    on the CPU their dot products and updates took 0.04-0.1 ms at 512 px against 1-3 ms as
    NDArray operations (benchmarks/lbfgs.py). Returns True if asked to stop.
    """
    lo, hi = (None, None) if bounds is None else (np.asarray(b, np.float32) for b in bounds)
    clip = (lambda x: x) if bounds is None else (lambda x: np.clip(x, lo, hi))

    def at(x, count):
        """Loss, gradient and stop request at x, evaluation number ``count``."""
        X[:] = x
        f, stop = track(count, None)
        return f, X.grad.asnumpy(), stop

    x = clip(X.asnumpy())
    f, g, stopped = at(x, 0)
    count, pairs = 1, collections.deque(maxlen=HISTORY)
    while count <= steps and not stopped:
        free = _free(x, g, lo=lo, hi=hi)
        d = -free * _two_loop(free * g, pairs)
        t, slope = 1.0, _dot(g, d)
        if not pairs or slope >= 0:   # no curvature yet, or not a descent direction
            pairs.clear()
            d = -free * g
            t, slope = lr / max(float(np.abs(d).mean()), 1e-30), _dot(g, d)
        if slope == 0:   # every pixel pinned or a zero gradient: nothing can decrease
            break
        while count <= steps and not stopped:   # backtracking on the projected path
            x_new = clip(x + np.float32(t) * d)
            f_new, g_new, stopped = at(x_new, count)
            count += 1
            if on_step is not None:
                on_step()
            s = x_new - x
            descent = _dot(g, s)   # < 0 unless clipping removed the step's downhill part
            if descent < 0 and f_new <= f + ARMIJO * descent:
                y = g_new - g
                sy = _dot(s, y)
                if sy > CURVATURE_EPS * _dot(y, y):
                    pairs.append((s, y, 1.0 / sy))
                x, f, g = x_new, f_new, g_new
                break
            t = _shrink(t, f=f, f_new=f_new, slope=slope)
    return stopped


def _two_loop(q, pairs):
    """H q for L-BFGS's inverse-Hessian estimate H from ``pairs`` of (s, y, 1 / s.y)."""
    q, alphas = q.copy(), []
    for s, y, rho in reversed(pairs):
        alphas.append(rho * _dot(s, q))
        q -= np.float32(alphas[-1]) * y
    if pairs:
        _, y, rho = pairs[-1]
        q *= np.float32(1.0 / (rho * _dot(y, y)))   # H0 = (s.y / y.y) I, the latest curvature
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        q += np.float32(alpha - rho * _dot(y, q)) * s
    return q


def _free(x, g, *, lo, hi):
    """1 where a pixel may move, 0 where it sits on a bound and the gradient pushes it out."""
    if lo is None:
        return np.ones_like(x)
    return 1 - ((x <= lo) & (g > 0) | (x >= hi) & (g < 0)).astype(x.dtype)


def _shrink(t: float, *, f: float, f_new: float, slope: float) -> float:
    """The minimizer of the parabola through f, slope and f_new at t, kept in [t/10, t/2]."""
    curve = f_new - f - slope * t
    guess = -slope * t * t / (2 * curve) if curve > 0 else 0.5 * t
    return min(max(guess, 0.1 * t), 0.5 * t)


def _dot(a, b) -> float:
    return float(np.dot(a.ravel(), b.ravel()))
