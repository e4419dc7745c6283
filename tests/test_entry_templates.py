"""Blank entry forms: filled in programmatically, saved under the raw-file name and read back with the
ingest readers, the clean rows must equal what was typed; header rows locked, entry cells unlocked,
dropdowns with the right lists; same arguments → same bytes; the ``templates`` command."""

from __future__ import annotations

import argparse
import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest

from conftest import REFERENCE_METHODOLOGY, ROOT, TM_BLOCK, write_params
from parindex.communes import CommuneMatcher
from parindex.surveyplan.entry_templates import (
    ASSESSMENT_HEADER, LIST_SHEET, assessment_template, officials_template, satisfaction_template,
    write_templates,
)
from parindex.ingest import InputError, read_assessment, read_officials, read_satisfaction
from parindex.surveyplan.sampleplan import save_workbook

COMMUNES_CSV = ROOT / "data" / "reference" / "thanh_mien_communes_2023.csv"
HR = 5  # header row: two title lines, one note line, one label line, then the header
STAMP = dt.datetime(2023, 12, 1, 8, 0)
TITLE = "UBND HUYỆN THANH MIỆN"  # the issuing body written on each form's first line


@pytest.fixture(scope="module")
def matcher(communes):
    return CommuneMatcher(communes)


def saved(wb, path):
    """Save a template and load it again as an officer's copy would be."""
    save_workbook(wb, path, STAMP)
    return openpyxl.load_workbook(path)


def validations(ws):
    return {(dv.type, dv.formula1, dv.formula2): str(dv.sqref) for dv in ws.data_validations.dataValidation}


# ------------------------------------------------------------------------------------------------
# Self-assessment
# ------------------------------------------------------------------------------------------------
# The 39 appraised leaves of the reference default (7 + 4 + 7 + 2 + 5 + 3 + 6 + 5), in order, and the
# bonus/deduction rows: 41 rows per commune.
APPRAISED = ["1.1.1", "1.1.2", "1.2", "1.3.1", "1.3.2", "1.4", "1.5", "2.1.1", "2.1.2", "2.2", "2.3", "3.1",
             "3.2.1", "3.2.2", "3.3", "3.4", "3.5", "3.6", "4.1", "4.2", "5.1", "5.2", "5.3", "5.4.1", "5.4.2",
             "6.1", "6.2", "6.3", "7.1", "7.2.1", "7.2.2", "7.3", "7.4", "7.5", "8.1.1", "8.1.2", "8.1.3", "8.2",
             "8.3"]


def test_assessment_template_layout(tmp_path, meth, communes):
    wb = saved(assessment_template(meth, communes, year=2023, district=TITLE, commune_code="11251"), tmp_path / "t.xlsx")
    assert wb.sheetnames == ["ChamDiem"]
    ws = wb["ChamDiem"]
    assert [c.value for c in ws[HR]] == ASSESSMENT_HEADER
    assert ws.freeze_panes == f"E{HR + 1}"
    assert ws.max_row == HR + 41
    assert [ws.cell(r, 3).value for r in range(HR + 1, HR + 40)] == APPRAISED
    assert [c.value for c in ws[HR + 1]] == ["11251", "Xã Đoàn Tùng", "1.1.1", "Ban hành kế hoạch CCHC năm đúng thời hạn",
                                             1, None, None, None, None, None]
    # Bonus and deduction rows: maximum = cap 2, self-score preset 0.
    assert [[c.value for c in ws[r]][:6] for r in (HR + 40, HR + 41)] == [
        ["11251", "Xã Đoàn Tùng", "T", "Điểm thưởng", 2, 0], ["11251", "Xã Đoàn Tùng", "TR", "Điểm trừ", 2, 0]]
    # Protection: header and pre-filled cells locked, entry cells (F..J) unlocked.
    assert ws.protection.sheet
    assert all(ws.cell(HR, c).protection.locked for c in range(1, 11))
    assert all(ws.cell(r, c).protection.locked for r in (HR + 1, HR + 41) for c in range(1, 6))
    assert not any(ws.cell(r, c).protection.locked for r in (HR + 1, HR + 41) for c in range(6, 11))
    # Scores: decimal 0..maximum by row (1.1.1 … 1.1.2 max 1 are rows 6–7; 1.5 max 2 is row 12; …).
    v = validations(ws)
    assert v[("list", '"x"', None)] == f"J{HR + 1}:J{HR + 41}"
    assert set(v) == {("decimal", "0", "1"), ("decimal", "0", "1.5"), ("decimal", "0", "2"), ("decimal", "0", "3"),
                      ("list", '"x"', None)}
    ones = v[("decimal", "0", "1")].split()
    assert ones[0] == "F6:G11"  # 1.1.1, 1.1.2, 1.2, 1.3.1, 1.3.2, 1.4: all of maximum 1
    assert "F12:G12" in v[("decimal", "0", "2")].split()  # 1.5
    assert "F45:G46" in v[("decimal", "0", "2")].split()  # T and TR, cap 2


def test_assessment_all_communes(tmp_path, meth, communes):
    wb = saved(assessment_template(meth, communes, year=2023, district=TITLE), tmp_path / "t.xlsx")
    ws = wb["ChamDiem"]
    assert ws.max_row == HR + 17 * 41  # 697 rows
    assert ws.cell(HR + 41 + 1, 1).value == "11242"  # the second commune starts after 41 rows
    with pytest.raises(ValueError, match="mã xã '99999'"):
        assessment_template(meth, communes, year=2023, district=TITLE, commune_code="99999")


def test_assessment_round_trip(tmp_path, meth, communes, matcher):
    wb = saved(assessment_template(meth, communes, year=2023, district=TITLE, commune_code="11251"), tmp_path / "t.xlsx")
    ws = wb["ChamDiem"]
    row = {ws.cell(r, 3).value: r for r in range(HR + 1, ws.max_row + 1)}
    maxima = {ws.cell(r, 3).value: ws.cell(r, 5).value for r in row.values()}
    # The commune self-scores every leaf at its maximum, except:
    typed = {
        "1.2": dict(self=0.5, evidence="Báo cáo số 12/BC-UBND"),
        "3.2.1": dict(self=3, appraised=1.5, reason="Có 7 hồ sơ quá hạn"),
        "3.3": dict(self=None, na="x"),
        "7.3": dict(self=1, appraised=2, reason="Bổ sung tài liệu"),
        "T": dict(self=1.5, appraised=1, reason="Sáng kiến được công nhận"),
        # TR left as the template has it (0).
    }
    for code, r in row.items():
        t = typed.get(code, {})
        if code != "TR":
            ws.cell(r, 6, t.get("self", maxima[code]))
        ws.cell(r, 7, t.get("appraised"))
        ws.cell(r, 8, t.get("reason"))
        ws.cell(r, 9, t.get("evidence"))
        ws.cell(r, 10, t.get("na"))
    path = tmp_path / "raw" / "tu_danh_gia_tham_dinh_2023.xlsx"
    path.parent.mkdir()
    wb.save(path)
    got, rej = read_assessment(path, meth, matcher)
    assert rej.empty
    codes = APPRAISED + ["T", "TR"]
    self_pts = [typed.get(c, {}).get("self", maxima[c]) for c in codes]
    self_pts[codes.index("TR")] = 0.0
    expected = pd.DataFrame({
        "commune_code": "11251",
        "code": codes,
        "self_points": [np.nan if v is None else float(v) for v in self_pts],
        "appraised_points": [float(typed.get(c, {}).get("appraised", np.nan)) for c in codes],
        "not_applicable": [c == "3.3" for c in codes],
        "reason": [typed.get(c, {}).get("reason", "") for c in codes],
        "evidence": [typed.get(c, {}).get("evidence", "") for c in codes],
        # The form's pre-filled "Điểm tối đa" of each leaf; none for T/TR (their cap is applied in scoring).
        "max_points_form": [float(maxima[c]) if c not in ("T", "TR") else np.nan for c in codes],
    }).astype({"commune_code": "str", "code": "str", "reason": "str", "evidence": "str"})
    pd.testing.assert_frame_equal(got, expected)


def test_untouched_assessment_form_is_refused_naming_the_cells(tmp_path, meth, communes, matcher):
    path = tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx"
    save_workbook(assessment_template(meth, communes, year=2023, district=TITLE, commune_code="11251"), path, STAMP)
    with pytest.raises(InputError) as e:
        read_assessment(path, meth, matcher)
    # 39 leaves without a self-score; the T/TR rows (preset 0) are accepted.
    assert len(e.value.problems) == 39
    first = e.value.problems[0]
    assert (first.sheet, first.row, first.column) == ("ChamDiem", HR + 1, "F 'Điểm tự chấm'")


# ------------------------------------------------------------------------------------------------
# Officials' ballots
# ------------------------------------------------------------------------------------------------
OFFICIAL_QS = ["1.6", "2.4", "3.7", "4.3", "5.5", "6.4", "7.6", "8.4.1", "8.4.2"]


def test_officials_layout_and_round_trip(tmp_path, meth, communes, matcher):
    two = communes[communes["commune_code"].isin(["11239", "11251"])].reset_index(drop=True)
    wb = saved(officials_template(meth, two, year=2023, district=TITLE, groups={"HDND": 2, "PCM": 1}), tmp_path / "t.xlsx")
    ws = wb["PhieuCanBo"]
    assert [c.value for c in ws[HR]] == ["Mã phiếu", "Nhóm đối tượng", "Họ và tên", "Xã, thị trấn"] + OFFICIAL_QS
    assert ws.cell(HR - 1, 5).value.startswith("1.6. Đánh giá của đại biểu")  # labels above the codes
    # (2 + 1 + 1) respondents × 2 communes = 8 rows.
    assert [[ws.cell(r, c).value for c in (1, 2, 4)] for r in range(HR + 1, ws.max_row + 1)] == [
        ["CB-HDND-01", "Đại biểu HĐND huyện", "Thị trấn Thanh Miện"],
        ["CB-HDND-01", "Đại biểu HĐND huyện", "Xã Đoàn Tùng"],
        ["CB-HDND-02", "Đại biểu HĐND huyện", "Thị trấn Thanh Miện"],
        ["CB-HDND-02", "Đại biểu HĐND huyện", "Xã Đoàn Tùng"],
        ["CB-MTTQ-01", "Lãnh đạo UBMTTQ huyện", "Thị trấn Thanh Miện"],
        ["CB-MTTQ-01", "Lãnh đạo UBMTTQ huyện", "Xã Đoàn Tùng"],
        ["CB-PCM-01", "Lãnh đạo phòng chuyên môn thuộc UBND huyện", "Thị trấn Thanh Miện"],
        ["CB-PCM-01", "Lãnh đạo phòng chuyên môn thuộc UBND huyện", "Xã Đoàn Tùng"]]
    assert ws.protection.sheet and ws.freeze_panes == f"E{HR + 1}"
    assert all(ws.cell(HR, c).protection.locked for c in range(1, 14))
    assert [ws.cell(HR + 1, c).protection.locked for c in range(1, 14)] == [True, True, False, True] + [False] * 9
    assert validations(ws) == {("list", '"A,B,C,D"', None): f"E{HR + 1}:M{HR + 8}"}

    # Answers typed: a full ballot, one with two blanks, and one row never filled in.
    answers = {
        HR + 1: list("ABABCDABA"),
        HR + 2: ["A", None, "B", "B", None, "C", "A", "A", "D"],
    }
    for r in range(HR + 3, HR + 8):
        answers[r] = list("BBBBBBBBB")
    for r, vals in answers.items():
        for j, v in enumerate(vals):
            ws.cell(r, 5 + j, v)
    ws.cell(HR + 1, 3, "Người A")  # a name is typed but never reaches the clean table
    path = tmp_path / "phieu_can_bo_2023.xlsx"
    wb.save(path)
    got, rej = read_officials(path, meth, matcher)
    ids = ["CB-HDND-01", "CB-HDND-01", "CB-HDND-02", "CB-HDND-02", "CB-MTTQ-01", "CB-MTTQ-01", "CB-PCM-01"]
    groups = ["HDND", "HDND", "HDND", "HDND", "MTTQ", "MTTQ", "PCM"]
    cc = ["11239", "11251"] * 3 + ["11239"]
    expected = pd.DataFrame({
        "ballot_id": np.repeat(ids, 9), "group": np.repeat(groups, 9), "commune_code": np.repeat(cc, 9),
        "question": OFFICIAL_QS * 7,
        "answer": [v or "" for r in range(HR + 1, HR + 8) for v in answers[r]],
    }).astype("str")
    pd.testing.assert_frame_equal(got, expected)
    assert "Người A" not in got.to_string()
    # The last row (CB-PCM-01 × Xã Đoàn Tùng) was left blank: excluded and logged, not silently dropped.
    assert rej[["row", "rule"]].values.tolist() == [[HR + 8, "blank_majority"]]


# ------------------------------------------------------------------------------------------------
# Satisfaction ballots
# ------------------------------------------------------------------------------------------------
SAT_QS = ["TC1", "TC2", "TT1", "TT2", "TT3", "CC1", "CC2", "CC3", "KQ1", "KQ2", "PA1", "PA2"]
FIELD_LABELS = ["Hộ tịch", "Chứng thực", "Đất đai", "Bảo trợ xã hội", "Người có công", "Thi đua, khen thưởng",
                "Văn hóa, thể thao", "Nông nghiệp"]


def test_satisfaction_layout(tmp_path, meth, communes):
    wb = saved(satisfaction_template(meth, communes, year=2023, district=TITLE, survey_start=dt.date(2023, 10, 1),
                                     survey_end=dt.date(2023, 12, 15)), tmp_path / "t.xlsx")
    assert wb.sheetnames == ["PhieuHaiLong", LIST_SHEET]
    ws = wb["PhieuHaiLong"]
    assert [c.value for c in ws[HR]] == ["Mã phiếu", "Ngày khảo sát", "Xã, thị trấn", "Lĩnh vực", "Họ và tên",
                                         "Số điện thoại", "Số CCCD"] + SAT_QS
    last = HR + 850  # 50 ballots × 17 communes
    assert ws.max_row == last
    assert all(ws.cell(r, c).value is None for r in (HR + 1, last) for c in range(1, 20))
    assert ws.protection.sheet and ws.freeze_panes == f"H{HR + 1}"
    assert all(ws.cell(HR, c).protection.locked for c in range(1, 20))
    assert not any(ws.cell(r, c).protection.locked for r in (HR + 1, last) for c in range(1, 20))
    assert validations(ws) == {
        ("list", f"{LIST_SHEET}!$A$2:$A$18", None): f"C{HR + 1}:C{last}",
        ("list", f"{LIST_SHEET}!$B$2:$B$9", None): f"D{HR + 1}:D{last}",
        ("date", "DATE(2023,10,1)", "DATE(2023,12,15)"): f"B{HR + 1}:B{last}",
        ("whole", "1", "5"): f"H{HR + 1}:S{last}",
    }
    lists = wb[LIST_SHEET]
    assert lists.sheet_state == "hidden"
    assert [lists.cell(r, 1).value for r in range(2, 19)] == communes["commune_name"].tolist()
    assert [lists.cell(r, 2).value for r in range(2, 10)] == FIELD_LABELS
    assert lists.cell(10, 2).value is None


def test_satisfaction_round_trip(tmp_path, meth, communes, matcher):
    wb = saved(satisfaction_template(meth, communes, year=2023, district=TITLE, n_rows=5, survey_start=dt.date(2023, 10, 1),
                                     survey_end=dt.date(2023, 12, 15)), tmp_path / "t.xlsx")
    ws = wb["PhieuHaiLong"]
    assert ws.max_row == HR + 5
    typed = [
        ["HL-001", dt.datetime(2023, 10, 2), "Xã Đoàn Tùng", "Hộ tịch", "Người B", "0912000001", "030099000001",
         5, 4, 4, 5, 5, 4, 4, 5, 5, 5, 4, None],
        ["HL-002", dt.datetime(2023, 11, 30), "Thị trấn Thanh Miện", "Thi đua, khen thưởng", None, None, None,
         3, 2, 4, 4, 4, 5, 5, 5, 4, 4, None, None],
        ["HL-003", dt.datetime(2023, 12, 15), "Xã Hồng Phong", "Đất đai", None, "0912000002", None,
         1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2],
    ]
    for i, vals in enumerate(typed):
        for j, v in enumerate(vals):
            ws.cell(HR + 1 + i, 1 + j, v)
    path = tmp_path / "phieu_hai_long_2023.xlsx"
    wb.save(path)
    sat, ballots, rej = read_satisfaction(path, meth, matcher, survey_start=dt.date(2023, 10, 1),
                                          survey_end=dt.date(2023, 12, 15), salt="test")
    assert rej.empty  # the two blank rows are not ballots
    assert ballots[["ballot_id", "commune_code", "procedure_field", "status"]].values.tolist() == [
        ["HL-001", "11251", "HT", "valid"], ["HL-002", "11239", "TDKT", "valid"], ["HL-003", "11293", "DD", "valid"]]
    assert ballots["date"].dt.strftime("%Y-%m-%d").tolist() == ["2023-10-02", "2023-11-30", "2023-12-15"]
    expected = pd.DataFrame({
        "ballot_id": np.repeat(["HL-001", "HL-002", "HL-003"], 12),
        "commune_code": np.repeat(["11251", "11239", "11293"], 12),
        "procedure_field": np.repeat(["HT", "TDKT", "DD"], 12),
        "question": SAT_QS * 3,
    }).astype("str").assign(answer=pd.array([v for t in typed for v in t[7:]], dtype="Int64"), weight=1.0)
    pd.testing.assert_frame_equal(sat, expected)
    assert not sat.isin(["Người B", "0912000001", "030099000001"]).any().any()


# ------------------------------------------------------------------------------------------------
# Reproducible bytes and the command
# ------------------------------------------------------------------------------------------------
def test_same_arguments_same_bytes(tmp_path, meth, communes):
    kw = dict(year=2023, n_rows=20, groups={"HDND": 3}, survey_start=dt.date(2023, 10, 1),
              survey_end=dt.date(2023, 12, 15))
    a = write_templates(tmp_path / "a", meth, communes, district=TITLE, **kw)
    b = write_templates(tmp_path / "b", meth, communes, district=TITLE, **kw)
    assert [p.name for p in a] == ["tu_danh_gia_tham_dinh_2023.xlsx", "phieu_can_bo_2023.xlsx",
                                   "phieu_hai_long_2023.xlsx"]
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    wb = openpyxl.load_workbook(a[0])
    assert wb.properties.created == wb.properties.modified == dt.datetime(2023, 12, 1, 8, 0)


def test_templates_command(tmp_path, capsys):
    from parindex.cli_survey import register

    write_params(tmp_path, 2023, TM_BLOCK)   # the district's name and province (its communes: --communes)

    p = argparse.ArgumentParser(prog="parindex")
    register(p.add_subparsers(dest="command", required=True))
    out = tmp_path / "templates"
    args = p.parse_args(["templates", "--year", "2023", "--out", str(out), "--commune", "11251", "--rows", "10",
                         "--survey-start", "01/10/2023", "--survey-end", "2023-12-15",
                         "--methodology", str(REFERENCE_METHODOLOGY), "--communes", str(COMMUNES_CSV),
                         "--root", str(tmp_path)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    names = ["tu_danh_gia_tham_dinh_2023_11251.xlsx", "phieu_can_bo_2023.xlsx", "phieu_hai_long_2023.xlsx"]
    for n in names:
        assert str(out / n) in text
    assert "01/10/2023–15/12/2023" in text
    assert sorted(x.name for x in out.iterdir()) == sorted(names)
    ws = openpyxl.load_workbook(out / names[0])["ChamDiem"]
    assert ws.max_row == HR + 41 and ws.cell(HR + 1, 1).value == "11251"
    ws = openpyxl.load_workbook(out / names[2])["PhieuHaiLong"]
    assert ws.max_row == HR + 10
    assert validations(ws)[("date", "DATE(2023,10,1)", "DATE(2023,12,15)")] == f"B{HR + 1}:B{HR + 10}"
    # 46 respondents (33 + 1 + 12) × 17 communes.
    assert openpyxl.load_workbook(out / names[1])["PhieuCanBo"].max_row == HR + 46 * 17
    assert openpyxl.load_workbook(out / names[1])["PhieuCanBo"]["A1"].value == "UBND HUYỆN THANH MIỆN"

    args = p.parse_args(["templates", "--year", "2023", "--out", str(out), "--commune", "123",
                         "--methodology", str(REFERENCE_METHODOLOGY), "--communes", str(COMMUNES_CSV),
                         "--root", str(tmp_path)])
    assert args.func(args) == 2
    assert "mã xã '123'" in capsys.readouterr().err
    # A commune list that is not there is reported, not a traceback.
    args = p.parse_args(["templates", "--year", "2023", "--out", str(out), "--communes", str(tmp_path / "no.csv"),
                         "--methodology", str(REFERENCE_METHODOLOGY), "--root", str(tmp_path)])
    assert args.func(args) == 2
    assert "no.csv" in capsys.readouterr().err
