"""The project's steps timed beside the same work in PyTorch, on identical VGG-19 weights.

Three measurements, each in fresh processes (MXNet and PyTorch never share one), the two
sides alternated, medians of the repeats:

* ``gatys``: one normalized-GD step of ``stylize`` at full size (default objective: content
  relu4_2, Gram at relu1_1 ... relu5_1, TV), forward and backward to the image;
* ``lbfgs``: one L-BFGS loss evaluation of ``stylize(optimizer='lbfgs')`` against one
  closure call of ``torch.optim.LBFGS`` (what pastiche uses) on the same objective;
* ``johnson``: one training step of Johnson et al.'s network (crop 128, batch 4, instance
  norm, VGG-19 loss network to relu4_3, Adam) against the same network and losses in
  PyTorch;
* ``cin``: the same with conditional instance norm over 2 paintings;
* ``adain``: one training step of Huang and Belongie's decoder (crop 128, batch 4 photos
  and 4 style crops, encoder to relu4_1, content + mean/std losses, Adam).

The PyTorch side needs the optional extra: ``pip install -e ".[bench]"`` (torch 2.13 CPU);
without it the project side runs alone and the reference is reported as skipped.

    python benchmarks/pytorch_reference.py [--what gatys,lbfgs,johnson,cin,adain] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = {"gatys": 6, "lbfgs": 8, "johnson": 8, "cin": 8, "adain": 8}
TRAIN_STYLES = {"johnson": ("vangogh_starry_night",),
                "cin": ("vangogh_starry_night", "munch_the_scream"),
                "adain": ("vangogh_starry_night", "munch_the_scream")}


def project_side(what: str, size: int) -> float:
    """Median seconds per step (or evaluation) of the package itself."""
    import gluon_style as gs
    from gluon_style import training

    if what in TRAIN_STYLES:
        with tempfile.TemporaryDirectory() as tmp:
            _, h = training.train(kind=what, styles=TRAIN_STYLES[what], crop=128, batch_size=4,
                                  steps=STEPS[what], out_dir=tmp, checkpoint_every=1000,
                                  progress=False)
        # steps 2.. (the first two build the graphs), as the PyTorch side
        seconds = [b["seconds"] - a["seconds"] for a, b in zip(h[1:], h[2:])]
    else:
        optimizer = "lbfgs" if what == "lbfgs" else "normalized_gd"
        _, h = gs.stylize("tubingen", "vangogh_starry_night", size=size, steps=STEPS[what],
                          pyramid=(), optimizer=optimizer, progress=False)
        seconds = [b["seconds"] - a["seconds"] for a, b in zip(h[1:-1], h[2:-1])]
    return statistics.median(seconds)


def export(folder: Path, size: int) -> None:
    """The weights and the preprocessed images, as NumPy files the PyTorch side reads."""
    import mxnet as mx
    import numpy as np

    import gluon_style as gs
    from gluon_style.weights import weights_file

    file, _ = weights_file(19, "caffe")
    np.savez(folder / "vgg19.npz", **{k: v.asnumpy() for k, v in mx.nd.load(str(file)).items()})
    np.savez(folder / "images.npz",
             content=gs.preprocess(gs.load_image("tubingen", max_size=size)).asnumpy(),
             style=gs.preprocess(gs.load_image("vangogh_starry_night", max_size=size)).asnumpy())


def child(side: str, what: str, size: int, folder: str) -> None:
    if side == "project":
        print(json.dumps(project_side(what, size)))
        return
    sys.path.insert(0, str(HERE))
    import torch_reference

    print(json.dumps(torch_reference.measure(what, Path(folder), STEPS[what])))


def run(side: str, what: str, size: int, folder: Path) -> float:
    r = subprocess.run([sys.executable, __file__, "--child", side, what, str(size), str(folder)],
                       capture_output=True, text=True, env=os.environ.copy())
    if r.returncode != 0:
        raise RuntimeError(f"{side} {what} failed:\n{r.stderr[-2000:]}")
    return float(r.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(*sys.argv[2:4], int(sys.argv[4]), sys.argv[5])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", default="gatys,lbfgs,johnson,cin,adain")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=512, help="longer side for gatys/lbfgs")
    args = parser.parse_args()
    import gluon_style  # noqa: F401  (threads)
    from gluon_style.runtime import cpu_name
    from step_time import peak_gflops

    import flops

    try:
        import torch  # noqa: F401
        sides = ("project", "pytorch")
    except ImportError:
        sides = ("project",)
        print("PyTorch reference skipped: torch is not installed (pip install -e '.[bench]')")
    peak, how = peak_gflops()
    print(f"{cpu_name()}; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}; "
          f"peak FP32 {peak:.1f} GFLOP/s = {how}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        export(Path(tmp), args.size)
        for what in args.what.split(","):
            times = {side: [] for side in sides}
            for _ in range(args.repeats):
                for side in sides:
                    times[side].append(run(side, what, args.size, Path(tmp)))
                    print(f"  {what} {side}: {times[side][-1]:.3f} s", flush=True)
            med = {side: statistics.median(t) for side, t in times.items()}
            ratio = (f", project/PyTorch {med['project'] / med['pytorch']:.2f}x"
                     if "pytorch" in med else "")
            print(f"{what}: " + ", ".join(f"{s} {m:.3f} s" for s, m in med.items()) + ratio,
                  flush=True)
            if what in TRAIN_STYLES:  # FLOPs counted from the layer shapes (flops.py)
                gflop = flops.train_step(what) / 1e9
                print(f"  {gflop:.1f} GFLOP/step: " + ", ".join(
                    f"{s} {gflop / m:.0f} GFLOP/s = {100 * gflop / m / peak:.0f}% of peak"
                    for s, m in med.items()), flush=True)


if __name__ == "__main__":
    main()
