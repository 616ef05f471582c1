"""A truncated VGG from ``mxnet.gluon.model_zoo`` layers that returns named features.

Layer names follow the papers: ``conv4_2`` is the second convolution of block 4,
``relu4_2`` its ReLU, ``pool4`` the pooling that ends block 4. ``layer_names``
is the one place that maps names to positions in the model zoo's ``features``.
"""
from __future__ import annotations

import mxnet as mx
from mxnet.gluon import nn
from mxnet.gluon.model_zoo import vision

from . import weights as _weights
from .runtime import get_ctx

# num_layers -> (convolutions per block, channels per block), as in the model zoo.
vgg_spec = {
    11: ([1, 1, 2, 2, 2], [64, 128, 256, 512, 512]),
    13: ([2, 2, 2, 2, 2], [64, 128, 256, 512, 512]),
    16: ([2, 2, 3, 3, 3], [64, 128, 256, 512, 512]),
    19: ([2, 2, 4, 4, 4], [64, 128, 256, 512, 512]),
}
POOLINGS = ("max", "avg")


def layer_names(num_layers: int = 19) -> list[str]:
    """Names of the model zoo's ``features`` children, in order (index = position).

    For VGG-19: conv1_1=0, relu1_1=1, conv1_2=2, relu1_2=3, pool1=4, conv2_1=5,
    ..., conv4_4=25, ..., conv5_1=28, ..., pool5=36.
    """
    blocks, _ = _spec(num_layers)
    names = []
    for b, n in enumerate(blocks, start=1):
        for i in range(1, n + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return names


def layer_channels(num_layers: int = 19) -> dict[str, int]:
    """Channels of every named layer's output."""
    blocks, channels = _spec(num_layers)
    out = {}
    for name in layer_names(num_layers):
        block = int(name[4] if name.startswith(("conv", "relu", "pool")) else 0)
        out[name] = channels[block - 1]
    return out


def layer_table(num_layers: int = 19, *, height: int = 224, width: int = 224) -> list[dict]:
    """One row per layer: name, output shape (C, H, W) and receptive field in input pixels.

    A 3x3 stride-1 convolution widens the receptive field by 2 x (the current
    stride in input pixels); a 2x2 stride-2 pooling by 1 x that stride, and
    doubles the stride.
    """
    channels = layer_channels(num_layers)
    rows, rf, jump, h, w = [], 1, 1, height, width
    for name in layer_names(num_layers):
        if name.startswith("conv"):
            rf += 2 * jump
        elif name.startswith("pool"):
            rf += jump
            jump, h, w = jump * 2, h // 2, w // 2
        rows.append({"name": name, "shape": (channels[name], h, w), "receptive_field": rf})
    return rows


def _spec(num_layers):
    if num_layers not in vgg_spec:
        raise ValueError(f"invalid number of VGG layers {num_layers}; "
                         f"options are {sorted(vgg_spec)}")
    return vgg_spec[num_layers]


def check_layers(layers, num_layers: int = 19) -> list[str]:
    """Return ``layers`` as a list, raising ``ValueError`` that lists valid names on a typo."""
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    valid = layer_names(num_layers)
    bad = [name for name in layers if name not in valid]
    if bad or not layers:
        raise ValueError(f"unknown VGG-{num_layers} layer(s) {bad or '(none given)'}; "
                         f"valid names are: {', '.join(valid)}")
    return layers


class VGGFeatures(nn.HybridBlock):
    """Runs the truncated network once and returns ``{layer name: feature map}``.

    All parameters are frozen (``grad_req='null'``): style transfer optimizes the
    image, so a backward pass computes gradients for the input only.
    """

    def __init__(self, body: nn.HybridSequential, layers: list[str], num_layers: int, **kwargs):
        super().__init__(**kwargs)
        self.layers = list(layers)
        self.num_layers = num_layers
        index = {name: i for i, name in enumerate(layer_names(num_layers))}
        self._index = [index[name] for name in self.layers]
        with self.name_scope():
            self.body = body
        self.weights_source = "random"
        self.weights_sha256 = None

    def hybrid_forward(self, F, X):
        wanted, found = set(self._index), {}
        for i, layer in enumerate(self.body):
            X = layer(X)
            if i in wanted:
                found[i] = X
        return tuple(found[i] for i in self._index)

    def __call__(self, X):
        out = super().__call__(X)
        if not isinstance(out, (list, tuple)):
            out = [out]
        return dict(zip(self.layers, out))


def vgg_features(layers, *, num_layers: int = 19, pretrained: bool = True, pooling: str = "max",
                 weights: str = "auto", ctx=None, progress: bool = True) -> VGGFeatures:
    """A frozen VGG feature extractor, cut after the deepest of ``layers``.

    Parameters
    ----------
    layers : list of str
        Layer names such as ``['relu1_1', 'conv4_2']`` (see ``layer_names``).
    num_layers : int
        11, 13, 16 or 19.
    pretrained : bool
        Load ImageNet weights (see ``gluon_style.weights``); else Xavier-random.
    pooling : {'max', 'avg'}
        Gatys et al. replace max by average pooling for slightly smoother results.
    weights : {'auto', 'caffe', 'gluon'}
        Which pretrained weights: the original Caffe VGG-19 (default for 19) or
        Gluon's model zoo params (must already be in the models folder).
    ctx : mx.Context or str
        ``'cpu'``, ``'gpu:0'``, ... (default CPU).
    """
    layers = check_layers(layers, num_layers)
    if pooling not in POOLINGS:
        raise ValueError(f"invalid pooling {pooling!r}; options are {POOLINGS}")
    ctx = get_ctx(ctx)
    names = layer_names(num_layers)
    cut = max(names.index(name) for name in layers)

    zoo = vision.get_vgg(num_layers, pretrained=False)
    body = nn.HybridSequential(prefix="features_")
    for i in range(cut + 1):
        layer = zoo.features[i]
        if pooling == "avg" and isinstance(layer, nn.MaxPool2D):
            layer = nn.AvgPool2D(pool_size=2, strides=2)
        body.add(layer)
    net = VGGFeatures(body, layers, num_layers)

    if pretrained:
        convs = [n for n in names if n.startswith("conv")]
        params, net.weights_source, net.weights_sha256 = _weights.load_vgg_params(
            num_layers, convs, source=weights, progress=progress)
        for i in range(cut + 1):
            if names[i].startswith("conv"):
                for kind in ("weight", "bias"):
                    param, value = getattr(body[i], kind), params[f"{names[i]}.{kind}"]
                    param.shape = value.shape  # fills in the deferred input channels
                    param.initialize(ctx=ctx)
                    param.set_data(mx.nd.array(value, ctx=ctx))
    else:
        net.initialize(ctx=ctx)
    net.collect_params().setattr("grad_req", "null")
    return net


def vgg19_features(layers, *, pretrained: bool = True, pooling: str = "max",
                   weights: str = "auto", ctx=None, progress: bool = True) -> VGGFeatures:
    """VGG-19 features (the network of Gatys et al.); see ``vgg_features``."""
    return vgg_features(layers, num_layers=19, pretrained=pretrained, pooling=pooling,
                        weights=weights, ctx=ctx, progress=progress)


def vgg16_features(layers, *, pretrained: bool = True, pooling: str = "max",
                   weights: str = "auto", ctx=None, progress: bool = True) -> VGGFeatures:
    """VGG-16 features (the loss network of Johnson et al.); see ``vgg_features``."""
    return vgg_features(layers, num_layers=16, pretrained=pretrained, pooling=pooling,
                        weights=weights, ctx=ctx, progress=progress)
