"""A long feed-forward training run, measured on held-out photos as it goes (issue 20).

Trains in stretches of ``--every`` steps (each resumes the run's checkpoint exactly), and
after each one scores a Johnson network against L-BFGS (``--evaluations``, 50; the keys
say ``lbfgs50`` whatever the count; CIN and AdaIN: below) on the held-out photos
(``feedforward_quality.compare``: delivered 8-bit images, the network's own objective, at
the crop size), and records the norms of the network's parameters by kind (conv weights,
conv biases, norm scales and shifts), to see a drift before a collapse. One JSON line per
stretch goes to ``RUN/monitor.jsonl``, which a resumed run extends. SIGTERM and Ctrl-C
save a checkpoint at the current step, so stopping loses nothing.

With ``--average K`` each stretch also saves the network to ``RUN/snapshots/`` and scores
the mean of the last K snapshots' parameters (stochastic weight averaging over snapshots,
Izmailov et al. 2018), against the same L-BFGS reference: in stage 2 the held-out ratio
moved by up to 0.67 between snapshots, and the mean of four sat below their mean ratio in
all 24 scores (benchmarks/results/2026-12-03-johnson-stage2-averaging.txt). Snapshots
(6.7 MB each for Johnson's network) are all kept, to average other spans later. Training
itself is unchanged; the monitor line gains ``held_out_average`` and ``average_of_steps``.

    python benchmarks/train_monitored.py RUN --steps 40000 [--every 500] [--lr 5e-4]
        [--photos tubingen] [--style vangogh_starry_night] [--init-from RUN --warmup 50]
        [--content a,b,... --flip --full-frame 0.25] [--average 4] [--res-blocks 5]
        [--kind cin --styles a,b,c,d --johnson starry_night]
        [--kind adain --styles a,b,... --unseen x,y,z --style-weight 1 --pixel-weight 1]

With ``--kind cin`` the held-out scores are cin_quality.py's instead (the style-distance
confusion matrix per photo, and with ``--johnson`` the total loss on that network's painting
over the single-style network's); with ``--kind adain``, adain_quality.py's (PSNR at alpha 0,
and the confusion matrix over ``--unseen`` paintings).
"""
from __future__ import annotations

import argparse
import json
import signal
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import gluon_style  # noqa: F401  (sets OMP_NUM_THREADS before mxnet loads)
import mxnet as mx
import numpy as np

from gluon_style import training
from gluon_style.checkpoints import read_checkpoint
from gluon_style.files import atomic_path
from feedforward_quality import compare

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "beach_city", "columns",
          "golden_gate_fog", "rainier", "flowers")   # the pilot's; Tubingen held out


def norms(net) -> dict:
    """Root-sum-square of the network's parameters, grouped by the end of their names."""
    sums = defaultdict(float)
    for name, p in net.collect_params().items():
        kind = name.rsplit("_", 1)[-1]   # weight, bias, gamma, beta
        sums[kind] += float((p.data().astype("float64") ** 2).sum().asscalar())
    return {k: round(v ** 0.5, 4) for k, v in sorted(sums.items())}


def snapshot_path(run: Path, step: int) -> Path:
    return run / "snapshots" / f"step_{step:06d}.params"


def snapshot_steps(run: Path) -> list[int]:
    """Steps of the snapshots saved in ``run/snapshots``, in order."""
    paths = (run / "snapshots").glob("step_*.params")
    return sorted(int(path.stem.split("_")[1]) for path in paths)


def averaged(run: Path, k: int) -> tuple[training.Model, list[int]] | None:
    """The run's network with the mean parameters of its last ``k`` snapshots (None if fewer)."""
    steps = snapshot_steps(run)[-k:]
    if k < 1 or len(steps) < k:
        return None
    loaded = [mx.nd.load(str(snapshot_path(run, step))) for step in steps]
    mean = {name: (sum(d[name].astype("float64") for d in loaded) / k).astype("float32")
            for name in loaded[0]}
    model = training.Model.load(run)
    with tempfile.TemporaryDirectory() as tmp:   # load_parameters checks every name matches
        mx.nd.save(f"{tmp}/mean.params", mean)
        model.net.load_parameters(f"{tmp}/mean.params", ctx=mx.cpu())
    return model, steps


def score(model, photos: str, *, size: int, evaluations: int, reference=None) -> dict:
    """Held-out ratios: the network's delivered loss over L-BFGS's (run unless given)."""
    scores = {}
    for photo in photos.split(","):
        inits = () if reference else ("content",)
        net_terms, optimized, _ = compare(model, photo, size=size, evaluations=evaluations,
                                          inits=inits)
        opt_terms = reference[photo]["lbfgs50_terms"] if reference else optimized["content"]
        net, opt = sum(net_terms), sum(opt_terms)
        scores[photo] = {"network": net, "lbfgs50": opt, "ratio": net / opt,
                         "network_terms": net_terms, "lbfgs50_terms": opt_terms}
    return scores


def score_cin(model, photos: str, *, size: int, johnson_ref: str | None) -> dict:
    """Per held-out photo, cin_quality.py's measures: the rows of the style-distance matrix
    whose minimum is on the diagonal, and with ``johnson_ref`` (a single-style network of
    one of the paintings) the total loss on its painting over its own (target: <= 1.5x)."""
    from cin_quality import confusion_for, total_losses
    from gluon_style import pretrained, quality

    distance = quality.StyleDistance(style_size=model.config.style_size)
    single = pretrained.open_model(johnson_ref) if johnson_ref else None
    scores = {}
    for photo in photos.split(","):
        D = confusion_for(model, distance, photo, size)
        ok = quality.diagonal_is_row_minimum(D)
        scores[photo] = {"diagonal_minimum": sum(ok), "rows": len(ok), "confusion": D.tolist()}
        if single is not None:
            ours, theirs = total_losses(model, single, photo, size)
            scores[photo].update(network=ours, johnson=theirs, ratio=ours / theirs)
    return scores


def score_adain(model, photos: str, *, unseen: str) -> dict:
    """Per held-out photo, adain_quality.py's measures at 256 px (the issue's size): PSNR at
    alpha 0, and over the ``unseen`` paintings the confusion matrix and the photo's own
    distance to each."""
    from adain_quality import below_photo, reconstruction_psnr, unseen_table
    from gluon_style import quality

    distance = quality.StyleDistance(style_size=model.config.style_size)
    paintings = unseen.split(",")
    scores = {}
    for photo in photos.split(","):
        D, own = unseen_table(model, distance, photo, 256, paintings)
        ok = quality.diagonal_is_row_minimum(D)
        scores[photo] = {"psnr_alpha0": reconstruction_psnr(model, photo, 256),
                         "diagonal_minimum": sum(ok), "rows": len(ok), "confusion": D.tolist(),
                         "photo_distance": own, "below_photo": below_photo(D, own)}
    return scores


def measure(args, model, reference=None) -> dict:
    """The held-out scores of ``model``: against L-BFGS (johnson), cin_quality's (cin) or
    adain_quality's (adain)."""
    if args.kind == "cin":
        return score_cin(model, args.photos, size=args.crop, johnson_ref=args.johnson)
    if args.kind == "adain":
        return score_adain(model, args.photos, unseen=args.unseen)
    return score(model, args.photos, size=args.crop, evaluations=args.evaluations,
                 reference=reference)


def styles_of(args) -> tuple[str, ...]:
    """The run's paintings: --styles (cin, adain) or --style."""
    return tuple(args.styles.split(",")) if args.styles else (args.style,)


def stretch(args, done: int, until: int, log: Path) -> bool:
    """Train from step ``done`` up to ``until`` and record one line; False if interrupted."""
    tic = time.perf_counter()
    model, history = training.train(
        kind=args.kind, styles=styles_of(args), content=tuple(args.content.split(",")),
        flip=args.flip, full_frame=args.full_frame, out_dir=args.run, crop=args.crop,
        batch_size=4, steps=until, lr=args.lr, warmup_steps=args.warmup,
        style_weight=args.style_weight, pixel_weight=args.pixel_weight,
        res_blocks=args.res_blocks,
        init_from=args.init_from, checkpoint_every=100, progress=False)
    step = read_checkpoint(Path(args.run))["step"]
    snapshot = args.average and step >= until   # a stopped stretch's network is not one
    if snapshot:
        with atomic_path(snapshot_path(Path(args.run), step)) as tmp:
            model.net.save_parameters(str(tmp))
    recent = [h for h in history if h["step"] >= done]   # this stretch's steps
    line = {"step": step, "train_seconds": round(time.perf_counter() - tic, 1),
            "train_total_mean": float(np.mean([h["total"] for h in recent])) if recent else None,
            "train_style_mean": float(np.mean([h["style"] for h in recent])) if recent else None,
            "norms": norms(model.net)}
    if args.kind == "johnson":
        line["evaluations"] = args.evaluations   # L-BFGS's, in the reference
    if args.johnson:
        line["johnson"] = args.johnson   # what the ratios are over, for ship_feedforward.py
    line["held_out"] = measure(args, model)
    mean = averaged(Path(args.run), args.average) if snapshot else None
    if mean:
        line["average_of_steps"] = mean[1]
        line["held_out_average"] = measure(args, mean[0], reference=line["held_out"])
    with log.open("a") as f:
        f.write(json.dumps(line) + "\n")
    print(json.dumps(line), flush=True)
    return step >= until


def check_kind(args) -> None:
    """Refuse options of the other kind, and a --johnson reference that cannot be scored,
    before any training (a failed score would lose its stretch's monitor line)."""
    if args.pixel_weight and args.kind != "adain":
        raise SystemExit("--pixel-weight is for --kind adain")
    if args.kind == "johnson" and (args.styles or args.johnson):
        raise SystemExit("--styles is for --kind cin or adain, --johnson for --kind cin")
    if (args.kind == "adain") != bool(args.unseen) or (args.kind == "adain" and args.johnson):
        raise SystemExit("--unseen (and no --johnson) goes with --kind adain")
    if args.kind == "johnson":
        return
    if len(styles_of(args)) < 2:
        raise SystemExit(f"--kind {args.kind} needs two or more --styles")
    if set(args.unseen.split(",")) & (set(styles_of(args)) | set(args.content.split(","))):
        raise SystemExit("--unseen paintings are also training styles or content")
    if args.johnson:
        check_johnson_reference(args.johnson, styles_of(args))


def check_johnson_reference(ref: str, styles) -> None:
    """SystemExit unless ``ref`` (a folder or shipped name) is a Johnson network of one of
    ``styles``: the single-style network a CIN run's total loss is compared with."""
    from gluon_style import pretrained

    single = pretrained.settings(ref)   # a clear error for a wrong name
    if single.kind != "johnson" or single.styles[0] not in styles:
        raise SystemExit(f"--johnson {ref}: not a Johnson network of one of the paintings "
                         f"{list(styles)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--steps", type=int, default=40000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--init-from", help="a run folder whose network starts this run "
                        "(Adam afresh): a second stage, e.g. at a lower lr")
    parser.add_argument("--warmup", type=int, default=0, help="steps of linear lr warm-up")
    parser.add_argument("--res-blocks", type=int, default=5,
                        help="residual blocks (5, the paper's); more, --init-from a 5-block "
                        "run, start as the identity")
    parser.add_argument("--photos", default="tubingen", help="held-out photos, comma-separated")
    parser.add_argument("--content", default=",".join(PHOTOS),
                        help="training photos, comma-separated (default: the pilot's nine)")
    parser.add_argument("--flip", action="store_true", help="mirror half the crops")
    parser.add_argument("--full-frame", type=float, default=0.0,
                        help="share of steps whose batch shows whole photos at the crop size")
    parser.add_argument("--style", default="vangogh_starry_night")
    parser.add_argument("--kind", choices=("johnson", "cin", "adain"), default="johnson")
    parser.add_argument("--styles", help="cin, adain: the paintings, comma-separated")
    parser.add_argument("--unseen", default="", help="adain: paintings never trained on, to "
                        "score with (comma-separated)")
    parser.add_argument("--style-weight", type=float, default=1.0,
                        help="as training.train's (a resumed run must keep its own)")
    parser.add_argument("--pixel-weight", type=float, default=0.0,
                        help="adain: as training.train's (a reconstruction term)")
    parser.add_argument("--johnson", metavar="RUN", help="cin: a single-style network (a "
                        "folder or shipped name) of one painting, to compare total losses")
    parser.add_argument("--evaluations", type=int, default=50, help="L-BFGS's, the reference")
    parser.add_argument("--average", type=int, default=0, metavar="K",
                        help="also score the mean of the last K snapshots' parameters")
    args = parser.parse_args()
    check_kind(args)
    seen = set(args.photos.split(",")) & set(args.content.split(","))
    if seen:
        raise SystemExit(f"held-out photos {sorted(seen)} are also training photos")

    def interrupt(*_):
        raise KeyboardInterrupt   # training.train saves a checkpoint on it
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)   # a background job starts with SIGINT ignored
    log = Path(args.run) / "monitor.jsonl"
    Path(args.run).mkdir(parents=True, exist_ok=True)
    done = read_checkpoint(Path(args.run))["step"] if (Path(args.run) / "checkpoint.json").exists() else 0
    while done < args.steps:
        until = min(args.steps, (done // args.every + 1) * args.every)
        if not stretch(args, done, until, log):
            raise SystemExit(130)   # interrupted: a calling script should stop too
        done = until


if __name__ == "__main__":
    main()
