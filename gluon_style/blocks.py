"""Building blocks of the feed-forward networks (``johnson.py``, ``adain.py``).

Departures from the papers, all common in later implementations: every convolution pads
by reflection (Johnson et al. reflection-padded the input once and used unpadded residual
blocks); the networks output the image in this package's normalized units (ImageNet
mean/std), with no final tanh.
"""
from __future__ import annotations

import mxnet as mx
from mxnet import autograd
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


def instance_norm(F, x, scale, shift, running_mean, running_var, eps: float = EPS):
    """Instance norm of x (N, C, H, W), then ``scale * x + shift`` with (N*C,) scale and shift.

    Computed as BatchNorm of x seen as one sample with N*C channels, whose batch statistics
    are exactly each (sample, channel)'s: oneDNN's BatchNorm forward + backward (with the
    affine fused) is ~4x faster on CPU than the LayerNorm form, whose backward is generic
    (benchmarks/train_step.py). Valid in training mode only: otherwise BatchNorm normalizes by
    ``running_mean``/``running_var``, (N*C,) scratch arrays (see ``scratch``) that it updates
    and nothing reads. The blocks below force training mode, so they run on NDArrays only
    (called from Python; an exported graph would run in predict mode).
    """
    y = F.BatchNorm(F.reshape(x, (1, -1, 0, 0)), scale, shift, running_mean, running_var,
                    eps=eps, fix_gamma=False)
    return F.reshape_like(y, x)


def scratch(x: mx.nd.NDArray, *, channels) -> list:
    """The (running_mean, running_var) scratch pairs of ``instance_norm`` for the batch x.

    Parameters
    ----------
    x : NDArray
        The batch (N, ...); its size and context set the arrays'.
    channels : sequence of int
        One pair of (N*C,) arrays per width C.
    """
    if not isinstance(x, mx.nd.NDArray):
        raise TypeError("instance norm here runs BatchNorm's kernels in training mode, which "
                        "needs NDArray inputs: hybridize the network itself, not a block "
                        "around it")
    n, ctx = x.shape[0], x.context
    return [a for c in channels for a in (mx.nd.zeros((n * c,), ctx=ctx),
                                          mx.nd.ones((n * c,), ctx=ctx))]


def call_in_training_mode(forward, x, *args, channels):
    """``forward(x, *args, *scratch)`` in training mode (see ``instance_norm``)."""
    with autograd.train_mode():
        return forward(x, *args, *scratch(x, channels=channels))


class InstanceNorm(nn.HybridBlock):
    """Instance normalization (Ulyanov et al. 2016) with a learned per-channel scale and shift.

    ``block(x)``; inside a network, ``block(x, running_mean, running_var)`` (``scratch``).
    """

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        with self.name_scope():
            self.gamma = self.params.get("gamma", shape=(1, channels, 1, 1), init="ones")
            self.beta = self.params.get("beta", shape=(1, channels, 1, 1), init="zeros")

    def forward(self, x, *running):
        if running:   # inside a network, which supplies them and the training mode
            return super().forward(x, *running)
        return call_in_training_mode(super().forward, x, channels=[self.channels])

    def hybrid_forward(self, F, x, running_mean, running_var, gamma, beta):
        per_sample = F.reshape(running_mean, (-1, self.channels))      # (N, C), for its shape
        scale, shift = (F.reshape(F.broadcast_like(F.reshape(p, (1, -1)), per_sample), (-1,))
                        for p in (gamma, beta))
        return instance_norm(F, x, scale, shift, running_mean, running_var)


class ConvLayer(nn.HybridBlock):
    """Reflection pad and convolution (or a x2 transposed convolution), then optionally a
    normalization (``norm``: a function of no arguments that makes the block) and ReLU.

    ``forward(x, *norm_inputs)``: what the normalization takes besides x (instance norm: its
    scratch; conditional instance norm: the style mixture and its scratch).
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

    def hybrid_forward(self, F, x, *norm_inputs):
        p = self.pad
        x = self.conv(F.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, p, p, p, p)) if p else x)
        if self.norm is not None:
            x = self.norm(x, *norm_inputs)
        return F.relu(x) if self.relu else x


class OutputConv(nn.HybridBlock):
    """The last convolution, to 3 channels (reflection padding, no norm, no ReLU).

    Speed workaround, not a change of the network: oneDNN computes convolutions with only 3
    output filters slowly on CPU, so the weights are padded with zero filters to
    ``compute_filters`` and the extra outputs (always zero, with zero gradient) are dropped.
    ``benchmarks/train_step.py`` measures both ways.
    """

    def __init__(self, channels: int, kernel: int, *, in_channels: int, compute_filters: int = 16,
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
