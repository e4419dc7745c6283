"""Helpers that write small raw survey files into tmp_path, and a corpus of bad files.

The fixtures use the tiny methodology of conftest.MINI: satisfaction questions Q1, Q2 (factor F1) and
Q3 (F2), scale 1–5, procedure fields HT "Hộ tịch" / CT "Chứng thực"; one officials-survey leaf 1.3,
groups G1 "Nhóm 1" / G2 "Nhóm 2". Each case either is cleaned with every bad ballot logged under a
rule, or is refused with a message naming file, sheet, row and column.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import openpyxl
import pandas as pd

COMMUNES = pd.DataFrame({
    "commune_code": ["11239", "11251", "11281", "11284"],
    "commune_name": ["Thị trấn Thanh Miện", "Xã Đoàn Tùng", "Xã Chi Lăng Bắc", "Xã Chi Lăng Nam"],
    "commune_type": ["Thị trấn", "Xã", "Xã", "Xã"],
})

SAT_HEADER = ["Mã phiếu", "Ngày khảo sát", "Xã, thị trấn", "Lĩnh vực", "Họ và tên", "Số điện thoại", "Số CCCD",
              "Q1", "Q2", "Q3"]
OFF_HEADER = ["Mã phiếu", "Nhóm đối tượng", "Họ và tên", "Xã, thị trấn", "1.3"]
SAT_SHEET, OFF_SHEET = "PhieuHaiLong", "PhieuCanBo"
SAT_FILE, OFF_FILE = "phieu_hai_long_2023", "phieu_can_bo_2023"

_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_cp1258(text: str) -> bytes:
    """Encode Vietnamese text as Windows-1258: base letters (â, ơ, ư, đ …) precomposed, tone marks as
    combining characters after them — the way that code page spells them."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        d = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in d if c in _TONES)
        base = unicodedata.normalize("NFC", "".join(c for c in d if c not in _TONES))
        out.append(base + tones)
    return "".join(out).encode("cp1258")


def write_xlsx(path: Path, rows: list[list], sheet: str = SAT_SHEET, titles: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for t in titles:
        ws.append([t])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8-sig", delimiter: str = ",") -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(
        [["" if v is None else str(v) for v in r] for r in rows])
    text = buf.getvalue()
    path.write_bytes(to_cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    return path


def ballot(n: int, commune: str = "Xã Đoàn Tùng", field_: str = "Hộ tịch", answers=(5, 4, 4),
           date: str = "15/10/2023", phone: str | None = None, idno: str | None = None,
           name: str = "Nguyễn Văn An", bid: str | None = None) -> list:
    """One satisfaction ballot row; phone and ID number are unique per n unless given."""
    return [bid or f"P{n:02d}", date, commune, field_, name,
            phone or f"09{n:08d}", idno or f"0300850{n:05d}", *answers]


def good_ballots() -> list[list]:
    """Three valid ballots (rows 2, 3, 4 under a header on row 1)."""
    return [ballot(1), ballot(2, "Thị trấn Thanh Miện", "Chứng thực", (4, 5, 3)),
            ballot(3, "Xã Chi Lăng Bắc", "HT", (5, 5, 5))]


@dataclass
class BadCase:
    """A bad file: ``build(tmp_path)`` writes it. Cleaned cases list (row, rule) of every rejection and
    the ballot ids kept; refused cases list message fragments (beyond the file name)."""

    name: str
    build: Callable[[Path], Path]
    kind: str = "satisfaction"  # or "officials"
    rejected: list[tuple[int, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    refused: list[str] | None = None  # message fragments when the file must be refused


def _sat(rows, name=SAT_FILE + ".xlsx", **kw):
    return lambda tmp: write_xlsx(tmp / name, rows, **kw)


def _raw(name: str, data: bytes):
    def build(tmp: Path) -> Path:
        (tmp / name).write_bytes(data)
        return tmp / name
    return build


def _sat_csv(rows, encoding, name=SAT_FILE + ".csv", **kw):
    return lambda tmp: write_csv(tmp / name, rows, encoding, **kw)


G = good_ballots()
X = "phieu_hai_long_2023.xlsx"
CASES: list[BadCase] = [
    # ---- refused: the file cannot be used -----------------------------------------------------
    BadCase("missing_column", _sat([[h for h in SAT_HEADER if h != "Lĩnh vực"]] + [r[:3] + r[4:] for r in G]),
            refused=[X, "trang tính 'PhieuHaiLong'", "dòng 1", "cột 'Lĩnh vực'", "missing column 'Lĩnh vực'"]),
    BadCase("missing_question_column", _sat([SAT_HEADER[:-1]] + [r[:-1] for r in G]),
            refused=[X, "trang tính 'PhieuHaiLong'", "dòng 1", "cột 'Q3'"]),
    BadCase("wrong_sheet_name", _sat([SAT_HEADER] + G, sheet="Sheet1"),
            refused=[X, "không có trang tính 'PhieuHaiLong'", "'Sheet1'", "dòng 1, cột A–J",
                     "expected sheet 'PhieuHaiLong', found: 'Sheet1'"]),
    BadCase("blank_file_xlsx", _sat([]),
            refused=[X, "trang tính 'PhieuHaiLong'", "dòng 1", "tệp trống", "'Mã phiếu'", "'Q3'"]),
    BadCase("blank_file_csv", _raw(SAT_FILE + ".csv", b""),
            refused=["phieu_hai_long_2023.csv", "tệp CSV", "dòng 1", "tệp trống", "'Ngày khảo sát'"]),
    BadCase("header_only", _sat([SAT_HEADER]),
            refused=[X, "trang tính 'PhieuHaiLong'", "dòng 2", "không có dòng dữ liệu"]),
    BadCase("duplicate_column", _sat([SAT_HEADER + ["Q1"]] + [r + [5] for r in G]),
            refused=[X, "trang tính 'PhieuHaiLong'", "dòng 1", "cột H, K 'Q1'", "appears 2 times"]),
    BadCase("not_an_xlsx", _raw(X, "Mã phiếu,Q1\nP1,5\n".encode()),
            refused=[X, "không phải bảng tính Excel"]),
    BadCase("unreadable_encoding", _raw(SAT_FILE + ".csv", b"Ma phieu,Ngay\nP01,\x81\x8d\x8e\n"),
        refused=["phieu_hai_long_2023.csv", "tệp CSV", "dòng 2, cột B", "không đọc được bảng mã", "Windows-1258"]),
    BadCase("missing_column_csv", _sat_csv([[h for h in SAT_HEADER if h != "Xã, thị trấn"]] + [r[:2] + r[3:] for r in G],
                                           "utf-8-sig"),
            refused=["phieu_hai_long_2023.csv", "tệp CSV", "dòng 1", "cột 'Xã, thị trấn'"]),
    BadCase("officials_missing_group_column", lambda tmp: write_xlsx(
        tmp / (OFF_FILE + ".xlsx"), [[h for h in OFF_HEADER if h != "Nhóm đối tượng"], ["CB1", "A", "Xã Đoàn Tùng", "A"]],
        sheet=OFF_SHEET), kind="officials",
        refused=["phieu_can_bo_2023.xlsx", "trang tính 'PhieuCanBo'", "dòng 1", "cột 'Nhóm đối tượng'"]),
    # ---- cleaned: bad ballots excluded and logged ---------------------------------------------
    BadCase("text_in_answer_column", _sat([SAT_HEADER] + G + [ballot(4, answers=("Tốt", 4, 4))]),
            rejected=[(5, "out_of_range")], kept=["P01", "P02", "P03"]),
    BadCase("answer_6", _sat([SAT_HEADER] + G + [ballot(4, answers=(5, 6, 4))]),
            rejected=[(5, "out_of_range")], kept=["P01", "P02", "P03"]),
    BadCase("answer_0_and_decimal", _sat([SAT_HEADER] + G + [ballot(4, answers=(0, 4, 4)),
                                                             ballot(5, answers=(4, 4.5, 4))]),
            rejected=[(5, "out_of_range"), (6, "out_of_range")], kept=["P01", "P02", "P03"]),
    BadCase("more_than_half_blank", _sat([SAT_HEADER] + G + [ballot(4, answers=(None, None, 4)),
                                                             ballot(5, answers=(None, 4, 4))]),
            # 2 of 3 blank > 1.5 → excluded; 1 of 3 blank is fine
            rejected=[(5, "blank_majority")], kept=["P01", "P02", "P03", "P05"]),
    BadCase("duplicate_phone", _sat([SAT_HEADER] + G + [ballot(4, phone="0900000001")]),
            rejected=[(5, "duplicate")], kept=["P01", "P02", "P03"]),
    # duplicates are looked for within a commune (ingest.duplicate_scope = commune, the default)
    BadCase("duplicate_phone_written_differently",
            _sat([SAT_HEADER] + G + [ballot(4, "TT Thanh Miện", phone="+84 900 000 002")]),
            rejected=[(5, "duplicate")], kept=["P01", "P02", "P03"]),
    BadCase("duplicate_id_number", _sat([SAT_HEADER] + G + [ballot(4, "Chi Lăng Bắc", idno="030.085.000.003")]),
            rejected=[(5, "duplicate")], kept=["P01", "P02", "P03"]),
    BadCase("same_phone_other_commune_is_kept", _sat([SAT_HEADER] + G + [ballot(4, phone="0900000002")]),
            kept=["P01", "P02", "P03", "P04"]),
    BadCase("reused_ballot_id", _sat([SAT_HEADER] + G + [ballot(4, bid="P02")]),
            rejected=[(5, "duplicate")], kept=["P01", "P02", "P03"]),
    BadCase("unknown_commune", _sat([SAT_HEADER] + G + [ballot(4, commune="Xã Thanh Lang")]),
            rejected=[(5, "unknown_commune")], kept=["P01", "P02", "P03"]),
    BadCase("phone_typed_in_commune_column", _sat([SAT_HEADER] + G + [ballot(4, commune="0987 654 321")]),
            rejected=[(5, "unknown_commune")], kept=["P01", "P02", "P03"]),
    BadCase("unknown_procedure_field", _sat([SAT_HEADER] + G + [ballot(4, field_="Xây dựng")]),
            rejected=[(5, "unknown_field")], kept=["P01", "P02", "P03"]),
    BadCase("commune_without_diacritics", _sat([SAT_HEADER] + G + [ballot(4, commune="Doan Tung"),
                                                                   ballot(5, commune="chi lang nam")]),
            kept=["P01", "P02", "P03", "P04", "P05"]),
    BadCase("commune_prefixes", _sat([SAT_HEADER] + G + [ballot(4, commune="X. Đoàn Tùng"),
                                                         ballot(5, commune="TT Thanh Miện"),
                                                         ballot(6, commune="TT. Thanh Mien"),
                                                         ballot(7, commune="11284")]),
            kept=["P01", "P02", "P03", "P04", "P05", "P06", "P07"]),
    BadCase("csv_utf8_bom", _sat_csv([SAT_HEADER] + G + [ballot(4, answers=(7, 4, 4))], "utf-8-sig"),
            rejected=[(5, "out_of_range")], kept=["P01", "P02", "P03"]),
    BadCase("csv_windows_1258", _sat_csv([SAT_HEADER] + G + [ballot(4, commune="Xã Thanh Lang")], "cp1258"),
            rejected=[(5, "unknown_commune")], kept=["P01", "P02", "P03"]),
    BadCase("csv_utf8_semicolons", _sat_csv([SAT_HEADER] + G, "utf-8", delimiter=";"), kept=["P01", "P02", "P03"]),
    BadCase("date_outside_period", _sat([SAT_HEADER] + G + [ballot(4, date="20/12/2023"),
                                                            ballot(5, date="2023-09-30"),
                                                            ballot(6, date="không rõ")]),
            rejected=[(5, "outside_period"), (6, "outside_period"), (7, "outside_period")],
            kept=["P01", "P02", "P03"]),
    BadCase("header_on_row_3", _sat([SAT_HEADER] + G + [ballot(4, answers=(9, 4, 4))],
                                    titles=("UBND HUYỆN THANH MIỆN", "TỔNG HỢP PHIẾU KHẢO SÁT NĂM 2023")),
            # header on row 3 → ballots on rows 4–7; the bad one is on row 7
            rejected=[(7, "out_of_range")], kept=["P01", "P02", "P03"]),
    BadCase("extra_unknown_column", _sat([SAT_HEADER + ["Ghi chú"]] + [r + ["đã gọi lại"] for r in G]),
            rejected=[(1, "ignored_column")], kept=["P01", "P02", "P03"]),
    BadCase("blank_rows_between_ballots", _sat([SAT_HEADER, G[0], [None] * 10, G[1], G[2]]),
            kept=["P01", "P02", "P03"]),
    BadCase("officials_bad_answers", lambda tmp: write_xlsx(tmp / (OFF_FILE + ".xlsx"), [
        OFF_HEADER, ["CB1", "Nhóm 1", "Trần Văn Bình", "Xã Đoàn Tùng", "a"],
        ["CB1", "G1", "Trần Văn Bình", "Thanh Mien", "Không biết"],
        ["CB2", "G2", "Lê Thị Hoa", "Xã Đoàn Tùng", "E"],
        ["CB3", "Nhóm 9", "Vũ Thị Lan", "Xã Đoàn Tùng", "B"],
        ["CB2", "G2", "Lê Thị Hoa", "Xã Chi Lăng Bắc", "C"],
        ["CB2", "G2", "Lê Thị Hoa", "X. Chi Lăng Bắc", "D"]], sheet=OFF_SHEET), kind="officials",
        # row 3: "Không biết" = blank, 1 of 1 item blank > 0.5 → blank_majority; row 4: E; row 5: group;
        # row 7: CB2 already rated Chi Lăng Bắc in row 6
        rejected=[(3, "blank_majority"), (4, "out_of_range"), (5, "unknown_group"), (7, "duplicate")],
        kept=["CB1", "CB2"]),
]
