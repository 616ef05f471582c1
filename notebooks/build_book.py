"""Render the notebooks, with their outputs, as a small HTML book: an index page (this
folder's README.md) and one page per notebook, whose figures link to the PNG files instead
of embedding copies of them.

    python notebooks/build_book.py                    # paper preset: runs the notebooks as
                                                      # make_figures.py does, renders into book/
    python notebooks/build_book.py --no-run           # render the executed copies already there
    python notebooks/build_book.py --preset smoke --out /tmp/book     # seconds a notebook (CI)

At the paper preset the runs come from the run cache, so a warm cache renders in minutes.
The pages link to the figures by relative paths (``book/`` to ``../figures``), so the book
is read inside the repository. Its equations are typeset when the book is built, as MathML
(``latex2mathml``), which browsers draw without a script or a network.
"""
from __future__ import annotations

import argparse
import html
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_figures  # noqa: E402  (this folder's: the notebooks, the committed figures)

BOOK = HERE.parent / "book"
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ max-width: 60rem; margin: 2rem auto; padding: 0 1rem; font: 16px/1.5 sans-serif; }}
img {{ max-width: 100%; height: auto; }}
pre, code {{ font-size: 0.9em; }}
.jp-InputArea pre, .input_area pre {{ background: #f5f5f5; padding: 0.5rem; overflow-x: auto; }}
.jp-OutputArea pre, .output_area pre {{ padding: 0.5rem; overflow-x: auto; }}
math[display="block"] {{ margin: 0.8rem 0; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; }}
</style>
</head><body>
<p><a href="index.html">The notebooks</a></p>
{body}
</body></html>
"""


# Spellings latex2mathml lacks, rewritten to ones it has (Jupyter's MathJax reads both; a
# \big before a delimiter only sizes it).
TEX_SPELLINGS = ((r"\big\|", r"\|"), (r"\Big\|", r"\|"), (r"\tfrac12", r"\tfrac{1}{2}"),
                 (r"\texttt{", r"\text{"), (r"\arg\min", r"\operatorname{argmin}"))
CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
MATH = re.compile(r"(?<!\\)\$\$(.+?)\$\$|(?<!\\)\$([^$\n]+?)(?<!\\)\$", re.S)   # \$: a dollar


def typeset(markdown: str, *, key: str = "GSMATH", label: str = "<markdown>"
            ) -> tuple[str, dict[str, str]]:
    """``markdown`` with each $...$ and $$...$$ outside code replaced by a placeholder
    (``key``, a number, 'X'), and placeholder -> MathML. ``ValueError`` for TeX that would
    come out with a raw command."""
    from latex2mathml.converter import convert

    found: dict[str, str] = {}

    def one(match) -> str:
        tex = match.group(1) or match.group(2)
        for old, new in TEX_SPELLINGS:
            tex = tex.replace(old, new)
        mathml = convert(tex, display="block" if match.group(1) else "inline")
        mathml = mathml.replace("\\_", "_")   # it keeps \text{a\_b}'s escape
        if re.search(r"\\[A-Za-z|_{}%&#$]", re.sub(r"<[^>]+>", "", mathml)):
            raise ValueError(f"{label}: latex2mathml left a TeX command in {tex[:60]!r}")
        found[f"{key}{len(found)}X"] = mathml
        return f"{key}{len(found) - 1}X"

    pieces = CODE.split(markdown)   # odd pieces are code: left as they are
    text = "".join(p if i % 2 else MATH.sub(one, p) for i, p in enumerate(pieces))
    return text, found


def link_figures(nb, page_dir: Path) -> int:
    """Replace each image that ``figures.save_figure`` showed by a link to its file."""
    from gluon_style.figures import BOOK_FIGURE_KEY

    linked = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            path = out.get("metadata", {}).get(BOOK_FIGURE_KEY)   # relative to notebooks/
            if path:
                src = Path(os.path.relpath(HERE / path, page_dir)).as_posix()
                out["data"] = {"text/html": f'<img src="{html.escape(src)}" '
                                            f'alt="{html.escape(Path(path).name)}">'}
                out["metadata"] = {}
                linked += 1
    return linked


def render_page(executed: Path, page: Path) -> int:
    """One notebook's page; returns how many figures it links."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    linked, maths = link_figures(nb, page.parent), {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source, found = typeset(cell.source, key=f"GSMATH{i}C",
                                         label=f"{executed.name}, cell {i}")
            maths.update(found)
    body, _ = HTMLExporter(template_name="basic").from_notebook_node(nb)
    # only in text: a heading's copy of its placeholder in id= and href= stays as it is
    body = re.sub(r"(<[^>]*>)|GSMATH\d+C\d+X", lambda m: m.group(1) or maths[m.group(0)], body)
    page.write_text(PAGE.format(title=html.escape(executed.stem), body=body))
    return linked


def render_index(out: Path) -> None:
    """README.md as the index, each notebook's name linked to its page in ``out``."""
    from nbconvert.filters import markdown2html

    body = markdown2html((HERE / "README.md").read_text())
    for name in sorted(p.stem for p in out.glob("[0-9]*.html")):
        body = re.sub(f"<code>{re.escape(name)}</code>",
                      f'<a href="{name}.html"><code>{name}</code></a>', body)
    (out / "index.html").write_text(PAGE.format(title="gluon_style notebooks", body=body))


def run(path: Path, *, preset: str, out: Path) -> Path:
    """Execute one notebook at ``preset``; the paper preset writes the committed figures."""
    if preset == "paper":
        folder, params = HERE / "out", {"out_dir": str(make_figures.FIGURES)}
    else:
        folder = out
        params = {"out_dir": str(out / "figures"), "runs_cache": str(out / "runs"),
                  "runs_dir": str(out / "checkpoints")}
    return make_figures.execute(path, parameters={"preset": preset, **params}, folder=folder)


def build(names: list[str], *, preset: str = "paper", out: Path = BOOK, execute: bool = True
          ) -> list[Path]:
    """Run (unless ``execute`` is False) and render the notebooks named; returns the pages.
    Every check (names, presets, executed copies) comes before any work."""
    from gluon_style.presets import preset_values

    chosen = make_figures.select(names)   # ValueError lists the valid names
    for path in chosen:
        preset_values(notebook=path.stem.split("_")[0], preset=preset)
    folder = (HERE / "out" if preset == "paper" else out) / "executed"
    missing = [p.name for p in chosen if not execute and not (folder / p.name).exists()]
    if missing:
        raise FileNotFoundError(f"no executed copies of {missing} in {folder}: run without --no-run")
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for path in chosen:
        executed = run(path, preset=preset, out=out) if execute else folder / path.name
        pages.append(out / f"{path.stem}.html")
        linked = render_page(executed, pages[-1])
        print(f"{pages[-1]} ({linked} linked figures)", flush=True)
    render_index(out)
    return pages


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook numbers or names (default: all)")
    parser.add_argument("--preset", default="paper", choices=["paper", "class", "smoke"])
    parser.add_argument("--out", type=Path, default=BOOK, help="the book's folder")
    parser.add_argument("--no-run", dest="execute", action="store_false",
                        help="render the executed copies already there")
    args = parser.parse_args(argv)
    try:
        build(args.names, preset=args.preset, out=args.out.resolve(), execute=args.execute)
    except (ValueError, FileNotFoundError, ImportError) as err:
        sys.exit(f"build_book: {err}")
    except Exception as err:   # a notebook that failed: papermill names its cell
        if type(err).__name__ != "PapermillExecutionError":
            raise
        sys.exit(f"build_book: {err}")


if __name__ == "__main__":
    main()
