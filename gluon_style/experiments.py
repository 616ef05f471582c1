"""Sweeps of stylize settings, cached on disk, laid out as labelled figures.

A run is keyed by what determines its pixels: its settings (a ``StyleConfig``), the
checksums of its input images (content, styles, ``fine_style``, mask files), of the network
weights, and of the code it executes (the abstract syntax of the package modules ``gatys``
imports, docstrings left out). So re-running a notebook after changing one cell recomputes
only what changed, and editing a comment, a docstring, the CLI or a notebook invalidates
nothing. Sweeps run serially, or on any ``concurrent.futures.Executor`` (a process pool, or
a cluster engine's executor).
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import math
import time
import warnings
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
from PIL import Image

from . import data
from .files import atomic_path, cache_dir, sha256, write_json
from .gatys import StyleConfig, interruptions
from .levels import INITS
from .image import save_image
from .runtime import default_threads
from .settings import versions


@dataclasses.dataclass(frozen=True)
class Result:
    """One finished run: the image, its loss history and how long it took."""
    config: StyleConfig
    image: np.ndarray
    history: list
    seconds: float
    key: str
    cached: bool

    @property
    def final(self) -> dict:
        return self.history[-1]


def image_checksum(ref) -> str:
    """A stable identity for an input image: manifest sha256, bundled name, file or pixels."""
    if ref is None:
        return "none"
    if isinstance(ref, (tuple, list)):  # several styles, or mask files
        return ",".join(image_checksum(r) for r in ref)
    if isinstance(ref, (np.ndarray, Image.Image)):  # an image in memory
        a = np.asarray(ref)
        return hashlib.sha256(str(a.shape).encode() + a.tobytes()).hexdigest()
    ref = str(ref)
    if ref in data.SKIMAGE_IMAGES:
        import skimage
        return f"skimage:{ref}:{skimage.__version__}"
    if ref in data.manifest():
        return data.manifest()[ref]["sha256"]
    return sha256(ref)


def weights_checksum(config: StyleConfig) -> str:
    """sha256 of the weights a run uses ('random' for an unpretrained network)."""
    if not config.pretrained:
        return "random"
    from .weights import params_sha256, weights_file
    file, _ = weights_file(19, config.vgg_weights, progress=False)
    digest = file.with_name(file.name + ".sha256")
    return digest.read_text().split()[0] if digest.exists() else params_sha256(file)


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def _package_imports(tree: ast.AST) -> set[str]:
    """Names of the sibling modules a module imports (``from . import x``, ``from .x import``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {a.name for a in node.names}
    return found


def code_checksum(folder: str | Path = Path(__file__).parent, entry: str = "gatys") -> str:
    """sha256 of the code a run executes: the abstract syntax, without docstrings, of
    ``entry`` and of every package module it imports, directly or not (comments and
    formatting never reach the syntax tree)."""
    folder, h, todo, seen = Path(folder), hashlib.sha256(), [entry], set()
    while todo:
        name = todo.pop()
        if name in seen or not (folder / f"{name}.py").exists():
            continue
        seen.add(name)
        tree = ast.parse((folder / f"{name}.py").read_text())
        todo += sorted(_package_imports(tree))
        h.update(name.encode() + ast.dump(_without_docstrings(tree)).encode())
    return h.hexdigest()


@functools.cache
def _code_checksum() -> str:
    # once per process: the code that counts is the one imported, even if files change later
    return code_checksum()


def run_key(config: StyleConfig) -> str:
    """Hash of settings + input images + weights + code + thread count: equal keys mean equal
    pixels on one kind of CPU (the CPU model is not in the key)."""
    settings = dataclasses.asdict(config)
    for name in ("content", "style", "init"):  # images in memory: keyed by their pixels
        if not isinstance(settings[name], (str, Path, tuple, list)):
            settings[name] = "<image>"
    parts = {"settings": settings, "code": _code_checksum(), "threads": default_threads(),
             "content": image_checksum(config.content), "style": image_checksum(config.style),
             "fine_style": image_checksum(config.fine_style),
             "init": config.init if isinstance(config.init, str) and config.init in INITS
             else image_checksum(config.init),
             "masks": [m if m == "kmeans" else sha256(m) for m in config.masks],
             "weights": weights_checksum(config)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run(config: StyleConfig, *, cache: str | Path | None = None, progress: bool = False) -> Result:
    """Run one config, or load it from ``cache`` (default ``$GLUON_STYLE_CACHE/runs``)."""
    folder = Path(cache) if cache else cache_dir("runs")
    key = run_key(config)
    png, meta = folder / f"{key}.png", folder / f"{key}.json"
    if png.exists() and meta.exists():
        saved = json.loads(meta.read_text())
        return Result(config, np.asarray(Image.open(png).convert("RGB")), saved["history"],
                      saved["seconds"], key, cached=True)
    tic = time.perf_counter()
    with interruptions() as stops:
        image, history = config.run(progress=progress)
    seconds = time.perf_counter() - tic
    if stops:  # not the run its key names: keep it out of the cache
        warnings.warn(stops[0])
        raise KeyboardInterrupt
    with atomic_path(png) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
    write_json(meta, {"settings": dataclasses.asdict(config), "seconds": seconds,
                      "versions": versions(), "history": history})
    return Result(config, image, history, seconds, key, cached=False)


def _run_in_worker(config, cache):
    return run(config, cache=cache)


def sweep(configs, *, cache: str | Path | None = None, executor: Executor | None = None,
          progress: bool = True) -> list[Result]:
    """Run every config (serially, or with ``executor.map``), in order, using the cache."""
    from tqdm.auto import tqdm

    configs = list(configs)
    if executor is None:
        return [run(c, cache=cache) for c in tqdm(configs, desc="sweep", unit="run", disable=not progress)]
    jobs = executor.map(_run_in_worker, configs, [cache] * len(configs))
    return list(tqdm(jobs, total=len(configs), desc="sweep", unit="run", disable=not progress))


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
    missing += [f"runs[{i}].{f}" for i, r in enumerate(runs) for f in ("settings", "seconds")
                if f not in r]
    missing += [f"runs[{i}].settings.seed" for i, r in enumerate(runs)
                if "seed" not in r.get("settings", {})]
    return missing


def _sidecar(path: Path, results, settings, seconds, weights, extra) -> dict:
    runs = [{"settings": dataclasses.asdict(r.config), "key": r.key, "seconds": r.seconds,
             "final_loss": r.final} for r in results]
    if settings is not None:
        runs.append({"settings": dict(settings), "seconds": seconds})
    meta = {"figure": path.name, "versions": versions(),
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
    return path


class Stopwatch:
    """``with Stopwatch() as clock: ...`` then ``clock.seconds``: a figure's computing time."""

    def __enter__(self):
        self.seconds, self._tic = 0.0, time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._tic
        return False


def vgg_weights_checksum(*, vgg_weights: str = "auto") -> str:
    """sha256 of the pretrained VGG-19 weights (for a figure that runs the network directly)."""
    return weights_checksum(StyleConfig(content="", style="", vgg_weights=vgg_weights))


FONT = 12   # titles and labels: readable on a projector


def grid(results: list[Result], *, nrows: int, ncols: int, row_labels=(), col_labels=(),
         title: str = "", losses: bool = False, cell_inches: float = 2.8, insets=()):
    """Lay ``results`` out row by row as a labelled image grid.

    ``col_labels`` may have one label per column or one per cell; ``insets``, one
    small image per cell (e.g. the style painting) drawn in its lower-left corner. The
    final loss terms go to the sidecar; ``losses=True`` also prints them under each cell
    (for a working figure, not a lecture).
    """
    import matplotlib.pyplot as plt

    if len(results) != nrows * ncols:
        raise ValueError(f"{len(results)} results for a {nrows}x{ncols} grid")
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell_inches * ncols, cell_inches * nrows + 0.4),
                             squeeze=False)
    for i, (ax, r) in enumerate(zip(axes.flat, results)):
        ax.imshow(r.image)
        ax.set_xticks([])
        ax.set_yticks([])
        row, col = divmod(i, ncols)
        if col == 0 and row_labels:
            ax.set_ylabel(row_labels[row], fontsize=FONT)
        if len(col_labels) == len(results):
            ax.set_title(col_labels[i], fontsize=FONT)
        elif row == 0 and col_labels:
            ax.set_title(col_labels[col], fontsize=FONT)
        if insets:
            inset = ax.inset_axes([0.0, 0.0, 0.3, 0.3])
            inset.imshow(np.asarray(insets[i]))
            inset.set_xticks([])
            inset.set_yticks([])
        if losses:
            f = r.final
            ax.set_xlabel(f"content {f['content']:.3g}  style {f['style']:.3g}\ntv {f['tv']:.3g}  "
                          f"{r.seconds:.0f} s", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    fig.tight_layout()
    return fig


def image_row(images, titles=(), *, title: str = "", height_inches: float = 3.0):
    """Images side by side (each HxWx3 uint8 or PIL), titled; returns the figure."""
    import matplotlib.pyplot as plt

    images = [np.asarray(im) for im in images]
    widths = [im.shape[1] / im.shape[0] for im in images]
    fig, axes = plt.subplots(1, len(images), figsize=(height_inches * sum(widths) + 0.2, height_inches + 0.5),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    for ax, im, t in zip(axes[0], images, list(titles) + [""] * len(images)):
        ax.imshow(im)
        ax.set_title(t, fontsize=FONT)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    fig.tight_layout()
    return fig


def loss_curves(histories, labels, *, terms=("content", "style", "tv", "total"), x: str = "step"):
    """One panel per loss term, one line per run, log scale; ``x`` is 'step' or 'seconds'.

    The legend sits below the panels, where it covers no curve.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(terms), figsize=(4.0 * len(terms), 3.6), squeeze=False)
    for ax, term in zip(axes[0], terms):
        for history, label in zip(histories, labels):
            # a term that is exactly 0 (content at step 0 from the content image) has no log
            ax.plot([h[x] for h in history], [h[term] if h[term] > 0 else np.nan for h in history],
                    label=label)
        ax.set_yscale("log")
        ax.set_title(f"{term} loss" if term != "total" else "total loss", fontsize=FONT)
        ax.set_xlabel(x, fontsize=FONT)
        ax.set_ylabel("loss (log scale)", fontsize=FONT)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 4), fontsize=FONT - 1,
               frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def equal_start_style_weights(config: StyleConfig, kinds, *, reference: str = "gram") -> dict:
    """A style weight per style representation such that every style term starts equal.

    The representations' losses live on different scales (see ``losses``). For a fair
    comparison each ``kind`` gets ``config.style_weight`` times reference/own, the ratio of
    the style terms at the initial image (one forward pass each, ``steps=0``): the
    optimization then starts from the same style loss, whatever the representation.
    """
    def start(kind):
        _, history = dataclasses.replace(config, style_representation=kind,
                                         steps=0).run(progress=False)
        return history[0]["style"]

    ref = start(reference)
    return {kind: config.style_weight * ref / max(start(kind), 1e-30) for kind in kinds}


def run_with_snapshots(config: StyleConfig, *, seconds, progress: bool = False):
    """Run ``config`` (never cached: its timing is the point) and keep, for every time budget
    in ``seconds``, the best image of the current pyramid level at that moment.

    Returns (Result, {budget: HxWx3 uint8}); a budget the run never reaches gets the final image.
    """
    from .image import postprocess

    pending, snapshots = sorted(seconds), {}
    best = {"size": None, "total": math.inf, "image": None}

    def keep(rec, X):
        while pending and rec["seconds"] >= pending[0]:
            snapshots[pending.pop(0)] = best["image"] if best["image"] is not None else postprocess(X)
        if rec["size"] != best["size"] or rec["total"] < best["total"]:
            best.update(size=rec["size"], total=rec["total"], image=postprocess(X))

    tic = time.perf_counter()
    image, history = config.run(callback=keep, progress=progress)
    result = Result(config, image, history, time.perf_counter() - tic, run_key(config), cached=False)
    for budget in pending:
        snapshots[budget] = image
    return result, snapshots


def write_result(out: str | Path, image: np.ndarray, config, history: list[dict], **extra) -> Path:
    """Save ``image`` to ``out`` and ``out``'s ``.json`` sidecar (settings, history, versions)."""
    out = Path(out)
    save_image(image, out)
    sidecar = out.with_suffix(".json")
    write_json(sidecar, {"settings": dataclasses.asdict(config), "versions": versions(),
                         **extra, "history": history})
    return sidecar
