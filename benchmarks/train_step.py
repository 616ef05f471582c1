"""Seconds per training step of the feed-forward networks, and the blocks that set it.

Part 1 times forward plus backward of single blocks at the shapes a step at crop 128,
batch 4 meets:

* instance normalization with its scale and shift: the explicit formula (mean, variance,
  broadcast arithmetic) vs MXNet's fused LayerNorm then a 1x1 depthwise convolution (the
  package's form until issue 22) vs ``blocks.InstanceNorm``: BatchNorm over the batch seen
  as (1, N*C, H, W), in training mode, affine fused;
* the last convolution to 3 channels with 3 filters vs zero filters added up to 8 or 16
  (``blocks.OutputConv`` computes 16).

Part 2 runs ``training.train`` for each kind and reports the median seconds of a
step after the first two (which build the graphs).

Part 3 measures two ways of issue 22 item 4 before building them:

* batching the style targets: AdaIN's encoder on the photos and on the style crops as two
  batches of N (the package) vs one batch of 2N, forward only (no gradient is needed);
* hybridizing the whole step: a step's cost outside the compiled graphs (Python, operator
  dispatch, the optimizer's update calls) does not grow with the crop, so the same step at
  crop 32, batch 1 (the smallest crop the networks take) bounds what one graph for the whole
  step could save.

    python benchmarks/train_step.py [--crop 128] [--batch-size 4] [--steps 8]
                                    [--kinds johnson,cin,adain] [--parts 1,2,3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet loads)
import mxnet as mx
from mxnet import autograd
from mxnet.gluon import nn

from gluon_style import blocks
from gluon_style import training


def block_ms(block, X, repeats: int = 10) -> float:
    """Median milliseconds of forward + backward (to X and the block's parameters)."""
    block.initialize()
    block.hybridize(static_alloc=True)
    X = X.copy()
    X.attach_grad()
    head = mx.nd.random.normal(shape=block(X).shape)   # a fixed output gradient, no loss op
    times = []
    for _ in range(repeats + 1):
        tic = time.perf_counter()
        with autograd.record():
            Y = block(X)
        Y.backward(head)
        mx.nd.waitall()
        times.append(time.perf_counter() - tic)
    return 1000 * statistics.median(times[1:])


class ExplicitInstanceNorm(nn.HybridBlock):
    """(x - mean) / sqrt(var + eps) * gamma + beta from broadcast arithmetic (the textbook)."""

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.gamma = self.params.get("gamma", shape=(1, channels, 1, 1), init="ones")
        self.beta = self.params.get("beta", shape=(1, channels, 1, 1), init="zeros")

    def hybrid_forward(self, F, x, gamma, beta):
        mean = F.mean(x, axis=(2, 3), keepdims=True)
        centered = F.broadcast_sub(x, mean)
        var = F.mean(F.square(centered), axis=(2, 3), keepdims=True)
        y = F.broadcast_div(centered, F.sqrt(var + blocks.EPS))
        return F.broadcast_add(F.broadcast_mul(y, gamma), beta)


class LayerNormInstanceNorm(ExplicitInstanceNorm):
    """LayerNorm over H*W, then the scale and shift as a 1x1 depthwise convolution."""

    def __init__(self, channels, **kwargs):
        super().__init__(channels, **kwargs)
        self.channels = channels

    def hybrid_forward(self, F, x, gamma, beta):
        return F.Convolution(blocks.instance_normalize(F, x), F.reshape(gamma, (-1, 1, 1, 1)),
                             F.reshape(beta, (-1,)), kernel=(1, 1), num_filter=self.channels,
                             num_group=self.channels)


class _WithScratch(nn.HybridBlock):
    """A norm block hybridized with its scratch statistics as inputs, as in TransformNet."""

    def __init__(self, norm, **kwargs):
        super().__init__(**kwargs)
        self.norm, self.channels = norm, norm.channels

    def forward(self, x):
        return super().forward(x, *blocks.scratch(x, channels=[self.channels]))

    def hybrid_forward(self, F, x, mean, var):
        return self.norm(x, mean, var)


def part1(batch: int, crop: int) -> None:
    print(f"Blocks, forward + backward, batch {batch}, median of 10 (ms):")
    for C, side in ((32, crop), (128, crop // 4)):
        X = mx.nd.random.normal(shape=(batch, C, side, side))
        explicit, layer = block_ms(ExplicitInstanceNorm(C), X), block_ms(LayerNormInstanceNorm(C), X)
        with autograd.train_mode():   # what blocks.InstanceNorm itself does when called alone
            as_batch = block_ms(_WithScratch(blocks.InstanceNorm(C)), X)
        print(f"  instance norm + scale/shift {C}x{side}x{side}: explicit {explicit:.1f}, "
              f"LayerNorm + depthwise {layer:.1f}, BatchNorm of (1, N*C, H, W) {as_batch:.1f} "
              f"({layer / as_batch:.1f}x the LayerNorm form's speed)")
    for c_in, kernel in ((32, 9), (64, 3)):
        X = mx.nd.random.normal(shape=(batch, c_in, crop, crop))
        ms = {f: block_ms(blocks.OutputConv(3, kernel, in_channels=c_in, compute_filters=f), X)
              for f in (3, 8, 16)}
        print(f"  {kernel}x{kernel} conv {c_in}->3 at {crop}px: " + ", ".join(
            f"{f} filters {m:.1f}" for f, m in ms.items()))


def step_seconds(kind: str, *, styles, crop: int, batch: int, steps: int) -> list[float]:
    """Seconds of each step of a ``training.train`` run after the first two (which build
    the graphs)."""
    with tempfile.TemporaryDirectory() as out:
        _, history = training.train(kind=kind, styles=styles, crop=crop, batch_size=batch,
                                    steps=steps, out_dir=out, checkpoint_every=10 ** 6,
                                    progress=False)
    return [b["seconds"] - a["seconds"] for a, b in zip(history, history[1:])][1:]


def part2(kinds, *, crop: int, batch: int, steps: int) -> None:
    print(f"\nTraining steps, crop {crop}, batch {batch}, median of steps 3..{steps}:")
    styles = {"johnson": ("vangogh_starry_night",),
              "cin": ("vangogh_starry_night", "munch_the_scream"),
              "adain": ("vangogh_starry_night", "munch_the_scream")}
    for kind in kinds:
        seconds = step_seconds(kind, styles=styles[kind], crop=crop, batch=batch, steps=steps)
        print(f"  {kind:8s} {statistics.median(seconds):.2f} s/step  "
              f"(min {min(seconds):.2f}, max {max(seconds):.2f})", flush=True)


def part3(*, crop: int, batch: int, steps: int) -> None:
    from gluon_style.adain import ENCODER_LAYERS
    from gluon_style.vgg import vgg_features

    encoder = vgg_features(list(ENCODER_LAYERS), num_layers=19, normalized=True, progress=False)
    encoder.hybridize(static_alloc=True)
    X, S = (mx.nd.random.uniform(shape=(batch, 3, crop, crop)) for _ in range(2))
    both = mx.nd.concat(X, S, dim=0)
    runs = {"two batches": lambda: [encoder(X), encoder(S)], "one batch": lambda: encoder(both)}
    times = {name: [] for name in runs}
    for _ in range(11):
        for name, run in runs.items():
            tic = time.perf_counter()
            run()
            mx.nd.waitall()
            times[name].append(time.perf_counter() - tic)
    two, one = (1000 * statistics.median(times[n][1:]) for n in runs)
    print(f"\nAdaIN encoder on {batch} photos and {batch} style crops at {crop}px: two batches "
          f"{two:.1f} ms, one batch of {2 * batch} {one:.1f} ms ({two / one:.2f}x)")
    for kind in ("johnson", "adain"):
        step = {c: statistics.median(step_seconds(kind, styles=("vangogh_starry_night",),
                                                  crop=c, batch=b, steps=steps))
                for c, b in ((32, 1), (crop, batch))}
        print(f"  {kind} step at crop 32, batch 1: {1000 * step[32]:.1f} ms = "
              f"{100 * step[32] / step[crop]:.1f}% of the crop {crop}, batch {batch} step "
              f"({step[crop]:.3f} s): the most one graph for the whole step could save",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--kinds", default="johnson,cin,adain")
    parser.add_argument("--parts", default="1,2,3")
    args = parser.parse_args()
    parts = args.parts.split(",")
    if "1" in parts:
        part1(args.batch_size, args.crop)
    if "2" in parts:
        part2(args.kinds.split(","), crop=args.crop, batch=args.batch_size, steps=args.steps)
    if "3" in parts:
        part3(crop=args.crop, batch=args.batch_size, steps=args.steps)


if __name__ == "__main__":
    main()
