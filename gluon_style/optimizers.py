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
* ``'lbfgs'``: scipy's L-BFGS-B within the valid pixel range, as Gatys et al. used L-BFGS.
"""
from __future__ import annotations

import math

import mxnet as mx
import numpy as np

OPTIMIZERS = ("normalized_gd", "adam", "lbfgs")
BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
GRAD_EPS = 1e-8   # keeps normalized GD finite at a zero gradient


def minimize(X, evaluate, *, optimizer: str, steps: int, lr: float, lr_decay: float = 1.0,
             lr_decay_every: int = 50, bounds=None, on_step=None, stop=None):
    """Optimize ``X`` with ``steps`` gradient evaluations; returns (image, how it ended).

    ``how`` is 'done', 'stopped' (``stop(X)`` returned True) or 'interrupted' (Ctrl-C).
    The image is the last one for a finished gradient-descent run and the lowest-loss one
    seen otherwise (L-BFGS's last evaluation may be a rejected line-search trial).
    ``bounds`` = (lo, hi) arrays of X's shape for L-BFGS; ``on_step()`` after each update.
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


def _descend(X, evaluate, *, adam: bool, steps, lr, lr_decay, lr_decay_every, on_step) -> bool:
    """Normalized GD or Adam; a final evaluation of the last image. True if asked to stop."""
    m = v = None
    for step in range(steps):
        _, stop = evaluate(step, lr)
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
    evaluate(steps, lr, gradient=False)  # the final image, after the last update
    return False


class _Budget(Exception):
    """Raised inside scipy's objective when the evaluation budget is spent."""


def _lbfgs(X, evaluate, *, steps: int, lr: float, bounds, on_step) -> bool:
    """scipy's L-BFGS-B over X's pixels, ``steps`` + 1 loss evaluations at most.

    L-BFGS-B's first step with bounds is x - g, so its size depends on the loss's scale
    (with small weights it can be too small to register in float32). The objective handed
    to scipy is therefore the loss times lr / mean|g_0|: the first step changes a pixel by
    lr on average, as in normalized gradient descent; later steps follow L-BFGS's own
    curvature estimate, which a constant factor does not change. The image crosses between
    float64 (scipy) and float32 (MXNet) once per evaluation, one copy each way.
    Returns True if ``evaluate`` asked to stop.
    """
    from scipy.optimize import Bounds, minimize as scipy_minimize

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

    lo, hi = ((np.full(X.size, -np.inf), np.full(X.size, np.inf)) if bounds is None
              else (np.ravel(bounds[0]), np.ravel(bounds[1])))
    x0 = np.clip(X.asnumpy().astype(np.float64).ravel(), lo, hi)
    try:
        # ftol = gtol = 0: run until the budget is spent (or the line search gives up).
        scipy_minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=Bounds(lo, hi),
                       options=dict(maxiter=steps + 1, maxfun=steps + 1, ftol=0.0, gtol=0.0))
    except _Budget:
        pass
    return stopped
