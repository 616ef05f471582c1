"""Each notebook's settings at three presets: ``paper`` (the committed figures), ``class``
(a lesson: images of about 160 px, grids of at most 3x3, each notebook meant to take under
15 minutes on 2 CPU cores) and ``smoke`` (seconds, unreadably small: the tests).

A notebook's parameters cell holds its ``paper`` values and a ``preset`` parameter; the cell
after it calls :func:`settings`. Only the parameters a preset changes are listed here, and
``tests/test_notebooks.py`` checks that each ``paper`` entry equals its notebook's cell.
"""
from __future__ import annotations

import copy
from typing import Mapping

PRESET_NAMES = ("paper", "class", "smoke")
_NO_CLASS = ("the class preset of notebook 10 is to use a shipped pretrained model, and none "
             "ships yet (issue 20); use preset='smoke' or 'paper'")

PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "tubingen", "beach_city", "columns",
          "golden_gate_fog", "rainier", "flowers"]
_TINY_TRAINING = dict(crop=32, batch_size=1, steps=2)

# notebook number -> preset -> the parameters it sets (a string: why it is not available)
PRESETS: dict[str, dict[str, dict | str]] = {
    "01": {
        "paper": dict(size=256),
        "class": dict(size=160),
        "smoke": dict(size=48),
    },
    "02": {
        "paper": dict(size=512, steps=500, gatys_steps=150,
                      snapshot_steps=[1, 10, 50, 100, 200, 500]),
        "class": dict(size=160, steps=200, gatys_steps=100, snapshot_steps=[1, 10, 50, 200]),
        "smoke": dict(size=48, steps=3, gatys_steps=2, snapshot_steps=[1, 3]),
    },
    "02a": {
        "paper": dict(size=320, steps=200, check_steps=5),
        "class": dict(size=160, steps=100, check_steps=5),
        "smoke": dict(size=48, steps=3, check_steps=2),
    },
    "03": {
        "paper": dict(size=256, steps=1000, style_depths=[1, 2, 3, 4, 5],
                      content_layers=["relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2"]),
        "class": dict(size=160, steps=300, style_depths=[1, 3, 5],
                      content_layers=["relu1_2", "relu3_2", "relu5_2"]),
        "smoke": dict(size=48, steps=2, style_depths=[1, 3],
                      content_layers=["relu1_2", "relu4_2"]),
    },
    "04": {
        "paper": dict(size=256, steps=1000, style_depths=[1, 2, 3, 4, 5],
                      ratios=[1e-5, 1e-4, 1e-3, 1e-2], tv_weights=[0.0, 0.01, 0.1, 1.0, 10.0],
                      seeds=[0, 1, 2]),
        "class": dict(size=160, steps=200, style_depths=[1, 3, 5], ratios=[1e-4, 1e-3, 1e-2],
                      tv_weights=[0.0, 1.0, 10.0], seeds=[0, 1]),   # 300 steps took 1169 s
        "smoke": dict(size=48, steps=2, style_depths=[1, 5], ratios=[1e-4, 1e-2],
                      tv_weights=[0.0, 10.0], seeds=[0, 1]),
    },
    "05": {
        "paper": dict(size=384, steps=1000,
                      styles=["turner_shipwreck", "vangogh_starry_night", "munch_the_scream",
                              "picabia_udnie", "kandinsky_composition_vii"],
                      ratios=[1e-3, 1e-3, 1e-3, 1e-4, 1e-4]),
        "class": dict(size=160, steps=300),
        "smoke": dict(size=48, steps=2, styles=["vangogh_starry_night", "munch_the_scream"],
                      ratios=[1e-3, 1e-4]),
    },
    "06": {   # smoke at 128 px: the painting's sky crop (3:1) must keep 32 px
        "paper": dict(size=256, steps=1000, big_size=1024, big_steps=240, pyramid=[256, 512],
                      pyramid_steps=300, style_scales=[0.5, 1.0, 2.0]),
        "class": dict(size=160, steps=300, big_size=320, big_steps=100, pyramid=[160],
                      pyramid_steps=100, style_scales=[0.5, 1.0, 2.0]),
        "smoke": dict(size=128, steps=2, big_size=128, big_steps=3, pyramid=[64],
                      pyramid_steps=2, style_scales=[1.0, 2.0]),
    },
    "07": {
        "paper": dict(size=256, steps=1000,
                      representations=["gram", "mmd_linear", "mean_std", "mean_cov"]),
        "class": dict(size=160, steps=300, representations=["gram", "mean_std", "mean_cov"]),
        "smoke": dict(size=48, steps=2, representations=["gram", "mean_std", "mmd_gaussian"]),
    },
    "08": {
        "paper": dict(crop=128, batch_size=4, steps=500, apply_size=384, table_sizes=[256, 512],
                      opt_steps=[100, 300, 500], measured_steps=10, content_photos=PHOTOS,
                      test_photo="tubingen", model="starry_night",
                      compare_photos=["tubingen", "motorcycle_left"], compare_size=512,
                      lbfgs_evaluations=50),
        # 256 px, not 160: a forward pass costs little, and the network's texture is fine
        "class": dict(steps=150, apply_size=256, table_sizes=[256], compare_size=256),
        "smoke": dict(**_TINY_TRAINING, apply_size=48, table_sizes=[64], opt_steps=[2, 4],
                      measured_steps=2, content_photos=["astronaut", "rocket"],
                      test_photo="astronaut", compare_photos=["tubingen"], compare_size=48,
                      lbfgs_evaluations=2),
    },
    "09": {
        "paper": dict(model="four_paintings", johnson_model="starry_night",
                      compare_photos=["tubingen", "motorcycle_left"], apply_size=384,
                      mix_size=256, strip=5),
        # as notebook 08's: passes cost little; the mixing grid stays 4x4, one corner a style
        "class": dict(compare_photos=["tubingen"], apply_size=256, mix_size=160),
        "smoke": dict(compare_photos=["tubingen"], apply_size=48, mix_size=48, strip=3),
    },
    "10": {
        "paper": dict(crop=64, batch_size=4, steps=5000, style_steps=2000, apply_size=256,
                      alphas=[0.0, 0.25, 0.5, 0.75, 1.0], content_photos=PHOTOS,
                      test_photo="tubingen",
                      train_styles=["vangogh_starry_night", "hokusai_great_wave",
                                    "munch_the_scream", "picabia_udnie",
                                    "kandinsky_composition_vii", "turner_shipwreck",
                                    "seurat_grande_jatte", "monet_impression_sunrise"],
                      unseen_styles=["klimt_the_kiss", "matisse_woman_with_a_hat",
                                     "monet_water_lilies_1919"]),
        "class": _NO_CLASS,
        "smoke": dict(**_TINY_TRAINING, style_steps=2, apply_size=48, alphas=[0.0, 1.0],
                      content_photos=["astronaut"], test_photo="astronaut",
                      train_styles=["vangogh_starry_night", "munch_the_scream"],
                      unseen_styles=["klimt_the_kiss"]),
    },
    "11": {
        "paper": dict(size=256, steps=600, pyramid_steps=100, budgets=[15, 30, 60, 120]),
        "class": dict(size=160, steps=150, pyramid_steps=100, budgets=[5, 10, 20]),
        "smoke": dict(size=96, steps=2, pyramid_steps=2, budgets=[0.0, 1e9]),
    },
}


def settings(*, notebook: str, preset: str, current: Mapping) -> dict:
    """The values of the parameters ``preset`` sets, for a notebook's namespace ``current``.

    A parameter whose value differs from its ``paper`` value was set by the user (papermill's
    ``-p`` or an edited cell) and keeps that value; the others take the preset's (so a value
    set to the paper's own is taken as not set).

    Parameters
    ----------
    notebook : str
        The notebook's number, as in its file name: '04', '02a'.
    preset : str
        One of ``PRESET_NAMES``.
    current : Mapping
        The notebook's variables after its parameters cell (``globals()``).

    Raises
    ------
    ValueError
        For an unknown notebook or preset, a preset the notebook does not have yet, or a
        parameter missing from ``current``.
    """
    chosen, paper = preset_values(notebook=notebook, preset=preset), PRESETS[notebook]["paper"]
    missing = sorted(set(chosen) - set(current))
    if missing:
        raise ValueError(f"notebook {notebook}: parameters {missing} are not defined")
    return {k: copy.deepcopy(v) if current[k] == paper[k] else current[k]
            for k, v in chosen.items()}


def preset_values(*, notebook: str, preset: str) -> dict:
    """The parameters ``preset`` sets in ``notebook``; ``ValueError`` (listing the valid names)
    for an unknown notebook or preset, or one the notebook does not have yet."""
    if notebook not in PRESETS:
        raise ValueError(f"no presets for notebook {notebook!r}; options are {sorted(PRESETS)}")
    if preset not in PRESET_NAMES:
        raise ValueError(f"invalid preset {preset!r}; options are {list(PRESET_NAMES)}")
    chosen = PRESETS[notebook][preset]
    if isinstance(chosen, str):
        raise ValueError(f"notebook {notebook}: {chosen}")
    return chosen
