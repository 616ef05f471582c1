"""Every notebook runs end to end at tiny size; committed notebooks carry no outputs."""
import json
from pathlib import Path

import nbformat
import pytest

from gluon_style import figures

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TINY = {
    "01_images_and_vgg19": dict(size=48),
    "02_gatys_style_transfer": dict(size=48, steps=3, gatys_steps=2, snapshot_steps=[1, 3]),
    "02a_build_it_yourself": dict(size=48, steps=3, check_steps=2),
    "03_reconstructions": dict(size=48, steps=2, content_layers=["relu1_2", "relu4_2"],
                               style_depths=[1, 3]),
    "04_layer_choice_and_weights": dict(size=48, steps=2, style_depths=[1, 5], ratios=[1e-4, 1e-2],
                                        tv_weights=[0.0, 10.0]),
    "05_one_content_many_styles": dict(size=48, steps=2,
                                       styles=["vangogh_starry_night", "munch_the_scream"],
                                       ratios=[1e-3, 1e-4]),
    # 128 px: the painting's sky crop (3:1) must keep 32 px; 64 px: the coarse level too
    "06_perceptual_controls": dict(size=128, steps=2, big_size=128, big_steps=3, pyramid=[64],
                                   pyramid_steps=2, style_scales=[1.0, 2.0]),
    "07_style_representations": dict(size=48, steps=2,
                                     representations=["gram", "mean_std", "mmd_gaussian"]),
    "11_optimizers_and_speed": dict(size=96, steps=2, pyramid_steps=2, budgets=[0.0, 1e9]),
    "08_feedforward_perceptual_loss": dict(
        crop=32, batch_size=1, steps=2, apply_size=48, table_sizes=[64], opt_steps=[2, 4],
        measured_steps=2, content_photos=["astronaut", "rocket"], test_photo="astronaut"),
    "09_conditional_instance_norm": dict(
        crop=32, batch_size=1, steps=2, apply_size=64, strip=3, content_photos=["astronaut"],
        test_photo="astronaut"),
    "10_adain_arbitrary_style": dict(
        crop=32, batch_size=1, steps=2, style_steps=2, apply_size=48, alphas=[0.0, 1.0],
        content_photos=["astronaut"], test_photo="astronaut",
        train_styles=["vangogh_starry_night", "munch_the_scream"], unseen_styles=["klimt_the_kiss"]),
}
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
    "08_feedforward_perceptual_loss": ["08_loss_history", "08_result", "08_checkerboard",
                                       "08_speed_table"],
    "09_conditional_instance_norm": ["09_loss_history", "09_styles", "09_interpolation",
                                     "09_four_styles"],
    "10_adain_arbitrary_style": ["10_adain_statistics", "10_loss_history", "10_unseen_styles", "10_alpha"],
}


def test_every_notebook_is_covered():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(TINY) == sorted(FIGURES)


@pytest.mark.parametrize("name", sorted(TINY))
def test_committed_without_outputs_and_one_parameters_cell(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "gs.seed(seed)" in code[code.index(tagged[0]) + 1].source  # seeded right after


@pytest.mark.notebook
@pytest.mark.pretrained
@pytest.mark.parametrize("name", sorted(TINY))
def test_notebook_runs_tiny_and_writes_its_figures(name, tmp_path):
    import papermill

    out = tmp_path / "figures"
    papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(tmp_path / f"{name}.ipynb"),
                               parameters={**TINY[name], "out_dir": str(out),
                                           "runs_cache": str(tmp_path / "runs"),
                                           "runs_dir": str(tmp_path / "checkpoints")},
                               cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False)
    for fig in FIGURES[name]:
        png, sidecar = out / f"{fig}.png", out / f"{fig}.json"
        assert png.stat().st_size > 1000, fig
        meta = json.loads(sidecar.read_text())
        assert meta["figure"] == f"{fig}.png" and figures.missing_sidecar_fields(meta) == [], fig


def test_make_figures_selects_by_number_or_name_and_rejects_others():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_figures", NOTEBOOKS / "make_figures.py")
    make_figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_figures)
    chosen = make_figures.select(["04", "02", "02a_build_it_yourself"])
    assert [p.stem for p in chosen] == ["04_layer_choice_and_weights", "02_gatys_style_transfer",
                                        "02a_build_it_yourself"]
    assert len(make_figures.select([])) == len(TINY)
    assert make_figures.FIGURES == NOTEBOOKS.parent / "figures"
    with pytest.raises(ValueError, match="no notebook '99'; options are"):
        make_figures.select(["99"])


def test_notebooks_write_locally_unless_asked():
    for name in TINY:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert 'out_dir = "out"' in params.source, name
