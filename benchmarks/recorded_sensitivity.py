"""How far each run of tests/test_recorded_values.py moves under float32 rounding noise.

    python benchmarks/recorded_sensitivity.py [NAME ...]     # default: every stylize entry

The recorded values are compared across CPUs at 1e-3 relative, which is only meaningful for a
run that does not amplify rounding. This perturbs every VGG-19 weight by a relative 3e-7
(a few float32 ulps, about what a different CPU's kernels change) and prints, per entry, the
largest relative change of its loss totals. A well-conditioned run moves by about 1e-7; one
that moves by more than 1e-4 tests the CPU, not the math, and should be recorded another way.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import gluon_style  # noqa: F401  (threads before mxnet)
from gluon_style import vgg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import test_recorded_values as recorded  # noqa: E402

NOISE = 3e-7
_load = vgg.load_vgg_params


def _noisy_load(*args, **kwargs):
    params, source, sha256 = _load(*args, **kwargs)
    rng = np.random.default_rng(0)
    noisy = {k: (v * (1 + NOISE * rng.standard_normal(v.shape))).astype(v.dtype)
             for k, v in params.items()}
    return noisy, source, sha256


def totals(name: str, *, noisy: bool) -> np.ndarray:
    vgg.load_vgg_params = _noisy_load if noisy else _load
    vgg._NORMALIZED.clear()   # the normalized network is cached per weights file: rebuild it
    return np.array(recorded.stylize_values(name)["totals"])


def main(names: list[str]) -> None:
    for name in names or sorted(recorded.STYLIZE):
        clean, noisy = totals(name, noisy=False), totals(name, noisy=True)
        change = np.max(np.abs(noisy - clean) / np.abs(clean))
        print(f"{name:28s} largest relative change {change:.1e}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
