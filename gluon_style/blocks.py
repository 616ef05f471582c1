"""Building blocks of the feed-forward networks (``johnson.py``, ``adain.py``).

Departures from the papers, all common in later implementations: every convolution pads
by reflection (Johnson et al. reflection-padded the input once and used unpadded residual
blocks); the networks output the image in this package's normalized units (ImageNet
mean/std), with no final tanh.
"""
from __future__ import annotations

from mxnet.gluon import nn

from .losses import EPS


def instance_normalize(F, x, eps: float = EPS):
    """(x - mean) / sqrt(var + eps) over each sample's and channel's H x W positions.

    Computed as MXNet's fused LayerNorm over the flattened H*W axis (unit scale, zero
    shift): the same numbers as the explicit formula, faster on CPU in forward plus backward
    (benchmarks/train_step.py).
    """
    flat = F.reshape(x, (0, 0, -1))                                  # (N, C, H*W)
    row = F.reshape(F.slice_axis(F.slice_axis(flat, axis=0, begin=0, end=1),
                                 axis=1, begin=0, end=1), (-1,))    # (H*W,)
    one = F.ones_like(row)
    return F.reshape_like(F.LayerNorm(flat, one, F.zeros_like(row), axis=-1, eps=eps), x)


class InstanceNorm(nn.HybridBlock):
    """Instance normalization (Ulyanov et al. 2016) with a learned per-channel scale and shift."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        with self.name_scope():
            self.gamma = self.params.get("gamma", shape=(1, channels, 1, 1), init="ones")
            self.beta = self.params.get("beta", shape=(1, channels, 1, 1), init="zeros")

    def hybrid_forward(self, F, x, gamma, beta):
        # gamma * x + beta per channel, written as a 1x1 depthwise convolution: the same
        # numbers as broadcasting, and on CPU its backward pass is several times faster.
        return F.Convolution(instance_normalize(F, x), F.reshape(gamma, (-1, 1, 1, 1)),
                             F.reshape(beta, (-1,)), kernel=(1, 1), num_filter=self.channels,
                             num_group=self.channels)


class ConvLayer(nn.HybridBlock):
    """Reflection pad and convolution (or a x2 transposed convolution), then optionally a
    normalization (``norm``: a function of no arguments that makes the block) and ReLU.

    ``forward(x, style_mix=None)``: a conditional normalization takes the style mixture.
    """

    def __init__(self, channels: int, kernel: int, *, stride: int = 1, norm=None,
                 relu: bool = True, transposed: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.pad, self.relu = 0 if transposed else kernel // 2, relu
        with self.name_scope():
            if transposed:  # padding 1, output_padding 1 with kernel 3: exactly doubles H and W
                self.conv = nn.Conv2DTranspose(channels, kernel, strides=2, padding=1,
                                               output_padding=1)
            else:
                self.conv = nn.Conv2D(channels, kernel, strides=stride)
            self.norm = norm() if norm is not None else None

    def hybrid_forward(self, F, x, style_mix=None):
        p = self.pad
        x = self.conv(F.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, p, p, p, p)) if p else x)
        if self.norm is not None:
            x = self.norm(x) if style_mix is None else self.norm(x, style_mix)
        return F.relu(x) if self.relu else x


class OutputConv(nn.HybridBlock):
    """The last convolution, to 3 channels (reflection padding, no norm, no ReLU).

    Speed workaround, not a change of the network: oneDNN computes convolutions with only 3
    output filters slowly on CPU, so the weights are padded with zero filters to
    ``compute_filters`` and the extra outputs (always zero, with zero gradient) are dropped.
    ``benchmarks/train_step.py`` measures both ways.
    """

    def __init__(self, channels: int, kernel: int, *, in_channels: int, compute_filters: int = 8,
                 **kwargs):
        super().__init__(**kwargs)
        self.channels, self.kernel, self.compute_filters = channels, kernel, compute_filters
        self.extra = (compute_filters - channels, in_channels, kernel, kernel)
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(channels, in_channels, kernel, kernel))
            self.bias = self.params.get("bias", shape=(channels,), init="zeros")

    def hybrid_forward(self, F, x, weight, bias):
        p = self.kernel // 2
        x = F.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, p, p, p, p))
        if self.compute_filters == self.channels:
            return F.Convolution(x, weight, bias, kernel=(self.kernel,) * 2, num_filter=self.channels)
        W = F.concat(weight, F.zeros(self.extra), dim=0)
        b = F.concat(bias, F.zeros(self.extra[:1]), dim=0)
        y = F.Convolution(x, W, b, kernel=(self.kernel,) * 2, num_filter=self.compute_filters)
        return F.slice_axis(y, axis=1, begin=0, end=self.channels)
