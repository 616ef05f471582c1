"""Ship a monitored training run's network as a pretrained model (issue 20).

The shipped parameters are the mean of the run's last ``--average`` snapshots, the network
``train_monitored.py --average`` scored; its quality is copied from the monitor line that
scored exactly those snapshots (nothing is re-scored), with the forward time at 512 px
measured here (median of ``--repeats`` passes after one warm-up, on this machine's CPU).

    python benchmarks/ship_feedforward.py RUN --name starry_night [--average 4]
        [--photo tubingen] [--size 512] [--training "from ..."] [--evaluations 50]

Run it with nothing else on the CPU: the forward time goes into the manifest.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet loads)

from gluon_style import pretrained, runtime, training
from feedforward_quality import forward_seconds
from train_monitored import averaged

REFERENCE = ("{} L-BFGS evaluations from the photo on the network's own objective, delivered "
             "8-bit images, at the training crop size (benchmarks/feedforward_quality.py)")


def scored_line(run: Path, steps: list[int]) -> dict:
    """The monitor line that scored the mean of exactly ``steps`` (the last such line)."""
    lines = [json.loads(x) for x in (run / "monitor.jsonl").read_text().splitlines() if x]
    found = [x for x in lines if x.get("average_of_steps") == steps]
    if not found:
        raise SystemExit(f"{run}/monitor.jsonl scored no mean of snapshots {steps}; train on "
                         "to the end of a stretch with --average first")
    return found[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--name", required=True, help="the shipped model's name")
    parser.add_argument("--average", type=int, default=4, metavar="K")
    parser.add_argument("--photo", default="tubingen", help="for the timing and fp16 check")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--evaluations", type=int,
                        help="L-BFGS's in the monitor's reference, if its lines do not say")
    parser.add_argument("--training", default="", help="how the run began, for the manifest "
                        "(e.g. the stages before init_from)")
    args = parser.parse_args()
    if training.Model.settings(args.run).kind != "johnson":
        raise SystemExit(f"{args.run}: ships Johnson runs only (their monitor scores L-BFGS)")
    mean = averaged(args.run, args.average)
    if mean is None:
        raise SystemExit(f"{args.run}: fewer than {args.average} snapshots")
    model, steps = mean
    line = scored_line(args.run, steps)
    recorded = line.get("evaluations")
    if recorded is not None and args.evaluations not in (None, recorded):
        raise SystemExit(f"the monitor line's reference took {recorded} L-BFGS evaluations, "
                         f"not --evaluations {args.evaluations}")
    evaluations = recorded if recorded is not None else args.evaluations
    if evaluations is None:
        raise SystemExit("the monitor line does not say how many L-BFGS evaluations its "
                         "reference took: give --evaluations")
    model.net.hybridize(static_alloc=True)
    seconds = forward_seconds(model, args.photo, size=args.size, repeats=args.repeats)
    held_out = {Path(p).stem: s for p, s in line["held_out_average"].items()}
    summary = ", ".join(f"{s['ratio']:.2f}x on {p}" for p, s in held_out.items())
    quality = {"summary": f"held-out loss {summary} that of {evaluations} L-BFGS evaluations",
               "parameters": f"mean of the snapshots at steps {steps}", "training": args.training,
               "held_out_ratio": {p: round(s["ratio"], 4) for p, s in held_out.items()},
               "held_out_scores": held_out, "reference": REFERENCE.format(evaluations),
               "forward_seconds": {"size": args.size, "median": round(seconds, 3),
                                   "cpu": runtime.cpu_name(),
                                   "threads": int(os.environ[runtime.THREADS_ENV])}}
    with tempfile.TemporaryDirectory() as tmp:
        model.net.save_parameters(f"{tmp}/mean.params")
        info = pretrained.export(args.run, name=args.name, quality=quality, photo=args.photo,
                                 params=f"{tmp}/mean.params", steps=steps[-1])
    print(json.dumps({k: info[k] for k in ("method", "paintings", "steps", "quality",
                                           "fp16_max_level_difference")}, indent=1))


if __name__ == "__main__":
    main()
