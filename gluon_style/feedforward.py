"""Feed-forward style transfer networks: one forward pass instead of an optimization.

* ``TransformNet``: the image transformation network of Johnson, Alahi and Fei-Fei
  (2016): 9x9 conv (32), two stride-2 3x3 convs (64, 128), five residual blocks,
  two upsampling stages (64, 32), 9x9 conv to 3 channels. Normalization by batch
  norm (as in the paper), instance norm (Ulyanov et al. 2016) or conditional
  instance norm (Dumoulin et al. 2017, S styles in one network). Upsampling by
  transposed convolution (the paper) or by nearest-neighbour resize then conv
  (Odena et al. 2016), which avoids checkerboard artifacts.
* ``adain`` and ``AdaINNet``: adaptive instance normalization (Huang and Belongie
  2017): a frozen VGG-19 encoder up to relu4_1, the content features renormalized
  to the style features' per-channel mean and standard deviation, and a decoder
  that mirrors the encoder.

Departures from the papers, all common in later implementations: every
convolution pads by reflection (Johnson et al. reflection-padded the input once
and used unpadded residual blocks); the transformation network outputs the image
in this package's normalized units (ImageNet mean/std), with no final tanh.
"""
from __future__ import annotations

from mxnet.gluon import nn

NORMS = ("batch", "instance", "conditional")
UPSAMPLINGS = ("resize", "transposed")
EPS = 1e-5


def channel_moments(F, x):
    """Per-sample, per-channel mean and variance over the spatial axes, shaped (N, C, 1, 1)."""
    mean = F.mean(x, axis=(2, 3), keepdims=True)
    var = F.mean(F.square(F.broadcast_sub(x, mean)), axis=(2, 3), keepdims=True)
    return mean, var


def instance_normalize(F, x, eps: float = EPS):
    """(x - mean) / sqrt(var + eps) over each sample's and channel's H x W positions.

    Computed as MXNet's fused LayerNorm over the flattened H*W axis (with unit scale and
    zero shift): the same numbers as the explicit formula, and on CPU about 1.5x faster
    in forward plus backward (benchmarks/train_step.py).
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


class ConditionalInstanceNorm(nn.HybridBlock):
    """Instance norm whose scale and shift are chosen per style (Dumoulin et al. 2017).

    ``forward(x, style_weights)`` takes (N, S) weights over the S styles: one-hot picks a
    style's gamma and beta, other weights mix them linearly (style interpolation).
    """

    def __init__(self, channels: int, num_styles: int, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.gamma = self.params.get("gamma", shape=(num_styles, channels), init="ones")
            self.beta = self.params.get("beta", shape=(num_styles, channels), init="zeros")

    def hybrid_forward(self, F, x, style_weights, gamma, beta):
        x = instance_normalize(F, x)
        g = F.reshape(F.dot(style_weights, gamma), (0, 0, 1, 1))   # (N, C, 1, 1)
        b = F.reshape(F.dot(style_weights, beta), (0, 0, 1, 1))
        # broadcast_like then multiply: faster backward on CPU than broadcast_mul
        return x * F.broadcast_like(g, x) + F.broadcast_like(b, x)


def adain(F, content, style, eps: float = EPS):
    """Content features with the style features' per-channel mean and std (Huang & Belongie)."""
    mean_s, var_s = channel_moments(F, style)
    return F.broadcast_add(F.broadcast_mul(instance_normalize(F, content, eps), F.sqrt(var_s + eps)),
                           mean_s)


class _ConvLayer(nn.HybridBlock):
    """Reflection pad and convolution (or a x2 transposed convolution), then (optionally)
    normalization and ReLU."""

    def __init__(self, channels: int, kernel: int, *, stride: int = 1, norm: str | None = None,
                 num_styles: int = 1, relu: bool = True, transposed: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.pad, self.relu, self.norm_kind = 0 if transposed else kernel // 2, relu, norm
        with self.name_scope():
            if transposed:  # padding 1, output_padding 1 with kernel 3: exactly doubles H and W
                self.conv = nn.Conv2DTranspose(channels, kernel, strides=2, padding=1,
                                               output_padding=1)
            else:
                self.conv = nn.Conv2D(channels, kernel, strides=stride)
            if norm == "batch":
                self.norm = nn.BatchNorm()
            elif norm == "instance":
                self.norm = InstanceNorm(channels)
            elif norm == "conditional":
                self.norm = ConditionalInstanceNorm(channels, num_styles)
            else:
                self.norm = None

    def hybrid_forward(self, F, x, style_weights=None):
        p = self.pad
        x = self.conv(F.pad(x, mode="reflect", pad_width=(0, 0, 0, 0, p, p, p, p)) if p else x)
        if self.norm_kind == "conditional":
            x = self.norm(x, style_weights)
        elif self.norm is not None:
            x = self.norm(x)
        return F.relu(x) if self.relu else x


class _OutputConv(nn.HybridBlock):
    """The last convolution, to 3 channels (reflection padding, no norm, no ReLU).

    Speed workaround, not a change of the network: MKL-DNN computes convolutions with
    only 3 output filters slowly on CPU, so the weights are padded with zero filters to
    ``compute_filters`` and the extra outputs (always zero, with zero gradient) are
    dropped. ``benchmarks/train_step.py`` measures both ways.
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


class _Residual(nn.HybridBlock):
    """Two 3x3 conv layers (the second without ReLU) plus the identity."""

    def __init__(self, channels: int, *, norm: str, num_styles: int, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.a = _ConvLayer(channels, 3, norm=norm, num_styles=num_styles)
            self.b = _ConvLayer(channels, 3, norm=norm, num_styles=num_styles, relu=False)

    def hybrid_forward(self, F, x, style_weights=None):
        return x + self.b(self.a(x, style_weights), style_weights)


class _Up(nn.HybridBlock):
    """x2 upsampling: nearest resize then 3x3 conv, or a stride-2 transposed conv."""

    def __init__(self, channels: int, *, upsample: str, norm: str, num_styles: int, **kwargs):
        super().__init__(**kwargs)
        self.upsample = upsample
        with self.name_scope():
            self.layer = _ConvLayer(channels, 3, norm=norm, num_styles=num_styles,
                                    transposed=upsample == "transposed")

    def hybrid_forward(self, F, x, style_weights=None):
        if self.upsample == "resize":
            x = F.UpSampling(x, scale=2, sample_type="nearest")
        return self.layer(x, style_weights)


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

    Call as ``net(X)`` or, with conditional norm, ``net(X, style_weights)`` where
    ``style_weights`` is (N, num_styles). H and W should be multiples of 4.
    """

    def __init__(self, *, norm: str = "instance", upsample: str = "resize", num_styles: int = 1,
                 **kwargs):
        super().__init__(**kwargs)
        if norm not in NORMS:
            raise ValueError(f"invalid norm {norm!r}; options are {NORMS}")
        if upsample not in UPSAMPLINGS:
            raise ValueError(f"invalid upsample {upsample!r}; options are {UPSAMPLINGS}")
        if num_styles < 1 or (num_styles > 1 and norm != "conditional"):
            raise ValueError("num_styles > 1 needs norm='conditional'")
        self.norm, self.num_styles = norm, num_styles
        kw = dict(norm=norm, num_styles=num_styles)
        with self.name_scope():
            self.down = [_ConvLayer(32, 9, **kw), _ConvLayer(64, 3, stride=2, **kw),
                         _ConvLayer(128, 3, stride=2, **kw)]
            self.res = [_Residual(128, **kw) for _ in range(5)]
            self.up = [_Up(64, upsample=upsample, **kw), _Up(32, upsample=upsample, **kw)]
            self.out = _OutputConv(3, 9, in_channels=32)
            for i, block in enumerate(self.down + self.res + self.up):
                self.register_child(block, f"layer{i}")

    def hybrid_forward(self, F, x, style_weights=None):
        if (self.norm == "conditional") != (style_weights is not None):
            raise ValueError("style_weights is required with norm='conditional' and only then")
        for block in self.down + self.res + self.up:
            x = block(x, style_weights)
        return self.out(x)


class Decoder(nn.HybridBlock):
    """AdaIN's decoder: relu4_1 features (512 channels) back to an image, mirroring VGG-19
    (nearest upsampling where the encoder pools; no normalization layers)."""

    # (output channels, upsample before this conv)
    spec = [(256, False), (256, True), (256, False), (256, False), (128, False), (128, True),
            (64, False), (64, True), (64, False)]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.upsample_before = [up for _, up in self.spec]
        with self.name_scope():
            self.convs = [_ConvLayer(c, 3) for c, _ in self.spec] + [
                _OutputConv(3, 3, in_channels=64)]
            for i, conv in enumerate(self.convs):
                self.register_child(conv, f"conv{i}")

    def hybrid_forward(self, F, x):
        for conv, up in zip(self.convs, self.upsample_before + [False]):
            if up:
                x = F.UpSampling(x, scale=2, sample_type="nearest")
            x = conv(x)
        return x
