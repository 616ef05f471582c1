import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd
from numpy.testing import assert_allclose

from gluon_style import adain, blocks, johnson


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(2.0, 3.0, size=shape).astype(np.float32)


def _by_hand(x, eps=1e-5):
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def test_instance_norm_by_hand():
    x = _x((2, 3, 4, 5))
    block = blocks.InstanceNorm(3)
    block.initialize()
    block.gamma.set_data(mx.nd.array([1.0, 2.0, 0.5]).reshape((1, 3, 1, 1)))
    block.beta.set_data(mx.nd.array([0.0, -1.0, 3.0]).reshape((1, 3, 1, 1)))
    expected = _by_hand(x) * np.array([1, 2, 0.5]).reshape(1, 3, 1, 1) + np.array([0, -1, 3]).reshape(1, 3, 1, 1)
    assert_allclose(block(mx.nd.array(x)).asnumpy(), expected, rtol=1e-4, atol=1e-4)


def _gradient_by_hand(x, g):
    # y = (x - m) / s per (sample, channel); for L = sum(g * y) the gradient is
    # dL/dx = (g - mean(g) - y * mean(g * y)) / s, means over the H x W positions.
    y = _by_hand(x)
    s = np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-5)
    mean = lambda a: a.mean(axis=(2, 3), keepdims=True)  # noqa: E731
    return (g - mean(g) - y * mean(g * y)) / s


def test_instance_normalize_gradient_by_hand():
    x, g = _x((2, 3, 4, 5), 3), _x((2, 3, 4, 5), 4)
    X = mx.nd.array(x)
    X.attach_grad()
    with autograd.record():
        loss = (blocks.instance_normalize(mx.nd, X) * mx.nd.array(g)).sum()
    loss.backward()
    assert_allclose(X.grad.asnumpy(), _gradient_by_hand(x, g), rtol=1e-3, atol=1e-4)


def test_batchnorm_instance_norm_gradient_by_hand():
    # blocks.instance_norm (BatchNorm of the batch seen as N*C channels) must give instance
    # norm's own gradient (_gradient_by_hand) for the output gradient times the scale
    x, g = _x((2, 3, 4, 5), 3), _x((2, 3, 4, 5), 4)
    scale = np.array([1.0, 2.0, 0.5, -1.0, 3.0, 0.25], np.float32)
    X = mx.nd.array(x)
    X.attach_grad()
    with autograd.record():
        y = blocks.instance_norm(mx.nd, X, mx.nd.array(scale), mx.nd.zeros(6),
                                 *blocks.scratch(X, channels=[3]))
        loss = (y * mx.nd.array(g)).sum()
    loss.backward()
    assert_allclose(y.asnumpy(), _by_hand(x) * scale.reshape(2, 3, 1, 1), rtol=1e-4, atol=1e-4)
    assert_allclose(X.grad.asnumpy(), _gradient_by_hand(x, g * scale.reshape(2, 3, 1, 1)),
                    rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("norm", ["instance", "conditional"])
def test_hybridized_transform_net_treats_each_sample_alone(norm):
    # instance norm runs as BatchNorm in training mode whatever the caller's mode, with
    # scratch statistics sized by the batch: a sample's output is the same alone or in a
    # batch of 3, recorded or not
    net = johnson.TransformNet(norm=norm, num_styles=2 if norm == "conditional" else 1)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    X = mx.nd.array(_x((3, 3, 16, 20), 6))
    mix = (mx.nd.array([[0.3, 0.7]] * 3),) if norm == "conditional" else ()
    with autograd.record():
        batch = net(X, *mix).asnumpy()
    alone = net(X[1:2], *(m[1:2] for m in mix)).asnumpy()
    assert_allclose(alone[0], batch[1], rtol=1e-4, atol=1e-4)
    assert np.abs(batch[0] - batch[1]).max() > 1e-2    # and the samples do differ


def test_transform_net_refuses_what_the_batchnorm_form_cannot_do(tmp_path):
    net = johnson.TransformNet(norm="conditional", num_styles=2)
    net.initialize(mx.init.Xavier())
    X = mx.nd.array(_x((2, 3, 16, 16), 7))
    # one style row applies to every image; a row count that fits neither is refused
    one = net(X, mx.nd.array([[0.2, 0.8]])).asnumpy()
    assert_allclose(one, net(X, mx.nd.array([[0.2, 0.8]] * 2)).asnumpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="1 or 2 rows"):
        net(X, mx.nd.array([[0.2, 0.8]] * 3))
    net.hybridize()
    net(X, mx.nd.array([[1.0, 0.0]]))
    with pytest.raises(NotImplementedError, match="predict mode"):
        net.export(str(tmp_path / "net"))

    class Around(mx.gluon.HybridBlock):   # a hybridized block around the network
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def hybrid_forward(self, F, x):
            return self.inner(x)

    around = Around(johnson.TransformNet())
    around.initialize()
    around.hybridize()
    with pytest.raises(TypeError, match="hybridize the network itself"):
        around(X)


def test_output_conv_equals_a_three_filter_convolution():
    # the zero filters that make it fast on CPU change neither the output nor the gradients
    x = _x((2, 4, 6, 7), 5)
    block = blocks.OutputConv(3, 3, in_channels=4)
    block.initialize(mx.init.Xavier())
    block.bias.set_data(mx.nd.array([0.5, -1.0, 2.0]))
    W, b = block.weight.data().asnumpy(), block.bias.data().asnumpy()
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    expected = np.zeros((2, 3, 6, 7), np.float32) + b.reshape(1, 3, 1, 1)
    for i in range(3):
        for j in range(3):  # correlation, one kernel tap at a time
            expected += np.einsum("oc,nchw->nohw", W[:, :, i, j], padded[:, :, i:i + 6, j:j + 7])
    block.hybridize()
    with autograd.record():
        out = block(mx.nd.array(x))
        loss = out.sum()
    loss.backward()
    assert out.shape == (2, 3, 6, 7)
    assert_allclose(out.asnumpy(), expected, rtol=1e-4, atol=1e-4)
    # d sum / d W[o, c, i, j] = sum of the padded input under tap (i, j), the same for every o
    taps = np.array([[padded[:, :, i:i + 6, j:j + 7].sum(axis=(0, 2, 3)) for j in range(3)]
                     for i in range(3)]).transpose(2, 0, 1)
    assert_allclose(block.weight.grad().asnumpy(), np.broadcast_to(taps, (3, 4, 3, 3)), rtol=1e-4)
    assert_allclose(block.bias.grad().asnumpy(), [2 * 6 * 7] * 3)


def test_conditional_instance_norm_selects_and_mixes_styles():
    x = _x((2, 3, 4, 4))
    block = johnson.ConditionalInstanceNorm(3, num_styles=2)
    block.initialize()
    gamma = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]], np.float32)
    beta = np.array([[0.0, 1.0, 2.0], [5.0, 5.0, 5.0]], np.float32)
    block.gamma.set_data(mx.nd.array(gamma))
    block.beta.set_data(mx.nd.array(beta))
    out = block(mx.nd.array(x), mx.nd.array([[0, 1], [0.25, 0.75]])).asnumpy()
    # sample 0 with one-hot style 1 uses exactly style 1's parameters
    assert_allclose(out[0], _by_hand(x)[0] * gamma[1].reshape(3, 1, 1) + beta[1].reshape(3, 1, 1),
                    rtol=1e-4, atol=1e-4)
    # sample 1 mixes them linearly
    g, b = 0.25 * gamma[0] + 0.75 * gamma[1], 0.25 * beta[0] + 0.75 * beta[1]
    assert_allclose(out[1], _by_hand(x)[1] * g.reshape(3, 1, 1) + b.reshape(3, 1, 1),
                    rtol=1e-4, atol=1e-4)


def test_adain_output_has_the_style_statistics():
    content, style = _x((1, 4, 6, 7), 1), _x((1, 4, 5, 5), 2) * 0.3 + 7
    out = adain.adain(mx.nd, mx.nd.array(content), mx.nd.array(style)).asnumpy()
    assert_allclose(out.mean(axis=(2, 3)), style.mean(axis=(2, 3)), rtol=1e-4)
    assert_allclose(out.std(axis=(2, 3)), style.std(axis=(2, 3)), rtol=1e-3)
    # and the content's normalized pattern
    assert_allclose(_by_hand(out), _by_hand(content), atol=1e-3)


@pytest.mark.parametrize("norm, upsample", [("instance", "resize"), ("batch", "transposed"),
                                            ("conditional", "resize"), ("instance", "transposed")])
def test_transform_net_shapes_and_gradients(norm, upsample):
    num_styles = 3 if norm == "conditional" else 1
    net = johnson.TransformNet(norm=norm, upsample=upsample, num_styles=num_styles)
    net.initialize(mx.init.Xavier())
    X = mx.nd.array(_x((2, 3, 32, 40)))
    extra = (mx.nd.array([[1, 0, 0], [0, 0.5, 0.5]]),) if norm == "conditional" else ()
    with autograd.record():
        Y = net(X, *extra)
        loss = (Y ** 2).mean()
    loss.backward()
    assert Y.shape == X.shape
    params = net.collect_params()
    trainable = [p for p in params.values() if p.grad_req != "null"]
    # Johnson et al.'s conv stack: 3 down + 10 residual + 2 up + 1 out
    assert sum(p.name.endswith("weight") and p.data().ndim == 4 for p in trainable) == 16
    transposed = [isinstance(up.layer.conv, mx.gluon.nn.Conv2DTranspose) for up in net.up]
    assert transposed == [upsample == "transposed"] * 2
    for p in trainable:
        if norm == "conditional" and p.name.endswith(("gamma", "beta")):
            g = p.grad().asnumpy()
            assert np.abs(g[0]).sum() > 0 and np.abs(g[1]).sum() > 0, p.name   # styles in use
        else:
            assert np.abs(p.grad().asnumpy()).sum() > 0, p.name


@pytest.mark.parametrize("norm", ["instance", "conditional", "batch"])
def test_a_transposed_network_trains_a_batch_hybridized(norm):
    # MXNet 1.9.1 corrupted the heap with the hybridized transposed + instance-norm graph at
    # batch >= 2 (see TransformNet.hybridize): in a child process, so an abort fails the test
    import subprocess
    import sys

    script = f"""
import gluon_style, mxnet as mx
from mxnet import autograd
from gluon_style.johnson import TransformNet
styles = 2 if {norm!r} == "conditional" else 1
net = TransformNet(norm={norm!r}, upsample="transposed", num_styles=styles)
net.initialize(mx.init.Xavier())
net.hybridize(static_alloc=True)
mix = [mx.nd.array([[1, 0], [0, 1]])] if {norm!r} == "conditional" else []
for _ in range(3):
    with autograd.record():
        loss = (net(mx.nd.random.uniform(shape=(2, 3, 16, 16)), *mix) ** 2).mean()
    loss.backward()
mx.nd.waitall()
print("hybridized", net._active)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == f"hybridized {norm == 'batch'}"


def test_transform_net_rejects_bad_settings():
    with pytest.raises(ValueError, match="instance"):
        johnson.TransformNet(norm="layer")
    with pytest.raises(ValueError, match="resize"):
        johnson.TransformNet(upsample="bilinear")
    with pytest.raises(ValueError, match="conditional"):
        johnson.TransformNet(norm="instance", num_styles=2)


def test_decoder_mirrors_the_encoder_to_relu4_1():
    dec = adain.Decoder()
    dec.initialize(mx.init.Xavier())
    assert dec(mx.nd.zeros((1, 512, 4, 5))).shape == (1, 3, 32, 40)
