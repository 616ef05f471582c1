"""Ship a monitored training run's network as a pretrained model (issue 20).

The shipped parameters are the mean of the run's last ``--average`` snapshots, the network
``train_monitored.py --average`` scored; its quality is copied from the monitor line that
scored exactly those snapshots (nothing is re-scored), with the forward time at 512 px
measured here (median of ``--repeats`` passes after one warm-up, on this machine's CPU).
A Johnson run's quality is its held-out loss over L-BFGS's; a conditional-instance-norm
run's, its style-distance confusion matrices and its total loss over a Johnson network's.

    python benchmarks/ship_feedforward.py RUN --name starry_night [--average 4]
        [--photo tubingen] [--size 512] [--repeats 5] [--training "from ..."]
        [--evaluations 50]            (Johnson)  [--johnson starry_night]  (CIN)

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
from train_monitored import averaged, check_johnson_reference

CIN_REFERENCE = ("style distances (gluon_style.quality, Gram loss at relu1_2 ... relu4_3) of "
                 "each style index's output against each painting, and total losses on the "
                 "Johnson network {}'s objective, at the training crop size "
                 "(benchmarks/cin_quality.py)")
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


def held_out_ratios(line: dict) -> tuple[dict, str, dict]:
    """The monitor line's scores of the averaged network by photo name, their ratios as
    text ('1.05x on tubingen, ...') and rounded to 4 places."""
    held_out = {Path(p).stem: s for p, s in line["held_out_average"].items()}
    text = ", ".join(f"{s['ratio']:.2f}x on {p}" for p, s in held_out.items())
    return held_out, text, {p: round(s["ratio"], 4) for p, s in held_out.items()}


def johnson_quality(line: dict, evaluations: int | None) -> dict:
    """A Johnson run's quality from its monitor line: held-out loss over L-BFGS's."""
    recorded = line.get("evaluations")
    if recorded is not None and evaluations not in (None, recorded):
        raise SystemExit(f"the monitor line's reference took {recorded} L-BFGS evaluations, "
                         f"not --evaluations {evaluations}")
    evaluations = recorded if recorded is not None else evaluations
    if evaluations is None:
        raise SystemExit("the monitor line does not say how many L-BFGS evaluations its "
                         "reference took: give --evaluations")
    held_out, summary, ratios = held_out_ratios(line)
    return {"summary": f"held-out loss {summary} that of {evaluations} L-BFGS evaluations",
            "held_out_ratio": ratios, "held_out_scores": held_out,
            "reference": REFERENCE.format(evaluations)}


def cin_quality(line: dict, johnson: str) -> dict:
    """A CIN run's quality from its monitor line (train_monitored.py --kind cin): per
    held-out photo, the rows whose style distance is least on their own painting, and the
    total loss on the Johnson network's painting over that network's."""
    if line.get("johnson") not in (None, johnson):
        raise SystemExit(f"the monitor compared with {line['johnson']}, not --johnson {johnson}")
    if not all("ratio" in s for s in line["held_out_average"].values()):
        raise SystemExit("the monitor scored no Johnson network: train with --johnson")
    held_out, text, ratios = held_out_ratios(line)
    rows = ", ".join(f"{s['diagonal_minimum']} of {s['rows']} rows on {p}"
                     for p, s in held_out.items())
    return {"summary": f"own painting the nearest in {rows}; total loss {text} that "
                       f"of the Johnson network {johnson}",
            "diagonal_minimum": {p: [s["diagonal_minimum"], s["rows"]]
                                 for p, s in held_out.items()},
            "johnson_ratio": ratios, "held_out_scores": held_out,
            "reference": CIN_REFERENCE.format(johnson)}


def check_kind(args, settings) -> None:
    """Refuse, before any work, a run this script cannot ship or options of the other kind;
    a CIN run's --johnson must be a Johnson network of one of its paintings."""
    if settings.kind == "johnson" and not args.johnson:
        return
    if settings.kind != "cin" or not args.johnson or args.evaluations is not None:
        raise SystemExit(f"{args.run}: a {settings.kind} run; ships Johnson runs (--evaluations), "
                         "and CIN runs with --johnson, the single-style network their monitor "
                         "compared with")
    check_johnson_reference(args.johnson, settings.styles)


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
    parser.add_argument("--johnson", metavar="NAME", help="cin: the shipped Johnson network "
                        "the monitor compared with (train_monitored.py --johnson)")
    parser.add_argument("--training", default="", help="how the run began, for the manifest "
                        "(e.g. the stages before init_from)")
    args = parser.parse_args()
    check_kind(args, training.Model.settings(args.run))
    mean = averaged(args.run, args.average)
    if mean is None:
        raise SystemExit(f"{args.run}: fewer than {args.average} snapshots")
    model, steps = mean
    line = scored_line(args.run, steps)
    quality = (cin_quality(line, args.johnson) if args.johnson
               else johnson_quality(line, args.evaluations))
    model.net.hybridize(static_alloc=True)
    seconds = forward_seconds(model, args.photo, size=args.size, repeats=args.repeats)
    quality |= {"parameters": f"mean of the snapshots at steps {steps}",
                "training": args.training,
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
