"""How much memory a ``stylize`` run needs, estimated from the layer shapes before it starts."""
from __future__ import annotations

from . import runtime
from .vgg import layer_names, layer_table

DEFAULT_LAYERS = ("relu4_2", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

# Peak memory model, fitted with benchmarks/memory.py on this project's machine (CPU, the
# default layers, the compiled graph): 0.46 GiB for Python, MXNet and the weights, plus 2.02 x
# the bytes of every VGG activation up to the deepest layer (forward outputs and their
# gradients), from the peaks measured at 1024x768 (4.03 GiB) and 2048x1536 (14.88 GiB). We
# round up, so the estimate errs on the safe side.
MEMORY_BASE_BYTES = 0.5 * 2**30
MEMORY_PER_ACTIVATION_BYTE = 2.1
LBFGS_HISTORY_VECTORS = 25   # scipy's 10 (s, y) pairs and its work arrays, float64


def estimate_memory(*, shape: tuple[int, int], layers=DEFAULT_LAYERS,
                    optimizer: str = "normalized_gd") -> int:
    """Estimated peak bytes of a ``stylize`` run on the CPU for a content image of ``shape``."""
    names = layer_names(19)
    cut = max(names.index(n) for n in layers)
    rows = layer_table(19, height=shape[0], width=shape[1])[: cut + 1]
    activations = sum(c * h * w for c, h, w in (r["shape"] for r in rows))
    extra = LBFGS_HISTORY_VECTORS * 3 * shape[0] * shape[1] * 8 if optimizer == "lbfgs" else 0
    return int(MEMORY_BASE_BYTES + MEMORY_PER_ACTIVATION_BYTE * 4 * activations + extra)


def check_memory(*, shape, layers, optimizer, size: int) -> None:
    """Refuse, before any work, a size whose estimate exceeds the memory available now."""
    available = runtime.available_memory()
    need = estimate_memory(shape=shape, layers=layers, optimizer=optimizer)
    if need <= available:
        return
    aspect = shape[0] / shape[1]
    fits = lambda side: estimate_memory(  # noqa: E731 (side = longer side, same aspect)
        shape=(side, round(side / aspect)) if aspect >= 1 else (round(side * aspect), side),
        layers=layers, optimizer=optimizer) <= available
    lo, hi = 0, size
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    raise MemoryError(f"size {size} ({shape[1]}x{shape[0]} px) needs about {need / 2**30:.1f} GiB "
                      f"but {available / 2**30:.1f} GiB is available; the largest size that fits "
                      f"is about {lo} (--size {lo})")
