"""How much memory a ``stylize`` run needs, estimated from the layer shapes before it starts."""
from __future__ import annotations

import math

from . import runtime
from .optimizers import HISTORY
from .vgg import layer_names, layer_table

DEFAULT_LAYERS = ("relu4_2", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

# Peak memory model, fitted with benchmarks/memory.py on this project's machine (CPU, the
# default layers, the compiled graph): 0.46 GiB for Python, MXNet and the weights, plus 2.02 x
# the bytes of every VGG activation up to the deepest layer (forward outputs and their
# gradients), from the peaks measured at 1024x768 (4.03 GiB) and 2048x1536 (14.88 GiB). We
# round up, so the estimate errs on the safe side.
MEMORY_BASE_BYTES = 0.5 * 2**30
MEMORY_PER_ACTIVATION_BYTE = 2.1
# L-BFGS's image-sized float32 arrays: its (s, y) pairs, the two bounds, and about ten more
# (the image and gradient before and after a step, the direction, the free mask, temporaries).
LBFGS_HISTORY_VECTORS = 2 * HISTORY + 12


def _activations(shape, layers) -> int:
    names = layer_names(19)
    cut = max(names.index(n) for n in layers)
    rows = layer_table(19, height=shape[0], width=shape[1])[: cut + 1]
    return sum(c * h * w for c, h, w in (r["shape"] for r in rows))


def estimate_memory(*, shape: tuple[int, int], layers=DEFAULT_LAYERS,
                    optimizer: str = "normalized_gd", style_shapes=()) -> int:
    """Estimated peak bytes of a ``stylize`` run on the CPU for a content image of ``shape``.

    The content image's forward and backward pass sets the peak (the fitted factor covers
    a style image of about its size); a much larger style image's forward pass (no
    gradients) can exceed it, so the larger of the two counts.
    """
    content = MEMORY_PER_ACTIVATION_BYTE * 4 * _activations(shape, layers)
    style = max([4 * _activations(s, layers) for s in style_shapes], default=0)
    extra = LBFGS_HISTORY_VECTORS * 3 * shape[0] * shape[1] * 4 if optimizer == "lbfgs" else 0
    return int(MEMORY_BASE_BYTES + max(content, style) + extra)


def check_size(*, content_wh, styles_wh, size: int, style_scale: float = 1.0, layers,
               optimizer, memory: bool = True) -> None:
    """Refuse, before any work, a size at which the images exceed ``image.MAX_PIXELS`` or
    (with ``memory``, on the CPU) the estimate exceeds the memory available now, naming the
    largest size that passes both for these images (their own aspects, the same rounding)."""
    from .image import MAX_PIXELS, resized_shape

    available = runtime.available_memory() if memory else math.inf

    def need(side: int) -> float:
        content = resized_shape(content_wh, side)
        styles = [resized_shape(wh, round(side * style_scale)) for wh in styles_wh]
        if max(h * w for h, w in [content, *styles]) > MAX_PIXELS:
            return math.inf
        return estimate_memory(shape=content, layers=layers, optimizer=optimizer,
                               style_shapes=styles) if memory else 0
    if need(size) <= available:
        return
    lo, hi = 0, size
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if need(mid) <= available else (lo, mid)
    h, w = resized_shape(content_wh, size)
    if not math.isfinite(need(size)):
        raise MemoryError(f"size {size} ({w}x{h} px) is over the {MAX_PIXELS:,}-pixel cap "
                          f"for the content or a style image; the largest size that passes is "
                          f"{lo} (--size {lo})")
    raise MemoryError(f"size {size} ({w}x{h} px) needs about {need(size) / 2**30:.1f} GiB but "
                      f"{available / 2**30:.1f} GiB is available; the largest size that fits "
                      f"is {lo} (--size {lo})")
