"""Raw files as offices really produce them (issue 10) and hostile files (issue 11): vocabulary and
aliases, layouts, numbers and formulas, dates, file names, resource limits, personal data, duplicates,
the diagnosis of a refused run and the --allow-missing-as-zero guard.

Small fixtures use conftest.MINI (fields HT "Hộ tịch" / CT "Chứng thực"; groups G1 "Nhóm 1" / G2 "Nhóm 2";
appraised leaves 1.1.1 (2), 1.1.2 (2), 1.2 (3), 2.1 (5); officials leaf 1.3; questions Q1–Q3)."""

from __future__ import annotations

import copy
import datetime as dt
import re
import shutil
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from bad_inputs import COMMUNES, OFF_HEADER, OFF_SHEET, SAT_HEADER, ballot, good_ballots, write_xlsx
from conftest import ROOT

from parindex.communes import CommuneMatcher
from parindex.ingest import (Ingest, InputError, clean_year, find_raw_file, read_assessment, read_dossiers,
                             read_officials, read_satisfaction)
from parindex.ingest.workbook import Limits
from parindex.methodology import load_methodology

MATCHER = CommuneMatcher(COMMUNES)
START, END = dt.date(2023, 10, 1), dt.date(2023, 12, 15)
ASS_HEADER = ["Mã xã", "Tên xã", "Mã tiêu chí", "Tên tiêu chí", "Điểm tối đa", "Điểm tự chấm", "Điểm thẩm định",
              "Lý do thẩm định", "Ghi chú minh chứng", "Không áp dụng"]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def sat(path, mini, ing=None, **kw):
    return read_satisfaction(path, mini, MATCHER, survey_start=START, survey_end=END, ing=ing, **{"salt": "test", **kw})


def kinds(ing: Ingest) -> pd.DataFrame:
    return ing.conversions_table()


# ============================================================================ vocabulary ====
def test_everyday_labels_and_trailing_dot_are_matched_and_logged(tmp_path, mini):
    rows = [SAT_HEADER,
            ballot(1, "Xã Đoàn Tùng.", "Lĩnh vực Hộ tịch"),
            ballot(2, "TT Thanh Miện", "Chứng thực bản sao"),
            ballot(3, "chi lang bac", "Tư pháp - Hộ tịch"),
            ballot(4, "Xã Đoàn Tùng", "Hộ tịch", answers=("Rất hài lòng", 4, "5"))]
    ing = Ingest()
    s, b, rej = sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini, ing)
    assert rej.empty
    assert b["commune_code"].tolist() == ["11251", "11239", "11281", "11251"]
    assert b["procedure_field"].tolist() == ["HT", "CT", "HT", "HT"]
    assert s.loc[s["ballot_id"] == "P04", "answer"].tolist() == [5, 4, 5]
    conv = kinds(ing)
    alias = conv[conv["kind"] == "alias"]
    assert "'Chứng thực bản sao' → CT (lĩnh vực)" in alias["detail"].tolist()
    assert "'Rất hài lòng' → 5 (câu trả lời)" in alias["detail"].tolist()
    norm = conv[(conv["kind"] == "normalised") & (conv["column"] == "C 'Xã, thị trấn'")]
    assert "'Xã Đoàn Tùng.'" in norm["detail"].iloc[0] and norm["count"].iloc[0] == 3


def test_officials_groups_and_answers_written_the_everyday_way(tmp_path, mini_dict):
    mini_dict["officials_survey"]["groups"] = [{"code": "HDND", "label": "Đại biểu HĐND huyện", "size": 2},
                                               {"code": "PCM", "label": "Lãnh đạo phòng chuyên môn", "size": 1}]
    from parindex.methodology import parse_methodology
    meth = parse_methodology(mini_dict, "mini-groups")
    rows = [OFF_HEADER, ["CB1", "Đại biểu HĐND", "X", "Xã Đoàn Tùng", "A."],
            ["CB2", "ĐB HĐND huyện", "Y", "Xã Đoàn Tùng", "Rất tốt"],
            ["CB3", "Trưởng phòng", "Z", "Xã Đoàn Tùng", "b"],
            ["CB4", "Nhóm Đại biểu HĐND huyện", "W", "Xã Đoàn Tùng", "Không biết"]]
    o, rej = read_officials(write_xlsx(tmp_path / "phieu_can_bo_2023.xlsx", rows, OFF_SHEET), meth, MATCHER)
    assert o["group"].tolist() == ["HDND", "HDND", "PCM"]
    assert o["answer"].tolist() == ["A", "A", "B"]
    assert rej[["row", "rule"]].values.tolist() == [[5, "blank_majority"]]


def test_ambiguous_commune_is_reported_with_both_and_typo_with_closest(tmp_path, mini):
    rows = [SAT_HEADER] + good_ballots() + [ballot(4, "Chi Lăng"), ballot(5, "Xã Đoàn Tùgn")]
    _, b, rej = sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini)
    assert rej[["row", "rule"]].values.tolist() == [[5, "ambiguous_commune"], [6, "unknown_commune"]]
    assert "Xã Chi Lăng Bắc (11281) / Xã Chi Lăng Nam (11284)" in rej["detail"].iloc[0]
    assert "gần nhất: Xã Đoàn Tùng (11251)" in rej["detail"].iloc[1]


def test_too_many_unmatched_values_refuse_the_file_with_values_and_counts(tmp_path, mini):
    """6 of 9 ballots carry a field nobody knows: more than 5 % and at least 5 → refused, with the
    rejection log kept for the diagnosis; 4 unknown values only are logged (below unmatched_min_count)."""
    rows = [SAT_HEADER] + good_ballots() + [ballot(i, field_="Xây dựng") for i in range(4, 9)] + [
        ballot(9, field_="Giao thông")]
    with pytest.raises(InputError) as ei:
        sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini)
    msg = str(ei.value)
    assert "cột D 'Lĩnh vực'" in msg and "6/9 giá trị" in msg and "'Xây dựng' (5)" in msg and "'Giao thông' (1)" in msg
    assert len(ei.value.rejections) == 6
    rows = [SAT_HEADER] + good_ballots() + [ballot(i, field_="Xây dựng") for i in range(4, 8)]
    _, _, rej = sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini)
    assert rej["rule"].tolist() == ["unknown_field"] * 4
    # the threshold is a parameter
    with pytest.raises(InputError):
        sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini, Ingest(unmatched_min_count=2))


def test_every_officials_ballot_dropped_is_a_refusal_not_a_crash(tmp_path, mini):
    rows = [OFF_HEADER] + [[f"CB{i}", "Đại biểu", "X", "Xã Đoàn Tùng", "A"] for i in range(1, 8)]
    with pytest.raises(InputError, match="nhóm đối tượng"):
        read_officials(write_xlsx(tmp_path / "phieu_can_bo_2023.xlsx", rows, OFF_SHEET), mini, MATCHER)


# ============================================================================== layouts ====
def test_letterhead_two_level_header_units_and_total_row(tmp_path, mini):
    letterhead = [["ỦY BAN NHÂN DÂN HUYỆN THANH MIỆN", None, None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
                  ["PHÒNG NỘI VỤ", None, None, None, "Độc lập - Tự do - Hạnh phúc"]] + [[None]] * 20 + [
                     ["BẢNG TỔNG HỢP"]]
    top = ["Mã xã", "Tên xã", "Mã tiêu chí", "Tên tiêu chí", "Điểm tối đa (điểm)", "Điểm", None,
           "Lý do thẩm định", "Ghi chú minh chứng", "Không áp dụng"]
    sub = [None, None, None, None, None, "Tự chấm", "Thẩm định", None, None, None]
    body = [["11251", "Xã Đoàn Tùng", "1.1.1", "", 2, 2, 1, "Thiếu", None, None],
            ["11251", "Xã Đoàn Tùng", "1.2", "", 3, 3, None, None, None, None],
            [None, "Tổng cộng", None, None, 5, 5, 1, None, None, None]]
    path = write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", letterhead + [top, sub] + body, "ChamDiem")
    wb = openpyxl.load_workbook(path)
    wb.active.merge_cells("F24:G24")
    wb.save(path)
    ing = Ingest()
    a, _ = read_assessment(path, mini, MATCHER, ing)
    assert a["code"].tolist() == ["1.1.1", "1.2"]  # the total row (28) is not read
    assert a["self_points"].tolist() == [2.0, 3.0]
    assert a["appraised_points"].tolist()[0] == 1.0 and a["appraised_points"].isna().tolist() == [False, True]
    assert a["max_points_form"].tolist() == [2.0, 3.0]  # "Điểm tối đa (điểm)": the unit in brackets
    conv = kinds(ing)
    assert "dòng 28 là dòng tổng cộng" in " ".join(conv.loc[conv["kind"] == "total_row", "detail"])
    assert (conv["kind"] == "two_level_header").any()


def test_header_beyond_the_search_window_is_refused(tmp_path, mini):
    rows = [["x"]] * 35 + [SAT_HEADER] + good_ballots()
    with pytest.raises(InputError, match="tìm trong 30 dòng đầu"):
        sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini)
    _, b, _ = sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini, Ingest(header_search_rows=40))
    assert len(b) == 3


def test_unit_column_is_not_taken_for_the_commune(tmp_path, mini):
    header = ["Mã phiếu", "Nhóm đối tượng", "Họ và tên", "Đơn vị", "Xã, thị trấn", "1.3"]
    rows = [header, ["CB1", "Nhóm 1", "A B C", "Phòng Nội vụ", "Xã Đoàn Tùng", "A"]]
    o, _ = read_officials(write_xlsx(tmp_path / "phieu_can_bo_2023.xlsx", rows, OFF_SHEET), mini, MATCHER)
    assert o["commune_code"].tolist() == ["11251"]


def test_assessment_and_dossiers_by_commune_names_only(tmp_path, mini):
    header = [h for h in ASS_HEADER if h != "Mã xã"]
    rows = [header, ["Xã Đoàn Tùng", "1.1.1", "", 2, 2, 1, "Thiếu", None, None],
            ["Thị trấn Thanh Miện", "1.2", "", 3, 3, None, None, None, None]]
    ing = Ingest()
    a, _ = read_assessment(write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem"), mini,
                           MATCHER, ing)
    assert a["commune_code"].tolist() == ["11251", "11239"]
    assert (kinds(ing)["kind"] == "commune_by_name").any()
    rows.append(["Chi Lăng", "1.2", "", 3, 3, None, None, None, None])
    with pytest.raises(InputError) as ei:
        read_assessment(write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem"), mini, MATCHER)
    assert "dòng 4, cột A 'Tên xã'" in str(ei.value) and "có thể là Xã Chi Lăng Bắc" in str(ei.value)
    d, _ = read_dossiers(write_xlsx(tmp_path / "so_ho_so_2023.xlsx",
                                    [["Tên xã", "Lĩnh vực Hộ tịch", "Chứng thực bản sao"], ["Xã Đoàn Tùng", 3, 4],
                                     ["Tổng cộng", 3, 4]], "HoSo"), mini, MATCHER)
    assert d.values.tolist() == [["11251", "HT", 3], ["11251", "CT", 4]]


def test_xls_and_xlsm_and_file_names(tmp_path, mini):
    xls = tmp_path / "PHIEU_HAI_LONG_2023.XLS"
    shutil.copy(FIXTURES / "phieu_hai_long_2023.xls", xls)
    assert find_raw_file(tmp_path, "satisfaction") == xls
    s, b, rej = sat(xls, mini)
    assert b["ballot_id"].tolist() == ["P01", "P02", "P03", "P04"]
    assert b["date"].tolist()[:2] == [pd.Timestamp("2023-10-15")] * 2
    assert rej[["row", "rule"]].values.tolist() == [[6, "out_of_range"]]
    # an .xlsm (macros are never run: only the sheet's XML is read)
    src = write_xlsx(tmp_path / "src.xlsx", [SAT_HEADER] + good_ballots())
    xlsm = tmp_path / "x" / "Phieu_Hai_Long_2023.xlsm"
    xlsm.parent.mkdir()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(xlsm, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not run")
    assert find_raw_file(xlsm.parent, "satisfaction") == xlsm
    assert len(sat(xlsm, mini)[1]) == 3
    # a copy beside the original is refused by name
    shutil.copy(xlsm, xlsm.parent / "Phieu_Hai_Long_2023 - Copy.xlsm")
    with pytest.raises(InputError, match=r"Phieu_Hai_Long_2023 - Copy\.xlsm có vẻ là bản sao"):
        find_raw_file(xlsm.parent, "satisfaction")


# ======================================================================= numbers, formulas ====
def _with_cached_values(path: Path, values: dict[str, str]) -> Path:
    """Give the formula cells ``ref`` of sheet1 a cached value (openpyxl saves formulas without one)."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for ref, v in values.items():
                    text = re.sub(rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)<v\s*/>', rf"\g<1>\g<2><v>{v}</v>", text)
                data = text.encode()
            zout.writestr(item, data)
    tmp.replace(path)
    return path


def test_formula_cells_cached_value_used_and_uncached_refused(tmp_path, mini):
    rows = [ASS_HEADER, ["11251", "", "1.1.1", "", 2, 2, "=2-1", "Thiếu", None, None],
            ["11251", "", "1.2", "", 3, 3, None, None, None, None]]
    path = write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem")
    with pytest.raises(InputError) as ei:
        read_assessment(path, mini, MATCHER)
    msg = str(ei.value)
    assert "dòng 2, cột G 'Điểm thẩm định'" in msg and "mở tệp bằng Excel và lưu lại" in msg and "G2" in msg
    _with_cached_values(path, {"G2": "1"})
    ing = Ingest()
    a, _ = read_assessment(path, mini, MATCHER, ing)
    assert a["appraised_points"].tolist()[0] == 1.0
    assert (kinds(ing)["kind"] == "formula").any()


def test_plausibility_of_counts_and_adjustments(tmp_path, mini):
    rows = [["Mã xã", "Tên xã", "HT", "CT"], ["11251", "", 11251, 5], ["11239", "", "0987654321", 2]]
    with pytest.raises(InputError) as ei:
        read_dossiers(write_xlsx(tmp_path / "so_ho_so_2023.xlsx", rows, "HoSo"), mini, MATCHER)
    assert [(p.row, p.column) for p in ei.value.problems] == [(2, "C 'HT'"), (3, "C 'HT'")]
    assert "ingest.max_dossiers" in str(ei.value) and "0987654321" not in str(ei.value)
    d, _ = read_dossiers(write_xlsx(tmp_path / "so_ho_so_2023.xlsx", rows[:2], "HoSo"), mini, MATCHER,
                         Ingest(max_dossiers=20000))
    assert d["dossiers"].tolist() == [11251, 5]
    rows = [ASS_HEADER, ["11251", "", "T", "Điểm thưởng", 2, 15, None, "Sáng kiến", None, None]]
    with pytest.raises(InputError, match="max_adjustment_points"):
        read_assessment(write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem"), mini, MATCHER)


def test_form_maximum_of_no_known_version_is_refused(tmp_path, mini_dict):
    """1.2 is worth 3; a sibling methodology file gives it 4: a form saying 4 is accepted (rescaled later),
    one saying 30 (typed 10 × too big) is refused with its cell."""
    mdir = tmp_path / "methodologies"
    mdir.mkdir()
    (mdir / "mini.yaml").write_text(yaml.safe_dump(mini_dict, allow_unicode=True), encoding="utf-8")
    other = copy.deepcopy(mini_dict)
    other["meta"]["id"] = "mini-v2"
    other["fields"][0]["criteria"][1]["points"] = 4
    other["fields"][0]["criteria"][2]["points"] = 2
    (mdir / "mini-v2.yaml").write_text(yaml.safe_dump(other, allow_unicode=True), encoding="utf-8")
    meth = load_methodology(mdir / "mini.yaml")
    rows = [ASS_HEADER, ["11251", "", "1.2", "", 4, 4, 2, "Chưa đạt", None, None]]
    a, _ = read_assessment(write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem"), meth, MATCHER)
    assert a["max_points_form"].tolist() == [4.0]
    rows[1][4] = 30
    with pytest.raises(InputError) as ei:
        read_assessment(write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem"), meth, MATCHER)
    assert [(p.row, p.column) for p in ei.value.problems] == [(2, "E 'Điểm tối đa'")]
    assert "không khớp phiên bản bộ tiêu chí nào" in str(ei.value)


# ================================================================================= dates ====
def test_dates_that_only_read_as_month_first_are_refused_with_both_readings(tmp_path, mini):
    rows = [SAT_HEADER] + [ballot(i, date=d) for i, d in enumerate(["10/25/2023", "11/3/2023", "12/14/2023"], 1)]
    with pytest.raises(InputError) as ei:
        sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini)
    msg = str(ei.value)
    assert "cột B 'Ngày khảo sát'" in msg and "m/d/yyyy" in msg
    assert "'10/25/2023' đọc ngày/tháng: không có ngày này, đọc tháng/ngày: 25/10/2023" in msg


def test_dates_whose_day_first_reading_falls_outside_the_period_are_refused(tmp_path, mini):
    # every value is a valid date both ways; read d/m, 5 of 6 fall outside 01/10–15/12
    dates = ["10/1/2023", "10/2/2023", "11/5/2023", "12/3/2023", "11/11/2023", "12/4/2023"]
    rows = [SAT_HEADER] + [ballot(i, date=d) for i, d in enumerate(dates, 1)]
    with pytest.raises(InputError) as ei:
        sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini)
    msg = str(ei.value)
    assert "5/6 phiếu nằm ngoài thời gian khảo sát" in msg and "thì 0/6" in msg


# ======================================================================= resource bounds ====
def _bomb(path: Path, sheet_xml: str, extra: dict[str, bytes] | None = None) -> Path:
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                       '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                       'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                           'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                           '<sheet name="PhieuHaiLong" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                                      'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
                                      'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"'
                                      '/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for k, v in parts.items():
            z.writestr(k, v)
        for k, v in (extra or {}).items():
            z.writestr(k, v)
    return path


NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _bounded(fn) -> tuple[float, float]:
    tracemalloc.start()
    t = time.perf_counter()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return time.perf_counter() - t, peak / 1e6


@pytest.mark.parametrize("what", ["full_size_dimension", "million_rows", "huge_shared_strings", "far_column"])
def test_small_hostile_workbooks_are_refused_within_seconds_and_little_memory(tmp_path, mini, what):
    head = '<row r="1">' + "".join(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>'
                                   for i, h in enumerate(SAT_HEADER)) + "</row>"
    extra = None
    if what == "full_size_dimension":  # a 1 KB file declaring A1:XFD1048576 with its last cell filled
        xml = (f'<worksheet {NS}><dimension ref="A1:XFD1048576"/><sheetData>{head}<row r="1048576">'
               '<c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')
        match = "ingest.max_rows"
    elif what == "million_rows":  # a million formatted blank rows, a few KB compressed
        xml = f'<worksheet {NS}><sheetData>{head}' + '<row><c s="0"/></row>' * 1_000_000 + "</sheetData></worksheet>"
        match = "ingest.max_rows"
    elif what == "huge_shared_strings":  # 300 MB of shared strings packed into a small file
        xml = f'<worksheet {NS}><sheetData>{head}</sheetData></worksheet>'
        extra = {"xl/sharedStrings.xml": b"<sst>" + b"<si><t>" + b"x" * 300_000_000 + b"</t></si></sst>"}
        match = "ingest.max_unzipped_mb"
    else:
        xml = (f'<worksheet {NS}><sheetData>{head}<row r="2"><c r="ZZZ2" t="inlineStr"><is><t>x</t></is></c></row>'
               "</sheetData></worksheet>")
        match = "ingest.max_columns"
    path = _bomb(tmp_path / "phieu_hai_long_2023.xlsx", xml, extra)
    assert path.stat().st_size < 2_000_000
    err = {}

    def go():
        with pytest.raises(InputError, match=match) as ei:
            sat(path, mini)
        err["msg"] = str(ei.value)

    seconds, mb = _bounded(go)
    assert seconds < 20 and mb < 300, (seconds, mb)
    assert len(err["msg"]) < 2000


def test_file_size_limit_is_a_parameter(tmp_path, mini):
    path = write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", [SAT_HEADER] + good_ballots())
    with pytest.raises(InputError, match="ingest.max_file_mb"):
        sat(path, mini, Ingest(limits=Limits(max_file_mb=0.001)))


def test_long_values_are_quoted_short(tmp_path, mini):
    rows = [SAT_HEADER] + good_ballots() + [ballot(4, "Xã " + "Đoàn Tùng " * 200)]
    _, _, rej = sat(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini)
    assert rej["detail"].str.len().max() < 400


# ======================================================================== personal data ====
def _year(tmp_path: Path, ass_rows=None, sat_rows=None, off_rows=None) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    write_xlsx(raw / "tu_danh_gia_tham_dinh_2023.xlsx", ass_rows or [
        ASS_HEADER, ["11251", "", "1.1.1", "", 2, 2, 1, "Thiếu", None, None]], "ChamDiem")
    write_xlsx(raw / "phieu_hai_long_2023.xlsx", sat_rows or [SAT_HEADER] + good_ballots())
    write_xlsx(raw / "phieu_can_bo_2023.xlsx", off_rows or [OFF_HEADER, ["CB1", "Nhóm 1", "Trần Văn Bình",
                                                                          "Xã Đoàn Tùng", "A"]], OFF_SHEET)
    write_xlsx(raw / "so_ho_so_2023.xlsx", [["Mã xã", "Tên xã", "HT", "CT"], ["11251", "", 3, 4]], "HoSo")
    return raw


def test_personal_data_in_free_text_and_ids_is_masked_and_counted(tmp_path, mini):
    ass = [ASS_HEADER,
           ["11251", "", "1.1.1", "", 2, 2, 1, "Liên hệ ông Trần Văn Bình 0987 654 321 để bổ sung", None, None],
           ["11251", "", "1.1.2", "", 2, 2, 1, "Thiếu", "CCCD 030085000123 của bà Nguyễn Văn An", None],
           ["11251", "", "1.2", "", 3, 3, 2, "Chưa đạt", "Kế hoạch số 12/KH-UBND ngày 10/01/2023", None]]
    sats = [SAT_HEADER] + good_ballots() + [ballot(4, bid="0912345678", commune="Xã Thanh Lang")]
    raw = _year(tmp_path, ass, sats)
    cd = clean_year(raw, mini, COMMUNES, survey_start=START, survey_end=END, salt="test")
    reasons = cd.assessment["reason"].tolist()
    assert reasons[0] == "Liên hệ ông [họ tên] [số điện thoại] để bổ sung"
    assert cd.assessment["evidence"].tolist()[1] == "CCCD [số định danh] của bà [họ tên]"
    assert cd.assessment["evidence"].tolist()[2] == "Kế hoạch số 12/KH-UBND ngày 10/01/2023"
    assert cd.ballots["ballot_id"].tolist()[3] == "[số điện thoại] (dòng 5)"
    blob = cd.rejections.to_csv() + cd.ballots.to_csv() + cd.log["conversions"].to_csv()
    assert "0912345678" not in blob and "Trần Văn Bình" not in blob
    priv = cd.log["privacy"].set_index(["file", "column", "kind"])["count"].to_dict()
    assert priv[("tu_danh_gia_tham_dinh_2023.xlsx", "Lý do thẩm định", "phone")] == 1
    assert priv[("tu_danh_gia_tham_dinh_2023.xlsx", "Lý do thẩm định", "name")] == 1
    assert priv[("tu_danh_gia_tham_dinh_2023.xlsx", "Ghi chú minh chứng", "id_number")] == 1
    assert priv[("phieu_hai_long_2023.xlsx", "A 'Mã phiếu'", "phone")] == 1


def test_values_quoted_in_a_refusal_are_masked(tmp_path, mini):
    ass = [ASS_HEADER, [None, "Nguyễn Văn An", "1.1.1", "", 2, 2, 1, "Thiếu", None, None]]
    raw = _year(tmp_path, ass)
    with pytest.raises(InputError) as ei:
        clean_year(raw, mini, COMMUNES, salt="test")
    assert "Nguyễn Văn An" not in str(ei.value) and "[họ tên]" in str(ei.value)


# =========================================================================== duplicates ====
def test_duplicate_scope_commune_or_district_and_pairs_recorded(tmp_path, mini):
    rows = [SAT_HEADER, ballot(1), ballot(2, "TT Thanh Miện", phone="0900000001"), ballot(3, phone="0900000001")]
    path = write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows)
    ing = Ingest()
    _, _, rej = sat(path, mini, ing)
    assert rej[["row", "rule"]].values.tolist() == [[4, "duplicate"]]  # P03 twins P01 in Đoàn Tùng
    dup = ing.duplicates_table()
    assert dup[["row", "ballot_id", "first_row", "first_ballot_id", "matched_on", "scope"]].values.tolist() == [
        [4, "P03", 2, "P01", "phone", "commune"]]
    ing = Ingest(duplicate_scope="district")
    _, _, rej = sat(path, mini, ing)
    assert rej[["row", "rule"]].values.tolist() == [[3, "duplicate"], [4, "duplicate"]]
    assert "0900000001" not in " ".join(rej["detail"]) + ing.duplicates_table().to_csv()


# ============================================================ refused runs keep a diagnosis ====
def _params(tmp_path: Path, raw: Path, sets=()):
    from parindex.params import load_params
    return load_params(2023, sets=[f"inputs.raw_dir={raw}", "robustness.enabled=false", "survey.ci_draws=100",
                                   "district.communes=" + str(ROOT / "data/reference/thanh_mien_communes_2023.csv"),
                                   *sets], root=ROOT)


def test_refused_run_keeps_its_diagnosis_and_a_later_run_removes_it(tmp_path):
    from parindex.pipeline import run_pipeline
    from parindex.runner import RunError

    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw" / "2023", raw)
    wb = openpyxl.load_workbook(raw / "phieu_hai_long_2023.xlsx")
    ws = wb["PhieuHaiLong"]
    for r in range(5, 60):  # the first 55 ballots get a procedure field nobody knows
        ws.cell(r, 4).value = "Xây dựng"
    wb.save(raw / "phieu_hai_long_2023.xlsx")
    out = tmp_path / "reports"
    with pytest.raises(RunError) as ei:
        run_pipeline(_params(tmp_path, raw), root=ROOT, out_root=out, processed_root=tmp_path / "processed",
                     previous=None, log=lambda *a, **k: None)
    diag = out / "2023" / "diagnosis"
    assert str(diag) in str(ei.value)
    assert sorted(p.name for p in diag.iterdir()) == ["README.txt", "conversions.csv", "problems.csv",
                                                      "rejections.csv", "summary.csv"]
    summary = pd.read_csv(diag / "summary.csv", keep_default_na=False)
    refused = summary[summary["kind"] == "refused"]
    assert refused[["file", "column", "count"]].values.tolist() == [["phieu_hai_long_2023.xlsx", "D 'Lĩnh vực'", 1]]
    rej = pd.read_csv(diag / "rejections.csv", keep_default_na=False)
    unknown = rej.loc[rej["rule"] == "unknown_field", "row"]
    assert unknown.between(5, 59).all() and len(unknown) >= 54  # (a ballot already out for an earlier rule stays so)
    assert not (out / "2023" / "index.html").exists() and not (out / "2023" / "runs").exists()
    # fixed → the run completes and the stale diagnosis goes
    shutil.copy(ROOT / "data" / "raw" / "2023" / "phieu_hai_long_2023.xlsx", raw / "phieu_hai_long_2023.xlsx")
    run_pipeline(_params(tmp_path, raw), root=ROOT, out_root=out, processed_root=tmp_path / "processed",
                 previous=None, log=lambda *a, **k: None, publish=True)   # a what-if, published as asked
    assert not diag.exists() and (out / "2023" / "index.html").exists()


def test_allow_missing_as_zero_refused_when_a_communes_rows_exist_but_were_excluded(tmp_path):
    from parindex.pipeline import check_missing_as_zero

    cov = pd.DataFrame({"survey": ["satisfaction", "satisfaction"], "commune_code": ["11251", "11239"],
                        "rows": [50, 0], "valid": [0, 0], "excluded": [50, 0]})
    with pytest.raises(ValueError, match="xã 11251.*50 dòng"):
        check_missing_as_zero(cov)
    check_missing_as_zero(cov[cov["commune_code"] == "11239"])  # genuinely absent: fine


def test_exclusion_warning_above_threshold():
    from parindex.pipeline import exclusion_info

    ex = pd.DataFrame({"survey": ["officials", "satisfaction"], "file": ["a.xlsx", "b.xlsx"], "rows": [100, 200],
                       "valid": [99, 180], "excluded": [1, 20]})
    info = exclusion_info(ex, 0.05)
    assert "20/200 phiếu khảo sát sự hài lòng (b.xlsx) bị loại — 10,0 %" in info["warning"]
    assert "a.xlsx" not in info["warning"]
    assert exclusion_info(ex, 0.2)["warning"] == ""


def test_demo_year_logs_its_conversions(tmp_path):
    """The shipped 2023 demo files: a TCVN3 workbook, a quirky dossier file, everyday group labels."""
    meth = load_methodology(ROOT / "methodologies" / "reference-default-v1.yaml")
    from parindex.communes import load_communes
    cd = clean_year(ROOT / "data" / "raw" / "2023", meth, load_communes(ROOT / "data" / "reference" / "thanh_mien_communes_2023.csv"), salt="test")
    conv = cd.log["conversions"]
    got = set(zip(conv["file"], conv["kind"]))
    assert {("tu_danh_gia_tham_dinh_2023.xlsx", "encoding"), ("tu_danh_gia_tham_dinh_2023.xlsx", "header_encoding"),
            ("so_ho_so_2023.xlsx", "total_row"), ("so_ho_so_2023.xlsx", "two_level_header"),
            ("so_ho_so_2023.xlsx", "heading"), ("phieu_can_bo_2023.xlsx", "alias")} <= got
    reasons = set(cd.assessment["reason"]) | set(cd.assessment["evidence"])
    assert any(r.startswith("Ảnh chụp bảng niêm yết") for r in reasons)
    assert not any(ch in "".join(reasons) for ch in "§µ·¸¹¶")


def test_run_refused_by_scoring_keeps_the_rejection_log_and_allow_missing_as_zero_is_refused(tmp_path):
    """Every ballot of one commune more than half blank: cleaning completes (a rule, not a vocabulary
    problem), scoring refuses the commune without answers — the diagnosis keeps the rejection log — and
    --allow-missing-as-zero is refused because the commune's ballots exist."""
    from parindex.pipeline import run_pipeline
    from parindex.runner import RunError

    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw" / "2023", raw)
    wb = openpyxl.load_workbook(raw / "phieu_hai_long_2023.xlsx")
    ws = wb["PhieuHaiLong"]
    m = CommuneMatcher(pd.read_csv(ROOT / "data/reference/thanh_mien_communes_2023.csv", dtype=str).rename(
        columns={"gso_level3_id": "commune_code", "name": "commune_name"}))
    hit = 0
    for r in range(5, ws.max_row + 1):
        if m.match(ws.cell(r, 3).value) == "11251":
            for c in range(8, 20):
                ws.cell(r, c).value = None
            hit += 1
    wb.save(raw / "phieu_hai_long_2023.xlsx")
    assert hit == 50
    out = tmp_path / "reports"
    quiet = dict(root=ROOT, out_root=out, processed_root=tmp_path / "processed", previous=None,
                 log=lambda *a, **k: None)
    with pytest.raises(RunError) as ei:
        run_pipeline(_params(tmp_path, raw), **quiet)
    diag = out / "2023" / "diagnosis"
    assert "11251" in str(ei.value) and str(diag) in str(ei.value)
    rej = pd.read_csv(diag / "rejections.csv", keep_default_na=False)
    assert (rej["rule"] == "blank_majority").sum() == 50 + 1  # the demo's own blank ballot too
    summary = pd.read_csv(diag / "summary.csv", keep_default_na=False)
    assert summary.loc[summary["rule"] == "blank_majority", "count"].tolist() == [51]
    with pytest.raises(RunError, match="allow_missing_as_zero.*xã 11251"):
        run_pipeline(_params(tmp_path, raw, ["scoring.allow_missing_as_zero=true"]), **quiet)


def test_report_appendix_lists_conversions_and_masked_personal_data():
    """The data-quality appendix shows the clean stage's conversions and privacy tables (text escaped)."""
    from report_fixture import full_tables, robustness_tables

    from parindex.publish.report import ReportContext, render_report

    tables, meth, _ = full_tables()
    tables = dict(tables)
    tables["conversions"] = pd.DataFrame({
        "file": ["tu_danh_gia_tham_dinh_2023.xlsx", "so_ho_so_2023.xlsx"], "sheet": ["ChamDiem", "HoSo"],
        "column": ["H 'Lý do thẩm định'", ""], "kind": ["encoding", "total_row"],
        "detail": ["TCVN3 (ABC, phông .VnTime) → Unicode", "dòng 29 <b>là</b> dòng tổng cộng"], "count": [95, 1]})
    tables["privacy"] = pd.DataFrame({"file": ["tu_danh_gia_tham_dinh_2023.xlsx"], "column": ["Lý do thẩm định"],
                                      "kind": ["phone"], "count": [2]})
    ctx = ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương", run_label="x", params={},
                        robustness_summary=robustness_tables()[1])
    html = render_report(tables, meth, ctx)
    part = html[html.index('id="conversions"'):]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>"
                      r"<td class=\"num\">(\d+)</td></tr>", part[:part.index("</table>")])
    assert rows[0] == ("tu_danh_gia_tham_dinh_2023.xlsx", "ChamDiem", "H &#39;Lý do thẩm định&#39;",
                       "Chuyển bảng mã cũ sang Unicode", "TCVN3 (ABC, phông .VnTime) → Unicode", "95")
    assert rows[1][3] == "Dòng tổng cộng bỏ qua" and "&lt;b&gt;là&lt;/b&gt;" in rows[1][4]
    priv = html[html.index('id="privacy"'):]
    assert "<td>Số điện thoại</td><td class=\"num\">2</td>" in priv
