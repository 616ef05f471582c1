import mxnet as mx
import numpy as np
from numpy.testing import assert_allclose

from gluon_style import losses


def nd(a):
    return mx.nd.array(np.asarray(a, dtype=np.float32))


def test_content_loss_is_mean_squared_error():
    Y_hat, Y = nd([[1, 2], [3, 4]]), nd([[1, 0], [0, 4]])
    assert_allclose(losses.content_loss(Y_hat, Y).asscalar(), (0 + 4 + 9 + 0) / 4)


def test_gram_by_hand():
    # two channels on a 2x2 map: F = [[1, 2, 3, 4], [0, 1, 0, 1]], H*W = 4
    X = nd([[[[1, 2], [3, 4]], [[0, 1], [0, 1]]]])
    expected = np.array([[1 + 4 + 9 + 16, 0 + 2 + 0 + 4], [6, 0 + 1 + 0 + 1]]) / 4
    assert_allclose(losses.gram(X).asnumpy(), expected)


def test_gram_rejects_batches():
    import pytest

    with pytest.raises(ValueError, match="1, C, H, W"):
        losses.gram(mx.nd.ones((2, 3, 4, 4)))


def test_style_loss_by_hand():
    X = nd([[[[1, 2], [3, 4]], [[0, 1], [0, 1]]]])
    target = np.zeros((2, 2), np.float32)
    G = np.array([[30, 6], [6, 2]]) / 4
    assert_allclose(losses.style_loss(X, nd(target)).asscalar(), (G ** 2).mean(), rtol=1e-6)
    assert losses.style_loss(X, losses.gram(X)).asscalar() == 0


def test_tv_loss_by_hand():
    X = nd([[[[0, 1, 3], [2, 2, 2]]]])  # 1 channel, 2x3
    vertical = np.abs([2 - 0, 2 - 1, 2 - 3]).mean()          # 5/3
    horizontal = np.abs([1 - 0, 3 - 1, 2 - 2, 2 - 2]).mean()  # 3/4
    assert_allclose(losses.tv_loss(X).asscalar(), 0.5 * (vertical + horizontal), rtol=1e-6)
    assert losses.tv_loss(mx.nd.ones((1, 3, 5, 5))).asscalar() == 0
