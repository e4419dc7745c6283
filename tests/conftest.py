"""Shared fixtures: a tiny methodology small enough to score by hand, and paths of the project."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest

from parindex.communes import load_communes
from parindex.district import resolve_district
from parindex.methodology import load_methodology, parse_methodology
from parindex.params import load_params

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_METHODOLOGY = ROOT / "methodologies" / "reference-default-v1.yaml"
# Shipped with the project (data/reference/README.md): the national list and the demo district's own list.
NATIONAL = ROOT / "data" / "reference" / "vn_admin_units_2023-04-10.csv"
THANH_MIEN = ROOT / "data" / "reference" / "thanh_mien_communes_2023.csv"

# Scale 20 points:
#   field 1 (10): 1.1 (4 = 1.1.1: 2 + 1.1.2: 2, appraisal), 1.2 (3, appraisal), 1.3 (3, officials' survey)
#   field 2 (10): 2.1 (5, appraisal), 2.2 (5, satisfaction survey)
MINI = {
    "meta": {"id": "mini", "version": "0", "title": "Mini", "status": "variant", "note": "test fixture"},
    "scale": 20,
    "sources": {"appraisal": "Thẩm định", "officials_survey": "Cán bộ", "satisfaction_survey": "SIPAS"},
    "rules": {"not_applicable": "exclude", "appraisal_raise": "flag", "appraisal_cut_requires_reason": True},
    "adjustments": {"bonus": {"code": "T", "label": "Điểm thưởng", "cap": 2},
                    "deduction": {"code": "TR", "label": "Điểm trừ", "cap": 2}},
    "bands": [{"code": "A", "label": "≥ 90", "min_pct": 90}, {"code": "B", "label": "80–90", "min_pct": 80},
              {"code": "C", "label": "< 80", "min_pct": 0}],
    "officials_survey": {"answer_weights": {"A": 1.0, "B": 0.6, "C": 0.2, "D": 0.0},
                         "groups": [{"code": "G1", "label": "Nhóm 1", "size": 2},
                                    {"code": "G2", "label": "Nhóm 2", "size": 1}]},
    "satisfaction_survey": {
        "scale": {"min": 1, "max": 5}, "positive_answers": [4, 5], "ballots_per_commune": 4,
        "factors": [{"code": "F1", "label": "Yếu tố 1", "questions": [{"code": "Q1", "label": "q1"},
                                                                     {"code": "Q2", "label": "q2"}]},
                    {"code": "F2", "label": "Yếu tố 2", "questions": [{"code": "Q3", "label": "q3"}]}],
        "procedure_fields": [{"code": "HT", "label": "Hộ tịch"}, {"code": "CT", "label": "Chứng thực"}]},
    "fields": [
        {"code": "1", "label": "Lĩnh vực 1", "points": 10, "criteria": [
            {"code": "1.1", "label": "Tiêu chí 1.1", "points": 4, "subcriteria": [
                {"code": "1.1.1", "label": "TP 1.1.1", "points": 2, "steps": [2, 1, 0]},
                {"code": "1.1.2", "label": "TP 1.1.2", "points": 2, "steps": [2, 1, 0]}]},
            {"code": "1.2", "label": "Tiêu chí 1.2", "points": 3},
            {"code": "1.3", "label": "Tiêu chí 1.3", "points": 3, "source": "officials_survey"}]},
        {"code": "2", "label": "Lĩnh vực 2", "points": 10, "criteria": [
            {"code": "2.1", "label": "Tiêu chí 2.1", "points": 5},
            {"code": "2.2", "label": "Tiêu chí 2.2", "points": 5, "source": "satisfaction_survey"}]},
    ],
}


@pytest.fixture(scope="session")
def meth():
    """The reference-default methodology shipped with the project."""
    return load_methodology(REFERENCE_METHODOLOGY)


@pytest.fixture(scope="session")
def communes():
    """The 17 communes of Thanh Miện."""
    return load_communes(THANH_MIEN)


def write_params(root: Path, year: int, district: dict) -> Path:
    """A minimal params/<year>.yaml under ``root`` with this district block (for commands run with --root)."""
    import yaml

    p = root / "params" / f"{year}.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump({"year": year, "district": district}, allow_unicode=True), encoding="utf-8")
    return p


TM_BLOCK = {"name": "Huyện Thanh Miện", "province": "Tỉnh Hải Dương"}


@pytest.fixture(scope="session")
def district(meth):
    """Huyện Thanh Miện as the demo parameters name it (params/2023.yaml gives district.code only)."""
    return resolve_district(load_params(2023, root=ROOT).district, meth, ROOT)


@pytest.fixture
def mini_dict():
    return copy.deepcopy(MINI)


@pytest.fixture
def mini():
    return parse_methodology(copy.deepcopy(MINI), "mini")


@pytest.fixture
def mini_communes():
    return pd.DataFrame({"commune_code": ["X1", "X2", "X3"],
                         "commune_name": ["Xã Một", "Xã Hai", "Xã Ba"],
                         "commune_type": ["Xã", "Xã", "Xã"]})


def assessment_rows(rows):
    """rows: (commune, code, self, appraised, not_applicable, reason)"""
    return pd.DataFrame(rows, columns=["commune_code", "code", "self_points", "appraised_points",
                                       "not_applicable", "reason"]).assign(evidence="")
