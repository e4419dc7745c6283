"""results.csv and results.xlsx on the synthetic fixture (hand computation in tests/report_fixture.py)."""

from __future__ import annotations

import io
import time
import zipfile

import openpyxl
import pandas as pd
import pytest
from report_fixture import SCRIPT_INJECTION, scored_tables

from parindex.export import write_results_csv, write_results_xlsx

CSV_COLUMNS = ["commune_code", "commune_name", "points", "max_points", "index_pct", "rank", "band", "band_label",
               "field_1_points", "field_2_points", "field_3_points", "field_4_points", "field_5_points",
               "field_6_points", "field_7_points", "field_8_points", "appraisal_points",
               "officials_survey_points", "satisfaction_survey_points", "bonus", "deduction"]
SHEETS = ["Kết quả", "Điểm theo lĩnh vực", "Điểm tiêu chí", "Thẩm định", "Hài lòng", "Thiếu dữ liệu",
          "Dòng bị loại", "Phiếu hài lòng", "Phương pháp"]


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
    fields = df[[f"field_{i}_points" for i in range(1, 9)]].values.tolist()
    assert fields == [
        [10.0, 8.0, 14.5, 6.0, 12.0, 8.0, 15.0, 25.0],   # 3.2.1 cut 3 → 1.5
        [9.6, 7.6, 15.4, 5.6, 11.4, 7.6, 11.6, 19.2],    # officials × 0.8, 7.2.x cut 3, SIPAS 5
        [8.6, 6.6, 13.9, 4.6, 9.9, 5.1, 13.6, 20.2],     # officials × 0.3, 6.3 missing, 8.1.1 cut 2
        [7.0, 6.0, 13.0, 4.0, 8.0, 6.0, 13.0, 20.0],     # officials 0, 1.2 n/a, 5.4.1 cut 1, SIPAS 9
    ]
    assert df["bonus"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert df["deduction"].tolist() == [0.0, 0.0, 2.0, 0.0]                     # 3 capped at 2
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
        "Hạng", "Mã xã", "Tên xã, thị trấn", "Điểm đạt", "Điểm tối đa", "Chỉ số CCHC (%)", "Mức xếp loại",
        "Xếp loại", "Điểm thẩm định", "Điểm điều tra xã hội học", "Điểm khảo sát sự hài lòng (SIPAS)",
        "Điểm thưởng", "Điểm trừ"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert rows[3] == [4, "11245", "Xã Phạm Kha", 77, 99, 77.7778, "C", "Dưới 80 %", 68, 0, 9, 0, 0]
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
