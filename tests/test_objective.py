import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd
from numpy.testing import assert_allclose

import gluon_style as gs
from gluon_style import losses
from gluon_style.objective import Objective, Term


def _loss_and_grad(objective, Y, given=None):
    Y = Y.copy()
    Y.attach_grad()
    with autograd.record():
        c, s, t = objective(Y, given)
        total = c + s + t
    total.backward()
    return np.array([v.asscalar() for v in (c, s, t)]), Y.grad.asnumpy()


def test_compiled_terms_equal_the_imperative_ones():
    """Constant and per-call targets, Gram, mean/std and content terms, masks and TV: the
    compiled terms give the same loss and image gradient as the same terms run op by op."""
    mx.random.seed(0)
    net = gs.vgg19_features(["relu1_1", "relu2_1", "relu2_2", "relu3_1"], pretrained=False)
    C, S = mx.nd.random.normal(shape=(1, 3, 40, 40)), mx.nd.random.normal(shape=(1, 3, 40, 48))
    fc, fs = net(C), net(S)
    mask = mx.nd.array(np.tri(20, 20, dtype=np.float32)[None, None])
    terms = [Term("content", "relu2_2", 3.0, "content", target={"Y": fc["relu2_2"]}),
             Term("style", "relu1_1", 1.0, "gram", target={"G": losses.gram(mx.nd, fs["relu1_1"])}),
             Term("style", "relu2_1", 0.5, "gram", given=("G",),
                  mask=mask),
             Term("style", "relu3_1", 2.0, "mean_std", given=("mean", "std"))]
    mean, std = losses.channel_stats(mx.nd, fs["relu3_1"])
    given = {2: {"G": losses.gram(mx.nd, fs["relu2_1"])}, 3: {"mean": mean, "std": std}}
    X = C + 0.3 * mx.nd.random.normal(shape=C.shape)
    compiled = Objective(net=net, terms=terms, tv_weight=10.0)
    imperative = Objective(net=net, terms=terms, tv_weight=10.0)
    imperative.terms.hybridize(active=False)
    (a, ga), (b, gb) = _loss_and_grad(compiled, X, given), _loss_and_grad(imperative, X, given)
    assert_allclose(a, b, rtol=1e-5)
    assert_allclose(ga, gb, rtol=1e-4, atol=1e-6 * np.abs(gb).max())


@pytest.mark.pretrained
def test_gradient_matches_finite_differences_on_johnsons_layers():
    """Traced into one graph with the network, MXNet 1.9.1 got this gradient wrong (a 68%
    error): content at relu2_2 with a Gram term at relu1_2, which feeds a pooling layer."""
    net = gs.vgg19_features(["relu1_2", "relu2_2"], progress=False)
    mx.random.seed(0)
    C, S, Y = (mx.nd.random.normal(shape=(1, 3, 32, 32)) for _ in range(3))
    terms = [Term("content", "relu2_2", 1.0, "content", target={"Y": net(C)["relu2_2"]}),
             Term("style", "relu1_2", 1.0 / 64 ** 2, "gram",
                  target={"G": losses.gram(mx.nd, net(S)["relu1_2"])})]
    objective = Objective(net=net, terms=terms, tv_weight=0.0)
    _, grad = _loss_and_grad(objective, Y)
    h, D = 1e-3, np.random.default_rng(0).normal(size=Y.shape).astype(np.float32)
    total = lambda Z: sum(float(v.asscalar()) for v in objective(Z))  # noqa: E731
    numeric = (total(Y + h * mx.nd.array(D)) - total(Y - h * mx.nd.array(D))) / (2 * h)
    # 4510 on a 2-core EPYC; the single graph gave 1013
    assert_allclose((grad * D).sum(), numeric, rtol=5e-3)


def test_bad_group_is_refused():
    net = gs.vgg19_features(["relu1_1"], pretrained=False)
    with pytest.raises(ValueError, match="invalid term group"):
        Objective(net=net, terms=[Term("colour", "relu1_1", 1.0, "content", given=("Y",))],
                  tv_weight=0.0)
