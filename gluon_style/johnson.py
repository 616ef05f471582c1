"""Feed-forward style transfer: Johnson, Alahi and Fei-Fei (2016), "Perceptual Losses for
Real-Time Style Transfer and Super-Resolution"; and its conditional variant, Dumoulin, Shlens
and Kudlur (2017), "A Learned Representation for Artistic Style".

The image transformation network: 9x9 conv (32), two stride-2 3x3 convs (64, 128), residual
blocks (``res_blocks``, the paper's five), two x2 upsamplings (64, 32), 9x9 conv to 3 channels.
It is trained once per painting with the perceptual loss: content at relu2_2 against the
photo's own features, Gram style at relu1_2, relu2_2, relu3_3, relu4_3 against the
painting's, plus total variation; then it stylizes in one forward pass.

* Normalization: batch norm (the paper), instance norm (Ulyanov et al. 2016, the default),
  or conditional instance norm (kind 'cin'): one (gamma, beta) per painting, so S styles
  share one network and mixtures of (gamma, beta) interpolate between them.
* Upsampling: transposed convolution (the paper) or nearest resize then conv (Odena et al.
  2016, the default), which avoids checkerboard artifacts.

Departure from Johnson et al.: the loss network is VGG-19 by default (the same layer names
exist in it); their VGG-16 needs Gluon's model-zoo weights (``loss_network=16``).
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import autograd
from mxnet.gluon import nn

from .blocks import (ConvLayer, InstanceNorm, OutputConv, call_in_training_mode, instance_norm,
                     scratch)
from .checkpoints import load_params
from .image import load_image, preprocess
from .losses import gram
from .objective import Objective, Term, style_layer_weights
from .settings import require
from .training import Method, register
from .vgg import vgg_features

CONTENT_LAYERS = ("relu2_2",)
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
NORMS = ("batch", "instance", "conditional")
PAPER_RES_BLOCKS = 5   # Johnson et al.'s; a checkpoint's arch names res_blocks only otherwise
UPSAMPLINGS = ("resize", "transposed")


def objective(config: "TrainConfig", *, size: int) -> dict:
    """The optimization a Johnson network is measured against (issue 20).

    Parameters
    ----------
    config : TrainConfig
        The network's training settings (``Model.config``).
    size : int
        Longer side, in px, of the image to optimize.

    Returns
    -------
    dict
        ``gs.stylize`` keywords for the network's own training loss: its content and style
        layers and weights, TV, and the painting at the run's ``style_size``.
    """
    return dict(content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                content_weight=config.content_weight, style_weight=config.style_weight,
                tv_weight=config.tv_weight, style_scale=config.style_size / size)


class ConditionalInstanceNorm(nn.HybridBlock):
    """Instance norm whose scale and shift are chosen per style (Dumoulin et al. 2017).

    ``forward(x, style_mix)`` takes (N, S) weights over the S styles: one-hot picks a style's
    gamma and beta, other weights mix them linearly (style interpolation). Inside a network,
    ``forward(x, style_mix, running_mean, running_var)`` (see ``blocks.instance_norm``).
    """

    def __init__(self, channels: int, num_styles: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        with self.name_scope():
            self.gamma = self.params.get("gamma", shape=(num_styles, channels), init="ones")
            self.beta = self.params.get("beta", shape=(num_styles, channels), init="zeros")

    def forward(self, x, style_mix, *running):
        if running:   # inside a network, which supplies them and the training mode
            return super().forward(x, style_mix, *running)
        return call_in_training_mode(super().forward, x, style_mix, channels=[self.channels])

    def hybrid_forward(self, F, x, style_mix, running_mean, running_var, gamma, beta):
        scale = F.reshape(F.dot(style_mix, gamma), (-1,))   # (N, C) -> (N*C,)
        shift = F.reshape(F.dot(style_mix, beta), (-1,))
        return instance_norm(F, x, scale, shift, running_mean, running_var)


def _norm(kind: str, channels: int, num_styles: int):
    """A function making the normalization block ``kind`` for ``channels`` channels."""
    return {"batch": nn.BatchNorm, "instance": lambda: InstanceNorm(channels),
            "conditional": lambda: ConditionalInstanceNorm(channels, num_styles)}[kind]


class _Residual(nn.HybridBlock):
    """Two 3x3 conv layers (the second without ReLU) plus the identity."""

    def __init__(self, channels: int, *, norm: str, num_styles: int, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.a = ConvLayer(channels, 3, norm=_norm(norm, channels, num_styles))
            self.b = ConvLayer(channels, 3, norm=_norm(norm, channels, num_styles), relu=False)

    def hybrid_forward(self, F, x, *norm_inputs):
        return x + self.b(self.a(x, *norm_inputs), *norm_inputs)


class _Up(nn.HybridBlock):
    """x2 upsampling: nearest resize then 3x3 conv, or a stride-2 transposed conv."""

    def __init__(self, channels: int, *, upsample: str, norm: str, num_styles: int, **kwargs):
        super().__init__(**kwargs)
        self.upsample = upsample
        with self.name_scope():
            self.layer = ConvLayer(channels, 3, norm=_norm(norm, channels, num_styles),
                                   transposed=upsample == "transposed")

    def hybrid_forward(self, F, x, *norm_inputs):
        if self.upsample == "resize":
            x = F.UpSampling(x, scale=2, sample_type="nearest")
        return self.layer(x, *norm_inputs)


class TransformNet(nn.HybridBlock):
    """Johnson et al.'s image transformation network (see the module docstring).

    Parameters
    ----------
    norm : str
        'instance' (default), 'batch' or 'conditional'.
    upsample : str
        'resize' (nearest then conv; default) or 'transposed'.
    num_styles : int
        Styles in one network; only for norm='conditional'.
    res_blocks : int
        Residual blocks at a quarter of the resolution (Johnson et al.: 5).

    Call as ``net(X)`` or, with conditional norm, ``net(X, style_mix)`` where ``style_mix``
    is (N, num_styles) or (1, num_styles) for all. H and W should be multiples of 4. With
    instance norms the network runs in training mode whatever the caller's (see
    ``blocks.instance_norm``), on NDArrays: hybridize it, not a block around it.
    """

    def __init__(self, *, norm: str = "instance", upsample: str = "resize", num_styles: int = 1,
                 res_blocks: int = PAPER_RES_BLOCKS, **kwargs):
        super().__init__(**kwargs)
        if norm not in NORMS:
            raise ValueError(f"invalid norm {norm!r}; options are {NORMS}")
        if upsample not in UPSAMPLINGS:
            raise ValueError(f"invalid upsample {upsample!r}; options are {UPSAMPLINGS}")
        if num_styles < 1 or (num_styles > 1 and norm != "conditional"):
            raise ValueError("num_styles > 1 needs norm='conditional'")
        if res_blocks < 1:
            raise ValueError(f"res_blocks must be >= 1, got {res_blocks}")
        self.conditional, self.batch_norm = norm == "conditional", norm == "batch"
        self.imperative = upsample == "transposed" and not self.batch_norm   # see hybridize
        kw = dict(norm=norm, num_styles=num_styles)
        with self.name_scope():
            self.down = [ConvLayer(c, k, stride=s, norm=_norm(norm, c, num_styles))
                         for c, k, s in ((32, 9, 1), (64, 3, 2), (128, 3, 2))]
            self.res = [_Residual(128, **kw) for _ in range(res_blocks)]
            self.up = [_Up(64, upsample=upsample, **kw), _Up(32, upsample=upsample, **kw)]
            self.out = OutputConv(3, 9, in_channels=32)
            # Names as in the five-block network whatever the count: residual block i is
            # layer 3 + i (5 + i from the sixth on), the upsamplings layers 8 and 9, so a
            # network's parameters keep their names in a deeper one.
            names = [3 + i if i < 5 else 5 + i for i in range(res_blocks)]
            for name, block in zip([0, 1, 2] + names + [8, 9], self.down + self.res + self.up):
                self.register_child(block, f"layer{name}")
        self.channels = (32, 64, 128) + (128,) * res_blocks + (64, 32)   # down + res + up

    WIDTHS = (32, 64, 128)   # the instance norms of one width share a scratch pair

    def forward(self, x, style_mix=None):
        if self.conditional != (style_mix is not None):
            raise ValueError("style_mix is required with norm='conditional' and only then")
        if self.batch_norm:
            return super().forward(x)
        running = scratch(x, channels=self.WIDTHS)   # a TypeError for a Symbol (see above)
        mix = []
        if self.conditional:
            if style_mix.shape[0] not in (1, x.shape[0]):
                raise ValueError(f"style_mix needs 1 or {x.shape[0]} rows (one per image), "
                                 f"got {style_mix.shape[0]}")
            mix = [style_mix.broadcast_to((x.shape[0], style_mix.shape[1]))]
        with autograd.train_mode():   # see blocks.instance_norm
            return super().forward(x, *mix, *running)

    def hybridize(self, active: bool = True, **kwargs):
        # MXNet 1.9.1 corrupts the heap (malloc aborts, segfaults) when a hybridized graph
        # has a transposed convolution before this instance norm and the batch holds two or
        # more images, with or without static_alloc; measured on a Zen 5 EPYC (oneDNN,
        # AVX-512), not with batch norm, one image, or oneDNN off. So that network runs
        # imperatively: slower, but right (tests/test_networks.py).
        return super().hybridize(active and not self.imperative, **kwargs)

    def export(self, *args, **kwargs):
        if not self.batch_norm:
            raise NotImplementedError("an exported graph runs in predict mode, where the "
                                      "BatchNorm form of instance norm is wrong; save_parameters "
                                      "and rebuild the network instead")
        return super().export(*args, **kwargs)

    def hybrid_forward(self, F, x, *inputs):
        mix, running = (inputs[:1], inputs[1:]) if self.conditional else ((), inputs)
        pairs = {c: running[2 * i:2 * i + 2] for i, c in enumerate(self.WIDTHS)}
        for block, c in zip(self.down + self.res + self.up, self.channels):
            x = block(x, *(() if self.batch_norm else (*mix, *pairs[c])))
        return self.out(x)


def _load_some(path, net, ctx, *, grows: bool, styles: int | None) -> None:
    """Load the parameters at ``path`` into ``net``, whose extra blocks they lack if it
    ``grows``; with ``styles``, a single-style network's (1, C, 1, 1) norm scales and
    shifts are repeated as the (styles, C) ones of a conditional network."""
    if styles is None:
        return load_params(path, net, ctx, allow_missing=grows)
    try:
        arrays = {k: v.reshape((1, -1)).tile((styles, 1))
                  if k.endswith(("norm.gamma", "norm.beta")) else v
                  for k, v in mx.nd.load(str(path)).items()}
    except (mx.base.MXNetError, OSError) as e:
        raise ValueError(f"{path}: cannot load these parameters ({e})") from None
    with tempfile.TemporaryDirectory() as tmp:
        mx.nd.save(f"{tmp}/conditional.params", arrays)
        load_params(Path(tmp) / "conditional.params", net, ctx, allow_missing=grows)


class Johnson(Method):
    """One painting per network (``kind='johnson'``), or several with conditional instance
    norm (``kind='cin'``, each training step one painting drawn at random)."""

    def __init__(self, kind: str, *, conditional: bool):
        self.kind, self.conditional, self.crop_multiple = kind, conditional, 4

    def check(self, config) -> None:
        if not self.conditional and len(config.styles) != 1:
            raise ValueError(f"kind 'johnson' trains one style, got {len(config.styles)}; "
                             "use kind 'cin' for several")
        if config.pixel_weight:
            raise ValueError("pixel_weight is for kind 'adain' (its decoder's reconstruction)")
        if config.norm not in ("instance", "batch"):
            raise ValueError(f"invalid norm {config.norm!r}; options are ('instance', 'batch')")
        if config.upsample not in UPSAMPLINGS:
            raise ValueError(f"invalid upsample {config.upsample!r}; options are {UPSAMPLINGS}")
        if config.loss_network not in (16, 19):
            raise ValueError(f"invalid loss_network {config.loss_network}; options are (16, 19)")
        if config.res_blocks < 1:
            raise ValueError(f"res_blocks must be >= 1, got {config.res_blocks}")

    def arch(self, config) -> dict:
        if self.conditional:
            arch = {"method": self.kind, "upsample": config.upsample,
                    "num_styles": len(config.styles)}
        else:
            arch = {"method": self.kind, "norm": config.norm, "upsample": config.upsample}
        if config.res_blocks != PAPER_RES_BLOCKS:   # so checkpoints from before it still match
            arch["res_blocks"] = config.res_blocks
        return arch

    def build(self, config, *, ctx) -> dict:
        net = TransformNet(norm="conditional" if self.conditional else config.norm,
                           upsample=config.upsample, res_blocks=config.res_blocks,
                           num_styles=len(config.styles) if self.conditional else 1)
        net.initialize(mx.init.Xavier(), ctx=ctx)
        return {"net": net}

    def start_from(self, arch, params, model, *, ctx) -> None:
        """Load a trained network (see ``Method.start_from``). One with fewer residual
        blocks fills the first ones, and each extra block starts as the identity (its last
        norm's scale and shift zero, as in Goyal et al. 2017), so the deeper network begins
        as the trained one. A conditional network may start from a single-style
        instance-norm one: every painting's scale and shift start as its."""
        fewer = (arch.get("res_blocks", PAPER_RES_BLOCKS) if isinstance(arch, dict)
                 else len(model.net.res))
        shallower = dataclasses.replace(model.config, res_blocks=fewer)
        single = self.conditional and arch == Johnson("johnson", conditional=False).arch(
            dataclasses.replace(shallower, norm="instance"))
        grows = fewer < len(model.net.res) and arch == self.arch(shallower)
        if fewer > len(model.net.res) or not (grows or single):
            super().start_from(arch, params, model, ctx=ctx)   # the same network, or its error
            return
        _load_some(params, model.net, ctx, grows=fewer < len(model.net.res),
                   styles=len(model.config.styles) if single else None)
        for block in model.net.res[fewer:]:
            for param in (block.b.norm.gamma, block.b.norm.beta):   # shape may be deferred
                param.initialize(init=mx.init.Zero(), ctx=ctx, force_reinit=True)

    def loss(self, config, parts, *, ctx, progress):
        """The perceptual loss of a batch, as ``loss(X, step)`` -> (content, style, tv)."""
        layers = list(dict.fromkeys(CONTENT_LAYERS + STYLE_LAYERS))
        encoder = vgg_features(layers, num_layers=config.loss_network, ctx=ctx, progress=progress)
        encoder.hybridize(static_alloc=True)
        # The photos' own features are needed at the content layer only: a second network of
        # four convolutions (0.3 s to build). Sharing the encoder's layers would save that, but
        # building it draws from mx.random before the network's deferred initialization, so
        # dropping it would change every trained network.
        photo_encoder = vgg_features(list(CONTENT_LAYERS), num_layers=config.loss_network,
                                     ctx=ctx, progress=False)
        photo_encoder.hybridize(static_alloc=True)
        targets = []  # per painting: {layer: Gram matrix (1, C, C)}
        for style in config.styles:
            features = encoder(preprocess(load_image(style, max_size=config.style_size), ctx=ctx))
            targets.append({name: gram(mx.nd, features[name]) for name in STYLE_LAYERS})
        terms = [Term("content", name, config.content_weight, "content", given=("Y",))
                 for name in CONTENT_LAYERS]
        terms += [Term("style", name, config.style_weight * w, "gram", given=("G",))
                  for name, w in zip(STYLE_LAYERS, style_layer_weights(
                      STYLE_LAYERS, num_layers=config.loss_network))]
        objective = Objective(net=encoder, terms=terms, tv_weight=config.tv_weight, ctx=ctx)
        net, count = parts["net"], len(config.styles)

        def loss(X, step):
            index = np.random.default_rng([config.seed, step, 1]).integers(count)
            mix = mx.nd.one_hot(mx.nd.array([index] * X.shape[0], ctx=ctx), count)
            Y = net(X, mix) if self.conditional else net(X)
            with autograd.pause():
                photo = photo_encoder(X)
            given = {k: {"Y": photo[t.layer]} if t.group == "content" else
                     {"G": targets[index][t.layer]} for k, t in enumerate(terms)}
            return objective(Y, given)
        return loss

    def check_options(self, config, *, style, style_index, mix, alpha) -> None:
        if not self.conditional:
            return
        n = len(config.styles)
        if (style_index is None) == (mix is None):
            raise ValueError(f"a CIN model needs style_index (0..{n - 1}) or mix ({n} weights)")
        if style_index is not None and not 0 <= style_index < n:
            raise ValueError(f"style_index must be in 0..{n - 1}, got {style_index}")
        if mix is not None:
            if len(mix) != n:
                raise ValueError(f"mix needs {n} weights (one per trained style), got {len(mix)}")
            require("mix", mix, at_least=0.0)
            if not sum(mix) > 0:
                raise ValueError("--mix needs at least one weight above 0")

    def stylize(self, config, parts, X, *, style, style_index, mix, alpha, size):
        if not self.conditional:
            return parts["net"](X)
        if style_index is not None:
            mix = [float(i == style_index) for i in range(len(config.styles))]
        return parts["net"](X, mx.nd.array([mix], ctx=X.context))


register(Johnson("johnson", conditional=False))
register(Johnson("cin", conditional=True))
