"""gs.presets: a preset's values, except for the parameters a user changed."""
import pytest

from gluon_style import presets


def test_a_preset_replaces_the_paper_values_only():
    paper = presets.PRESETS["04"]["paper"]
    current = {**paper, "size": 200}   # the user set size; everything else is the paper's
    chosen = presets.settings(notebook="04", preset="class", current=current)
    assert chosen == {**presets.PRESETS["04"]["class"], "size": 200}


def test_a_preset_value_is_a_copy():
    chosen = presets.settings(notebook="04", preset="smoke", current=presets.PRESETS["04"]["paper"])
    chosen["ratios"].append(1.0)   # a notebook changing its list leaves the table as it was
    assert presets.PRESETS["04"]["smoke"]["ratios"] == [1e-4, 1e-2]


def test_the_paper_preset_changes_nothing():
    current = {**presets.PRESETS["02"]["paper"], "steps": 7}
    assert presets.settings(notebook="02", preset="paper", current=current) == current


@pytest.mark.parametrize("kwargs, message", [
    (dict(notebook="99", preset="class"), r"no presets for notebook '99'; options are \['01'"),
    (dict(notebook="04", preset="fast"), r"invalid preset 'fast'; options are \['paper', 'class'"),
    (dict(notebook="10", preset="class"), "notebook 10: the class preset .*issue 20"),
    (dict(notebook="01", preset="class"), r"notebook 01: parameters \['size'\] are not defined"),
])
def test_unknown_or_unavailable_presets_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        presets.settings(current={}, **kwargs)
