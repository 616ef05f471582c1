"""Seconds until the delivered picture is as good as the Gluon tutorial's, for each method.

One objective and one scorer for every method: ``stylize``'s default objective (content
relu4_2; Gram relu1_1 ... relu5_1, style weight 1e3 / C^2; TV 10) on Tubingen / The Starry
Night at ``--size`` px. A method's image is scored as delivered: converted to 8-bit pixels
(clamped), then evaluated by that objective, since an unbounded optimizer's image loses
some of its loss when clamped. The target is the delivered score of the MXNet/Gluon
tutorial's method (normalized GD from the photo, lr 0.1 x0.1 every 100 steps, 500 steps) on
this objective. Every method then runs until its delivered score is at or below the target
(scored every ``--score-every`` steps; scoring time is not counted) or its budget ends.

pastiche 1.6.0 (PyTorch L-BFGS, the same VGG-19 weights) runs as one more method on the same
prepared 512 px images, from its CLI with its own defaults (its objective: content weight
0.01 at relu4_2, style 10 / C^2, no TV, max pooling) except ``--num-steps`` (its default is
1000; ``--pastiche-steps``, 100 here). Its images are scored by the same scorer, and its
seconds start when its optimization starts (its start-up is not counted). It needs the
``[bench]`` extra; without it the row says skipped. ``--out`` keeps each method's PNG.

    python benchmarks/time_to_quality.py [--size 512] [--repeats 1] [--budget 500] [--out DIR]
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gluon_style as gs
import mxnet as mx
import numpy as np
from PIL import Image

from gluon_style import gatys, levels
from gluon_style.image import preprocess
from gluon_style.vgg import vgg19_features

PAIR = ("tubingen", "vangogh_starry_night")
TUTORIAL = dict(optimizer="normalized_gd", lr=0.1, lr_decay=0.1, lr_decay_every=100, pyramid=())


def methods(size: int) -> dict[str, dict]:
    """stylize settings of each method (the default objective throughout)."""
    return {
        "normalized_gd (lr 0.03 x0.3/50, pyramid auto)": dict(optimizer="normalized_gd"),
        "adam": dict(optimizer="adam", lr=0.03, lr_decay=1.0, pyramid=()),
        "lbfgs": dict(optimizer="lbfgs", lr=0.1, pyramid=()),
        "lbfgs_coarse_to_fine": dict(optimizer="lbfgs", lr=0.1, pyramid=(size // 2,),
                                     pyramid_steps=100),
    }


class Scorer:
    """An objective's total loss of a delivered (uint8) image at the full size: ``stylize``'s
    objective for ``content``, ``style`` and ``settings`` (default: the default objective on
    PAIR), built once. ``photo`` is the preprocessed content image it compares with."""

    def __init__(self, size: int, *, content=PAIR[0], style=PAIR[1], **settings):
        c = gs.StyleConfig(content=content, style=style, size=size, **{"pyramid": (), **settings})
        plan = levels.plan(c)
        self.prepared = levels.prepare(c, plan, plan.styles)
        net = vgg19_features(plan.layers, pretrained=c.pretrained, pooling=c.pooling,
                             vgg_weights=c.vgg_weights, normalized=c.normalized_vgg,
                             progress=False)
        net.hybridize(static_alloc=True)
        content_img, style_imgs = self.prepared.levels[-1]
        self.photo, self.objective = gatys._objective(c, plan, net, content_img, style_imgs,
                                                      None, mx.cpu())
        self.shape = content_img.size[::-1]

    def __call__(self, image) -> float:
        return sum(self.terms(image))

    def terms(self, image) -> list[float]:
        """The objective's terms of a delivered image, [content, style, tv] (each summed
        over its layers); ``__call__`` is their sum."""
        image = Image.fromarray(np.asarray(image)) if not isinstance(image, Image.Image) else image
        if image.size[::-1] != self.shape:
            raise ValueError(f"image of {image.size[::-1]}, the scorer's is {self.shape}")
        return [float(t.asscalar()) for t in self.objective(preprocess(image.convert("RGB")))]


def run(scorer: Scorer, *, size: int, budget: int, every: int, target: float | None,
        **settings) -> dict:
    """One stylize run, its delivered image scored every ``every`` full-size records."""
    scored, spent = [], [0.0]   # (seconds without scoring, score); seconds spent scoring

    def callback(rec, X):
        if rec["size"] != size or rec["step"] % every:
            return False
        # MXNet runs asynchronously: let the step's pending work (its backward pass) finish
        # first, so that the scoring time subtracted below is the scorer's own
        mx.nd.waitall()
        seconds, tic = rec["seconds"] - spent[0], time.perf_counter()
        score = scorer(gs.postprocess(X))
        spent[0] += time.perf_counter() - tic
        scored.append((seconds, score))
        return target is not None and score <= target

    image, history = gs.stylize(*PAIR, size=size, steps=budget, callback=callback,
                                progress=False, **settings)
    final = scorer(image)
    return {"image": image, "final": final, "scored": scored, "evaluations": len(history),
            "seconds": history[-1]["seconds"] - spent[0], "history": history}


def pastiche(scorer: Scorer, *, steps: int, every: int, folder: Path) -> dict | None:
    """pastiche's CLI on the scorer's prepared images; None if it is not installed."""
    exe = shutil.which("pastiche", path=str(Path(sys.executable).parent)) or shutil.which("pastiche")
    if exe is None:
        return None
    content, styles = scorer.prepared.levels[-1]
    content.save(folder / "content.png")
    styles[0].save(folder / "style.png")
    work = folder / "workspace"
    out = subprocess.run([exe, "--device", "cpu", "--content", str(folder / "content.png"),
                          "--styles", str(folder / "style.png"), "--output",
                          str(folder / "pastiche.png"), "--size", str(max(content.size)),
                          "--style-size", str(max(styles[0].size)), "--num-steps", str(steps),
                          "--info-step", str(every), "--workspace", str(work),
                          "--workspace-step", str(every), "--seed", "0"],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": os.environ["OMP_NUM_THREADS"]})
    elapsed = {}   # step -> seconds since pastiche started (its own 'step elapsed loss' lines)
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].isdigit():
            elapsed[int(parts[0])] = float(parts[1])
    scored = [(elapsed[int(p.stem)] - elapsed[0], scorer(Image.open(p)))
              for p in sorted(work.glob("*.png")) if int(p.stem) in elapsed]
    image = np.asarray(Image.open(folder / "pastiche.png").convert("RGB"))
    return {"image": image, "final": scorer(image), "scored": scored, "evaluations": steps,
            "seconds": elapsed[max(elapsed)] - elapsed[0]}


def to_target(result: dict, target: float) -> float:
    return next((s for s, score in result["scored"] if score <= target), math.inf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--budget", type=int, default=500,
                        help="full-size steps (L-BFGS: loss evaluations) for each method")
    parser.add_argument("--score-every", type=int, default=10)
    parser.add_argument("--pastiche-steps", type=int, default=100)
    parser.add_argument("--out", help="a folder for each method's delivered PNG")
    args = parser.parse_args()
    from gluon_style.runtime import cpu_name

    print(f"{cpu_name()}; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; size {args.size}",
          flush=True)
    scorer = Scorer(args.size)
    reference = run(scorer, size=args.size, budget=500, every=500, target=None, **TUTORIAL)
    target = reference["final"]
    print(f"target: delivered score {target:.6g} of the tutorial's normalized GD after 500 "
          f"steps ({reference['seconds']:.0f} s)", flush=True)
    results: dict[str, list[dict]] = {name: [] for name in [*methods(args.size), "pastiche"]}
    for i in range(args.repeats):
        for name, settings in methods(args.size).items():
            results[name].append(run(scorer, size=args.size, budget=args.budget,
                                     every=args.score_every, target=target, **settings))
        with tempfile.TemporaryDirectory() as tmp:
            found = pastiche(scorer, steps=args.pastiche_steps, every=args.score_every,
                             folder=Path(tmp))
        if found is not None:
            results["pastiche"].append(found)
        for name, rs in results.items():
            if len(rs) > i:
                r = rs[i]
                print(f"round {i + 1} {name}: {to_target(r, target):.1f} s to target, "
                      f"{r['evaluations']} evaluations in {r['seconds']:.0f} s, delivered score "
                      f"{r['final']:.5g}", flush=True)
    print(f"\n{'method':<26} {'s to target':>12} {'x tutorial':>11} {'delivered':>12} "
          f"{'evals':>6} {'seconds':>8}")
    print(f"{'tutorial normalized_gd':<26} {reference['seconds']:>12.0f} {'1.00x':>11} "
          f"{target:>12.5g} {500:>6} {reference['seconds']:>8.0f}")
    for name, rs in results.items():
        if not rs:
            print(f"{name:<26} skipped: pastiche is not installed (pip install -e '.[bench]')")
            continue
        sec = statistics.median(to_target(r, target) for r in rs)
        shown = "not reached" if math.isinf(sec) else f"{sec:.0f}"
        ratio = "" if math.isinf(sec) else f"{reference['seconds'] / sec:.2f}x"
        print(f"{name:<26} {shown:>12} {ratio:>11} {rs[-1]['final']:>12.5g} "
              f"{rs[-1]['evaluations']:>6} {rs[-1]['seconds']:>8.0f}")
        if args.out:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rs[-1]["image"]).save(Path(args.out) / f"{name.split()[0]}.png")


if __name__ == "__main__":
    main()
