"""Seconds to run each notebook at a preset, cold, on this CPU (issue 21: at the ``class``
preset every notebook should take under 15 minutes on 2 cores).

Each notebook runs with papermill (``notebooks/make_figures.py``'s ``execute``) into a fresh
temporary folder with an empty run cache, so nothing is reused from an earlier run. One line
per notebook, printed as it finishes.

    python benchmarks/notebook_times.py 01 02a 11 [--preset class]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", help="notebook numbers or names")
    parser.add_argument("--preset", default="class", choices=("paper", "class", "smoke"))
    args = parser.parse_args()
    import make_figures
    from gluon_style.runtime import cpu_name

    chosen = make_figures.select(args.names)   # a bad name fails before any work
    print(f"{cpu_name()}; preset {args.preset}", flush=True)
    for path in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            parameters = {"preset": args.preset, "out_dir": f"{tmp}/out",
                          "runs_cache": f"{tmp}/cache"}
            tic = time.perf_counter()
            make_figures.execute(path, parameters=parameters, folder=Path(tmp))
            print(f"{path.stem}: {time.perf_counter() - tic:.0f} s", flush=True)


if __name__ == "__main__":
    main()
