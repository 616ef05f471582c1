"""FLOPs of one training step of the feed-forward methods, counted from the layer shapes.

Only convolutions and Gram matrices are counted (ReLU, normalization, padding, resizing
and the optimizer are a few percent of the arithmetic and none of it is multiply-add
heavy). A k x k convolution from C to K channels with an N x K x H x W output costs

    2 * N * K * H * W * C * k * k       (a multiply-add counted as two FLOPs)

once forward, once for the gradient with respect to its input and once for its weights.
The trained network pays all three (its first layer not the input gradient); the frozen
VGG-19 pays forward plus input gradient on the stylized batch and forward only on the
photos (and style crops); a Gram matrix of an N x C x H x W map costs 2 * N * C * C * H * W
forward and as much again backward (the useful work: MXNet's batch_dot backward computes
the product twice, once per operand). The output convolution counts its 3 real filters,
not the zero filters ``blocks.OutputConv`` adds for speed: both sides do the same useful
work.
"""
from __future__ import annotations

from gluon_style.vgg import layer_names, vgg_spec


def conv(n: int, c_in: int, c_out: int, k: int, h: int, w: int | None = None) -> float:
    """Forward FLOPs of a k x k convolution with an h x w output (square if w is None)."""
    return 2.0 * n * c_out * h * (h if w is None else w) * c_in * k * k


def vgg(n: int, shape: tuple[int, int], last: str,
        grams: tuple[str, ...] = ()) -> tuple[float, float]:
    """Forward FLOPs of VGG-19 on (H, W) inputs up to ``last``, and of the Grams at ``grams``."""
    _, channels = vgg_spec[19]
    (h, w), convs, gram, c_in = shape, 0.0, 0.0, 3
    for name in layer_names(19)[:layer_names(19).index(last) + 1]:
        if name.startswith("conv"):
            c_out = channels[int(name[4]) - 1]
            convs += conv(n, c_in, c_out, 3, h, w)
            c_in = c_out
        elif name.startswith("pool"):
            h, w = h // 2, w // 2
        if name in grams:
            gram += 2.0 * n * c_in * c_in * h * w
    return convs, gram


def transform_net(n: int, s: int) -> tuple[float, float]:
    """Forward FLOPs of Johnson et al.'s network: (its first conv, the rest)."""
    first = conv(n, 3, 32, 9, s)
    rest = (conv(n, 32, 64, 3, s // 2) + conv(n, 64, 128, 3, s // 4)
            + 10 * conv(n, 128, 128, 3, s // 4) + conv(n, 128, 64, 3, s // 2)
            + conv(n, 64, 32, 3, s) + conv(n, 32, 3, 9, s))
    return first, rest


def decoder(n: int, s: int) -> tuple[float, float]:
    """Forward FLOPs of the AdaIN decoder: (its first conv, the rest)."""
    first = conv(n, 512, 256, 3, s // 8)
    rest = (3 * conv(n, 256, 256, 3, s // 4) + conv(n, 256, 128, 3, s // 4)
            + conv(n, 128, 128, 3, s // 2) + conv(n, 128, 64, 3, s // 2)
            + 2 * conv(n, 64, 64, 3, s) + conv(n, 64, 3, 3, s))
    return first, rest


def train_step(kind: str, *, crop: int = 128, batch: int = 4) -> float:
    """FLOPs of one training step of ``kind`` ('johnson', 'cin' or 'adain')."""
    if kind in ("johnson", "cin"):
        first, rest = transform_net(batch, crop)
        loss_convs, grams = vgg(batch, (crop, crop), "relu4_3",
                                grams=("relu1_2", "relu2_2", "relu3_3", "relu4_3"))
        photo, _ = vgg(batch, (crop, crop), "relu2_2")
        return 2 * first + 3 * rest + 2 * loss_convs + 2 * grams + photo
    if kind == "adain":
        first, rest = decoder(batch, crop)
        encoder, _ = vgg(batch, (crop, crop), "relu4_1")
        # the stylized batch: forward + input gradient; photos and style crops: forward
        return 2 * first + 3 * rest + 2 * encoder + encoder + encoder
    raise ValueError(f"invalid kind {kind!r}; options are ('johnson', 'cin', 'adain')")
