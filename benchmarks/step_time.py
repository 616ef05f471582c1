"""Seconds per optimization step of ``gluon_style.stylize`` and the GFLOP/s it implies.

A step = one forward pass of the frozen VGG-19 up to the deepest requested layer,
the loss terms, and one backward pass to the image (no weight gradients: they
are frozen). FLOPs are counted from the layer shapes: a 3x3 convolution from C
to K channels on an HxW map costs 2*9*C*K*H*W multiply-adds-as-two, once forward
and once more for the gradient with respect to its input; a Gram matrix costs
2*C*C*H*W, twice (forward and backward). Pooling/ReLU/elementwise are ignored.

Peak FP32 = cores x clock x FLOPs per cycle, with FLOPs per cycle from the
vector units the CPU reports: AVX-512 with two FMA ports 64, AVX2+FMA 32
(two 256-bit FMA ports: 2 x 8 lanes x 2), AVX 16, else SSE 8. AMD's Zen 4 (family 25
with AVX-512) runs a 512-bit FMA as two halves on its two 256-bit pipes: 32. The clock is the one
/proc/cpuinfo reports, under a hypervisor often the nominal one; a CPU boosting above it
can show more than 100%.

    python benchmarks/step_time.py [--steps 6] [--sizes 384x512,512x683]
"""
from __future__ import annotations

import argparse
import os
import statistics

import gluon_style as gs
from gluon_style.gatys import GATYS_STYLE_LAYERS
from gluon_style.runtime import cpu_info, cpu_name
from gluon_style.vgg import layer_names

import flops


def step_flops(H: int, W: int, layers) -> float:
    """Forward plus input gradient of the convolutions and Gram matrices (flops.py)."""
    names = layer_names(19)
    last = max(layers, key=names.index)
    convs, grams = flops.vgg(1, (H, W), last, grams=tuple(set(GATYS_STYLE_LAYERS) & set(layers)))
    return 2 * (convs + grams)


def peak_gflops() -> tuple[float, str]:
    info = cpu_info()
    if info is None or info.mhz is None:
        raise SystemExit("step_time.py counts peak FLOP/s from /proc/cpuinfo's flags and clock, "
                         "which this machine does not report")
    flags = info.flags
    zen4 = info.vendor == "AuthenticAMD" and info.family == 25
    if "avx512f" in flags and zen4:
        per_cycle, unit = 32, "AVX-512 on Zen 4: two 256-bit FMA pipes"
    elif "avx512f" in flags:
        per_cycle, unit = 64, "AVX-512 FMA x2"
    elif {"avx2", "fma"} <= flags:
        per_cycle, unit = 32, "AVX2 FMA x2 (2 ports x 8 lanes x 2)"
    elif "avx" in flags:
        per_cycle, unit = 16, "AVX"
    else:
        per_cycle, unit = 8, "SSE"
    mhz = info.mhz
    cores = len(os.sched_getaffinity(0))
    peak = cores * mhz / 1000 * per_cycle
    return peak, f"{cores} cores x {mhz / 1000:.3f} GHz x {per_cycle} FLOP/cycle [{unit}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--sizes", default="384x512,512x683", help="HxW list")
    args = parser.parse_args()
    layers = ("relu4_2",) + GATYS_STYLE_LAYERS
    peak, how = peak_gflops()
    print(f"{cpu_name()}; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; "
          f"peak FP32 {peak:.1f} GFLOP/s = {how}")
    for hw in args.sizes.split(","):
        H, W = map(int, hw.split("x"))
        shape = (H, W)
        content = gs.load_image("astronaut", shape=shape)
        # pyramid=(): full-size steps only ('auto' would add half-size steps for normalized GD)
        _, history = gs.stylize(content, "coffee", size=max(shape), steps=args.steps + 1,
                                content_layers=layers[:1], style_layers=layers[1:], pyramid=(),
                                optimizer="normalized_gd", progress=False)
        assert {h["size"] for h in history} == {max(shape)}
        # step 0 includes graph building; the final record is a forward-only evaluation
        per_step = [b["seconds"] - a["seconds"] for a, b in zip(history[1:-1], history[2:-1])]
        sec = statistics.median(per_step)
        gflop = step_flops(H, W, layers) / 1e9
        print(f"{H}x{W}: {sec:.3f} s/step (median of {len(per_step)}), {gflop:.1f} GFLOP/step, "
              f"{gflop / sec:.1f} GFLOP/s = {100 * gflop / sec / peak:.0f}% of peak")


if __name__ == "__main__":
    main()
