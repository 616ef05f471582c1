import mxnet as mx
import numpy as np
from numpy.testing import assert_allclose

from gluon_style import losses


def nd(a):
    return mx.nd.array(np.asarray(a, dtype=np.float32))


def test_content_loss_is_mean_squared_error():
    Y_hat, Y = nd([[1, 2], [3, 4]]), nd([[1, 0], [0, 4]])
    assert_allclose(losses.content_loss(mx.nd, Y_hat, Y).asscalar(), (0 + 4 + 9 + 0) / 4)


def test_gram_by_hand():
    # two channels on a 2x2 map: F = [[1, 2, 3, 4], [0, 1, 0, 1]], H*W = 4
    X = nd([[[[1, 2], [3, 4]], [[0, 1], [0, 1]]]])
    expected = np.array([[1 + 4 + 9 + 16, 0 + 2 + 0 + 4], [6, 0 + 1 + 0 + 1]]) / 4
    assert_allclose(losses.gram(mx.nd, X).asnumpy(), expected[None])


def test_gram_of_a_batch_by_hand():
    X = np.random.default_rng(0).normal(size=(2, 3, 2, 4)).astype(np.float32)
    F = X.reshape(2, 3, 8)
    assert_allclose(losses.gram(mx.nd, nd(X)).asnumpy(), np.einsum("nci,ndi->ncd", F, F) / 8,
                    rtol=1e-5)


def test_gram_loss_by_hand():
    X = nd([[[[1, 2], [3, 4]], [[0, 1], [0, 1]]]])
    target = np.zeros((2, 2), np.float32)
    G = np.array([[30, 6], [6, 2]]) / 4
    assert_allclose(losses.gram_loss(mx.nd, X, nd(target)).asscalar(), (G ** 2).mean(), rtol=1e-6)
    assert losses.gram_loss(mx.nd, X, losses.gram(mx.nd, X)).asscalar() == 0


def test_tv_loss_by_hand():
    X = nd([[[[0, 1, 3], [2, 2, 2]]]])  # 1 channel, 2x3
    vertical = np.abs([2 - 0, 2 - 1, 2 - 3]).mean()          # 5/3
    horizontal = np.abs([1 - 0, 3 - 1, 2 - 2, 2 - 2]).mean()  # 3/4
    assert_allclose(losses.tv_loss(mx.nd, X).asscalar(), 0.5 * (vertical + horizontal), rtol=1e-6)
    assert losses.tv_loss(mx.nd, mx.nd.ones((1, 3, 5, 5))).asscalar() == 0


# --- other style representations (Li et al. 2017) ---------------------------------

import math  # noqa: E402

import pytest  # noqa: E402
from mxnet import autograd  # noqa: E402

X2 = [[[[1, 2], [3, 4]], [[0, 1], [0, 1]]]]      # channel means 2.5, 0.5; variances 1.25, 0.25
Y2 = [[[[0, 0], [0, 0]], [[2, 2], [2, 2]]]]      # means 0, 2; variances 0


def distance(kind, X, Y, **kw):
    summary = losses.representation(kind, **kw)
    return float(summary.loss(mx.nd, nd(X), **summary.target(nd(Y))).asscalar())


def test_mean_std_and_linear_mmd_by_hand():
    std = lambda var: math.sqrt(var + losses.EPS)  # noqa: E731  (the std's epsilon)
    expected = (2.5 ** 2 + 1.5 ** 2 + (std(1.25) - std(0)) ** 2 + (std(0.25) - std(0)) ** 2) / 2
    assert_allclose(distance("mean_std", X2, Y2), expected, rtol=1e-5)
    assert_allclose(distance("mmd_linear", X2, Y2), 2.5 ** 2 + 1.5 ** 2, rtol=1e-6)
    assert distance("mean_std", X2, X2) < 1e-10


def test_gaussian_mmd_by_hand():
    # one channel; image positions {0, 1}, style positions {0, 2}
    X, Y = [[[[0, 1]]]], [[[[0, 2]]]]
    s2 = 4.0  # mean squared distance between the two distinct style positions
    k = lambda d2: math.exp(-d2 / (2 * s2))  # noqa: E731
    kxx = (2 + 2 * k(1)) / 4
    kyy = (2 + 2 * k(4)) / 4
    kxy = (k(0) + k(4) + k(1) + k(1)) / 4
    assert_allclose(distance("mmd_gaussian", X, Y), kxx + kyy - 2 * kxy, rtol=1e-5)


def test_polynomial_mmd_is_the_gram_loss_times_channels_squared():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1, 3, 4, 5))
    Y = rng.normal(size=(1, 3, 6, 2))  # a different number of positions
    gram_loss = losses.gram_loss(mx.nd, nd(X), losses.gram(mx.nd, nd(Y))).asscalar()
    assert_allclose(distance("mmd_poly", X, Y), 3 ** 2 * gram_loss, rtol=1e-4)


def test_mean_cov_is_w2_between_gaussians():
    # one channel: W2^2 = (mu - mu')^2 + (sigma - sigma')^2
    X, Y = [[[[1, 2, 3, 4]]]], [[[[0, 0, 4, 4]]]]
    assert_allclose(distance("mean_cov", X, Y), (2.5 - 2) ** 2 + (math.sqrt(1.25) - 2) ** 2,
                    rtol=1e-5)
    # uncorrelated channels (diagonal covariances): equals the mean/std loss
    a, b = np.array([1, -1, 1, -1.0]), np.array([1, 1, -1, -1.0])
    X = np.stack([a + 3, 2 * b - 1]).reshape(1, 2, 2, 2)
    Y = np.stack([0.5 * a, 3 * b + 2]).reshape(1, 2, 2, 2)
    assert_allclose(distance("mean_cov", X, Y), distance("mean_std", X, Y), rtol=1e-4)


def test_mean_cov_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(1, 2, 3, 3)), rng.normal(size=(1, 2, 3, 3)) * 2 + 1
    summary = losses.representation("mean_cov")
    target = summary.target(nd(Y))
    Xn = nd(X)
    Xn.attach_grad()
    with autograd.record():
        L = summary.loss(mx.nd, Xn, **target)
    L.backward()
    grad, h = Xn.grad.asnumpy(), 1e-2
    for idx in [(0, 0, 0, 0), (0, 1, 2, 1), (0, 0, 1, 2)]:
        up, down = X.copy(), X.copy()
        up[idx] += h
        down[idx] -= h
        fd = (summary.loss(mx.nd, nd(up), **target).asscalar()
              - summary.loss(mx.nd, nd(down), **target).asscalar()) / (2 * h)
        assert_allclose(grad[idx], fd, rtol=2e-2, atol=1e-3)


def test_kernel_mmd_samples_at_most_the_budget_and_rejects_unknown_kinds():
    np.random.seed(0)
    Y = nd(np.random.normal(size=(1, 2, 4, 4)))
    summary = losses.representation("mmd_gaussian", samples=5)
    target = summary.target(Y)
    assert target["Ys"].shape == (5, 2)
    assert np.isfinite(summary.loss(mx.nd, Y, **target).asscalar())
    with pytest.raises(ValueError, match="invalid style representation 'wasserstein'.*mean_cov"):
        losses.representation("wasserstein")
