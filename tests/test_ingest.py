"""Cleaning stage: ballot rules, commune matching, encodings, refusals, privacy (parindex.ingest).

Small fixtures use the tiny methodology of conftest.MINI (questions Q1, Q2, Q3 on a 1–5 scale; fields
HT / CT; officials leaf 1.3; appraised leaves 1.1.1 (2), 1.1.2 (2), 1.2 (3), 2.1 (5); T / TR)."""

from __future__ import annotations

import datetime as dt
import math

import openpyxl
import pandas as pd
import pytest
from bad_inputs import (CASES, COMMUNES, OFF_HEADER, OFF_SHEET, SAT_HEADER, ballot, good_ballots, write_csv,
                        write_xlsx)
from conftest import REFERENCE_METHODOLOGY

from parindex import demo
from parindex.communes import CommuneMatcher
from parindex.ingest import (CleanData, InputError, clean_year, read_assessment, read_dossiers, read_officials,
                             read_satisfaction)
from parindex.methodology import load_methodology, parse_methodology

START, END = dt.date(2023, 10, 1), dt.date(2023, 12, 15)
MATCHER = CommuneMatcher(COMMUNES)


def sat(path, mini, **kw):
    kw = {"survey_start": START, "survey_end": END, **kw}
    return read_satisfaction(path, mini, MATCHER, **{"salt": "test", **kw})


# ------------------------------------------------------------------------------- corpus ----
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_corpus(case, tmp_path, mini):
    path = case.build(tmp_path)
    read = (lambda p: sat(p, mini)) if case.kind == "satisfaction" else (lambda p: read_officials(p, mini, MATCHER))
    if case.refused is not None:
        with pytest.raises(InputError) as ei:
            read(path)
        msg = str(ei.value)
        for frag in [path.name, *case.refused]:
            assert frag in msg, f"{frag!r} not in:\n{msg}"
        return
    got = read(path)
    clean, rej = got[0], got[-1]
    assert list(zip(rej["row"], rej["rule"])) == case.rejected
    assert (rej["file"] == path.name).all()
    assert (rej["detail"] != "").all()
    assert list(pd.unique(clean["ballot_id"])) == case.kept


def test_phone_typed_in_commune_column_is_not_logged(tmp_path, mini):
    path = write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", [SAT_HEADER, ballot(1, "0987 654 321")])
    _, _, rej = sat(path, mini)
    assert rej["detail"].tolist() == [
        "Phiếu P01: không xác định được xã (giá trị có nhiều chữ số, không ghi lại) "
        "(unknown commune (giá trị có nhiều chữ số, không ghi lại))"]


def test_corpus_has_at_least_20_files():
    assert len(CASES) >= 20


# ------------------------------------------------------------------ satisfaction rules ----
def test_satisfaction_each_rule_exact_rows(tmp_path, mini):
    rows = [SAT_HEADER,
            ballot(1, "Xã Đoàn Tùng", "Hộ tịch", (5, 4, 4)),                 # row 2  valid
            ballot(2, "TT Thanh Miện", "CT", (4, 5, 3)),                      # row 3  valid
            ballot(3, "Xã Thanh Lang", "Hộ tịch", (5, 5, 5)),                # row 4  unknown_commune
            ballot(4, "Xã Đoàn Tùng", "Xây dựng", (5, 5, 5)),                # row 5  unknown_field
            ballot(5, "Xã Đoàn Tùng", "Hộ tịch", (6, 4, 4)),                 # row 6  out_of_range
            ballot(6, "Xã Đoàn Tùng", "Hộ tịch", (None, None, 5)),           # row 7  blank_majority (2 of 3)
            ballot(7, "Xã Đoàn Tùng", "Hộ tịch", (5, 5, 5), date="01/09/2023"),  # row 8 outside_period
            ballot(8, "Xã Đoàn Tùng", "Hộ tịch", (5, 5, 5), phone="0900000001"),  # row 9 duplicate of P01
            ballot(9, "Xã Chi Lăng Bắc", "Hộ tịch", (5, None, 1)),           # row 10 valid (1 of 3 blank)
            ballot(10, "Xã Thanh Lang", "Hộ tịch", (6, 4, 4)),               # row 11 unknown_commune (first rule)
            ballot(11, "Xã Đoàn Tùng", "Hộ tịch", (3, 3, 3), phone="0900000005"),  # row 12 valid: P05 excluded
            ]
    path = write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows)
    s, b, rej = sat(path, mini)
    assert rej[["file", "sheet", "row", "rule"]].values.tolist() == [
        ["phieu_hai_long_2023.xlsx", "PhieuHaiLong", 4, "unknown_commune"],
        ["phieu_hai_long_2023.xlsx", "PhieuHaiLong", 5, "unknown_field"],
        ["phieu_hai_long_2023.xlsx", "PhieuHaiLong", 6, "out_of_range"],
        ["phieu_hai_long_2023.xlsx", "PhieuHaiLong", 7, "blank_majority"],
        ["phieu_hai_long_2023.xlsx", "PhieuHaiLong", 8, "outside_period"],
        ["phieu_hai_long_2023.xlsx", "PhieuHaiLong", 9, "duplicate"],
        ["phieu_hai_long_2023.xlsx", "PhieuHaiLong", 11, "unknown_commune"],
    ]
    det = dict(zip(rej["row"], rej["detail"]))
    assert "Xã Thanh Lang" in det[4]
    assert "Xây dựng" in det[5]
    assert "Q1 = '6'" in det[6]
    assert "2/3" in det[7]
    assert "01/09/2023" in det[8] and "01/10/2023–15/12/2023" in det[8]
    assert "P01" in det[9] and "dòng 2" in det[9] and "0900000001" not in det[9]
    # Clean rows: P01, P02, P09, P11 × Q1..Q3
    exp = pd.DataFrame({
        "ballot_id": ["P01"] * 3 + ["P02"] * 3 + ["P09"] * 3 + ["P11"] * 3,
        "commune_code": ["11251"] * 3 + ["11239"] * 3 + ["11281"] * 3 + ["11251"] * 3,
        "procedure_field": ["HT"] * 3 + ["CT"] * 3 + ["HT"] * 3 + ["HT"] * 3,
        "question": ["Q1", "Q2", "Q3"] * 4,
        "answer": pd.array([5, 4, 4, 4, 5, 3, 5, None, 1, 3, 3, 3], dtype="Int64"),
        "weight": 1.0,
    }).astype({"ballot_id": "str", "commune_code": "str", "procedure_field": "str", "question": "str"})
    pd.testing.assert_frame_equal(s, exp)
    assert b["status"].tolist() == ["valid", "valid"] + ["excluded"] * 6 + ["valid", "excluded", "valid"]
    assert b["rule"].tolist() == ["", "", "unknown_commune", "unknown_field", "out_of_range", "blank_majority",
                                  "outside_period", "duplicate", "", "unknown_commune", ""]
    assert b.loc[0, "date"] == pd.Timestamp("2023-10-15")
    assert b["commune_code"].tolist()[:4] == ["11251", "11239", "", "11251"]


def test_no_period_keeps_dates_outside(tmp_path, mini):
    path = write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx",
                      [SAT_HEADER] + good_ballots() + [ballot(4, date="20/12/2023")])
    s, b, rej = read_satisfaction(path, mini, MATCHER, salt="test")
    assert rej.empty
    assert b["status"].eq("valid").all()
    assert b.loc[3, "date"] == pd.Timestamp("2023-12-20")


def test_excel_date_cells_and_numeric_phone(tmp_path, mini):
    """Dates typed as Excel dates; a phone stored as a number (leading 0 lost) still finds its twin."""
    rows = [SAT_HEADER, ballot(1), ballot(2)]
    rows[1][1] = dt.datetime(2023, 11, 2)
    rows[2][5] = 900000001  # = 0900000001 of P01 as Excel keeps it
    path = write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows)
    s, b, rej = sat(path, mini)
    assert b["date"].tolist() == [pd.Timestamp("2023-11-02"), pd.Timestamp("2023-10-15")]
    assert rej[["row", "rule"]].values.tolist() == [[3, "duplicate"]]


def test_salt_changes_nothing_but_is_required_for_equal_hashes(tmp_path, mini):
    path = write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx",
                      [SAT_HEADER, ballot(1), ballot(2, phone="0900000001")])
    for salt in ("a", "b"):
        _, _, rej = sat(path, mini, salt=salt)
        assert rej["rule"].tolist() == ["duplicate"]



def test_hash_key_of_a_column_without_any_number(recwarn):
    """An all-blank phone or ID column hashes to "" everywhere (it used to fill float NaN with "": pandas
    warns that this will raise, i.e. a satisfaction file with an empty "Số CCCD" column would be refused)."""
    from parindex.ingest.parse import hash_key

    for kind in ("phone", "id"):
        h = hash_key(pd.Series(["", " ", "-"], dtype="str"), kind, "salt")
        assert h.tolist() == ["", "", ""] and pd.api.types.is_string_dtype(h)
    mixed = hash_key(pd.Series(["0900000001", ""], dtype="str"), "phone", "salt")
    assert len(mixed[0]) == 64 and mixed[1] == ""
    assert not [w for w in recwarn if "fill value" in str(w.message)]


# ------------------------------------------------------------------- commune matching ----
def test_commune_names_without_diacritics_and_prefixes_match(tmp_path, mini):
    names = ["Doan Tung", "X. Đoàn Tùng", "xã đoàn tùng", "TT Thanh Miện", "Thị trấn Thanh Miện", "thanh mien",
             "X.Chi Lăng Bắc", "11284"]
    rows = [SAT_HEADER] + [ballot(i + 1, n) for i, n in enumerate(names)]
    s, b, rej = sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini)
    assert rej.empty
    assert b["commune_code"].tolist() == ["11251", "11251", "11251", "11239", "11239", "11239", "11281", "11284"]


# -------------------------------------------------------------------------- encodings ----
def test_csv_utf8_bom_and_windows_1258_read_the_same_as_xlsx(tmp_path, mini):
    rows = [SAT_HEADER] + good_ballots() + [ballot(4, "Xã Chi Lăng Nam", "Chứng thực", (4, None, 2)),
                                            ballot(5, "Xã Thanh Lang")]
    outs = {}
    for enc in ("xlsx", "utf-8-sig", "cp1258", "utf-8"):
        d = tmp_path / enc
        d.mkdir()
        p = (write_xlsx(d / "phieu_hai_long_2023.xlsx", rows) if enc == "xlsx"
             else write_csv(d / "phieu_hai_long_2023.csv", rows, enc))
        outs[enc] = sat(p, mini)
    raw = (tmp_path / "cp1258" / "phieu_hai_long_2023.csv").read_bytes()
    assert raw.decode("cp1258") != raw.decode("utf-8", errors="replace")  # really not UTF-8
    for enc in ("utf-8-sig", "cp1258", "utf-8"):
        pd.testing.assert_frame_equal(outs[enc][0], outs["xlsx"][0])
        pd.testing.assert_frame_equal(outs[enc][1], outs["xlsx"][1])
        pd.testing.assert_frame_equal(outs[enc][2].drop(columns=["file", "sheet"]),
                                      outs["xlsx"][2].drop(columns=["file", "sheet"]))
    assert outs["cp1258"][2]["detail"].iloc[0].startswith("Phiếu P05: không xác định được xã 'Xã Thanh Lang'")
    assert outs["cp1258"][1]["commune_code"].tolist() == ["11251", "11239", "11281", "11284", ""]


# -------------------------------------------------------------------- officials' survey ----
def test_officials_clean_rows(tmp_path, mini):
    rows = [OFF_HEADER,
            ["CB1", "Nhóm 1", "Trần Văn Bình", "Xã Đoàn Tùng", "a"],   # row 2: lower-case a → A
            ["CB1", "G1", "Trần Văn Bình", "TT Thanh Miện", "B"],      # row 3
            ["CB2", "Nhóm 2", "Lê Thị Hoa", "Xã Đoàn Tùng", "D"],      # row 4
            ["CB2", "G2", "Lê Thị Hoa", "Xã Đoàn Tùng", "A"],          # row 5: CB2 × Đoàn Tùng again
            ["CB3", "G1", "Vũ Thị Lan", "Xã Hà Nam", "A"]]             # row 6: unknown commune
    o, rej = read_officials(write_xlsx(tmp_path / "phieu_can_bo_2023.xlsx", rows, OFF_SHEET), mini, MATCHER)
    exp = pd.DataFrame({"ballot_id": ["CB1", "CB1", "CB2"], "group": ["G1", "G1", "G2"],
                        "commune_code": ["11251", "11239", "11251"], "question": ["1.3"] * 3,
                        "answer": ["A", "B", "D"]}).astype("str")
    pd.testing.assert_frame_equal(o, exp)
    assert rej[["row", "rule"]].values.tolist() == [[5, "duplicate"], [6, "unknown_commune"]]
    assert rej["detail"].iloc[0] == ("Phiếu CB2: người trả lời này đã đánh giá xã này ở dòng 4 "
                                     "(the same ballot id rated this commune in row 4)")
    assert not rej["detail"].str.contains("Lê Thị Hoa|Vũ Thị Lan").any()


# ------------------------------------------------------------------------- assessment ----
ASS_HEADER = ["Mã xã", "Tên xã", "Mã tiêu chí", "Tên tiêu chí", "Điểm tối đa", "Điểm tự chấm", "Điểm thẩm định",
              "Lý do thẩm định", "Ghi chú minh chứng", "Không áp dụng"]


def test_assessment_clean_rows(tmp_path, mini):
    rows = [["UBND HUYỆN THANH MIỆN"], ["BẢNG TỔNG HỢP KẾT QUẢ TỰ ĐÁNH GIÁ, THẨM ĐỊNH NĂM 2023"], [], ASS_HEADER,
            ["11251", "Xã Đoàn Tùng", "1.1.1", "TP 1.1.1", 2, 2, 1, "Không có tài liệu kiểm chứng",
             "Kế hoạch số 12/KH-UBND ngày 10/01/2023", None],
            ["11251", "Xã Đoàn Tùng", "1.1.2", "TP 1.1.2", 2, 2, None, None, None, None],
            [None, "Doan Tung", "1.2", "Tiêu chí 1.2", 3, None, None, None, None, "x"],
            ["11251", "Xã Đoàn Tùng", "2.1", "Tiêu chí 2.1", 5, "4,5", 4, "Chậm", None, None],
            ["11251", "Xã Đoàn Tùng", "t", "Điểm thưởng", 2, 1, None, "Sáng kiến CCHC", None, None],
            ["11251", "Xã Đoàn Tùng", "TR", "Điểm trừ", 2, None, None, None, None, None]]  # blank = no deduction
    a, rej = read_assessment(write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem"),
                             mini, MATCHER)
    nan = math.nan
    exp = pd.DataFrame({
        "commune_code": ["11251"] * 6, "code": ["1.1.1", "1.1.2", "1.2", "2.1", "T", "TR"],
        "self_points": [2.0, 2.0, nan, 4.5, 1.0, 0.0], "appraised_points": [1.0, nan, nan, 4.0, nan, nan],
        "not_applicable": [False, False, True, False, False, False],
        "reason": ["Không có tài liệu kiểm chứng", "", "", "Chậm", "Sáng kiến CCHC", ""],
        "evidence": ["Kế hoạch số 12/KH-UBND ngày 10/01/2023", "", "", "", "", ""],
        "max_points_form": [2.0, 2.0, 3.0, 5.0, nan, nan],  # T: the cap is applied by scoring, not kept here
    }).astype({"commune_code": "str", "code": "str", "reason": "str", "evidence": "str"})
    pd.testing.assert_frame_equal(a, exp)
    assert rej.empty


def test_assessment_problems_are_all_listed_and_refused(tmp_path, mini):
    rows = [ASS_HEADER,
            ["11251", "Xã Đoàn Tùng", "1.1.1", "", 2, 2, 1, "Thiếu", None, None],     # row 2 ok
            ["11251", "Xã Đoàn Tùng", "9.9", "", 2, 2, None, None, None, None],       # row 3 unknown code
            ["11251", "Xã Đoàn Tùng", "1.2", "", 3, 3.5, None, None, None, None],     # row 4 self above max 3
            ["11251", "Xã Đoàn Tùng", "1.1.1", "", 2, 2, None, None, None, None],     # row 5 duplicate of row 2
            [None, "Xã Thanh Lang", "2.1", "", 5, 5, None, None, None, None],         # row 6 unknown commune
            ["11239", "Thị trấn Thanh Miện", "2.1", "", 5, "năm", None, None, None, None],  # row 7 not a number
            ["11239", "Thị trấn Thanh Miện", "1.3", "", 3, 3, None, None, None, None],  # row 8 a survey leaf
            ["11239", "Thị trấn Thanh Miện", "1.1.2", "", 2, 2, 2.5, None, None, None]]  # row 9 appraised > max
    path = write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem")
    with pytest.raises(InputError) as ei:
        read_assessment(path, mini, MATCHER)
    probs = [(p.row, p.column) for p in ei.value.problems]
    assert probs == [(3, "C 'Mã tiêu chí'"), (4, "F 'Điểm tự chấm'"), (5, "C 'Mã tiêu chí'"), (6, "A 'Mã xã'"),
                     (7, "F 'Điểm tự chấm'"), (8, "C 'Mã tiêu chí'"), (9, "G 'Điểm thẩm định'")]
    msg = str(ei.value)
    for frag in ["tu_danh_gia_tham_dinh_2023.xlsx", "trang tính 'ChamDiem'", "dòng 3, cột C 'Mã tiêu chí'",
                 "'9.9'", "dòng 4, cột F 'Điểm tự chấm'", "0–3", "đã có ở dòng 2", "dòng 9, cột G 'Điểm thẩm định'",
                 "2.5 outside 0..2", "Cán bộ"]:
        assert frag in msg, frag


def test_assessment_form_made_for_another_maximum(tmp_path, mini):
    """1.2 is worth 3 in the methodology; a form that says 4 is checked against 4 and keeps it, so that
    scoring can rescale (test_scoring: 2 of 4 → 1.5 of 3)."""
    rows = [ASS_HEADER, ["11251", "", "1.2", "", 4, 4, 2, "Chưa đạt", None, None],
            ["11239", "", "1.2", "", None, 3, None, None, None, None]]
    a, _ = read_assessment(write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem"),
                           mini, MATCHER)
    assert a[["self_points", "appraised_points"]].values.tolist()[0] == [4.0, 2.0]
    assert a["max_points_form"].tolist()[0] == 4.0 and math.isnan(a["max_points_form"].tolist()[1])
    rows[1][5], rows[2][4] = 4.5, "ba"
    with pytest.raises(InputError) as ei:
        read_assessment(write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem"), mini, MATCHER)
    assert [(p.row, p.column) for p in ei.value.problems] == [(2, "F 'Điểm tự chấm'"), (3, "E 'Điểm tối đa'")]
    assert "4.5 outside 0..4" in str(ei.value)


def test_assessment_missing_column_and_wrong_sheet(tmp_path, mini):
    p = write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx",
                   [["tiêu đề"], [h for h in ASS_HEADER if h != "Điểm thẩm định"]], "ChamDiem")
    with pytest.raises(InputError, match=r"tu_danh_gia_tham_dinh_2023\.xlsx', trang tính 'ChamDiem', dòng 2, "
                                         r"cột 'Điểm thẩm định'"):
        read_assessment(p, mini, MATCHER)
    (tmp_path / "x").mkdir()
    p = write_xlsx(tmp_path / "x" / "tu_danh_gia_tham_dinh_2023.xlsx",
                   [ASS_HEADER, ["11251", "", "1.2", "", 3, 3, None, None, None, None]], "Cham diem")
    with pytest.raises(InputError, match=r"expected sheet 'ChamDiem', found: 'Cham diem'.*row 1, columns A–J"):
        read_assessment(p, mini, MATCHER)


# -------------------------------------------------------------------------- dossiers ----
def test_dossiers_long_table_blank_is_zero(tmp_path, mini):
    rows = [["SỐ HỒ SƠ NĂM 2023"], ["Mã xã", "Tên xã", "HT", "Chứng thực"],
            ["11251", "Xã Đoàn Tùng", 412, "1.234"], [None, "TT Thanh Miện", None, 7]]
    d, _ = read_dossiers(write_xlsx(tmp_path / "so_ho_so_2023.xlsx", rows, "HoSo"), mini, MATCHER)
    assert d.values.tolist() == [["11239", "HT", 0], ["11239", "CT", 7], ["11251", "HT", 412],
                                 ["11251", "CT", 1234]]
    rows.append(["11251", "", 3, -1])
    with pytest.raises(InputError) as ei:
        read_dossiers(write_xlsx(tmp_path / "so_ho_so_2023.xlsx", rows, "HoSo"), mini, MATCHER)
    assert [(p.row, p.column) for p in ei.value.problems] == [(5, "A 'Mã xã'"), (5, "D 'Chứng thực'")]
    assert "xã 11251 đã có ở dòng 3" in str(ei.value) and "'-1' không phải số nguyên không âm" in str(ei.value)


# -------------------------------------------------------------- whole year: demo data ----
@pytest.fixture(scope="module")
def demo2023(tmp_path_factory, district):
    meth = load_methodology(REFERENCE_METHODOLOGY)
    communes = district.communes
    raw = tmp_path_factory.mktemp("raw2023")
    demo.generate(2023, raw, 2023, meth, district)
    cd = clean_year(raw, meth, communes, survey_start=dt.date(2023, 10, 1), survey_end=dt.date(2023, 12, 15), salt="test")
    return raw, meth, communes, cd


def _raw_private_values(raw):
    """Names, phones and ID numbers written in the demo raw files."""
    vals = set()
    for f, cols in (("phieu_hai_long_2023.xlsx", ("Họ và tên", "Số điện thoại", "Số CCCD")),
                    ("phieu_can_bo_2023.xlsx", ("Họ và tên",))):
        ws = openpyxl.load_workbook(raw / f, read_only=True).worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        header = list(rows[3])
        for c in cols:
            i = header.index(c)
            vals |= {str(r[i]) for r in rows[4:] if r[i]}
    return vals


def test_privacy_no_name_phone_or_id_in_any_output(demo2023, tmp_path):
    raw, _, _, cd = demo2023
    private = _raw_private_values(raw)
    assert len(private) > 1500  # 851 phones + 851 IDs + names
    paths = cd.write(tmp_path / "out")
    blob = b"".join(p.read_bytes() for p in paths)
    digits = {v for v in private if v.isdigit()}
    for v in private:
        assert v.encode() not in blob
    for v in digits:  # also without the leading zero (as a number would be written)
        assert v.lstrip("0").encode() not in blob
    back = CleanData.read(tmp_path / "out")
    cells = set()
    for t in ("assessment", "officials", "satisfaction", "ballots", "dossiers", "rejections"):
        df = getattr(back, t)
        for c in df.columns:
            if df[c].dtype == "str":
                cells |= set(df[c])
    assert not (cells & private)
    text = "\n".join(cells)
    assert not any(v in text for v in private)


def test_demo_year_cleaned_counts_and_rejections(demo2023):
    _, meth, communes, cd = demo2023
    rej = cd.rejections
    # the planted invalid ballots (data/raw/README.md): one of each, out_of_range three times
    assert rej["rule"].value_counts().to_dict() == {"out_of_range": 3, "unknown_commune": 1, "blank_majority": 1,
                                                    "duplicate": 1, "outside_period": 1}
    assert len(cd.ballots) == 851
    assert (cd.ballots["status"] == "valid").sum() == 851 - 7
    assert cd.officials["ballot_id"].nunique() == 46
    assert len(cd.officials) == 46 * 17 * 9
    assert len(cd.assessment) == 17 * 39 + (cd.assessment["code"].isin(["T", "TR"])).sum()
    assert len(cd.dossiers) == 17 * 8


def test_demo_raw_files_clean_under_the_variant_methodology(demo2023):
    """Re-running a year with another methodology version: the forms' maxima are the reference ones."""
    raw, meth, communes, _ = demo2023
    variant = load_methodology(REFERENCE_METHODOLOGY.parent / "variant-survey40-v1.yaml")
    cd = clean_year(raw, variant, communes, salt="test")
    leaves = cd.assessment[~cd.assessment["code"].isin(["T", "TR"])]
    ref_points = meth.leaves().set_index("code")["points"]
    assert (leaves["max_points_form"] == leaves["code"].map(ref_points)).all()


def test_survey_period_open_on_one_side(tmp_path, mini):
    path = write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx",
                      [SAT_HEADER, ballot(1, date="30/09/2023"), ballot(2, date="20/12/2023")])
    _, _, rej = read_satisfaction(path, mini, MATCHER, survey_end="2023-12-15", salt="test")
    assert rej[["row", "rule"]].values.tolist() == [[3, "outside_period"]]
    assert "…–15/12/2023" in rej["detail"].iloc[0]


def test_write_is_deterministic_and_reads_back(demo2023, tmp_path):
    _, _, _, cd = demo2023
    a = cd.write(tmp_path / "a")
    b = cd.write(tmp_path / "b")
    for pa_, pb_ in zip(a, b):
        assert pa_.name == pb_.name and pa_.read_bytes() == pb_.read_bytes()
    assert [p.name for p in a] == ["assessment.parquet", "officials.parquet", "satisfaction.parquet",
                                   "ballots.parquet", "dossiers.parquet", "rejections.csv"]
    back = CleanData.read(tmp_path / "a")
    for t in ("assessment", "officials", "satisfaction", "ballots", "dossiers", "rejections"):
        pd.testing.assert_frame_equal(getattr(back, t), getattr(cd, t))


def test_clean_year_missing_file_and_gathers_problems(demo2023, tmp_path):
    raw, meth, communes, _ = demo2023
    for f in raw.iterdir():
        if not f.name.startswith("so_ho_so_"):
            (tmp_path / f.name).write_bytes(f.read_bytes())
    wb = openpyxl.load_workbook(tmp_path / "phieu_can_bo_2023.xlsx")
    wb.active.title = "Sheet1"
    wb.save(tmp_path / "phieu_can_bo_2023.xlsx")
    with pytest.raises(InputError) as ei:
        clean_year(tmp_path, meth, communes, salt="test")
    msg = str(ei.value)
    assert "expected sheet 'PhieuCanBo', found: 'Sheet1'" in msg
    assert "missing file: expected so_ho_so_<year>.xlsx or .csv" in msg
    assert len(ei.value.problems) == 2
    assert [p.file for p in ei.value.problems] == ["phieu_can_bo_2023.xlsx", "so_ho_so_<năm>.xlsx"]


def test_exactly_half_blank_is_kept_more_than_half_is_excluded(tmp_path, mini_dict):
    # four questions: 2 of 4 blank is not "more than half" (kept); 3 of 4 is (excluded)
    mini_dict["satisfaction_survey"]["factors"][1]["questions"].append({"code": "Q4", "label": "q4"})
    meth = parse_methodology(mini_dict, "mini-4q")
    rows = [SAT_HEADER + ["Q4"], ballot(1, answers=(5, None, None, 4)), ballot(2, answers=(None, None, None, 4)),
            ballot(3, answers=(5, 4, None, 4))]
    _, b, rej = read_satisfaction(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), meth, MATCHER, salt="test")
    assert rej[["row", "rule"]].values.tolist() == [[3, "blank_majority"]]
    assert "3/4" in rej["detail"].iloc[0]
    assert b["status"].tolist() == ["valid", "excluded", "valid"]
