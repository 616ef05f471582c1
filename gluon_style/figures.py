"""Figures for lecture and paper: labelled image grids, image rows and loss curves, saved
with a complete JSON sidecar (every run's settings and seed, seconds, versions, weights).
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import pretrained
from .data import manifest
from .experiments import Result, vgg_weights_checksum, weights_checksum
from .files import atomic_path, sha256, write_json
from .runtime import cpu_name
from .settings import versions


SIDECAR_FIELDS = ("figure", "versions", "weights_sha256", "seconds", "runs")


def missing_sidecar_fields(meta: dict) -> list[str]:
    """What a figure sidecar lacks: each of ``SIDECAR_FIELDS``, seconds > 0, a weights
    checksum, and the settings and seed of every run (a figure made without optimization
    runs records its one pseudo-run: the notebook's settings)."""
    missing = [f for f in SIDECAR_FIELDS if f not in meta]
    if not meta.get("weights_sha256"):
        missing.append("weights_sha256 (empty)")
    if not meta.get("seconds", 0) > 0:
        missing.append("seconds (not > 0)")
    runs = meta.get("runs") or []
    if not runs:
        missing.append("runs (none)")
    for i, r in enumerate(runs):
        if not isinstance(r.get("settings"), dict):
            missing.append(f"runs[{i}].settings")
        elif "seed" not in r["settings"]:
            missing.append(f"runs[{i}].settings.seed")
        if not (r.get("seconds") or 0) > 0:
            missing.append(f"runs[{i}].seconds (not > 0)")
    return missing


def _sidecar(path: Path, results, settings, seconds, weights, extra) -> dict:
    clash = sorted(set(extra) & {*SIDECAR_FIELDS, "cpu"})
    if clash:
        raise ValueError(f"{clash} are computed; pass settings=, seconds= and weights= instead")
    runs = [{"settings": dataclasses.asdict(r.config), "key": r.key, "seconds": r.seconds,
             "final_loss": r.final} for r in results]
    if settings is not None:
        runs.append({"settings": dict(settings), "seconds": seconds})
    # cpu: the machine that wrote the figure (a cached run's seconds were measured where it ran)
    meta = {"figure": path.name, "versions": versions(), "cpu": cpu_name(),
            "weights_sha256": sorted({weights_checksum(r.config) for r in results} | set(weights)),
            "seconds": sum(r.seconds for r in results) + (seconds or 0.0), **extra, "runs": runs}
    missing = missing_sidecar_fields(meta)
    if missing:
        raise ValueError(f"incomplete sidecar for {path.name}: missing {', '.join(missing)}")
    return meta


def figure_sidecar(path: str | Path, results: list[Result] = (), *, settings: dict | None = None,
                   seconds: float | None = None, weights: tuple[str, ...] = (), **extra) -> Path:
    """Write ``path``'s JSON sidecar: every run's settings, seed, seconds, versions, weights.

    A figure drawn from ``results`` takes all of it from them. A figure computed otherwise
    (feature maps, a trained network's outputs) passes its ``settings`` (with ``seed``), the
    ``seconds`` it took and the sha256 of the ``weights`` it used. Raises ``ValueError``,
    before writing anything, if the sidecar would be incomplete (``missing_sidecar_fields``).
    """
    path = Path(path)
    sidecar = path.with_suffix(".json")
    write_json(sidecar, _sidecar(path, results, settings, seconds, weights, extra))
    return sidecar


def save_figure(fig, path: str | Path, results: list[Result] = (), *, settings: dict | None = None,
                seconds: float | None = None, weights: tuple[str, ...] = (), **extra) -> Path:
    """Save a matplotlib figure atomically, with its JSON sidecar (``figure_sidecar``'s
    arguments; its completeness check runs first, so an incomplete figure writes nothing)."""
    path = Path(path)
    meta = _sidecar(path, results, settings, seconds, weights, extra)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=fig.dpi, bbox_inches="tight")
    write_json(path.with_suffix(".json"), meta)
    _show_in_notebook(fig, path)
    return path


# output metadata naming the file a notebook's image was saved to: the book links to the file
BOOK_FIGURE_KEY = "gluon_style_figure"


def _show_in_notebook(fig, path: Path) -> None:
    """In a Jupyter kernel, show the saved file (tagged with its path, so the rendered book
    links to it instead of embedding a copy) and close the figure, which matplotlib would
    otherwise show a second time. Elsewhere, nothing."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    if shell is None or "IPKernelApp" not in shell.config or path.suffix.lower() != ".png":
        return
    import os

    import matplotlib.pyplot as plt
    from IPython.display import Image, display
    from PIL import Image as PILImage

    with PILImage.open(path) as saved:   # shown as wide as matplotlib's 100 dpi would show it
        width = round(saved.width * 100 / fig.dpi)
    display(Image(filename=str(path), width=width),
            metadata={BOOK_FIGURE_KEY: os.path.relpath(path.resolve())})   # from the notebook's folder
    plt.close(fig)


class Stopwatch:
    """Seconds since it was made: ``clock = Stopwatch()``, work, then ``clock.seconds``."""

    def __init__(self):
        self._tic = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._tic


def trained_models_record(**folders) -> dict:
    """``save_figure`` arguments for a figure drawn by trained networks, one ``name=folder``
    each: their training settings (seed included) and steps, the seconds their training
    took (not the seconds of drawing the figure, which are small beside them), and the
    sha256 of each network's parameters and of its VGG loss network."""
    models, seconds, weights = {}, 0.0, set()
    for name, folder in folders.items():
        saved = json.loads((Path(folder) / "checkpoint.json").read_text())
        models[name] = {**saved["settings"], "method": saved["method"], "step": saved["step"]}
        seconds += saved["history"][-1]["seconds"] if saved["history"] else 0.0
        weights |= {sha256(Path(folder) / "checkpoint.params"),
                    vgg_weights_checksum(num_layers=saved["settings"]["loss_network"])}
    seeds = sorted({m["seed"] for m in models.values()})
    return {"settings": {"seed": seeds[0] if len(seeds) == 1 else seeds, "models": models},
            "seconds": seconds, "weights": tuple(sorted(weights))}


def shipped_models_record(**models) -> dict:
    """``save_figure`` arguments (but ``seconds``) for a figure drawn by shipped pretrained
    models, one ``name=model`` each (``gluon_style.pretrained``): their manifest entries
    (training settings with the seed, steps, measured quality) and the sha256 of each model
    file (verified) and of its VGG loss network."""
    entries, weights = {}, set()
    for name, model in models.items():
        pretrained.params_file(model)   # the checksum the record claims, verified
        info = pretrained.entry(model)
        entries[name] = {"model": model, **{k: info[k] for k in (
            "method", "paintings", "arch", "steps", "settings", "quality")}}
        weights |= {info["sha256"],
                    vgg_weights_checksum(num_layers=info["settings"]["loss_network"])}
    seeds = sorted({e["settings"]["seed"] for e in entries.values()})
    return {"settings": {"seed": seeds[0] if len(seeds) == 1 else seeds, "models": entries},
            "weights": tuple(sorted(weights))}


FONT = 12   # titles and labels: readable on a projector
INSET_AREA = 0.1   # an inset painting covers this fraction of its panel, whatever its shape


def inset_box(inset: tuple, panel: tuple, *, area: float = INSET_AREA) -> list[float]:
    """[x, y, width, height] in the panel's axes fractions for an inset in its lower-left
    corner: the inset's own aspect (no letterbox) and ``area`` of the panel, so a portrait
    painting gets as much room as a landscape one; no side over 45% of the panel's."""
    (h, w), (panel_h, panel_w) = inset[:2], panel[:2]
    width = (area * panel_h * panel_w * w / h) ** 0.5    # in the panel's pixels
    height = width * h / w
    scale = min(1.0, 0.45 * panel_w / width, 0.45 * panel_h / height)
    return [0.0, 0.0, scale * width / panel_w, scale * height / panel_h]


def _inset(ax, image: np.ndarray, *, panel: tuple) -> None:
    """The painting in the panel's lower-left corner, framed in white to read as an inset
    (the convention of Gatys et al. 2016, Fig. 2; it covers that corner of the result)."""
    inset = ax.inset_axes(inset_box(image.shape, panel))
    inset.imshow(image, aspect="auto")
    inset.set_xticks([])
    inset.set_yticks([])
    for spine in inset.spines.values():
        spine.set_edgecolor("white")
        spine.set_linewidth(1.5)


def grid(results: list[Result], *, nrows: int, ncols: int, row_labels=(), col_labels=(),
         title: str = "", losses: bool = False, cell_inches: float = 2.8, insets=()):
    """Lay ``results`` out row by row as a labelled image grid.

    A cell may also be a plain image (HxWx3 or PIL: the photo beside its stylizations).
    ``col_labels`` may have one label per column or one per cell; ``insets``, one small
    image per cell (e.g. the style painting; ``None`` for none) drawn in its lower-left
    corner. The final loss terms go to the sidecar; ``losses=True`` also prints them under
    each run's cell (for a working figure, not a lecture).
    """
    import matplotlib.pyplot as plt

    if len(results) != nrows * ncols:
        raise ValueError(f"{len(results)} results for a {nrows}x{ncols} grid")
    # cells as wide as cell_inches and as tall as the images' aspect: no gaps between rows
    images = [r.image if isinstance(r, Result) else np.asarray(r) for r in results]
    aspect = max(im.shape[0] / im.shape[1] for im in images)
    label_rows = nrows if len(col_labels) == len(results) else int(bool(col_labels))
    height = cell_inches * aspect * nrows + 0.35 * label_rows + 0.3 + 0.5 * bool(title)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(cell_inches * ncols + 0.4 * bool(row_labels), height))
    for i, (ax, r, image) in enumerate(zip(axes.flat, results, images)):
        ax.imshow(image)
        ax.set_xticks([])
        ax.set_yticks([])
        row, col = divmod(i, ncols)
        if col == 0 and row_labels:
            ax.set_ylabel(row_labels[row], fontsize=FONT)
        if len(col_labels) == len(results):
            ax.set_title(col_labels[i], fontsize=FONT)
        elif row == 0 and col_labels:
            ax.set_title(col_labels[col], fontsize=FONT)
        if insets and insets[i] is not None:
            _inset(ax, np.asarray(insets[i]), panel=image.shape)
        if losses and isinstance(r, Result):
            f = r.final
            ax.set_xlabel(f"content {f['content']:.3g}  style {f['style']:.3g}\ntv {f['tv']:.3g}  "
                          f"{r.seconds:.0f} s", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    fig.tight_layout()
    return fig


def painting_title(name: str, *, sep: str = "\n") -> str:
    """A registered image's short title and artist, for a panel: 'The Starry Night' +
    ``sep`` + 'Vincent van Gogh' (the manifest's parenthesised notes left out). A name the
    manifest does not hold (a path, a scikit-image photo) is returned as it is."""
    entry = manifest().get(name)
    if entry is None:
        return name
    return f"{entry['title'].split(' (')[0]}{sep}{entry['artist'].split(' (')[0]}"


def power_of_ten(value: float) -> str:
    """A ratio such as 1e-3 as matplotlib text for '10 to the -3', for axis and panel labels.

    Raises ``ValueError`` for a value that is not a power of ten, rather than rounding it.
    """
    exponent = round(float(np.log10(value)))
    if not np.isclose(value, 10.0 ** exponent, rtol=1e-9):
        raise ValueError(f"{value!r} is not a power of ten")
    return f"10$^{{{exponent}}}$"


def image_row(images, titles=(), *, title: str = "", height_inches: float = 3.0):
    """Images side by side (each HxWx3 uint8 or PIL), titled; returns the figure.

    A title too long for its panel is wrapped onto more lines, and the row's title gets its own
    band above the tallest panel title, so that neither overlaps the other.
    """
    import textwrap

    import matplotlib.pyplot as plt

    images = [np.asarray(im) for im in images]
    widths = [im.shape[1] / im.shape[0] for im in images]

    def wrap(text, width):   # about 9 characters of 12-pt text per inch of panel width
        chars = max(12, int(9 * height_inches * width))
        return "\n".join(textwrap.fill(line, chars) for line in text.split("\n"))

    titles = [wrap(t, w) for t, w in zip(list(titles) + [""] * len(images), widths)]
    lines = max(t.count("\n") + 1 for t in titles)
    title_band = 0.4 if title else 0.0   # inches for the row's title, above the panel titles
    band = 0.25 * lines + 0.1 + title_band
    fig, axes = plt.subplots(1, len(images), figsize=(height_inches * sum(widths) + 0.2, height_inches + band),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    for ax, im, t in zip(axes[0], images, titles):
        ax.imshow(im)
        ax.set_title(t, fontsize=FONT)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    fig.tight_layout(rect=(0, 0, 1, 1 - title_band / (height_inches + band)))
    return fig


def best_so_far(history: list[dict]) -> list[dict]:
    """At each record, the record of lowest total loss up to it: the image a run would deliver
    if stopped there (L-BFGS records every trial of its line search, rejected ones too)."""
    best, out = None, []
    for h in history:
        if best is None or h["total"] < best["total"]:
            best = h
        out.append({**best, "step": h["step"], "seconds": h["seconds"]})
    return out


def loss_curves(histories, labels, *, terms=("content", "style", "tv", "total"), x: str = "step",
                best: bool = False):
    """One panel per loss term, one line per run, log scale; ``x`` is 'step' or 'seconds';
    ``best``: plot ``best_so_far`` of each history, with the y-axis saying so.

    The legend sits below the panels, where it covers no curve. A term that is 0 in every
    record of every run (tv, with no TV weight) gets no panel: it would be an empty one.
    """
    import matplotlib.pyplot as plt

    if best:
        histories = [best_so_far(h) for h in histories]
    terms = [t for t in terms if any(h[t] != 0 for history in histories for h in history)]
    # at least 7.5 in wide: one panel alone is read on a projector, and the legend's row fits
    fig, axes = plt.subplots(1, len(terms), figsize=(max(4.0 * len(terms), 7.5), 3.6),
                             squeeze=False)
    for ax, term in zip(axes[0], terms):
        for history, label in zip(histories, labels):
            # a term that is exactly 0 (content at step 0 from the content image) has no log
            ax.plot([h[x] for h in history], [h[term] if h[term] > 0 else np.nan for h in history],
                    label=label)
        ax.set_yscale("log")
        ax.set_title(f"{term} loss" if term != "total" else "total loss", fontsize=FONT)
        ax.set_xlabel(x, fontsize=FONT)
        ax.set_ylabel("at the best total so far (log)" if best else "loss (log scale)", fontsize=FONT)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 4), fontsize=FONT - 1,
               frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def distance_matrix(matrix, *, rows, cols, ax=None, title: str = ""):
    """Draw a style-distance matrix (``quality.confusion``) as a heatmap, each row divided
    by its diagonal entry: 1 on the diagonal, and how many times farther the output is from
    each other painting (log colour scale; a row whose diagonal is not its minimum shows a
    value below 1). Returns the axes."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not (np.diag(matrix) > 0).all():
        raise ValueError(f"a square matrix with a positive diagonal, got shape {matrix.shape}")
    relative = matrix / np.diag(matrix)[:, None]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * len(cols) + 2, 1.1 * len(rows) + 1.5))
    norm = LogNorm(vmin=0.5, vmax=max(relative.max(), 2))
    ax.imshow(relative, cmap="Blues_r", norm=norm)
    for (i, j), v in np.ndenumerate(relative):   # white on the darker half of the colours
        ax.text(j, i, "1" if i == j else f"{v:.1f}x", ha="center", va="center", fontsize=FONT,
                color="white" if norm(v) < 0.4 else "black")
    ax.set_xticks(range(len(cols)), cols, fontsize=FONT - 1)
    ax.set_yticks(range(len(rows)), rows, fontsize=FONT - 1)
    if title:
        ax.set_title(title, fontsize=FONT)
    return ax
