"""Regenerate the committed figures: run notebooks at their full-size parameters, writing
into ``figures/`` (a plain notebook run writes into ``notebooks/out/`` and never touches them).

    python notebooks/make_figures.py            # every notebook
    python notebooks/make_figures.py 04 06      # by number (or full name)

Optimization runs come from the run cache (``~/.cache/gluon_style/runs``), so a re-run
recomputes only the runs whose settings, inputs or code changed. The executed notebooks,
with their outputs, go to ``notebooks/out/executed/``; each one's log, with a line as each
computed run starts and ends, to ``notebooks/out/logs``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIGURES = HERE.parent / "figures"


def notebooks() -> dict[str, Path]:
    return {p.stem: p for p in sorted(HERE.glob("[0-9]*.ipynb"))}


def select(names: list[str]) -> list[Path]:
    """The notebooks named by number prefix or full name; ValueError lists the valid ones."""
    found = notebooks()
    if not names:
        return list(found.values())
    chosen = []
    for name in names:
        hits = [p for stem, p in found.items() if stem == name or stem.split("_")[0] == name]
        if not hits:
            raise ValueError(f"no notebook {name!r}; options are {sorted(found)}")
        chosen += hits
    return chosen


def execute(path: Path, *, parameters: dict, folder: Path) -> Path:
    """Run one notebook with papermill from this folder: the executed copy goes to
    ``folder/executed``, the cells' output, as it comes, to ``folder/logs``."""
    import papermill

    executed, log = folder / "executed" / path.name, folder / "logs" / f"{path.stem}.log"
    executed.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as stream:
        papermill.execute_notebook(str(path), str(executed), parameters=parameters,
                                   cwd=str(HERE), kernel_name="python3",
                                   stdout_file=stream, stderr_file=stream)
    return executed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook numbers or names (default: all)")
    args = parser.parse_args(argv)
    try:
        chosen = select(args.names)   # every check before any work
        import papermill  # noqa: F401  (missing: say so before any work)
    except (ValueError, ImportError) as err:
        sys.exit(f"make_figures: {err}")
    for i, path in enumerate(chosen, 1):
        tic = time.perf_counter()
        print(f"[{i}/{len(chosen)}] {path.stem} -> {FIGURES}", flush=True)
        execute(path, parameters={"out_dir": str(FIGURES)}, folder=HERE / "out")
        print(f"[{i}/{len(chosen)}] {path.stem} done in {time.perf_counter() - tic:.0f} s",
              flush=True)


if __name__ == "__main__":
    main()
