"""An experiment's settings as a frozen dataclass built from a function's signature, and the
versions of what decides the pixels (both written as JSON beside every output)."""
from __future__ import annotations

import dataclasses
import inspect
import math
import numbers


def settings_dataclass(func, name: str, module: str, *, exclude=(), doc: str = ""):
    """A frozen dataclass with one field per parameter of ``func`` (same names, annotations
    and defaults) but those in ``exclude``: the signature stays the one source of defaults.
    ``config.run(**extra)`` calls ``func`` with the settings (and ``extra``, e.g. progress)."""
    fields = []
    for p in inspect.signature(func).parameters.values():
        if p.name not in exclude:
            default = dataclasses.MISSING if p.default is p.empty else p.default
            fields.append((p.name, p.annotation, dataclasses.field(default=default)))
    cls = dataclasses.make_dataclass(name, fields, frozen=True)
    cls.__doc__, cls.__module__ = doc, module
    cls.run = lambda self, **extra: func(**dataclasses.asdict(self), **extra)
    return cls


def versions() -> dict:
    """Versions of Python and the packages that decide the pixels, and the thread count."""
    import platform

    import mxnet as mx
    import numpy as np
    import PIL

    from . import __version__, runtime
    return {"python": platform.python_version(), "mxnet": mx.__version__,
            "numpy": np.__version__, "pillow": PIL.__version__, "gluon_style": __version__,
            "omp_num_threads": runtime.default_threads() if not runtime.MXNET_LOADED_FIRST
            else "unknown (mxnet was loaded before gluon_style set it)"}


def require(name: str, value, *, above: float | None = None, at_least: float | None = None,
            at_most: float | None = None) -> None:
    """``ValueError`` naming the option unless ``value`` is a finite number in the range."""
    values = value if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
        ok = ok and (above is None or v > above) and (at_least is None or v >= at_least)
        if not ok or (at_most is not None and v > at_most):
            bounds = [f"> {above:g}" if above is not None else "",
                      f">= {at_least:g}" if at_least is not None else "",
                      f"<= {at_most:g}" if at_most is not None else ""]
            wanted = " and ".join(b for b in bounds if b) or "finite"
            raise ValueError(f"--{name.replace('_', '-')} must be a finite number {wanted}, "
                             f"got {v!r}")
