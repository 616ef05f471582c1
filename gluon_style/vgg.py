"""A truncated VGG from ``mxnet.gluon.model_zoo`` layers that returns named features.

Layer names follow the papers: ``conv4_2`` is the second convolution of block 4,
``relu4_2`` its ReLU, ``pool4`` the pooling that ends block 4. ``layer_names``
is the one place that maps names to positions in the model zoo's ``features``.
"""
from __future__ import annotations

import itertools

import mxnet as mx
import numpy as np
from mxnet.gluon import nn
from mxnet.gluon.model_zoo import vision

from .weights import load_vgg_params
from .runtime import get_ctx

# num_layers -> (convolutions per block, channels per block), as in the model zoo.
vgg_spec = {
    11: ([1, 1, 2, 2, 2], [64, 128, 256, 512, 512]),
    13: ([2, 2, 2, 2, 2], [64, 128, 256, 512, 512]),
    16: ([2, 2, 3, 3, 3], [64, 128, 256, 512, 512]),
    19: ([2, 2, 4, 4, 4], [64, 128, 256, 512, 512]),
}
POOLINGS = ("max", "avg")
# Photos for normalize_activations: bundled with scikit-image, so always at hand offline.
# (Gatys et al. averaged over ImageNet validation images; only the scale of each filter's
# mean matters here, and that is much the same over any set of natural photos.)
NORMALIZE_IMAGES = ("astronaut", "chelsea", "coffee", "rocket")
NORMALIZE_SIZE = 224


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


def normalize_activations(params: dict, *, num_layers: int = 19, images: list) -> tuple[dict, dict]:
    """Rescale conv filters so each ReLU's mean activation over ``images`` is 1.

    This is the "normalized network" of Gatys et al. (2016, section 2): filter k of a
    layer is divided by m_k, its mean post-ReLU activation over the images and all
    positions, and the next layer's weights for input channel k are multiplied by m_k.
    ReLU and pooling commute with positive scales, so every feature map is the original
    one divided per channel by m (and the network's function is otherwise unchanged).
    It matters for loss weights: the raw Caffe VGG-19's deep activations are far larger
    than its shallow ones, so the paper's alpha/beta ratios only mean what they meant in
    the paper on the normalized network. Dead filters (m = 0) are left as they are.

    Parameters
    ----------
    params : dict
        ``{'conv1_1.weight': (O, I, 3, 3) array, 'conv1_1.bias': (O,) array, ...}``.
    num_layers : int
        VGG depth; the convolutions present in ``params`` are processed in order.
    images : list of NDArray
        Preprocessed (1, 3, H, W) batches.

    Returns
    -------
    params : dict
        New arrays (float32); the input is not modified.
    means : dict
        ``{'relu1_1': m, ...}``, each layer's per-channel means before rescaling.
    """
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    means, scale_in, X = {}, None, list(images)
    for name in layer_names(num_layers):
        if name.startswith("conv"):
            if f"{name}.weight" not in params:
                break
            W, b = params[f"{name}.weight"], params[f"{name}.bias"]
            if scale_in is not None:
                W *= scale_in[None, :, None, None]
            X = [mx.nd.Convolution(x, mx.nd.array(W), mx.nd.array(b), kernel=(3, 3), pad=(1, 1),
                                   num_filter=W.shape[0]) for x in X]
            total = sum(x.relu().sum(axis=(0, 2, 3)).asnumpy().astype(np.float64) for x in X)
            m = total / sum(x.shape[2] * x.shape[3] for x in X)
            means["relu" + name[4:]] = m
            scale_in = np.where(m > 0, m, 1.0)
            W /= scale_in[:, None, None, None]
            b /= scale_in
            X = [x / mx.nd.array(scale_in.reshape(1, -1, 1, 1)) for x in X]
        elif name.startswith("relu"):
            X = [x.relu() for x in X]
        else:  # pooling: max and average both commute with the positive scales
            X = [mx.nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max") for x in X]
    return {k: v.astype(np.float32) for k, v in params.items()}, means


# (num_layers, weights sha256) -> normalized params: computing them runs the network over
# NORMALIZE_IMAGES (about 2 s on 2 CPU cores), so each process does it once per weights file.
_NORMALIZED: dict = {}


def _normalized_params(params: dict, num_layers: int, sha256: str) -> dict:
    key = (num_layers, sha256)
    if key not in _NORMALIZED:
        from .image import load_image, preprocess

        photos = [preprocess(load_image(n, max_size=NORMALIZE_SIZE)) for n in NORMALIZE_IMAGES]
        _NORMALIZED[key], _ = normalize_activations(params, num_layers=num_layers, images=photos)
    return _NORMALIZED[key]


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
                 vgg_weights: str = "auto", normalized: bool = False, ctx=None,
                 progress: bool = True) -> VGGFeatures:
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
    vgg_weights : {'auto', 'caffe', 'gluon'}
        Which pretrained weights: the original Caffe VGG-19 (default for 19) or
        Gluon's model zoo params (must already be in the models folder).
    normalized : bool
        Rescale the pretrained filters to mean activation 1 on a few photos, as Gatys et al.
        did (see ``normalize_activations``); features change by a per-channel scale.
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
        params, net.weights_source, net.weights_sha256 = load_vgg_params(
            num_layers, convs, source=vgg_weights, progress=progress)
        if normalized:
            params = _normalized_params(params, num_layers, net.weights_sha256)
            net.weights_source += "+normalized"
        convs = [(body[i], name) for i, name in enumerate(names[:cut + 1]) if name.startswith("conv")]
        for (layer, name), kind in itertools.product(convs, ("weight", "bias")):
            param, value = getattr(layer, kind), params[f"{name}.{kind}"]
            param.shape = value.shape  # fills in the deferred input channels
            param.initialize(ctx=ctx)
            param.set_data(mx.nd.array(value, ctx=ctx))
    elif normalized:
        raise ValueError("normalized=True rescales pretrained filters; it needs pretrained=True")
    else:
        net.initialize(ctx=ctx)
    net.collect_params().setattr("grad_req", "null")
    return net


def vgg19_features(layers, **options) -> VGGFeatures:
    """VGG-19 features (the network of Gatys et al.); ``options`` as ``vgg_features``."""
    return vgg_features(layers, num_layers=19, **options)


def vgg16_features(layers, **options) -> VGGFeatures:
    """VGG-16 features (the loss network of Johnson et al.); ``options`` as ``vgg_features``."""
    return vgg_features(layers, num_layers=16, **options)
