"""The methodology validator: the reference default loads; broken files are refused naming the node."""

from __future__ import annotations

import pytest
import yaml
from conftest import REFERENCE_METHODOLOGY

from parindex.methodology import MethodologyError, load_methodology, parse_methodology


def test_reference_default_matches_domain_table():
    m = load_methodology(REFERENCE_METHODOLOGY)
    assert m.meta.status == "reference_default"
    assert "3395" in m.meta.note
    lv = m.leaves()
    # DOMAIN.md: appraisal 70, officials' survey 20, SIPAS 10, total 100; 8 fields
    assert lv.groupby("source")["points"].sum().to_dict() == {
        "appraisal": 70.0, "officials_survey": 20.0, "satisfaction_survey": 10.0}
    assert m.field_table()["points"].tolist() == [10, 8, 16, 6, 12, 8, 15, 25]
    by_field = lv.groupby(["field_code", "source"])["points"].sum().unstack(fill_value=0)
    assert by_field["appraisal"].tolist() == [8, 6, 13, 4, 9, 6, 13, 11]
    assert by_field["officials_survey"].tolist() == [2, 2, 3, 2, 3, 2, 2, 4]
    assert lv["code"].is_unique
    assert len(m.sha256) == 64


def test_file_on_disk_with_broken_sum(tmp_path):
    data = yaml.safe_load(REFERENCE_METHODOLOGY.read_text(encoding="utf-8"))
    data["fields"][2]["criteria"][1]["subcriteria"][0]["points"] = 2.5  # 3.2.1: 3 → 2.5
    p = tmp_path / "broken.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(MethodologyError) as e:
        load_methodology(p)
    msg = str(e.value)
    assert "broken.yaml" in msg
    assert "field 3 › criterion 3.2: sub-criteria add up to 3.5 points, expected 4" in msg


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["fields"][0].update(points=11),
     "field 1: criteria add up to 10 points, expected 11"),
    (lambda d: d["fields"][0]["criteria"][0].update(points=5),
     "field 1 › criterion 1.1: sub-criteria add up to 4 points, expected 5"),
    (lambda d: d["fields"][1]["criteria"][0].update(code="1.1"),
     "code '1.1' is used twice"),
    (lambda d: d["bands"].reverse(),
     "band B: min_pct 80 must be below the previous band's 0"),
    (lambda d: d["bands"][2].update(min_pct=10),
     "band C: the last band must start at 0"),
    (lambda d: d["officials_survey"]["answer_weights"].update(B=1.6),
     "officials_survey.answer_weights"),
    (lambda d: d["fields"][0]["criteria"][0]["subcriteria"][0].update(points=-1),
     "fields[0] (code 1).criteria[0] (code 1.1).subcriteria[0] (code 1.1.1).points"),
    (lambda d: d["fields"][0]["criteria"][1].update(source="phone_poll"),
     "fields[0] (code 1).criteria[1] (code 1.2).source"),
    (lambda d: d["fields"][0]["criteria"][1].update(steps=[2, 1, 0]),
     "criterion 1.2: steps must include the full score 3"),
    (lambda d: d["satisfaction_survey"].update(positive_answers=[4, 6]),
     "positive_answers: [6] lie outside the scale 1–5"),
    (lambda d: d.update(scale=25),
     "fields add up to 20 points, expected the scale 25"),
    (lambda d: d["meta"].pop("note"),
     "meta.note: Field required"),
    (lambda d: d["fields"][0].update(weight=3),
     "fields[0] (code 1).weight: Extra inputs are not permitted"),
])
def test_broken_methodology_is_refused_naming_the_node(mini_dict, mutate, expected):
    mutate(mini_dict)
    with pytest.raises(MethodologyError) as e:
        parse_methodology(mini_dict, "broken.yaml")
    assert expected in str(e.value)
    assert str(e.value).startswith("broken.yaml")


def test_not_a_mapping_and_not_yaml(tmp_path):
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(MethodologyError, match="expected a YAML mapping"):
        load_methodology(p)
    q = tmp_path / "bad.yaml"
    q.write_text("fields: [\n", encoding="utf-8")
    with pytest.raises(MethodologyError, match="not valid YAML"):
        load_methodology(q)
    with pytest.raises(MethodologyError, match="cannot read"):
        load_methodology(tmp_path / "absent.yaml")
