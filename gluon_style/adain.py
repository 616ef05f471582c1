"""Arbitrary style transfer: Huang and Belongie (2017), "Arbitrary Style Transfer in Real-time
with Adaptive Instance Normalization".

A frozen VGG-19 encoder to relu4_1; the photo's features renormalized to the painting's
per-channel mean and standard deviation, AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y);
a decoder, mirroring the encoder, trained to turn that back into an image. The loss: content
(the decoded image's relu4_1 features against the AdaIN target t) plus style (mean and std
at relu1_1 ... relu4_1 against the painting's). Any painting works at test time, and
alpha * t + (1 - alpha) * x trades content against style.

Departing from the paper, ``pixel_weight`` > 0 adds a reconstruction term: the decoder also
decodes the photo's own features x (alpha 0) and is penalized by the pixel MSE to the photo,
as Li et al.'s universal style transfer (2017) trains its decoders. relu4_1 alone pins the
photo's colours only loosely, and the paper's 160k steps are far beyond a CPU's budget.

As in the paper the encoder is the normalized VGG-19 (``vgg_features(normalized=True)``):
its features are of order 1, so an untrained decoder's output is of image scale (on the raw
Caffe network the first steps blew up).
"""
from __future__ import annotations

import mxnet as mx
from mxnet import autograd
from mxnet.gluon import nn

from .blocks import ConvLayer, OutputConv, instance_normalize
from .crops import CropSampler
from .image import load_image, preprocess
from .losses import EPS, channel_stats
from .objective import Objective, Term
from .settings import require
from .training import Method, register
from .vgg import vgg_features

ENCODER_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


def adain(F, content, style, eps: float = EPS):
    """Content features with the style features' per-channel mean and std."""
    mean, std = channel_stats(F, style, eps)
    return F.broadcast_add(F.broadcast_mul(instance_normalize(F, content, eps), std), mean)


class Decoder(nn.HybridBlock):
    """relu4_1 features (512 channels) back to an image, mirroring VGG-19 (nearest upsampling
    where the encoder pools; no normalization layers)."""

    # (output channels, upsample before this conv)
    spec = [(256, False), (256, True), (256, False), (256, False), (128, False), (128, True),
            (64, False), (64, True), (64, False)]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.upsample_before = [up for _, up in self.spec]
        with self.name_scope():
            self.convs = [ConvLayer(c, 3) for c, _ in self.spec] + [
                OutputConv(3, 3, in_channels=64)]
            for i, conv in enumerate(self.convs):
                self.register_child(conv, f"conv{i}")

    def hybrid_forward(self, F, x):
        for conv, up in zip(self.convs, self.upsample_before + [False]):
            if up:
                x = F.UpSampling(x, scale=2, sample_type="nearest")
            x = conv(x)
        return x


class AdaIN(Method):
    """The decoder is trained; ``styles`` are the training paintings, any painting applies."""
    kind, crop_multiple = "adain", 8

    def check(self, config) -> None:
        if config.res_blocks != 5:
            raise ValueError("res_blocks sets the johnson/cin network; AdaIN's decoder has none")

    def arch(self, config) -> dict:
        return {"method": self.kind}

    def build(self, config, *, ctx) -> dict:
        encoder = vgg_features(list(ENCODER_LAYERS), num_layers=19, normalized=True, ctx=ctx,
                               progress=False)
        decoder = Decoder()
        decoder.initialize(mx.init.Xavier(), ctx=ctx)
        return {"net": decoder, "encoder": encoder}

    def loss(self, config, parts, *, ctx, progress):
        """``loss(X, step)`` -> (content, style, 0) for a batch of photos and style crops
        (content includes the pixel term when ``pixel_weight`` > 0)."""
        encoder, decoder = parts["encoder"], parts["net"]
        encoder.hybridize(static_alloc=True)
        styles = CropSampler(list(config.styles), crop=config.crop, seed=config.seed + 1)
        terms = [Term("content", "relu4_1", config.content_weight, "content", given=("Y",))]
        terms += [Term("style", name, config.style_weight, "mean_std", given=("mean", "std"))
                  for name in ENCODER_LAYERS]
        objective = Objective(net=encoder, terms=terms, tv_weight=0.0, ctx=ctx)

        def loss(X, step):
            S = styles.batch(X.shape[0], step=step, ctx=ctx)
            with autograd.pause():  # the targets need no gradient
                fs = encoder(S)
                fc = encoder(X)["relu4_1"]
                t = adain(mx.nd, fc, fs["relu4_1"])
            given = {0: {"Y": t}}
            for k, term in enumerate(terms[1:], start=1):
                mean, std = channel_stats(mx.nd, fs[term.layer])
                given[k] = {"mean": mean, "std": std}
            content, style, tv = objective(decoder(t), given)
            if config.pixel_weight:   # not in the paper: see the module docstring
                pixels = mx.nd.mean(mx.nd.square(decoder(fc) - X))
                content = content + config.pixel_weight * pixels
            return content, style, tv
        return loss

    def check_options(self, config, *, style, style_index, mix, alpha) -> None:
        if style is None:
            raise ValueError("an AdaIN model needs style=... (any image)")
        require("alpha", alpha, at_least=0.0, at_most=1.0)

    def stylize(self, config, parts, X, *, style, style_index, mix, alpha, size):
        encoder = parts["encoder"]
        fc = encoder(X)["relu4_1"]
        fs = encoder(preprocess(load_image(style, max_size=size), ctx=X.context))["relu4_1"]
        return parts["net"](alpha * adain(mx.nd, fc, fs) + (1 - alpha) * fc)


register(AdaIN())
