"""Process-wide set-up: OpenMP threads, seeding, and the compute context.

``default_threads()`` must run before ``import mxnet``: MXNet reads
``OMP_NUM_THREADS`` once, when its library loads. ``gluon_style/__init__.py``
calls it first thing.
"""
from __future__ import annotations

import os
import random
import re
import sys
import warnings
from dataclasses import dataclass

THREADS_ENV = "OMP_NUM_THREADS"
# what a command says when Ctrl-C lands before it has a result (start-up, loading)
STOPPED_BEFORE_A_RESULT = "interrupted before a result; the output was not written"


def available_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class CPUInfo:
    """What /proc/cpuinfo says of the first core (``cpu_info`` reads the file each call)."""

    name: str
    vendor: str
    family: int | None
    model: int | None
    flags: frozenset
    mhz: float | None   # the highest 'cpu MHz' of any core; under a hypervisor often nominal


def cpu_info(text: str | None = None) -> CPUInfo | None:
    """Parse /proc/cpuinfo (or ``text``, its contents); ``None`` where there is none (not Linux).

    The one parser of it: ``cpu_name`` (sidecars, timings) and ``benchmarks/step_time.py``
    (peak FLOP/s) both read this.
    """
    if text is None:
        try:
            with open("/proc/cpuinfo") as f:
                text = f.read()
        except OSError:
            return None

    def field(key: str) -> str | None:
        match = re.search(rf"^{key}\s*:[ \t]*(.*)$", text, re.M)
        return match[1].strip() if match else None

    def number(key: str) -> int | None:
        value = field(key)
        return int(value) if value and value.isdigit() else None

    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)]
    return CPUInfo(name=field("model name") or "unknown CPU", vendor=field("vendor_id") or "",
                   family=number("cpu family"), model=number("model"),
                   flags=frozenset((field("flags") or "").split()),
                   mhz=max(mhz) if mhz else None)


def cpu_name(info: CPUInfo | None = None) -> str:
    """The CPU's model name, family/model and vector extensions, e.g.
    'AMD EPYC (family 25 model 17, AVX-512)'.

    Printed beside every timing and written to figure sidecars: results differ by machine,
    and a hypervisor often hides the generation (Zen 4 and Zen 5 are both 'AMD EPYC').
    """
    info = info or cpu_info()
    if info is None:   # not Linux
        import platform
        return platform.processor() or "unknown CPU"
    flags = info.flags
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    extra = ", AMX" if "amx_tile" in flags else ""
    where = (f"family {info.family} model {info.model}, "
             if info.family is not None and info.model is not None else "")
    return f"{info.name} ({where}{vector}{extra})"


# Set when MXNet was loaded before default_threads could set OMP_NUM_THREADS for it.
MXNET_LOADED_FIRST = False


def default_threads() -> int:
    """Set ``OMP_NUM_THREADS`` to the available cores unless the user set it.

    Measured on a 2-core machine (benchmarks/step_time.py): without this, MXNet 1.9.1 ran a
    VGG-19 step as slowly as with one thread (its engine reserves a core for itself). MXNet
    reads the variable once, when it loads, and no call changes its worker threads later;
    so if it was loaded first, a warning says so, once, and how to fix it.
    """
    global MXNET_LOADED_FIRST
    if not os.environ.get(THREADS_ENV):
        os.environ[THREADS_ENV] = str(available_cores())
        if "mxnet" in sys.modules:
            MXNET_LOADED_FIRST = True
            warnings.warn(f"mxnet was imported before gluon_style, without {THREADS_ENV}: on "
                          f"this {available_cores()}-core machine it may use fewer threads "
                          f"(measured 1.4-1.7x slower on 2 cores). Import gluon_style first, "
                          f"or start Python with {THREADS_ENV}={available_cores()}.",
                          RuntimeWarning, stacklevel=2)
    return int(os.environ[THREADS_ENV])


def seed(n: int) -> None:
    """Seed ``random``, NumPy and MXNet (all contexts) with ``n``.

    Same seed, same CPU, same thread count: same pixels.
    """
    import mxnet as mx
    import numpy as np

    random.seed(n)
    np.random.seed(n)
    mx.random.seed(n)


def get_ctx(ctx=None):
    """Turn ``None``, ``'cpu'``, ``'gpu'``, ``'gpu:1'`` or an ``mx.Context`` into a context.

    Asking for a GPU that is not there raises ``ValueError`` with what MXNet sees,
    instead of MXNet's failure at the first operation.
    """
    import mxnet as mx

    if ctx is None:
        return mx.cpu()
    if isinstance(ctx, mx.Context):
        device, index = ctx.device_type, ctx.device_id
    else:
        name, _, idx = str(ctx).strip().lower().partition(":")
        if name not in ("cpu", "gpu") or (idx and not idx.isdigit()):
            raise ValueError(f"unknown context {ctx!r}: use 'cpu', 'gpu' or 'gpu:N'")
        device, index = name, int(idx or 0)
    if device == "cpu":
        return mx.cpu()
    if device != "gpu":
        raise ValueError(f"unsupported context {ctx!r}: use 'cpu', 'gpu' or 'gpu:N'")
    found = num_gpus()
    if index >= found:
        from mxnet.runtime import Features

        cuda = Features().is_enabled("CUDA")
        hint = ("" if cuda else
                " This MXNet build has no CUDA support; install a CUDA build "
                "(e.g. pip install mxnet-cu112==1.9.1) on a machine with an NVIDIA GPU.")
        raise ValueError(f"GPU {index} was requested but MXNet sees {found} GPU(s).{hint} "
                         "Use ctx='cpu' (--ctx cpu) to run on the CPU.")
    return mx.gpu(index)


def num_gpus() -> int:
    """GPUs MXNet can use (0 on a CPU-only build)."""
    import mxnet as mx

    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:
        return 0


def available_memory() -> int:
    """Bytes of memory available to a new allocation now (Linux MemAvailable; else total)."""
    try:
        with open("/proc/meminfo") as f:
            found = [line.split()[1] for line in f if line.startswith("MemAvailable:")]
    except OSError:
        found = []
    return int(found[0]) * 1024 if found else os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
