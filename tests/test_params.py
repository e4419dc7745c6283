"""Run parameters: defaults, year files, --set overrides, refusals that list the valid keys."""

from __future__ import annotations

import pytest

from parindex.params import ParamsError, load_params, valid_keys


def test_defaults_for_a_year():
    p = load_params(2022)
    assert p.inputs.raw_dir == "data/raw/2022"
    assert p.seed == 2022
    assert p.survey.group_weighting == "pooled"
    assert p.robustness.n_draws == 1000


def test_overrides_are_typed(tmp_path):
    f = tmp_path / "2023.yaml"
    f.write_text("year: 2023\nseed: 7\nsurvey:\n  survey_start: 2023-10-01\n", encoding="utf-8")
    p = load_params(2023, f, ["survey.group_weighting=equal", "robustness.n_draws=200", "satisfaction.points=15"])
    assert p.seed == 7
    assert str(p.survey.survey_start) == "2023-10-01"
    assert p.survey.group_weighting == "equal"
    assert p.robustness.n_draws == 200
    assert p.satisfaction.satisfaction_points == 15.0


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ParamsError) as e:
        load_params(2023, None, ["survey.weighting=equal"])
    msg = str(e.value)
    assert "unknown parameter 'survey.weighting'" in msg
    assert "survey.group_weighting" in msg and "robustness.n_draws" in msg and "satisfaction.points" in msg


def test_wrong_type_is_refused(tmp_path):
    with pytest.raises(ParamsError) as e:
        load_params(2023, None, ["robustness.n_draws=many"])
    assert "robustness.n_draws" in str(e.value) and "'many'" in str(e.value)
    assert "Valid keys:" in str(e.value)
    f = tmp_path / "p.yaml"
    f.write_text("year: 2023\nsurvey: {colour: red}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"survey\.colour: Extra inputs are not permitted"):
        load_params(2023, f)


def test_file_for_another_year_is_refused(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("year: 2022\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="for year 2022, the run is for 2023"):
        load_params(2023, f)


def test_valid_keys_are_dotted():
    keys = valid_keys()
    assert "inputs.raw_dir" in keys and "scoring.allow_missing_as_zero" in keys and "seed" in keys
