"""Does coarse-to-fine pay? The full-size loss at equal time, with and without a half-size level.

For each init, with normalized GD and its default schedule (``stylize``'s defaults
otherwise: the default layers and weights; Tubingen / The Starry Night), a single-scale run of ``--steps``
steps sets the time budget T. The coarse-to-fine run spends ``--pyramid-steps`` steps at half
size, continues at full size, and is stopped at T by its callback. Both losses are those of
the last full-size image. This is the measurement behind ``pyramid='auto'``.

    python benchmarks/coarse_to_fine.py [--size 384] [--steps 150] [--pyramid-steps 100]
"""
from __future__ import annotations

import argparse

import gluon_style as gs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--pyramid-steps", type=int, default=100)
    parser.add_argument("--inits", default="content,noise")
    args = parser.parse_args()

    common = dict(content="tubingen", style="vangogh_starry_night", size=args.size,
                  optimizer="normalized_gd", progress=False)
    print(f"{'init':<8} {'single scale':>24} {'coarse-to-fine':>38}")
    for init in args.inits.split(","):
        _, single = gs.stylize(**common, init=init, steps=args.steps, pyramid=())
        budget = single[-1]["seconds"]
        _, c2f = gs.stylize(**common, init=init, steps=args.steps, pyramid=(args.size // 2,),
                            pyramid_steps=args.pyramid_steps,
                            callback=lambda rec, X: rec["seconds"] >= budget)
        full = [r for r in c2f if r["size"] == args.size]
        shown = (f"{full[-1]['total']:.3g} ({len(full) - 1} full-size steps, "
                 f"{full[-1]['seconds']:.0f} s)" if full else "never reached full size")
        print(f"{init:<8} {single[-1]['total']:>10.3g} ({args.steps} steps, {budget:.0f} s) "
              f"{shown:>38}", flush=True)


if __name__ == "__main__":
    main()
