"""The explanation round (parindex.rounds): replies and decisions read from the forms the project generates,
applied to the round-1 assessment, every bad reply refused with its file, sheet, row and column.

The worked round (tests/round2_fixture.py): commune 11239 contests 3.2.1, 7.1 and 7.4; the secretariat
accepts 3.2.1 (score left blank = the commune's self-score 1.5) and 7.1 (3) and keeps 7.4, so two scores
change and the commune's appraisal points go from 60 to 60 + 1.5 + 1.5 = 63."""

from __future__ import annotations

import shutil

import openpyxl
import pandas as pd
import pytest
from conftest import ROOT
from round2_fixture import (
    APPRAISAL_FINAL,
    APPRAISAL_ROUND1,
    COMMUNE,
    DECISIONS,
    NAME,
    REPLIES,
    TITLES,
    fill,
    raw_with_round2,
    round1_assessment,
    write_decisions,
    write_replies,
)

from parindex.ingest import clean_year
from parindex.ingest.log import InputError
from parindex.params import load_params
from parindex.pipeline import run_pipeline
from parindex.rounds import (
    DECISION_HEADER,
    REPLY_HEADER,
    apply_round2,
    contestable,
    reply_filename,
    reply_form,
)
from parindex.runner import RunError
from parindex.scoring import appraisal_changes, score_all

RAW = ROOT / "data" / "raw" / "2023"
REPLY = reply_filename(2023, COMMUNE, NAME)
DECISION = "quyet_dinh_vong2_2023.xlsx"


@pytest.fixture
def raw(tmp_path):
    d = tmp_path / "raw"
    shutil.copytree(RAW, d)
    return d


def _apply(raw, meth, communes):
    return apply_round2(raw, round1_assessment(raw, meth, communes), meth, communes)


def _problems(excinfo) -> list:
    return excinfo.value.problems


def _set_cell(path, sheet, header, code, heading, value):
    fill(path, sheet, header, {code: {heading: value}})


# ------------------------------------------------------------------------------------------------
# The worked round
# ------------------------------------------------------------------------------------------------
def test_no_round_files_means_no_round(raw, meth, communes):
    assert _apply(raw, meth, communes) is None


def test_contestable_items_are_the_changed_applicable_criteria(meth, communes):
    a = round1_assessment(RAW, meth, communes)
    items = contestable(a, meth)
    ch = appraisal_changes(a, meth)  # the scoring core's list of self ≠ appraised, not applicable left out
    leaves = items[~items["code"].isin(["T", "TR"])]
    pd.testing.assert_frame_equal(
        leaves[["commune_code", "code", "self_points", "round1_points"]].reset_index(drop=True),
        ch.rename(columns={"appraised_points": "round1_points"})[["commune_code", "code", "self_points",
                                                                  "round1_points"]].reset_index(drop=True))
    adj = a[a["code"].isin(["T", "TR"])]
    moved = adj[(adj["appraised_points"].fillna(adj["self_points"]) != adj["self_points"])]
    assert len(items) - len(leaves) == len(moved)  # bonus / deduction rows the appraisal changed
    mine = items[items["commune_code"] == COMMUNE].set_index("code")
    assert mine.loc["3.2.1", ["max_points", "self_points", "round1_points"]].tolist() == [3.0, 1.5, 0.0]


def test_two_scores_change_one_reply_is_kept(tmp_path, meth, communes):
    raw = raw_with_round2(RAW, tmp_path / "raw", meth, communes)
    r1 = round1_assessment(raw, meth, communes)
    r = apply_round2(raw, r1, meth, communes)
    t = r.items.set_index("code")
    assert list(t.index) == ["3.2.1", "7.1", "7.4"]
    assert t["decision"].tolist() == ["accept", "accept", "keep"]
    assert t["round1_points"].tolist() == [0.0, 1.5, 1.0]
    assert t["requested_points"].tolist() == [1.5, 3.0, 2.0]   # blank request = the self-score 1.5
    assert t["final_points"].tolist() == [1.5, 3.0, 1.0]       # blank accepted score = the request; kept = round 1
    assert t["changed"].tolist() == [True, True, False]
    assert t.loc["7.4", "decision_reason"] == DECISIONS["7.4"][2]
    assert t.loc["7.4", "explanation"] == REPLIES["7.4"][1]    # text, as typed (a formula-looking text stays text)
    assert t["reply_file"].unique().tolist() == [REPLY] and t["reply_row"].tolist() == [6, 7, 8]
    assert t["decision_file"].unique().tolist() == [DECISION] and t["decision_row"].tolist() == [6, 7, 8]
    assert r.summary() == {"contested": 3, "accepted": 2, "kept": 1, "pending": 0, "changed": 2, "communes": 1}
    # round 1 is kept untouched; the final assessment differs in exactly the two accepted rows
    pd.testing.assert_frame_equal(r.round1, r1)
    diff = (r.assessment["appraised_points"].fillna(-1) != r1["appraised_points"].fillna(-1))
    changed = r.assessment[diff]
    assert sorted(zip(changed["commune_code"], changed["code"], changed["appraised_points"])) == [
        (COMMUNE, "3.2.1", 1.5), (COMMUNE, "7.1", 3.0)]
    assert changed.set_index("code").loc["7.1", "reason"] == DECISIONS["7.1"][2]
    pd.testing.assert_frame_equal(r.assessment[~diff].drop(columns="reason"), r1[~diff].drop(columns="reason"))


def test_round1_appraisal_points_are_the_raw_rows_sum():
    # APPRAISAL_ROUND1 worked out from the cells themselves (no parindex code): the commune's rows of the demo
    # workbook (TCVN3 text, codes and numbers plain), appraised score where given, else the self-score.
    ws = openpyxl.load_workbook(ROOT / "data" / "raw" / "2023" / "tu_danh_gia_tham_dinh_2023.xlsx",
                                read_only=True, data_only=True)["ChamDiem"]
    rows = [r for r in ws.iter_rows(min_row=5, values_only=True) if r[0] == COMMUNE]
    assert len(rows) == 39 and not any(r[9] for r in rows)               # no "không áp dụng", no T/TR row
    assert sum(r[6] if r[6] is not None else r[5] for r in rows) == APPRAISAL_ROUND1


def test_the_final_round_is_scored(tmp_path, meth, communes):
    """Appraisal points of 11239: round 1 60, final 60 + (1.5 − 0) + (3 − 1.5) = 63; nobody else moves."""
    raw = raw_with_round2(RAW, tmp_path / "raw", meth, communes)
    data = clean_year(raw, meth, communes, salt="test")
    r = apply_round2(raw, data.assessment, meth, communes)
    def results(assessment):
        out = score_all(assessment, data.officials, data.satisfaction, meth, communes)["results"]
        return out.set_index("commune_code").sort_index()

    before, after = results(r.round1), results(r.assessment)
    assert before.loc[COMMUNE, "appraisal_points"] == APPRAISAL_ROUND1
    assert after.loc[COMMUNE, "appraisal_points"] == APPRAISAL_FINAL
    assert after.loc[COMMUNE, "points"] == pytest.approx(before.loc[COMMUNE, "points"] + 3.0)
    others = after.index != COMMUNE
    pd.testing.assert_series_equal(after.loc[others, "points"], before.loc[others, "points"])


def test_replies_without_decisions_wait(tmp_path, meth, communes):
    raw = raw_with_round2(RAW, tmp_path / "raw", meth, communes, decisions=False)
    r1 = round1_assessment(raw, meth, communes)
    r = apply_round2(raw, r1, meth, communes)
    assert r.items["decision"].tolist() == ["pending"] * 3 and not r.items["changed"].any()
    assert r.items["final_points"].tolist() == r.items["round1_points"].tolist()
    pd.testing.assert_frame_equal(r.assessment, r1)
    assert r.summary()["pending"] == 3


def test_blank_reply_forms_contest_nothing(raw, meth, communes):
    """A form sent back untouched (or a commune's blank form among the files) is not a reply."""
    items = contestable(round1_assessment(raw, meth, communes), meth)
    code, name = "11242", "Xã Thanh Tùng"
    reply_form(items[items["commune_code"] == code], name, ["T"]).save(raw / reply_filename(2023, code, name))
    write_replies(raw, meth, communes)
    r = _apply(raw, meth, communes)
    assert r.items["commune_code"].unique().tolist() == [COMMUNE] and len(r.items) == 3


def test_reply_form_locks_prefilled_cells_and_validates_the_request(meth, communes):
    items = contestable(round1_assessment(RAW, meth, communes), meth)
    wb = reply_form(items[items["commune_code"] == COMMUNE], NAME, ["UBND", "MẪU", "hướng dẫn"])
    ws = wb["GiaiTrinh"]
    assert [c.value for c in ws[5]] == REPLY_HEADER
    assert ws.protection.sheet and ws["C6"].protection.locked and not ws["J6"].protection.locked
    dv = {str(d.sqref): (d.type, d.formula1, d.formula2) for d in ws.data_validations.dataValidation}
    assert dv["I6"] == ("decimal", "0", "3") and dv["I8"] == ("decimal", "0", "2")


# ------------------------------------------------------------------------------------------------
# Bad replies: located errors (file, sheet, row, column), Vietnamese first
# ------------------------------------------------------------------------------------------------
REPLY_ERRORS = [
    # (criterion row, heading, value, expected row, column, Vietnamese text)
    ("7.1", "Điểm đề nghị", 5, 7, "I 'Điểm đề nghị'", "điểm đề nghị 5 nằm ngoài khoảng 0–3"),
    ("7.1", "Điểm đề nghị", "ba điểm", 7, "I 'Điểm đề nghị'", "không phải là số"),
    ("3.2.1", "Nội dung giải trình", "", 6, "J 'Nội dung giải trình'", "thiếu nội dung giải trình"),
    ("7.4", "Mã tiêu chí", "9.9", 8, "C 'Mã tiêu chí'", "mã tiêu chí '9.9' không thuộc các tiêu chí"),
    ("7.4", "Mã tiêu chí", "1.1.1", 8, "C 'Mã tiêu chí'", "không bị thẩm định thay đổi điểm"),
    ("7.1", "Điểm thẩm định", 2, 7, "G 'Điểm thẩm định'", "khác điểm thẩm định vòng 1 (1.5)"),
]


@pytest.mark.parametrize("code,heading,value,row,column,vi", REPLY_ERRORS)
def test_bad_reply_is_refused_with_its_place(raw, meth, communes, code, heading, value, row, column, vi):
    path = write_replies(raw, meth, communes)
    _set_cell(path, "GiaiTrinh", REPLY_HEADER, code, heading, value)
    with pytest.raises(InputError) as e:
        _apply(raw, meth, communes)
    (p,) = _problems(e)
    assert (p.file, p.sheet, p.row, p.column) == (REPLY, "GiaiTrinh", row, column)
    assert vi in p.vi and p.en
    text = str(p)
    assert text.index(vi) < text.index("[")  # Vietnamese first, English in brackets


def test_unknown_commune_in_a_reply(raw, meth, communes):
    path = write_replies(raw, meth, communes)
    fill(path, "GiaiTrinh", REPLY_HEADER, {"7.1": {"Mã xã": "99999", "Tên xã": "Xã Không Có"}})
    with pytest.raises(InputError) as e:
        _apply(raw, meth, communes)
    (p,) = _problems(e)
    assert (p.row, p.column) == (7, "A 'Mã xã'") and "không xác định được xã" in p.vi


def test_the_same_item_in_two_reply_files(raw, meth, communes):
    path = write_replies(raw, meth, communes)
    shutil.copyfile(path, raw / "giai_trinh_2023_ban_sao.xlsx")
    with pytest.raises(InputError) as e:
        _apply(raw, meth, communes)
    probs = _problems(e)
    assert len(probs) == 3  # each of the three rows of the copy, read after the commune's own file
    assert all(p.file == "giai_trinh_2023_ban_sao.xlsx" for p in probs)
    assert {p.row for p in probs} == {6, 7, 8}
    assert all(f"đã có ở tệp '{REPLY}', dòng {p.row}" in p.vi for p in probs)


def test_refused_reply_stops_the_run_before_anything_is_written(raw, tmp_path, meth, communes):
    path = write_replies(raw, meth, communes)
    _set_cell(path, "GiaiTrinh", REPLY_HEADER, "7.1", "Điểm đề nghị", 5)
    params = load_params(2023, None, ["robustness.enabled=false", f"inputs.raw_dir={raw}"], root=ROOT)
    out = tmp_path / "reports"
    with pytest.raises(RunError) as e:
        run_pipeline(params, root=ROOT, out_root=out, processed_root=tmp_path / "processed", log=lambda *a, **k: None)
    msg = str(e.value)
    assert f"tệp '{REPLY}', trang tính 'GiaiTrinh', dòng 7, cột I 'Điểm đề nghị': điểm đề nghị 5 nằm ngoài" in msg
    assert not (out / "2023" / "runs").exists() and not (tmp_path / "processed" / "2023").exists()


# ------------------------------------------------------------------------------------------------
# Bad decisions
# ------------------------------------------------------------------------------------------------
DECISION_ERRORS = [
    ("7.4", "Lý do quyết định", "", 8, "M 'Lý do quyết định'", "thiếu lý do quyết định"),
    ("7.4", "Quyết định", "Đồng ý một phần", 8, "K 'Quyết định'", "quyết định 'Đồng ý một phần' không hợp lệ"),
    ("7.4", "Quyết định", "", 8, "K 'Quyết định'", "thiếu quyết định, ghi 'Chấp nhận' hoặc 'Giữ nguyên'"),
    ("7.1", "Điểm sau giải trình", 4, 7, "L 'Điểm sau giải trình'", "điểm sau giải trình 4 nằm ngoài khoảng 0–3"),
    ("7.4", "Điểm sau giải trình", 1.5, 8, "L 'Điểm sau giải trình'",
     "quyết định 'Giữ nguyên' nhưng điểm sau giải trình"),
    ("7.1", "Điểm sau giải trình", 1.5, 7, "L 'Điểm sau giải trình'", "bằng điểm thẩm định vòng 1"),
]


@pytest.mark.parametrize("code,heading,value,row,column,vi", DECISION_ERRORS)
def test_bad_decision_is_refused_with_its_place(raw, meth, communes, code, heading, value, row, column, vi):
    write_replies(raw, meth, communes)
    path = write_decisions(raw, meth, communes)
    _set_cell(path, "QuyetDinhVong2", DECISION_HEADER, code, heading, value)
    with pytest.raises(InputError) as e:
        _apply(raw, meth, communes)
    (p,) = _problems(e)
    assert (p.file, p.sheet, p.row, p.column) == (DECISION, "QuyetDinhVong2", row, column)
    assert vi in p.vi and p.en


def test_a_contested_item_without_decision_waits(raw, meth, communes):
    """A reply the decisions file does not answer yet is "pending": its round-1 score counts."""
    write_replies(raw, meth, communes)
    path = write_decisions(raw, meth, communes)
    fill(path, "QuyetDinhVong2", DECISION_HEADER,  # the 7.1 row left blank: not decided yet
         {"7.1": {"Quyết định": "", "Điểm sau giải trình": "", "Lý do quyết định": ""}})
    r = _apply(raw, meth, communes)
    t = r.items.set_index("code")
    assert t["decision"].tolist() == ["accept", "pending", "keep"] and t["changed"].tolist() == [True, False, False]
    assert t.loc["7.1", "final_points"] == 1.5 and pd.isna(t.loc["7.1", "decision_row"])
    assert r.assessment.set_index(["commune_code", "code"]).loc[(COMMUNE, "7.1"), "appraised_points"] == 1.5


def test_decisions_form_again_with_the_decisions_taken(raw, meth, communes):
    """While an item waits, the form lists every contested item, the decided ones filled in; saved as the
    decisions file and completed, it gives the worked round again."""
    from parindex.rounds import decision_form

    write_replies(raw, meth, communes)
    path = write_decisions(raw, meth, communes)
    wb = openpyxl.load_workbook(path)
    wb["QuyetDinhVong2"].delete_rows(7)
    wb.save(path)
    r = _apply(raw, meth, communes)
    items = contestable(round1_assessment(raw, meth, communes), meth)
    decision_form(items, r.items, communes, TITLES).save(path)
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(path)["QuyetDinhVong2"].iter_rows(min_row=6)]
    assert [(x[2], x[10], x[11], x[12]) for x in rows] == [
        ("3.2.1", "Chấp nhận", 1.5, DECISIONS["3.2.1"][2]), ("7.1", None, None, None),
        ("7.4", "Giữ nguyên", None, DECISIONS["7.4"][2])]
    fill(path, "QuyetDinhVong2", DECISION_HEADER, {"7.1": dict(zip(
        ["Quyết định", "Điểm sau giải trình", "Lý do quyết định"], [DECISIONS["7.1"][0], 3.0, DECISIONS["7.1"][2]]))})
    r = _apply(raw, meth, communes)
    assert r.items["final_points"].tolist() == [1.5, 3.0, 1.0] and r.summary()["changed"] == 2


def test_a_decision_nobody_asked_for(raw, meth, communes):
    path = write_replies(raw, meth, communes)
    write_decisions(raw, meth, communes)
    fill(path, "GiaiTrinh", REPLY_HEADER,
         {"7.4": {"Điểm đề nghị": "", "Nội dung giải trình": "", "Tài liệu kiểm chứng": ""}})  # 7.4 withdrawn
    with pytest.raises(InputError) as e:
        _apply(raw, meth, communes)
    (p,) = _problems(e)
    assert (p.file, p.row, p.column) == (DECISION, 8, "C 'Mã tiêu chí'")
    assert "không có văn bản giải trình" in p.vi


def test_decisions_without_any_reply(raw, meth, communes):
    write_replies(raw, meth, communes)
    write_decisions(raw, meth, communes)
    (raw / REPLY).unlink()
    with pytest.raises(InputError, match="có tệp quyết định vòng 2 nhưng không có tệp giải trình"):
        _apply(raw, meth, communes)


def test_two_decision_files(raw, meth, communes):
    write_replies(raw, meth, communes)
    path = write_decisions(raw, meth, communes)
    shutil.copyfile(path, raw / "quyet_dinh_vong2_2023_lan2.xlsx")
    with pytest.raises(InputError, match="có 2 tệp quyết định vòng 2, chỉ được để một tệp"):
        _apply(raw, meth, communes)


def test_decision_form_keeps_reply_text_as_text(raw, meth, communes):
    write_replies(raw, meth, communes)
    path = write_decisions(raw, meth, communes)
    ws = openpyxl.load_workbook(path)["QuyetDinhVong2"]
    assert [c.value for c in ws[5]] == DECISION_HEADER
    cell = ws["I8"]  # Nội dung giải trình of 7.4, a text that looks like a formula
    assert cell.value == REPLIES["7.4"][1] and cell.data_type == "s"
    assert {str(d.sqref): d.formula1 for d in ws.data_validations.dataValidation}["K6:K8"] == '"Chấp nhận,Giữ nguyên"'
