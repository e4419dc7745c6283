"""results.csv and results.xlsx on the synthetic fixture (hand computation in tests/report_fixture.py)."""

from __future__ import annotations

import io
import time
import zipfile

import openpyxl
import pandas as pd
import pytest
from report_fixture import LABEL_INJECTION, SCRIPT_INJECTION, off_step, robustness_tables, scored_tables

from parindex.publish import figures as F
from parindex.publish import robustness_figures as RF
from parindex.publish.export import PNG_MAGIC, write_chart_images, write_results_csv, write_results_xlsx
from parindex.publish.report import ReportContext, render_report

CSV_COLUMNS = ["commune_code", "commune_name", "points", "max_points", "index_pct", "rank", "band", "band_label",
               "band_name", "field_1_points", "field_2_points", "field_3_points", "field_4_points", "field_5_points",
               "field_6_points", "field_7_points", "field_8_points", "appraisal_points",
               "officials_survey_points", "satisfaction_survey_points", "bonus", "deduction",
               "sat_index_pct", "sat_ci_low", "sat_ci_high", "officials_points", "officials_ci_low",
               "officials_ci_high", "ballots_received", "ballots_valid", "ballots_excluded"]
SHEETS = ["Kết quả", "Điểm theo lĩnh vực", "Điểm tiêu chí", "Thẩm định", "Hài lòng", "Thiếu dữ liệu",
          "Dòng bị loại", "Phiếu hài lòng", "Điều chỉnh và loại trừ", "Phương pháp"]


@pytest.fixture(scope="module")
def scored():
    return scored_tables()


# ---------------------------------------------------------------- csv -----------
def test_results_csv_columns_and_values(scored, tmp_path):
    tables, meth = scored
    path = tmp_path / "results.csv"
    write_results_csv(tables["results"], meth, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")           # UTF-8 BOM for Excel
    assert b"\r" not in raw
    df = pd.read_csv(path, encoding="utf-8-sig", dtype={"commune_code": str}, keep_default_na=False)
    assert list(df.columns) == CSV_COLUMNS
    assert df["commune_code"].tolist() == ["11239", "11242", "11248", "11245"]   # rank order
    assert df["commune_name"].tolist() == ["Thị trấn Thanh Miện", "Xã Thanh Tùng", "Xã Ngô Quyền " + SCRIPT_INJECTION,
                                           "Xã Phạm Kha"]
    # points: 68.5 + 20 + 10 | 67 + 16 + 5 + 1 bonus | 66.5 + 6 + 10 − 2 deduction | 68 + 0 + 9
    assert df["points"].tolist() == [98.5, 89.0, 80.5, 77.0]
    assert df["max_points"].tolist() == [100.0, 100.0, 100.0, 99.0]            # 11245: 1.2 (1 point) n/a
    assert df["index_pct"].tolist() == [98.5, 89.0, 80.5, 77.7778]              # 77 / 99 = 77.777… → 4 decimals
    assert df["rank"].tolist() == [1, 2, 3, 4]
    assert df["band"].tolist() == ["A", "B", "B", "C"]
    assert df["band_label"].tolist() == ["Từ 90 % trở lên", "Từ 80 % đến dưới 90 %", "Từ 80 % đến dưới 90 %",
                                         "Dưới 80 %"]
    assert df["band_name"].tolist() == ["Tốt", "Khá", "Khá", "Trung bình"]
    fields = df[[f"field_{i}_points" for i in range(1, 9)]].values.tolist()
    assert fields == [
        [10.0, 8.0, 14.5, 6.0, 12.0, 8.0, 15.0, 25.0],   # 3.2.1 cut 3 → 1.5
        [9.6, 7.6, 15.4, 5.6, 11.4, 7.6, 11.6, 19.2],    # officials × 0.8, 7.2.x cut 3, SIPAS 5
        [8.6, 6.6, 13.9, 4.6, 9.9, 5.1, 13.6, 20.2],     # officials × 0.3, 6.3 missing, 8.1.1 cut 2
        [7.0, 6.0, 13.0, 4.0, 8.0, 6.0, 13.0, 20.0],     # officials 0, 1.2 n/a, 5.4.1 cut 1, SIPAS 9
    ]
    assert df["bonus"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert df["deduction"].tolist() == [0.0, 0.0, 2.0, 0.0]                     # 3 capped at 2
    # survey columns of the contract (hand values in report_fixture.scored_tables)
    assert df["sat_index_pct"].tolist() == [100.0, 50.0, 100.0, 90.0]
    assert df["officials_points"].tolist() == [20.0, 16.0, 6.0, 0.0]
    assert df["ballots_received"].tolist() == [2, 3, 3, 2]
    assert df["ballots_valid"].tolist() == [2, 2, 2, 2]
    assert df["ballots_excluded"].tolist() == [0, 1, 1, 0]
    assert df.loc[0, ["sat_ci_low", "sat_ci_high", "officials_ci_low", "officials_ci_high"]].tolist() == [
        100.0, 100.0, 20.0, 20.0]                                                # every answer alike
    assert (df["sat_ci_low"] <= df["sat_index_pct"]).all() and (df["sat_index_pct"] <= df["sat_ci_high"]).all()
    # ballot counts are written as integers: the 11242 row ends with 3 received, 2 valid, 1 excluded
    assert raw.decode("utf-8-sig").split("\n")[2].endswith(",3,2,1")
    # float formatting: rounded to 4 decimals, no binary noise (9.600000000000001)
    text = raw.decode("utf-8-sig")
    assert ",77.7778,4,C," in text and "9.6,7.6,15.4" in text
    assert "0000001" not in text and "9999" not in text


def test_results_csv_is_byte_identical_when_rewritten(scored, tmp_path):
    tables, meth = scored
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_results_csv(tables["results"], meth, a)
    write_results_csv(tables["results"].sample(frac=1.0, random_state=3), meth, b)  # input order irrelevant
    assert a.read_bytes() == b.read_bytes()


def test_results_csv_refuses_a_table_without_field_columns(scored, tmp_path):
    tables, meth = scored
    with pytest.raises(ValueError, match="field_3_points"):
        write_results_csv(tables["results"].drop(columns="field_3_points"), meth, tmp_path / "x.csv")


# ---------------------------------------------------------------- xlsx ----------
@pytest.fixture(scope="module")
def xlsx(scored, tmp_path_factory):
    tables, meth = scored
    path = tmp_path_factory.mktemp("xlsx") / "results.xlsx"
    write_results_xlsx(tables, meth, path)
    return path


def test_xlsx_sheets_headers_frozen_panes(xlsx):
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == SHEETS
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.bold for c in ws[1]), ws.title
    ws = wb["Kết quả"]
    assert [c.value for c in ws[1]] == [
        "Hạng", "Mã xã", "Tên xã, thị trấn", "Điểm đạt", "Điểm tối đa", "Chỉ số CCHC (%)",
        "Xếp loại", "Điểm thẩm định", "Điểm điều tra xã hội học", "Điểm khảo sát sự hài lòng (SIPAS)",
        "Điểm thưởng", "Điểm trừ", "Chỉ số hài lòng (%)", "Hài lòng: cận dưới khoảng tin cậy 95 % (%)",
        "Hài lòng: cận trên khoảng tin cậy 95 % (%)", "Điểm điều tra cán bộ, đại biểu",
        "Điều tra cán bộ: cận dưới khoảng tin cậy 95 %", "Điều tra cán bộ: cận trên khoảng tin cậy 95 %",
        "Số phiếu hài lòng nhận được", "Số phiếu hợp lệ", "Số phiếu bị loại"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    # 11245: SIPAS 90 %, officials D and blank → 0 (interval 0–0), ballots 2 / 2 / 0
    assert rows[3][:12] == [4, "11245", "Xã Phạm Kha", 77, 99, 77.7778, "Trung bình", 68, 0, 9, 0, 0]
    assert rows[3][12] == 90 and rows[3][15:] == [0, 0, 0, 2, 2, 0]
    assert ws["U2"].number_format == "0"
    assert rows[1][:6] == [2, "11242", "Xã Thanh Tùng", 89, 100, 89]
    assert ws["F2"].number_format == "0.00" and ws["A2"].number_format == "0"
    assert ws.column_dimensions["C"].width >= len("Xã Ngô Quyền " + SCRIPT_INJECTION)
    f = wb["Điểm theo lĩnh vực"]
    assert f["D1"].value == "1. Công tác chỉ đạo, điều hành CCHC (tối đa 10)"
    assert [c.value for c in f[3]][3:] == [9.6, 7.6, 15.4, 5.6, 11.4, 7.6, 11.6, 19.2, 88]  # 11242; + 1 bonus = 89
    t = wb["Thẩm định"]
    assert [c.value for c in t[1]] == ["Mã xã", "Tên xã, thị trấn", "Mã tiêu chí", "Tiêu chí", "Điểm tối đa",
                                       "Điểm tự chấm", "Điểm thẩm định", "Chênh lệch", "Điều chỉnh",
                                       "Lý do thẩm định", "Cảnh báo"]
    cut = [c.value for c in t[5]]   # rows sorted by commune, code: 11239, 11242 ×2, 11245 5.4.1
    assert cut[:3] == ["11245", "Xã Phạm Kha", "5.4.1"] and cut[5:9] == [2, 1, -1, "giảm"]
    assert cut[10] == "giảm điểm không có lý do"
    h = wb["Hài lòng"]
    rows = {(r[0].value, r[2].value): [c.value for c in r] for r in h.iter_rows(min_row=2)}
    assert rows[("11245", "TC")][3:] == ["Tiếp cận dịch vụ", 4, 2, 50]          # 2 of 4 answers are 4–5
    assert wb["Thiếu dữ liệu"]["C2"].value == "6.3"
    assert wb["Điểm tiêu chí"].max_row == 1 + 4 * 49                              # 4 communes × 49 leaves


def test_xlsx_is_byte_identical_when_rewritten(scored, xlsx, tmp_path):
    tables, meth = scored
    time.sleep(1.1)  # zip entry and document timestamps would otherwise move on
    again = tmp_path / "again.xlsx"
    write_results_xlsx(tables, meth, again)
    assert again.read_bytes() == xlsx.read_bytes()
    with zipfile.ZipFile(io.BytesIO(xlsx.read_bytes())) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core
    wb = openpyxl.load_workbook(xlsx)
    assert str(wb.properties.created) == str(wb.properties.modified) == "2000-01-01 00:00:00"


def test_xlsx_leaves_out_sheets_of_absent_tables(scored, tmp_path):
    tables, meth = scored
    path = tmp_path / "r.xlsx"
    write_results_xlsx({"results": tables["results"]}, meth, path)
    assert openpyxl.load_workbook(path).sheetnames == ["Kết quả", "Điểm theo lĩnh vực", "Phương pháp"]
    with pytest.raises(ValueError, match="'results' is required"):
        write_results_xlsx({"leaf_scores": tables["leaf_scores"]}, meth, tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


def test_xlsx_off_step_sheet(scored, tmp_path):
    tables, meth = scored
    assert tables["off_step"].empty  # none in the fixture: no sheet (SHEETS above)
    path = tmp_path / "r.xlsx"
    write_results_xlsx({**tables, "off_step": off_step()}, meth, path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == SHEETS[:6] + ["Điểm không theo mức"] + SHEETS[6:]
    ws = wb["Điểm không theo mức"]
    assert ws.freeze_panes == "A2"
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows == [
        ["Mã xã", "Tên xã, thị trấn", "Mã tiêu chí", "Tiêu chí", "Loại điểm", "Điểm", "Các mức hợp lệ"],
        ["11242", "Xã Thanh Tùng", "7.2.1", "Tỷ lệ hồ sơ trực tuyến", "tự chấm", 1.25, "2 / 1 / 0"],
        ["11248", "Xã Ngô Quyền " + SCRIPT_INJECTION, "3.2.1", "Tỷ lệ hồ sơ giải quyết đúng hạn " + LABEL_INJECTION,
         "thẩm định", 0.7, "3 / 1,5 / 0"]]
    assert ws["F2"].number_format == "0.00"


def test_xlsx_robustness_sheet(scored, tmp_path):
    tables, meth = scored
    rob, _ = robustness_tables()
    path = tmp_path / "r.xlsx"
    write_results_xlsx({**tables, **rob}, meth, path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == SHEETS[:-2] + ["Độ vững xếp hạng", "Điều chỉnh và loại trừ", "Phương pháp"]
    ws = wb["Độ vững xếp hạng"]
    assert [c.value for c in ws[1]] == [
        "Hạng công bố", "Mã xã", "Tên xã, thị trấn", "Hạng trung vị", "Hạng: phân vị 5 %", "Hạng: phân vị 95 %",
        "Xác suất xếp loại Tốt (%)", "Xác suất xếp loại Khá (%)",
        "Xác suất xếp loại Trung bình (%)", "Xác suất thuộc nhóm dẫn đầu (%)", "Mức thay đổi hạng bình quân"]
    # 11248 (rank 3): median 3, 2–4, P(B) 0.6 → 60 %, P(C) 40 %, top 3 75 %, mean |shift| 0.5
    assert [c.value for c in ws[4]] == [3, "11248", "Xã Ngô Quyền " + SCRIPT_INJECTION, 3, 2, 4, 0, 60, 40, 75, 0.5]


# ---------------------------------------------------------------- png images -----
def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk (bytes 16–24 of a PNG)."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_chart_images_are_valid_pngs_and_leave_the_html_alone(scored, tmp_path):
    tables, meth = scored
    rob, summary = robustness_tables()
    ctx = ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương",
                        robustness_summary=summary)
    before = render_report({**tables, **rob}, meth, ctx)
    figs = {"xep_hang": F.fig_ranking(tables["results"], meth), "diem_linh_vuc": F.fig_fields(tables["results"], meth),
            "khoang_thu_hang": RF.fig_rank_intervals(rob["robustness"])}
    layouts = {k: f.to_json() for k, f in figs.items()}
    paths = write_chart_images(figs, tmp_path / "images")
    assert [p.name for p in paths] == ["xep_hang.png", "diem_linh_vuc.png", "khoang_thu_hang.png"]
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == sorted(p.name for p in paths)  # no temp files
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR", p.name
        assert len(data) > 10_000, p.name
        w, h = _png_size(data)
        assert w == 1200 and h >= 320, (p.name, w, h)
    # the ranking chart is as tall as its layout says (4 communes → max(320, 4 × 30 + 150) = 320 px)
    assert _png_size(paths[0].read_bytes()) == (1200, 320)
    # the figures given were not modified, and the page built from the same tables is unchanged
    assert {k: f.to_json() for k, f in figs.items()} == layouts
    assert render_report({**tables, **rob}, meth, ctx) == before
    with pytest.raises(ValueError, match="not a usable file name"):
        write_chart_images({"../x": figs["xep_hang"]}, tmp_path / "images")


# ---------------------------------------------------------------- xlsx ready to print and to reuse ------
def test_xlsx_prints_landscape_fit_to_width_with_the_header_on_every_page(xlsx):
    wb = openpyxl.load_workbook(xlsx)
    for ws in wb.worksheets:
        ps = ws.page_setup
        assert ps.orientation == "landscape" and str(ps.paperSize) == "9", ws.title   # 9 = A4
        assert ps.fitToWidth == 1 and ps.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.print_title_rows == "$1:$1", ws.title


def test_xlsx_dates_numbers_and_words(scored, tmp_path):
    import datetime as dt

    from report_fixture import previous_results
    tables, meth = scored
    path = tmp_path / "r.xlsx"
    write_results_xlsx({**tables, "previous_results": previous_results()}, meth, path)
    wb = openpyxl.load_workbook(path)
    # survey dates are dates (shown dd/mm/yyyy), not text; rule codes and procedure fields in words
    ws = wb["Phiếu hài lòng"]
    head = [c.value for c in ws[1]]
    assert head == ["Mã phiếu", "Mã xã", "Tên xã, thị trấn", "Lĩnh vực TTHC", "Ngày khảo sát", "Tình trạng", "Lý do loại"]
    first = [c for c in ws[2]]
    assert first[4].value == dt.datetime(2023, 11, 20) and first[4].number_format == "dd/mm/yyyy"
    assert first[3].value == "Hộ tịch"
    rules = {r[0].value: r[6].value for r in ws.iter_rows(min_row=2)}
    assert rules["HL-11242-9"] == "Quá nửa số câu bỏ trống" and rules["HL-11248-9"] == "Phiếu trùng"
    # rejection rows: row numbers are numbers, rule names and details in Vietnamese (English stays in the log)
    rej = [[c.value for c in r] for r in wb["Dòng bị loại"].iter_rows()]
    assert rej[0] == ["Tệp", "Trang tính", "Dòng", "Lý do loại", "Chi tiết"]
    assert rej[1][2] == 14 and isinstance(rej[1][2], int) and rej[1][3] == "Quá nửa số câu bỏ trống"
    # the methodology sheet: its status in words, each band's name with its threshold
    info = {r[0].value: r[1].value for r in wb["Phương pháp"].iter_rows(min_row=2)}
    assert info["Tình trạng"] == "Mặc định tham chiếu" and info["Xếp loại Tốt"] == "Từ 90 % trở lên"
    # the year-over-year sheet (previous_results(): 11239 2 → 1, 11242 4 → 2, 11248 3 → 3, 11245 1 → 4)
    yo = [[c.value for c in r] for r in wb["So với năm trước"].iter_rows()]
    assert yo[0] == ["Hạng năm nay", "Mã xã", "Tên xã, thị trấn", "Hạng năm trước", "Thay đổi hạng (+ = tăng)",
                     "Chỉ số năm trước (%)", "Chỉ số năm nay (%)", "Thay đổi chỉ số (điểm phần trăm)"]
    assert [r[4] for r in yo[1:]] == [1, 2, 0, -3] and yo[4][7] == pytest.approx(-12.2222, abs=1e-4)
    assert wb.sheetnames[-2:] == ["So với năm trước", "Phương pháp"]


def test_chart_images_carry_title_year_and_source(scored):
    tables, meth = scored
    fig = F.fig_ranking(tables["results"], meth)
    img = F.for_image(fig, "Xếp hạng Chỉ số CCHC năm 2023", "Nguồn: Huyện Thanh Miện — kết quả năm 2023")
    assert img.layout.title.text == "<b>Xếp hạng Chỉ số CCHC năm 2023</b>"
    assert img.layout.annotations[-1].text == "Nguồn: Huyện Thanh Miện — kết quả năm 2023"
    assert img.layout.height == fig.layout.height + 86 and img.layout.template.layout.paper_bgcolor == "white"
    assert fig.layout.title.text is None   # the page's figure is untouched
    # text from inputs stays text in the picture too
    assert F.for_image(fig, "<b>x</b>", "s").layout.title.text == "<b>&lt;b&gt;x&lt;/b&gt;</b>"


def test_a_hung_chromium_job_is_abandoned_and_started_again():
    # headless Chromium rarely never answers at start-up: the call is abandoned after the timeout and made again
    import threading

    from parindex.publish.export import with_watchdog

    release = threading.Event()
    calls = []

    def job():
        calls.append(len(calls) + 1)
        if len(calls) == 1:
            release.wait(30)        # the first call hangs (released at the end, so its thread ends)
            return "late"
        return "drawn"

    try:
        assert with_watchdog(job, "test", timeout=0.2) == "drawn" and calls == [1, 2]
        calls.clear()
        with pytest.raises(RuntimeError, match=r"test: Chromium không phản hồi sau 1 lần thử.*did not answer"):
            with_watchdog(job, "test", timeout=0.2, attempts=1)
    finally:
        release.set()

    def broken():
        raise ValueError("no PNG")

    with pytest.raises(ValueError, match="no PNG"):       # an error is the caller's, not retried
        with_watchdog(broken, "test", timeout=5)
