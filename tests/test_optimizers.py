"""The projected L-BFGS's pieces against hand-computed values, and its runs on quadratics."""
import mxnet as mx
import numpy as np
from mxnet import autograd
from numpy.testing import assert_allclose

from gluon_style import optimizers


def _quadratic(c, seen, steps=None):
    """``evaluate`` for sum((X - c)^2), recording every (loss, image) it is asked for (and
    the step numbers it was given, in ``steps``)."""
    def evaluate(X, step, lr, gradient=True):
        with autograd.record():
            L = ((X - c) ** 2).sum()
        L.backward()
        seen.append((float(L.asscalar()), X.asnumpy()))
        if steps is not None:
            steps.append(step)
        return seen[-1][0]
    return evaluate


def test_two_loop_equals_the_dense_bfgs_update():
    """H q from the recursion equals the inverse-Hessian estimate built pair by pair:
    H <- (I - rho s y') H (I - rho y s') + rho s s', from H0 = (s.y / y.y) I of the last pair."""
    rng = np.random.default_rng(0)
    n = 6
    A = rng.standard_normal((n, n))
    A = A @ A.T + n * np.eye(n)   # symmetric positive definite, so s.y > 0
    S = rng.standard_normal((4, n))
    pairs = [(s.astype(np.float32), (A @ s).astype(np.float32), 1.0 / float(s @ A @ s))
             for s in S]
    s, y = S[-1], A @ S[-1]
    H = (s @ y) / (y @ y) * np.eye(n)
    for s in S:
        y, rho = A @ s, 1.0 / (s @ A @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    q = rng.standard_normal(n).astype(np.float32)
    assert_allclose(optimizers._two_loop(q, pairs), H @ q, rtol=1e-4)
    assert_allclose(optimizers._two_loop(q, []), q)   # no pairs: H = I


def test_free_pixels_by_hand():
    lo, hi = np.zeros(5, np.float32), np.ones(5, np.float32)
    x = np.array([0, 0, 0.5, 1, 1], np.float32)
    g = np.array([1, -1, 5, -1, 1], np.float32)   # +: the step -g goes down; -: it goes up
    assert optimizers._free(x, g, lo=lo, hi=hi).tolist() == [0, 1, 1, 0, 1]
    assert optimizers._free(x, g, lo=None, hi=None).tolist() == [1] * 5


def test_shrink_by_hand():
    # parabola through f(0) = 1, f'(0) = -2, f(1) = 1.5: 1 - 2t + 2.5t^2, minimum at 0.4
    assert_allclose(optimizers._shrink(1.0, f=1.0, f_new=1.5, slope=-2.0), 0.4)
    assert optimizers._shrink(1.0, f=1.0, f_new=1e9, slope=-2.0) == 0.1   # at most 10x smaller
    assert optimizers._shrink(1.0, f=1.0, f_new=-1.0, slope=-1.0) == 0.5  # no curvature seen


def test_first_step_then_exact_backtrack_on_a_quadratic():
    """sum((X - c)^2) from 0, c = (1, 2, 3), with lr = 8 = 2 mean|g0|: the first trial is
    X = 4c (the loss rises from 14 to 126); the parabola through it is the loss itself, so
    the second trial is at a quarter of the first step (halving would give 2c), X = c, the
    minimum, where the gradient is 0 and the run ends: three evaluations."""
    c = mx.nd.array(np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1))
    seen = []
    best, how = optimizers.minimize(mx.nd.zeros((1, 3, 1, 1)), _quadratic(c, seen),
                                    optimizer="lbfgs", steps=10, lr=8.0)
    assert how == "done" and len(seen) == 3
    assert_allclose([loss for loss, _ in seen[:2]], [14, 126], rtol=1e-6)
    assert_allclose(seen[1][1].ravel(), [4, 8, 12], rtol=1e-6)
    assert_allclose(seen[2][1].ravel(), [1, 2, 3], rtol=1e-6)
    assert_allclose(best.asnumpy().ravel(), [1, 2, 3], rtol=1e-6)


def test_first_step_moves_a_pixel_by_lr_on_average_then_converges():
    rng = np.random.default_rng(1)
    scale = mx.nd.array(rng.uniform(0.5, 5.0, (1, 3, 4, 4)))   # condition number up to 100
    c = mx.nd.array(rng.standard_normal((1, 3, 4, 4)))
    seen = []

    def evaluate(X, step, lr, gradient=True):
        with autograd.record():
            L = (scale * (X - c) ** 2).sum()
        L.backward()
        seen.append((float(L.asscalar()), X.asnumpy()))
        return seen[-1][0]

    best, _ = optimizers.minimize(mx.nd.zeros(c.shape), evaluate, optimizer="lbfgs",
                                  steps=60, lr=0.05)
    assert_allclose(np.abs(seen[1][1] - seen[0][1]).mean(), 0.05, rtol=1e-5)
    assert min(s[0] for s in seen) < 1e-8 * seen[0][0]
    assert_allclose(best.asnumpy(), c.asnumpy(), atol=1e-4)


def test_budget_ends_inside_a_line_search_with_evaluations_numbered_in_order():
    """With a first step far too long every trial is rejected: the budget of steps + 1 = 4
    evaluations ends inside the line search, numbered 0, 1, 2, 3; the best image is the
    start, and each trial's step is 1/10 of the previous (the lower clamp of the parabola)."""
    c = mx.nd.array(np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1))
    seen, steps = [], []
    best, how = optimizers.minimize(mx.nd.zeros((1, 3, 1, 1)), _quadratic(c, seen, steps),
                                    optimizer="lbfgs", steps=3, lr=4e4)
    assert how == "done" and steps == [0, 1, 2, 3]
    assert_allclose(best.asnumpy(), 0.0)
    trial_steps = [np.abs(image).mean() for _, image in seen[1:]]
    assert_allclose(trial_steps, [4e4, 4e3, 4e2], rtol=1e-5)


def test_stop_on_a_rejected_trial_returns_the_best_image():
    c = mx.nd.array(np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1))
    seen = []
    best, how = optimizers.minimize(mx.nd.zeros((1, 3, 1, 1)), _quadratic(c, seen),
                                    optimizer="lbfgs", steps=10, lr=4e4,
                                    stop=lambda X: len(seen) == 2)
    assert how == "stopped" and len(seen) == 2 and seen[1][0] > seen[0][0]
    assert_allclose(best.asnumpy(), 0.0)   # the start, not the rejected trial in X
