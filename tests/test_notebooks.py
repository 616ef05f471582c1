"""Every notebook runs end to end at its smoke preset; committed notebooks carry no outputs."""
import json
import re
from pathlib import Path

import nbformat
import pytest

from gluon_style import figures, presets

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9]*.ipynb"))
FIGURES = {
    "01_images_and_vgg19": ["01_preprocessing", "01_feature_maps", "01_pretrained_vs_random"],
    "02_gatys_style_transfer": ["02_result", "02_loss_curves", "02_snapshots"],
    "02a_build_it_yourself": ["02a_gram", "02a_gradient", "02a_result", "02a_style_per_layer"],
    "03_reconstructions": ["03_content_reconstructions", "03_style_reconstructions",
                           "03_style_terms_per_layer"],
    "04_layer_choice_and_weights": ["04_layers_vs_ratio", "04_convergence", "04_ratio_convention",
                                    "04_network", "04_pooling", "04_init", "04_content_layer",
                                    "04_tv_weight", "04_samples"],
    "05_one_content_many_styles": ["05_many_styles"],
    "06_perceptual_controls": ["06_color", "06_masks", "06_masks_per_layer", "06_coarse_to_fine",
                               "06_coarse_to_fine_curves", "06_style_scale", "06_mixed_scales"],
    "07_style_representations": ["07_style_reconstructions", "07_style_losses", "07_loss_curves"],
    "11_optimizers_and_speed": ["11_loss_vs_steps", "11_loss_vs_seconds", "11_equal_time"],
    "08_feedforward_perceptual_loss": ["08_shipped", "08_loss_history", "08_upsampling",
                                       "08_checkerboard", "08_training_budget", "08_speed_table"],
    "09_conditional_instance_norm": ["09_styles", "09_confusion", "09_johnson",
                                     "09_interpolation", "09_four_styles", "09_loss_history"],
    "10_adain_arbitrary_style": ["10_adain_statistics", "10_loss_history", "10_unseen_styles", "10_alpha"],
}


def number(name: str) -> str:
    return name.split("_")[0]


def parameters_cell(name: str) -> dict:
    """The literal values assigned in a notebook's parameters cell."""
    import ast

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values = {}
    for node in ast.parse(cell.source).body:
        targets = node.targets[0]
        names = targets.elts if isinstance(targets, ast.Tuple) else [targets]
        value = ast.literal_eval(node.value)
        for target, v in zip(names, value if isinstance(targets, ast.Tuple) else [value]):
            values[target.id] = v
    return values


def test_every_notebook_is_covered():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES == sorted(FIGURES)
    assert sorted(map(number, NAMES)) == sorted(presets.PRESETS)


@pytest.mark.parametrize("name", NAMES)
def test_paper_preset_is_the_parameters_cell_and_covers_the_others(name):
    cell, table = parameters_cell(name), presets.PRESETS[number(name)]
    assert cell["preset"] == "paper"
    assert {k: cell[k] for k in table["paper"]} == table["paper"]
    for other in ("class", "smoke"):
        if isinstance(table[other], dict):
            assert set(table[other]) <= set(table["paper"]), other


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs_and_one_parameters_cell(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "gs.seed(seed)" in code[code.index(tagged[0]) + 1].source  # seeded right after


# figures not yet looked at on the committed code, so not yet interpreted (issues 19 and 20)
UNINTERPRETED = {"10_adain_arbitrary_style": ["af6558a6", "c099757d"]}


@pytest.mark.parametrize("name", NAMES)
def test_every_figure_is_followed_by_what_you_should_see(name):
    """Issue 21: each cell that saves a figure is followed at once by its interpretation."""
    cells = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells
    missing = [c.id for c, after in zip(cells, cells[1:] + [None])
               if c.cell_type == "code" and "save_figure(" in c.source
               and not (after is not None and after.cell_type == "markdown"
                        and after.source.startswith("**What you should see"))]
    assert missing == UNINTERPRETED.get(name, [])   # an interpreted one leaves the list


def _load(name: str):
    """One of this folder's scripts (make_figures.py, build_book.py) as a module."""
    import importlib.util
    import sys

    if str(NOTEBOOKS) not in sys.path:
        sys.path.insert(0, str(NOTEBOOKS))
    spec = importlib.util.spec_from_file_location(name, NOTEBOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory):
    """The book's folder at the smoke preset: the runs below execute into it, as build_book.py
    does, and the book test renders what they left."""
    return tmp_path_factory.mktemp("smoke_book")


@pytest.mark.notebook
@pytest.mark.pretrained
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_tiny_and_writes_its_figures(name, smoke_book):
    _load("build_book").run(NOTEBOOKS / f"{name}.ipynb", preset="smoke", out=smoke_book)
    for fig in FIGURES[name]:
        png, sidecar = smoke_book / "figures" / f"{fig}.png", smoke_book / "figures" / f"{fig}.json"
        assert png.stat().st_size > 1000, fig
        meta = json.loads(sidecar.read_text())
        assert meta["figure"] == f"{fig}.png" and figures.missing_sidecar_fields(meta) == [], fig


def _browser():
    """Headless Debian chromium through Selenium; skipped where it is not installed, except in
    CI (CI=true), which installs it (.ci/run)."""
    import os
    import shutil

    found = shutil.which("chromium") and shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        found = False
    if not found:
        message = "needs Debian's chromium and chromium-driver and the selenium package"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


@pytest.mark.notebook
@pytest.mark.pretrained
def test_book_renders_and_every_image_loads_in_a_browser(smoke_book):
    import time

    book = _load("build_book")
    for name in NAMES:   # what the runs above left; run alone, this executes them
        if not (smoke_book / "executed" / f"{name}.ipynb").exists():
            book.run(NOTEBOOKS / f"{name}.ipynb", preset="smoke", out=smoke_book)
    pages = book.build(NAMES, preset="smoke", out=smoke_book, execute=False)
    html = (smoke_book / "04_layer_choice_and_weights.html").read_text()
    assert "data:image/png" not in html and 'src="figures/04_layers_vs_ratio.png"' in html
    loaded = ("return Array.from(document.images, i => [i.src, i.complete ? i.naturalWidth : "
              "null]);")

    def images_once_loaded(driver):   # null while an image is still loading
        for _ in range(100):
            found = driver.execute_script(loaded)
            if all(width is not None for _, width in found):
                return found
            time.sleep(0.1)
        return found

    driver = _browser()
    try:
        driver.get((smoke_book / "index.html").as_uri())   # every notebook linked; no image broken
        hrefs = [a.get_attribute("href") for a in driver.find_elements("css selector", "a")]
        linked = {h.split("#")[0].rsplit("/", 1)[-1] for h in hrefs if h and h.startswith("file:")}
        assert linked == {p.name for p in pages} | {"index.html"}   # and the page's own link
        assert all(width for _, width in images_once_loaded(driver))
        driver.get(pages[NAMES.index("02_gatys_style_transfer")].as_uri())   # equations drawn
        heights = driver.execute_script("return Array.from(document.querySelectorAll("
                                        "'math[display=block]'), m => m.getBoundingClientRect().height);")
        assert len(heights) >= 3 and min(heights) > 20, heights   # the losses' fractions
        driver.get(pages[NAMES.index("04_layer_choice_and_weights")].as_uri())
        images = images_once_loaded(driver)
        assert len(images) >= len(FIGURES["04_layer_choice_and_weights"])
        assert all(width for _, width in images), images   # 0: a broken image
    finally:
        driver.quit()


def test_the_book_typesets_every_equation_as_mathml_and_leaves_code_alone(tmp_path):
    book = _load("build_book")
    text, found = book.typeset("Cost $\\frac{a}{b}$, `echo $HOME $PATH` and\n$$x^2$$", key="K")
    assert text == "Cost K0X, `echo $HOME $PATH` and\nK1X"
    assert '<mfrac><mrow><mi>a</mi></mrow><mrow><mi>b</mi></mrow></mfrac>' in found["K0X"]
    assert 'display="block"' in found["K1X"] and "<msup><mi>x</mi><mn>2</mn></msup>" in found["K1X"]
    with pytest.raises(ValueError, match="left a TeX command"):
        book.typeset("$\\nosuchcommand x$")
    assert book.typeset("costs \\$5 or \\$6", key="K") == ("costs \\$5 or \\$6", {})
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## The loss $\\ell$\n\nIt is $$\\ell = x^2$$ and `$a$`."),
        nbformat.v4.new_code_cell("price = '$5 and $6'")])
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    book.render_page(tmp_path / "tiny.ipynb", tmp_path / "tiny.html")
    page = (tmp_path / "tiny.html").read_text()
    text = re.sub(r"<[^>]*>", "", page)   # what a reader sees
    assert "GSMATH" not in text and "<code>$a$</code>" in page and "$5 and $6" in page
    assert page.count("<math") == 2 and page.count('MathML" display="block"') == 1   # heading, body
    count = 0
    for name in NAMES:   # every equation of the notebooks converts, no TeX left behind
        cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                count += len(book.typeset("".join(cell["source"]), label=f"{name} {i}")[1])
    assert count >= 150


def test_make_figures_selects_by_number_or_name_and_rejects_others():
    make_figures = _load("make_figures")
    chosen = make_figures.select(["04", "02", "02a_build_it_yourself"])
    assert [p.stem for p in chosen] == ["04_layer_choice_and_weights", "02_gatys_style_transfer",
                                        "02a_build_it_yourself"]
    assert len(make_figures.select([])) == len(NAMES)
    assert make_figures.FIGURES == NOTEBOOKS.parent / "figures"
    with pytest.raises(ValueError, match="no notebook '99'; options are"):
        make_figures.select(["99"])


def test_notebooks_write_locally_unless_asked():
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert 'out_dir = "out"' in params.source, name
