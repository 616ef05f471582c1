import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd
from mxnet.gluon import nn
from mxnet.gluon.model_zoo import vision
from numpy.testing import assert_allclose

import gluon_style as gs
from gluon_style import vgg, weights


def test_layer_indices_match_the_tutorial():
    names = vgg.layer_names(19)
    # the Gluon tutorial's style indices [0, 5, 10, 19, 28] and content index [25]
    assert [names[i] for i in (0, 5, 10, 19, 28)] == ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    assert names[25] == "conv4_4" and names[36] == "pool5" and len(names) == 37
    assert len(vgg.layer_names(16)) == 31


@pytest.mark.parametrize("num_layers", [16, 19])
def test_names_match_the_model_zoo_layers(num_layers):
    features = vision.get_vgg(num_layers).features
    kinds = {"conv": nn.Conv2D, "relu": nn.Activation, "pool": nn.MaxPool2D}
    for i, name in enumerate(vgg.layer_names(num_layers)):
        assert isinstance(features[i], kinds[name[:4]]), (i, name)


def test_unknown_layer_lists_valid_names():
    with pytest.raises(ValueError, match="unknown VGG-19 layer.*conv6_1.*valid names are: conv1_1, relu1_1"):
        gs.vgg19_features(["conv6_1"], pretrained=False)
    with pytest.raises(ValueError, match=r"options are \[11, 13, 16, 19\]"):
        vgg.layer_names(12)
    with pytest.raises(ValueError, match="pooling"):
        gs.vgg19_features(["conv1_1"], pretrained=False, pooling="min")


def test_truncated_frozen_single_pass():
    gs.seed(0)
    net = gs.vgg19_features(["relu1_1", "conv3_2"], pretrained=False, pooling="avg")
    assert len(net.body) == vgg.layer_names().index("conv3_2") + 1
    assert any(isinstance(layer, nn.AvgPool2D) for layer in net.body)
    assert not any(isinstance(layer, nn.MaxPool2D) for layer in net.body)
    X = mx.nd.random.normal(shape=(1, 3, 40, 48))
    X.attach_grad()
    with autograd.record():
        out = net(X)
        loss = out["conv3_2"].sum() + out["relu1_1"].sum()
    loss.backward()
    assert out["relu1_1"].shape == (1, 64, 40, 48) and out["conv3_2"].shape == (1, 256, 10, 12)
    assert out["relu1_1"].min().asscalar() >= 0
    assert float(X.grad.abs().sum().asscalar()) > 0
    for p in net.collect_params().values():
        assert p.grad_req == "null"
    # hybridized gives the same features
    net.hybridize()
    again = net(X)
    assert_allclose(again["conv3_2"].asnumpy(), out["conv3_2"].asnumpy(), rtol=1e-5, atol=1e-5)


def test_gluon_zoo_params_are_accepted(tmp_cache):
    """A model-zoo vgg16 .params file (structural names) loads into vgg16_features."""
    mx.random.seed(0)
    zoo = vision.get_vgg(16)
    zoo.features.initialize(mx.init.Xavier())
    X = mx.nd.random.normal(shape=(1, 3, 32, 32))
    zoo.features(X)                                       # finishes deferred initialization
    expected = zoo.features[:23](X)                       # up to relu4_3 (index 22)
    models = tmp_cache / "models"
    models.mkdir()
    params = {f"features.{k}": p.data() for k, p in zoo.features._collect_params_with_prefix().items()}
    mx.nd.save(str(models / "vgg16-e660d456.params"), params)
    net = gs.vgg16_features(["relu4_3"], progress=False)
    assert net.weights_source == "gluon" and len(net.weights_sha256) == 64
    assert_allclose(net(X)["relu4_3"].asnumpy(), expected.asnumpy(), rtol=1e-4, atol=1e-5)


def test_vgg16_without_params_explains(tmp_cache):
    with pytest.raises(weights.WeightsUnavailableError, match="no Gluon model-zoo vgg16 params"):
        gs.vgg16_features(["relu2_2"])


@pytest.mark.pretrained
def test_pretrained_features_differ_from_random():
    X = gs.preprocess(gs.load_image("astronaut", max_size=64))
    real = gs.vgg19_features(["relu1_1"], progress=False)
    assert real.weights_source == "caffe"
    a = real(X)["relu1_1"].asnumpy()
    gs.seed(0)
    b = gs.vgg19_features(["relu1_1"], pretrained=False)(X)["relu1_1"].asnumpy()
    assert a.shape == b.shape and not np.allclose(a, b)
    # ImageNet first-layer filters respond strongly to an edge-rich photo, few channels are dead
    assert (a.reshape(64, -1).max(axis=1) > 0).mean() > 0.9


def test_layer_table_receptive_fields_by_hand():
    rows = {r["name"]: r for r in vgg.layer_table(19, height=64, width=96)}
    assert rows["conv1_1"]["receptive_field"] == 3 and rows["conv1_2"]["receptive_field"] == 5
    assert rows["pool1"]["receptive_field"] == 6 and rows["conv2_1"]["receptive_field"] == 10
    assert rows["conv5_4"]["receptive_field"] == 252 and rows["pool5"]["receptive_field"] == 268
    assert rows["relu3_1"]["shape"] == (256, 16, 24) and rows["pool5"]["shape"] == (512, 2, 3)


def _random_params(rng, shapes):
    """conv name -> (out, in): Gaussian weights, positive biases (no dead filters)."""
    out = {}
    for name, (o, i) in shapes.items():
        out[f"{name}.weight"] = rng.normal(0, 0.3, (o, i, 3, 3)).astype(np.float32)
        out[f"{name}.bias"] = rng.uniform(0.5, 1.0, o).astype(np.float32)
    return out


def test_normalize_activations_first_layer_by_hand():
    # On a 1x1 image with zero padding only the kernel centre sees the pixel:
    # relu1_1 = relu(W[:, :, 1, 1] @ x + b), so m is that, averaged over the two images.
    rng = np.random.default_rng(0)
    params = _random_params(rng, {"conv1_1": (4, 3)})
    images = [rng.normal(0, 1, (1, 3, 1, 1)).astype(np.float32) for _ in range(2)]
    expected = np.mean([np.maximum(params["conv1_1.weight"][:, :, 1, 1] @ x.ravel()
                                   + params["conv1_1.bias"], 0) for x in images], axis=0)
    new, means = vgg.normalize_activations(params, images=[mx.nd.array(x) for x in images])
    assert_allclose(means["relu1_1"], expected, rtol=1e-5)
    assert_allclose(new["conv1_1.weight"], params["conv1_1.weight"] / expected[:, None, None, None],
                    rtol=1e-5)
    assert_allclose(new["conv1_1.bias"], params["conv1_1.bias"] / expected, rtol=1e-5)


def test_normalized_network_has_unit_means_and_scaled_features():
    rng = np.random.default_rng(1)
    params = _random_params(rng, {"conv1_1": (4, 3), "conv1_2": (5, 4), "conv2_1": (6, 5)})
    images = [mx.nd.array(rng.normal(0, 1, (1, 3, 8, 6))) for _ in range(3)]
    new, means = vgg.normalize_activations(params, images=images)
    _, again = vgg.normalize_activations(new, images=images)
    for name in ("relu1_1", "relu1_2", "relu2_1"):
        assert_allclose(again[name], np.ones_like(again[name]), rtol=1e-4)

    def relu2_1(p, x):
        for conv in ("conv1_1", "conv1_2", "pool", "conv2_1"):
            if conv == "pool":
                x = mx.nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max")
                continue
            W = mx.nd.array(p[f"{conv}.weight"])
            x = mx.nd.Convolution(x, W, mx.nd.array(p[f"{conv}.bias"]), kernel=(3, 3),
                                  pad=(1, 1), num_filter=W.shape[0]).relu()
        return x.asnumpy()

    # same function up to one positive scale per channel
    assert_allclose(relu2_1(new, images[0]) * means["relu2_1"].reshape(1, -1, 1, 1),
                    relu2_1(params, images[0]), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="needs pretrained=True"):
        gs.vgg19_features(["relu1_1"], pretrained=False, normalized=True)


@pytest.mark.pretrained
def test_pretrained_normalized_vgg19_has_unit_means_on_its_photos():
    net = gs.vgg19_features(["relu4_1", "relu5_1"], normalized=True, progress=False)
    raw = gs.vgg19_features(["relu5_1"], progress=False)
    sums, count, raw_mean = 0, 0, 0
    for name in vgg.NORMALIZE_IMAGES:
        X = gs.preprocess(gs.load_image(name, max_size=vgg.NORMALIZE_SIZE))
        F = net(X)
        sums = sums + np.stack([F[k].sum(axis=(0, 2, 3)).asnumpy() for k in F])
        count += np.array([F[k].shape[2] * F[k].shape[3] for k in F])[:, None]
        raw_mean = raw_mean + raw(X)["relu5_1"].mean().asscalar()
    means = sums / count
    live = means > 0
    assert_allclose(means[live], 1.0, rtol=1e-3)
    assert raw_mean / len(vgg.NORMALIZE_IMAGES) > 2  # the raw network's scale is different
    assert net.weights_source == "caffe+normalized"


@pytest.mark.pretrained
def test_normalization_is_computed_once_per_process(monkeypatch):
    first = gs.vgg19_features(["relu2_1"], normalized=True, progress=False)

    def fail(*args, **kwargs):
        raise AssertionError("normalized again")

    monkeypatch.setattr(vgg, "normalize_activations", fail)
    again = gs.vgg19_features(["relu2_1"], normalized=True, progress=False)
    for a, b in zip(first.collect_params().values(), again.collect_params().values()):
        assert_allclose(a.data().asnumpy(), b.data().asnumpy(), rtol=0)


@pytest.mark.pretrained
def test_the_weights_file_is_hashed_once_per_process(monkeypatch):
    from gluon_style import weights

    gs.vgg19_features(["relu1_1"], progress=False)          # hashed here, if not before
    calls = []
    monkeypatch.setattr(weights, "sha256", lambda path: calls.append(path) or "x")
    gs.vgg19_features(["relu1_1"], progress=False)
    gs.vgg19_features(["relu2_1"], progress=False)
    assert calls == []

