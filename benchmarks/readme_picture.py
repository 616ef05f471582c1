"""The README's picture: the main job's defaults at 512 px beside pastiche on the same pair.

Runs ``stylize`` at its defaults (Tubingen / The Starry Night, ``--size`` px) and pastiche
1.6.0's CLI (its defaults, ``--pastiche-steps`` L-BFGS steps) on the same prepared images,
scores both delivered images with the default objective (``time_to_quality.Scorer``, every
10 evaluations; with ``--target``, the seconds until the score first reaches it), and
writes ``figures/readme_stylize.png`` with its sidecar (settings, seed, versions, weights
checksum, seconds; pastiche's steps, seconds and score). Seconds are the optimization's,
start-up and scoring excluded on both sides.

    python benchmarks/readme_picture.py [--size 512] [--pastiche-steps 100] [--target LOSS]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import gluon_style as gs
from gluon_style import experiments, figures
from gluon_style.data import DEFAULT_CONTENT, DEFAULT_STYLE

from time_to_quality import PAIR, Scorer, pastiche, run, to_target

NAMES = {"lbfgs": "L-BFGS", "normalized_gd": "normalized GD", "adam": "Adam"}
FIGURE = Path(__file__).resolve().parents[1] / "figures" / "readme_stylize.png"


def grid_2x2(images, titles, *, cell=(5.12, 3.84), fontsize=14):
    """Inputs above, results below, each cell at its image's pixels (100 dpi)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(2 * cell[0], 2 * cell[1] + 0.9))
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(image)
        ax.set_title(title, fontsize=fontsize)
        ax.axis("off")
    fig.tight_layout(pad=0.4)
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--pastiche-steps", type=int, default=100)
    parser.add_argument("--target", type=float, help="time_to_quality.py's target score")
    args = parser.parse_args()
    assert PAIR == (DEFAULT_CONTENT, DEFAULT_STYLE), "the README shows the main job's pair"
    from gluon_style.runtime import cpu_name

    scorer = Scorer(args.size)
    config = gs.StyleConfig(content=PAIR[0], style=PAIR[1], size=args.size)
    found = run(scorer, size=args.size, budget=config.steps, every=10, target=None)
    seconds = found["seconds"]
    ours = experiments.Result(config, found["image"], found["history"], seconds,
                              experiments.run_key(config), cached=False)
    with tempfile.TemporaryDirectory() as tmp:
        theirs = pastiche(scorer, steps=args.pastiche_steps, every=10, folder=Path(tmp))
    if theirs is None:
        raise SystemExit("pastiche is not installed: pip install -e '.[bench]'")
    score, their_score = found["final"], theirs["final"]
    reached = {} if args.target is None else {
        "target": args.target, "seconds_to_target": to_target(found, args.target),
        "pastiche_seconds_to_target": to_target(theirs, args.target)}
    content, styles = scorer.prepared.levels[-1]
    titles = ["Tübingen (photo: Andreas Praefcke)", "The Starry Night (van Gogh, 1889)",
              f"gluon_style defaults: {NAMES[config.optimizer]}, {config.steps} steps, "
              f"{seconds:.0f} s", f"pastiche 1.6.0: L-BFGS, {args.pastiche_steps} steps, "
              f"{theirs['seconds']:.0f} s"]   # one run each: the sidecar has the numbers
    fig = grid_2x2([content, styles[0], ours.image, theirs["image"]], titles)
    figures.save_figure(fig, FIGURE, [ours], optimization_seconds=seconds,
                            delivered_score=score, **reached,
                            pastiche={"version": "1.6.0", "steps": args.pastiche_steps,
                                      "seconds": theirs["seconds"], "delivered_score": their_score,
                                      "arguments": "CLI defaults, --size and --style-size "
                                                   f"{args.size}, --seed 0"})
    print(f"{cpu_name()}: ours {seconds:.1f} s, score {score:.5g}; pastiche "
          f"{theirs['seconds']:.1f} s, score {their_score:.5g}; {reached} -> {FIGURE}")


if __name__ == "__main__":
    main()
