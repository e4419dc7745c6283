"""Reading a sheet: grid of cells → header row → table of text cells (xlsx or csv)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter

from ..text import nfc, strip_diacritics
from .log import InputError, Problem, rejections_frame

HEADER_SEARCH_ROWS = 10


def head_key(s: object) -> str:
    """Matching key of a heading or a code: NFC, no diacritics, lower case, punctuation → space.

    Dots are kept so that criterion codes ("1.6", "8.4.2") stay distinct."""
    s = strip_diacritics(nfc(str(s))).lower()
    return re.sub(r"[^0-9a-z.]+", " ", s).strip(" .")


def cell_text(v: object) -> str:
    """One cell as NFC text: blanks → "", whole floats without ".0", dates as ISO yyyy-mm-dd."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if v != v:
            return ""
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return v.strftime("%Y-%m-%d")
    return nfc(str(v)).strip()


@dataclass(frozen=True)
class Col:
    """An expected column: canonical name, accepted headings, whether the file must have it."""

    name: str
    headings: tuple[str, ...]
    required: bool = True

    @property
    def keys(self) -> set[str]:
        return {head_key(h) for h in self.headings}


@dataclass
class Sheet:
    """The data rows of one sheet below its header row, as text, indexed by spreadsheet row number."""

    file: str
    sheet: str  # "" for CSV
    header_row: int  # spreadsheet row number of the header
    data: pd.DataFrame  # columns = Col.name of the matched columns; str dtype; index = row number
    letters: dict[str, str]  # Col.name → "C 'Mã tiêu chí'"
    ignored: list[tuple[str, str]]  # (letter, heading) of non-blank headings not in the form

    def problem(self, row: int | None, col: str | None, vi: str, en: str) -> Problem:
        return Problem(self.file, self.sheet, row, self.letters.get(col, col) if col else None, vi, en)

    def ignored_log(self) -> pd.DataFrame:
        return rejections_frame([
            (self.file, self.sheet, self.header_row, "ignored_column",
             f"Cột {letter} '{h}' không thuộc mẫu, không sử dụng (column not in the form; ignored)")
            for letter, h in self.ignored])


def decode_csv_bytes(raw: bytes, name: str) -> str:
    """CSV bytes → NFC text: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1258."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return nfc(raw.decode("utf-16"))
    try:
        return nfc(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    try:
        return nfc(raw.decode("cp1258"))
    except UnicodeDecodeError as e:
        before = raw[:e.start]
        line = before.split(b"\n")[-1]
        delim = b";" if line.count(b";") > line.count(b",") else b","
        raise InputError(Problem(
            name, "", before.count(b"\n") + 1, get_column_letter(line.count(delim) + 1),
            f"không đọc được bảng mã của tệp (byte {e.start}); hãy lưu lại dưới dạng CSV UTF-8 hoặc .xlsx",
            f"unreadable encoding at byte {e.start}: expected UTF-8, UTF-8 with BOM or Windows-1258")) from None


def csv_grid(path: Path) -> list[list[object]]:
    text = decode_csv_bytes(path.read_bytes(), path.name)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delim = max([",", ";", "\t"], key=first.count) if first else ","
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim)]


def xlsx_grids(path: Path) -> dict[str, list[list[object]]]:
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise InputError(Problem(
            path.name, "", None, None, "tệp không phải bảng tính Excel (.xlsx) đọc được",
            f"not a readable .xlsx workbook ({type(e).__name__}: {e})")) from None
    try:
        return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()


def match_header(row: list[str], cols: list[Col]) -> dict[str, list[int]]:
    keys = [head_key(c) for c in row]
    return {c.name: [i for i, k in enumerate(keys) if k and k in c.keys] for c in cols}


def find_header(grid: list[list[str]], cols: list[Col]) -> tuple[int | None, int, dict[str, list[int]]]:
    """(index of the header row or None, index of the best candidate row, its matches)."""
    required = [c.name for c in cols if c.required]
    best, best_n, best_m = 0, -1, {}
    for i, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
        m = match_header(row, cols)
        if all(m[n] for n in required):
            return i, i, m
        n = sum(bool(v) for v in m.values())
        if n > best_n:
            best, best_n, best_m = i, n, m
    return None, best, best_m


def read_sheet(path: Path, sheet: str, cols: list[Col]) -> Sheet:
    """Read ``sheet`` of an .xlsx (or the single table of a .csv), find the header row among the first
    ten rows and return the data rows as text. Raises InputError naming what is wrong and where."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InputError(Problem(name, sheet, None, None, "không tìm thấy tệp", f"file not found: {path}"))
    is_csv = path.suffix.lower() == ".csv"
    if is_csv:
        grid = csv_grid(path)
        sheet_name = ""
    else:
        grids = xlsx_grids(path)
        if sheet not in grids:
            found = ", ".join(f"'{s}'" for s in grids) or "(không có)"
            hint_vi, hint_en = "", ""
            for other, g in grids.items():
                tg = [[cell_text(v) for v in r] for r in g]
                h, _, _ = find_header(tg, cols)
                if h is not None:
                    last = get_column_letter(max(i for i, c in enumerate(tg[h]) if c) + 1)
                    where = f"dòng {h + 1}, cột A–{last}"
                    hint_vi = f"; dòng tiêu đề của mẫu có ở trang tính '{other}', {where} — hãy đổi tên trang tính"
                    hint_en = f"; the form's header row is in sheet '{other}', row {h + 1}, columns A–{last}: " \
                              "rename that sheet"
                    break
            raise InputError(Problem(
                name, sheet, None, None,
                f"không có trang tính '{sheet}' (các trang tính hiện có: {found}){hint_vi}",
                f"expected sheet '{sheet}', found: {found}{hint_en}"))
        grid = grids[sheet]
        sheet_name = sheet
    text = [[cell_text(v) for v in r] for r in grid]
    shown = sheet_name
    if not any(any(c for c in r) for r in text):
        raise InputError(Problem(
            name, shown, 1, None, "tệp trống, không có dữ liệu",
            "blank file: no non-empty cell; expected a header row with "
            + ", ".join(f"'{c.headings[0]}'" for c in cols if c.required)))
    h, best, m = find_header(text, cols)
    if h is None:
        row = best + 1
        probs = [Problem(name, shown, row, f"'{c.headings[0]}'",
                         f"thiếu cột '{c.headings[0]}' ở dòng tiêu đề (tìm trong {HEADER_SEARCH_ROWS} dòng đầu, "
                         f"dòng gần đúng nhất là dòng {row})",
                         f"missing column '{c.headings[0]}': no row among the first {HEADER_SEARCH_ROWS} has it "
                         f"together with the other headings of the form (closest: row {row})")
                 for c in cols if c.required and not m.get(c.name)]
        raise InputError(probs)
    header = text[h]
    dup = [(c, m[c.name]) for c in cols if len(m[c.name]) > 1]
    if dup:
        raise InputError([Problem(
            name, shown, h + 1, ", ".join(f"{get_column_letter(i + 1)}" for i in idx) + f" '{c.headings[0]}'",
            f"cột '{c.headings[0]}' xuất hiện {len(idx)} lần", f"column '{c.headings[0]}' appears {len(idx)} times")
            for c, idx in dup])
    pos = {c.name: m[c.name][0] for c in cols if m[c.name]}
    width = max(len(r) for r in text)
    body = [r + [""] * (width - len(r)) for r in text[h + 1:]]
    frame = pd.DataFrame(body, columns=range(width), dtype="str") if body else pd.DataFrame(
        columns=range(width), dtype="str")
    frame.index = pd.RangeIndex(h + 2, h + 2 + len(frame), name="row")
    frame = frame[(frame != "").any(axis=1)]
    used = set(pos.values())
    ignored = [(get_column_letter(i + 1), header[i]) for i in range(len(header)) if header[i] and i not in used]
    data = pd.DataFrame({n: frame[i] for n, i in pos.items()}, index=frame.index).astype("str")
    letters = {n: f"{get_column_letter(i + 1)} '{header[i]}'" for n, i in pos.items()}
    if data.empty:
        raise InputError(Problem(name, shown, h + 2, None,
                                 f"có dòng tiêu đề (dòng {h + 1}) nhưng không có dòng dữ liệu nào",
                                 f"header row {h + 1} found but no data row below it"))
    return Sheet(name, shown, h + 1, data, letters, ignored)

