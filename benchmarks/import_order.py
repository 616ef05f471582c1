"""What importing mxnet before gluon_style costs: the same full-size stylize steps, in fresh
processes started without OMP_NUM_THREADS, the two import orders alternated.

    python benchmarks/import_order.py [--size 512] [--steps 6] [--repeats 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

CHILD = """
import sys, statistics
first = sys.argv[1]
if first == "mxnet":
    import mxnet
import gluon_style as gs
_, h = gs.stylize("tubingen", "vangogh_starry_night", size=int(sys.argv[2]),
                  steps=int(sys.argv[3]) + 1, pyramid=(), optimizer="normalized_gd", progress=False)
print(statistics.median(b["seconds"] - a["seconds"] for a, b in zip(h[1:-1], h[2:-1])))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    times = {"gluon_style": [], "mxnet": []}
    for _ in range(args.repeats):
        for first in times:
            r = subprocess.run([sys.executable, "-W", "ignore", "-c", CHILD, first,
                                str(args.size), str(args.steps)],
                               env=env, capture_output=True, text=True, check=True)
            times[first].append(float(r.stdout.split()[-1]))
            print(f"{first} imported first: {times[first][-1]:.3f} s/step", flush=True)
    a, b = (statistics.median(times[k]) for k in times)
    print(f"median: gluon_style first {a:.3f} s/step, mxnet first {b:.3f} s/step ({b / a:.2f}x)")


if __name__ == "__main__":
    main()
