"""Peak memory of ``gluon_style.stylize`` at several sizes, measured against its estimate.

Each size runs in a fresh process (content Tubingen, style The Starry Night, the
default layers, one optimization step plus the final evaluation); its peak is
that process's maximum resident set size (``ru_maxrss``), which includes Python,
MXNet and the VGG-19 weights. Beside it, ``gluon_style.memory.estimate_memory``
(the figure ``stylize`` checks against the available memory before it starts).

    python benchmarks/memory.py [--sizes 512,1024,2048] [--optimizer normalized_gd]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
import gluon_style as gs
size, optimizer = int(sys.argv[1]), sys.argv[2]
tic = time.perf_counter()
# pyramid=(): one full-size step (the default 'auto' would run 100 half-size steps first)
image, _ = gs.stylize("tubingen", "vangogh_starry_night", size=size, steps=1, optimizer=optimizer,
                      pyramid=(), progress=False)
print(json.dumps({"shape": image.shape[:2], "seconds": time.perf_counter() - tic,
                  "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,1024,2048")
    parser.add_argument("--optimizer", default="normalized_gd")
    args = parser.parse_args()

    from gluon_style.memory import estimate_memory
    from gluon_style.runtime import available_memory

    print(f"available memory now: {available_memory() / 2**30:.1f} GiB")
    print(f"{'size':>6} {'image':>11} {'measured GiB':>13} {'estimate GiB':>13} {'seconds':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        r = subprocess.run([sys.executable, "-c", CHILD, str(size), args.optimizer],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{size:>6}  failed: {r.stderr.strip().splitlines()[-1]}")
            continue
        out = json.loads(r.stdout.strip().splitlines()[-1])
        h, w = out["shape"]
        est = estimate_memory(shape=(h, w), optimizer=args.optimizer)
        print(f"{size:>6} {f'{w}x{h}':>11} {out['peak_bytes'] / 2**30:>13.2f} {est / 2**30:>13.2f} "
              f"{out['seconds']:>8.0f}")


if __name__ == "__main__":
    main()
