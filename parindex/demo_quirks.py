"""Make the SYNTHETIC demo raw files look the way offices really send them (deterministic).

    python -m parindex.demo_quirks --year 2023 --raw data/raw/2023

Applied after :mod:`parindex.demo` (``make demo-data``), in place, to three of the four files; the
content is unchanged, only how it is written, so the run gives the same results as the clean files:

* ``tu_danh_gia_tham_dinh_<year>.xlsx`` typed in **TCVN3** (ABC): every text cell stored as the
  Latin-1 characters of the TCVN3 bytes in the ".VnTime" font; titles in ".VnTimeH" (capitals); a
  capital with a tone mark inside mixed text ("Ảnh chụp …") as a ".VnTimeH" run, as Word and Excel
  users type it;
* ``so_ho_so_<year>.xlsx`` with **layout quirks**: a full letterhead (national title, issuing office,
  unit line) pushing the header to row 11, a two-level header ("Số hồ sơ TTHC tiếp nhận theo lĩnh vực"
  over the fields, with merged cells), field headings written the everyday way ("Lĩnh vực Hộ tịch",
  "Chứng thực bản sao" …), a note in brackets in a heading, an "STT" column and a "Tổng cộng" row;
* ``phieu_can_bo_<year>.xlsx`` with **label variants**: respondent groups written the short way
  ("Đại biểu HĐND", "Lãnh đạo UBMTTQ", "Trưởng phòng") and a few commune names with a trailing dot.

Same inputs → byte-identical files (fixed workbook properties and zip times).
"""

from __future__ import annotations

import argparse
import datetime as dt
import unicodedata
from pathlib import Path

import openpyxl
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Alignment, Border, Font, Side

from .ingest.legacy import tables
from .publish import xlsx
from .text import nfc

ROOT = Path(__file__).resolve().parent.parent
NORMAL_FONT, CAPS_FONT = ".VnTime", ".VnTimeH"
#: How the quirky dossier file heads each procedure field (all in methodologies/aliases-v1.yaml).
FIELD_HEADINGS = {"HT": "Lĩnh vực Hộ tịch", "CT": "Chứng thực bản sao", "DD": "Địa chính - Đất đai",
                  "BTXH": "Bảo trợ xã hội", "NCC": "Người có công với cách mạng", "TDKT": "Thi đua - Khen thưởng",
                  "VH": "Văn hóa - Thể thao", "NN": "Nông nghiệp và PTNT"}
#: Everyday forms of the respondent groups (all in methodologies/aliases-v1.yaml), by label.
GROUP_FORMS = {"Đại biểu HĐND huyện": "Đại biểu HĐND", "Lãnh đạo UBMTTQ huyện": "Lãnh đạo UBMTTQ",
               "Lãnh đạo phòng chuyên môn thuộc UBND huyện": "Trưởng phòng"}


# ------------------------------------------------------------------------------------------------
# TCVN3
# ------------------------------------------------------------------------------------------------
def _encoder() -> dict[str, tuple[str, bool]]:
    """Unicode letter → (TCVN3 Latin-1 character, needs the capitals font)."""
    tcvn, _ = tables()
    enc = {u: (c, False) for c, u in tcvn.items()}
    for c, u in tcvn.items():
        up = u.upper()
        if up != u and up not in enc:
            enc[up] = (c, True)  # a capital with a tone mark: the lower-case code in a ".…H" font
    return enc


def tcvn3_runs(text: str) -> list[tuple[str, bool]]:
    """``text`` as TCVN3 runs: (characters, in the capitals font)."""
    enc = _encoder()
    runs: list[tuple[str, bool]] = []
    for ch in unicodedata.normalize("NFC", text):
        c, caps = enc.get(ch, (ch, False))
        if runs and (runs[-1][1] == caps or not c.isalpha()):
            runs[-1] = (runs[-1][0] + c, runs[-1][1])
        else:
            runs.append((c, caps))
    return runs


def _tcvn3_cell(cell) -> None:
    text = nfc(str(cell.value))
    runs = tcvn3_runs(text)
    bold = bool(cell.font and cell.font.b)
    if text == text.upper() and any(ch.isalpha() for ch in text):
        # all capitals (titles): the whole cell in the capitals font, lower-case codes
        enc = _encoder()
        cell.value = "".join(enc[ch.lower()][0] if ch.lower() in enc else ch for ch in text)
        cell.font = Font(name=CAPS_FONT, b=bold)
    elif len(runs) == 1 and not runs[0][1]:
        cell.value = runs[0][0]
        cell.font = Font(name=NORMAL_FONT, b=bold)
    else:
        cell.value = CellRichText([TextBlock(InlineFont(rFont=CAPS_FONT if caps else NORMAL_FONT, b=bold or None), t)
                                   for t, caps in runs])
        cell.font = Font(name=NORMAL_FONT, b=bold)


def to_tcvn3(path: Path, stamp: dt.datetime) -> Path:
    """Rewrite every text cell of a workbook in TCVN3 (in place)."""
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        # (sheet names are ASCII in the forms: left as they are)
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and not cell.value.isascii():
                    _tcvn3_cell(cell)
    return _save(wb, path, stamp)


# ------------------------------------------------------------------------------------------------
# Layout quirks (dossier file) and label variants (officials file)
# ------------------------------------------------------------------------------------------------
def quirky_dossiers(path: Path, year: int, stamp: dt.datetime) -> Path:
    """Rewrite the dossier file with a letterhead, a two-level header, an STT column and a total row."""
    src = openpyxl.load_workbook(path)["HoSo"]
    rows = list(src.iter_rows(values_only=True))
    h = next(i for i, r in enumerate(rows) if r and r[0] == "Mã xã")
    header = list(rows[h])
    body = [list(r) for r in rows[h + 1:] if any(v is not None for v in r)]
    codes = header[2:]
    # the issuing body as the demo file's first title line names it ("UBND HUYỆN X") → letterhead and place
    authority = str(rows[0][0] or "").strip()
    body_name = authority[5:] if authority.upper().startswith("UBND ") else authority
    place = body_name.split(" ", 1)[1].title() if " " in body_name else body_name.title()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "HoSo"
    bold = Font(bold=True)
    n = 3 + len(codes)
    letterhead = [
        (f"ỦY BAN NHÂN DÂN {body_name.upper()}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        ("PHÒNG NỘI VỤ", "Độc lập - Tự do - Hạnh phúc"),
        (None, None),
        ("Số: 15/BC-PNV", f"{place}, ngày 08 tháng 01 năm {year + 1}"),
        (None, None),
        (f"BIỂU TỔNG HỢP SỐ HỒ SƠ THỦ TỤC HÀNH CHÍNH TIẾP NHẬN TẠI UBND CẤP XÃ NĂM {year}", None),
        ("(Kèm theo Báo cáo số 15/BC-PNV của Phòng Nội vụ)", None),
        (None, None),
        (None, "Đơn vị tính: hồ sơ"),
    ]
    for left, right in letterhead:
        ws.append([left] + [None] * (n - 2) + [right] if right else [left])
    ws.merge_cells(start_row=6, start_column=1, end_row=6, end_column=n)
    ws.merge_cells(start_row=7, start_column=1, end_row=7, end_column=n)
    for r in (1, 2, 6):
        ws.cell(r, 1).font = bold
    ws.cell(2, n).font = bold
    top = ws.max_row + 1
    ws.append(["STT", "Mã xã (mã thống kê)", "Tên xã, thị trấn", "Số hồ sơ TTHC tiếp nhận theo lĩnh vực"]
              + [None] * (len(codes) - 1))
    ws.append([None, None, None] + [FIELD_HEADINGS.get(c, c) for c in codes])
    for c in (1, 2, 3):
        ws.merge_cells(start_row=top, start_column=c, end_row=top + 1, end_column=c)
    ws.merge_cells(start_row=top, start_column=4, end_row=top, end_column=n)
    thin = Side(style="thin")
    for r in (top, top + 1):
        for c in range(1, n + 1):
            ws.cell(r, c).font = bold
            ws.cell(r, c).alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
            ws.cell(r, c).border = Border(top=thin, bottom=thin, left=thin, right=thin)
    for i, r in enumerate(body, 1):
        ws.append([i, *r])
    totals = [sum(int(r[2 + j] or 0) for r in body) for j in range(len(codes))]
    ws.append([None, None, "Tổng cộng", *totals])
    ws.cell(ws.max_row, 3).font = bold
    ws.column_dimensions["C"].width = 22
    return _save(wb, path, stamp)


def label_variants(path: Path, stamp: dt.datetime) -> Path:
    """Write the respondent groups the everyday way; give a few commune names a trailing dot."""
    wb = openpyxl.load_workbook(path)
    ws = wb["PhieuCanBo"]
    rows = ws.iter_rows()
    header_row = next(r for r in rows if r[0].value == "Mã phiếu")
    col = {c.value: i for i, c in enumerate(header_row)}
    g, x = col["Nhóm đối tượng"], col["Xã, thị trấn"]
    for k, row in enumerate(rows):
        form = GROUP_FORMS.get(row[g].value)
        if form is not None:
            row[g].value = form
        if k % 97 == 5 and isinstance(row[x].value, str):
            row[x].value = row[x].value + "."
    return _save(wb, path, stamp)


def _save(wb: openpyxl.Workbook, path: Path, stamp: dt.datetime) -> Path:
    wb.properties.creator = "parindex.demo (dữ liệu mô phỏng)"
    wb.properties.lastModifiedBy = "parindex.demo_quirks"
    return xlsx.save_workbook(wb, path, stamp=stamp, zip_time=None)


def apply(year: int, raw_dir: Path) -> list[Path]:
    """Apply the quirks to the demo files of ``year`` in ``raw_dir`` (in place); returns the paths."""
    raw_dir = Path(raw_dir)
    stamp = dt.datetime(year + 1, 1, 10, 8, 0, 0)
    return [to_tcvn3(raw_dir / f"tu_danh_gia_tham_dinh_{year}.xlsx", stamp),
            quirky_dossiers(raw_dir / f"so_ho_so_{year}.xlsx", year, stamp),
            label_variants(raw_dir / f"phieu_can_bo_{year}.xlsx", stamp)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m parindex.demo_quirks",
                                 description="Rewrite SYNTHETIC demo raw files the way offices send them.")
    ap.add_argument("--year", type=int, required=True)
    ap.add_argument("--raw", type=Path, default=None, help="folder of the demo files (default data/raw/<year>)")
    a = ap.parse_args(argv)
    for p in apply(a.year, a.raw or ROOT / "data" / "raw" / str(a.year)):
        print(p)


if __name__ == "__main__":
    main()
