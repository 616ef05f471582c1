"""Which settings give identical pixels: the same run twice, and with 1 vs 2 OpenMP threads.

    python benchmarks/determinism.py [--sizes 128,384] [--steps 20]

Each run is a fresh process (MXNet reads OMP_NUM_THREADS once, when it loads): Tübingen in
the style of The Starry Night, normalized GD from the photo at one scale, seed 0.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = """
import sys, numpy as np
import gluon_style as gs
image, _ = gs.stylize("tubingen", "vangogh_starry_night", size=int(sys.argv[1]),
                      steps=int(sys.argv[2]), pyramid=(), optimizer="normalized_gd", progress=False)
np.save(sys.argv[3], image)
"""


def run(size: int, steps: int, threads: int, out: Path) -> np.ndarray:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-c", CHILD, str(size), str(steps), str(out)], env=env,
                   check=True)
    return np.load(out).astype(int)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,384")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in map(int, args.sizes.split(",")):
            one, two, again = (run(size, args.steps, t, Path(tmp, f"{size}_{k}.npy"))
                               for k, t in (("a", 1), ("b", 2), ("c", 2)))
            differ = (one != two).any(axis=-1)
            print(f"{size} px: same seed and threads identical: {np.array_equal(two, again)}; "
                  f"1 vs 2 threads identical: {np.array_equal(one, two)} (max difference "
                  f"{np.abs(one - two).max()} grey levels, {100 * differ.mean():.1f}% of pixels)",
                  flush=True)


if __name__ == "__main__":
    main()
