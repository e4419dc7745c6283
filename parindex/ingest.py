"""Cleaning stage: the raw files officials produce → clean tables + a rejection log.

Four raw files per year (docs/ARCHITECTURE.md, "Raw files"), each as .xlsx or .csv (UTF-8, UTF-8 with
BOM, or Windows-1258):

* ``tu_danh_gia_tham_dinh_<year>`` (sheet ``ChamDiem``): self-assessment and appraisal scores;
* ``phieu_can_bo_<year>`` (sheet ``PhieuCanBo``): the officials' survey, one row per respondent × commune;
* ``phieu_hai_long_<year>`` (sheet ``PhieuHaiLong``): the satisfaction (SIPAS) survey, one row per ballot;
* ``so_ho_so_<year>`` (sheet ``HoSo``): dossiers per commune × procedure field.

Two kinds of trouble are told apart:

* a file that cannot be used (missing, wrong sheet, missing column, blank, unreadable encoding) and any
  problem row in the score or dossier tables (unknown commune or criterion, bad or out-of-range score,
  duplicate row) raise :class:`InputError`, listing every problem with file, sheet, row and column —
  a human fixes the file, the run refuses;
* an invalid survey ballot is excluded and logged in ``rejections`` with one rule code
  (:data:`BALLOT_RULES`), never silently dropped.

Respondents' names, phone numbers and ID numbers are read only to detect duplicates (as salted SHA-256
hashes) and never reach a clean table or the rejection log.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pandera.pandas as pa
from openpyxl.utils import get_column_letter

from .communes import CommuneMatcher
from .methodology import Methodology
from .text import nfc, strip_diacritics

HEADER_SEARCH_ROWS = 10

#: kind → (file-name prefix, sheet name)
RAW_FILES: dict[str, tuple[str, str]] = {
    "assessment": ("tu_danh_gia_tham_dinh_", "ChamDiem"),
    "officials": ("phieu_can_bo_", "PhieuCanBo"),
    "satisfaction": ("phieu_hai_long_", "PhieuHaiLong"),
    "dossiers": ("so_ho_so_", "HoSo"),
}

#: Rule codes of the rejection log, in the order they are checked (a ballot gets the first that applies).
BALLOT_RULES: dict[str, str] = {
    "duplicate_id": "Mã phiếu đã dùng cho một phiếu trước (ballot id already used by an earlier row)",
    "unknown_commune": "Không xác định được xã, thị trấn (commune not recognised)",
    "unknown_group": "Không xác định được nhóm đối tượng (respondent group not recognised)",
    "unknown_field": "Không xác định được lĩnh vực TTHC (procedure field not recognised)",
    "out_of_range": "Câu trả lời ngoài thang đo (answer outside the scale)",
    "blank_majority": "Quá nửa số câu hỏi bỏ trống (more than half of the items blank)",
    "outside_period": "Ngày khảo sát ngoài thời gian khảo sát (date outside the survey period)",
    "duplicate": "Trùng với một phiếu trước (duplicates an earlier ballot)",
    "ignored_column": "Cột không thuộc mẫu, không sử dụng (column not in the form; ignored)",
}
# "duplicate_id" is logged under the rule code "duplicate" (the detail says which kind).

TRUE_WORDS = {"x", "co", "1", "true", "yes", "kad", "khong ap dung", "k ap dung"}
FALSE_WORDS = {"", "0", "false", "no", "khong"}
DONT_KNOW_WORDS = {"khong biet", "khong tra loi", "kb", "ktl", "khong biet khong tra loi"}


# ================================================================================================
# Errors
# ================================================================================================
@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be used: where (file, sheet, row, column) and what (vi + en)."""

    file: str
    sheet: str
    row: int | None
    column: str | None  # "C 'Mã tiêu chí'" (letter and heading) or just the expected heading
    vi: str
    en: str

    def __str__(self) -> str:
        parts = [f"tệp '{self.file}'",
                 f"trang tính '{self.sheet}'" if self.sheet else "trang tính — (tệp CSV không có trang tính)"]
        if self.row is not None:
            parts.append(f"dòng {self.row}")
        if self.column:
            parts.append(f"cột {self.column}")
        return f"{', '.join(parts)}: {self.vi} [{self.en}]"


class InputError(ValueError):
    """A raw file that cannot be used. ``problems`` lists each place with file, sheet, row, column."""

    def __init__(self, problems: list[Problem] | Problem, max_lines: int = 50):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        lines = [f"  - {p}" for p in self.problems[:max_lines]]
        if len(self.problems) > max_lines:
            lines.append(f"  … và {len(self.problems) - max_lines} lỗi khác (and {len(self.problems) - max_lines} more)")
        n = len(self.problems)
        super().__init__(
            f"Dữ liệu đầu vào không dùng được — {n} lỗi, cần sửa tệp rồi chạy lại "
            f"(input cannot be used — {n} problem(s); fix the file and run again):\n" + "\n".join(lines))


# ================================================================================================
# Reading a sheet: grid of cells → header row → table of text cells
# ================================================================================================
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
        return _rejections([
            (self.file, self.sheet, self.header_row, "ignored_column",
             f"Cột {letter} '{h}' không thuộc mẫu, không sử dụng (column not in the form; ignored)")
            for letter, h in self.ignored])


def _decode(raw: bytes, name: str) -> str:
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


def _csv_grid(path: Path) -> list[list[object]]:
    text = _decode(path.read_bytes(), path.name)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delim = max([",", ";", "\t"], key=first.count) if first else ","
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim)]


def _xlsx_grids(path: Path) -> dict[str, list[list[object]]]:
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


def _match_header(row: list[str], cols: list[Col]) -> dict[str, list[int]]:
    keys = [head_key(c) for c in row]
    return {c.name: [i for i, k in enumerate(keys) if k and k in c.keys] for c in cols}


def _find_header(grid: list[list[str]], cols: list[Col]) -> tuple[int | None, int, dict[str, list[int]]]:
    """(index of the header row or None, index of the best candidate row, its matches)."""
    required = [c.name for c in cols if c.required]
    best, best_n, best_m = 0, -1, {}
    for i, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
        m = _match_header(row, cols)
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
        grid = _csv_grid(path)
        sheet_name = ""
    else:
        grids = _xlsx_grids(path)
        if sheet not in grids:
            found = ", ".join(f"'{s}'" for s in grids) or "(không có)"
            hint_vi, hint_en = "", ""
            for other, g in grids.items():
                tg = [[cell_text(v) for v in r] for r in g]
                h, _, _ = _find_header(tg, cols)
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
    h, best, m = _find_header(text, cols)
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


# ================================================================================================
# Small vectorised parsers
# ================================================================================================
def _numbers(s: pd.Series) -> pd.Series:
    """Text → float; decimal comma accepted ("0,5"); blank or not a number → NaN."""
    return pd.to_numeric(s.str.replace(",", ".", regex=False).str.replace(r"\s", "", regex=True),
                         errors="coerce").astype(float)


def _dates(s: pd.Series) -> pd.Series:
    """Text → datetime64: dd/mm/yyyy, yyyy-mm-dd, dd-mm-yyyy, dd.mm.yyyy, or an Excel serial number."""
    d = s.str.split(" ").str[0].str.split("T").str[0]
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y"):
        out = out.fillna(pd.to_datetime(d, format=fmt, errors="coerce").astype("datetime64[us]"))
    serial = pd.to_numeric(d.where(d.str.fullmatch(r"\d{5}"), None), errors="coerce")
    serial = serial.where((serial > 20000) & (serial < 80000))
    out = out.fillna((pd.Timestamp("1899-12-30") + pd.to_timedelta(serial, unit="D")).astype("datetime64[us]"))
    return out


def _hash_key(values: pd.Series, kind: str, salt: str) -> pd.Series:
    """Salted SHA-256 of a normalised phone number (kind "phone") or ID number (kind "id"); "" if blank.

    Phone: digits only, "+84"/"84" → national form, leading zeros dropped (Excel eats them anyway).
    ID: digits only, leading zeros dropped."""
    d = values.str.replace(r"\D", "", regex=True)
    if kind == "phone":
        d = d.where(~(d.str.startswith("84") & (d.str.len() == 11)), d.str[2:])
    d = d.str.lstrip("0")
    uniq = pd.unique(d[d != ""])
    table = {v: hashlib.sha256(f"{salt}\x1f{kind}\x1f{v}".encode()).hexdigest() for v in uniq}
    return d.map(table).fillna("").astype("str")


def _label_map(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """head_key of each code and label → code."""
    out: dict[str, str] = {}
    for code, label in pairs:
        out[head_key(code)] = code
        out[head_key(label)] = code
    return out


def _show(v: str) -> str:
    """A cell value safe to quote in a log: short values only, so that no phone / ID number leaks."""
    if len(v) <= 8 and sum(ch.isdigit() for ch in v) <= 3:
        return f"'{v}'"
    return f"(văn bản {len(v)} ký tự)"


def _quote(values: pd.Series) -> pd.Series:
    """Cell values quoted for the log, except any holding five or more digits (a phone or ID number
    typed into the wrong column must not reach the log)."""
    many_digits = values.str.count(r"\d") >= 5
    return ("'" + values.str.slice(0, 60) + "'").mask(many_digits, "(giá trị có nhiều chữ số, không ghi lại)")


REJECTION_COLUMNS = ["file", "sheet", "row", "rule", "detail"]


def _rejections(rows: list[tuple] | pd.DataFrame) -> pd.DataFrame:
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=REJECTION_COLUMNS)
    df = df[REJECTION_COLUMNS].astype({"file": "str", "sheet": "str", "row": "int64", "rule": "str",
                                       "detail": "str"})
    return df.reset_index(drop=True)


def _combine_rejections(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return _rejections([])
    df = pd.concat(parts, ignore_index=True)
    return _rejections(df.sort_values(["file", "sheet", "row", "rule", "detail"], kind="stable"))


@dataclass
class _Verdict:
    """Rule assignment for a table of ballots: the first failing rule wins; details kept per row."""

    index: pd.Index
    rule: pd.Series = field(init=False)
    detail: pd.Series = field(init=False)

    def __post_init__(self):
        self.rule = pd.Series("", index=self.index, dtype="str")
        self.detail = pd.Series("", index=self.index, dtype="str")

    def apply(self, rule: str, mask: pd.Series, detail: pd.Series | str) -> None:
        new = mask & (self.rule == "")
        self.rule = self.rule.mask(new, rule)
        det = detail if isinstance(detail, pd.Series) else pd.Series(detail, index=self.index)
        self.detail = self.detail.mask(new, det)

    @property
    def valid(self) -> pd.Series:
        return self.rule == ""

    def log(self, sheet: Sheet, ids: pd.Series) -> pd.DataFrame:
        bad = ~self.valid
        rule = self.rule[bad].replace({"duplicate_id": "duplicate"})
        return _rejections(pd.DataFrame({
            "file": sheet.file, "sheet": sheet.sheet, "row": self.index[bad.to_numpy()],
            "rule": rule.to_numpy(), "detail": ("Phiếu " + ids[bad] + ": " + self.detail[bad]).to_numpy()}))


def _ballot_ids(sheet: Sheet) -> pd.Series:
    """Mã phiếu as written; a blank id becomes "dòng <row>" so that every ballot can be named."""
    ids = sheet.data["ballot_id"]
    return ids.mask(ids == "", "dòng " + pd.Series(sheet.data.index.astype(str), index=ids.index))


def _check_reused_ids(v: _Verdict, ids: pd.Series, commune: pd.Series | None = None) -> None:
    """A ballot id already used by an earlier row (with ``commune``: for the same commune) → duplicate."""
    frame = pd.DataFrame({"id": ids} if commune is None else {"id": ids, "commune": commune})
    cols = list(frame.columns)
    rows = pd.Series(ids.index.astype(str), index=ids.index)
    first_row = rows.groupby([frame[c] for c in cols]).transform("first")
    dup = frame.duplicated(cols, keep="first")
    if commune is None:
        vi, en = "mã phiếu đã dùng ở dòng ", "ballot id already used in row "
    else:
        vi, en = "người trả lời này đã đánh giá xã này ở dòng ", "the same ballot id rated this commune in row "
    v.apply("duplicate_id", dup, vi + first_row + " (" + en + first_row + ")")


def _answers_blank_majority(v: _Verdict, blank: pd.DataFrame) -> None:
    n_q = blank.shape[1]
    nb = blank.sum(axis=1)
    v.apply("blank_majority", nb > n_q / 2,
            nb.astype(str) + f"/{n_q} câu bỏ trống, quá nửa (" + nb.astype(str) + f" of {n_q} items blank)")


def _out_of_range_detail(bad: pd.DataFrame, answers: pd.DataFrame, expected_vi: str, expected_en: str
                         ) -> pd.Series:
    """For each row with a bad answer: "TC1 = '6'; TT2 = (văn bản 12 ký tự) (expected …)"."""
    flags = bad.stack()
    stacked = answers.stack()[flags.to_numpy()]
    text = stacked.map(_show)
    parts = (pd.Series(stacked.index.get_level_values(1), index=stacked.index).astype(str) + " = " + text)
    joined = parts.groupby(level=0).agg("; ".join)
    return (joined + f" — {expected_vi} ({expected_en})").reindex(answers.index).fillna("").astype("str")


# ================================================================================================
# Readers
# ================================================================================================
COMMUNE_HEADINGS = ("Xã, thị trấn", "Xã/thị trấn", "Tên xã", "Xã", "Đơn vị")


def read_assessment(path: Path, meth: Methodology, matcher: CommuneMatcher) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Self-assessment + appraisal scores → (assessment, rejections).

    ``max_points_form`` keeps the form's "Điểm tối đa" of each leaf (NaN when blank, and for T/TR): a form
    made for another methodology version is checked against its own maxima, and scoring rescales the
    scores to this methodology's maxima. Any problem row (unknown commune or criterion, score not a
    number or outside 0..maximum, missing self-score, maximum not a positive number, duplicate commune ×
    criterion, a raise when the rules refuse raises) is collected and all are raised as one InputError."""
    cols = [Col("commune_code", ("Mã xã",)), Col("commune_name", ("Tên xã", "Xã, thị trấn"), False),
            Col("code", ("Mã tiêu chí",)), Col("label", ("Tên tiêu chí",), False),
            Col("max", ("Điểm tối đa",), False), Col("self", ("Điểm tự chấm", "Điểm tự đánh giá")),
            Col("appraised", ("Điểm thẩm định",)), Col("reason", ("Lý do thẩm định", "Lý do")),
            Col("evidence", ("Ghi chú minh chứng", "Minh chứng", "Tài liệu kiểm chứng"), False),
            Col("na", ("Không áp dụng",))]
    sh = read_sheet(path, RAW_FILES["assessment"][1], cols)
    d = sh.data
    probs: list[Problem] = []

    def add(mask: pd.Series, col: str, vi, en) -> None:
        for r in d.index[mask.to_numpy()]:
            probs.append(sh.problem(int(r), col, vi(r) if callable(vi) else vi, en(r) if callable(en) else en))

    # Commune: by code, else by name; both given must agree.
    by_code = matcher.match_series(d["commune_code"])
    name = d["commune_name"] if "commune_name" in d else pd.Series("", index=d.index, dtype="str")
    by_name = matcher.match_series(name)
    commune = by_code.fillna(by_name)
    add(commune.isna(), "commune_code",
        lambda r: f"không xác định được xã (mã '{d.at[r, 'commune_code']}', tên '{name[r]}')",
        lambda r: f"unknown commune: code '{d.at[r, 'commune_code']}', name '{name[r]}'; expected a code or "
                  "name from the commune list")
    clash = by_code.notna() & by_name.notna() & (by_code != by_name)
    add(clash, "commune_name",
        lambda r: f"mã xã '{d.at[r, 'commune_code']}' và tên xã '{name[r]}' không khớp nhau",
        lambda r: f"commune code '{d.at[r, 'commune_code']}' and name '{name[r]}' name different communes")

    # Criterion code.
    leaves = meth.leaves()
    app = leaves[leaves.source == "appraisal"].set_index("code")
    adj = meth.adjustments
    maxima = {**app["points"].to_dict(), adj.bonus.code: np.inf, adj.deduction.code: np.inf}
    code = d["code"].str.strip()
    upper = code.str.upper()
    code = code.mask(upper.isin([adj.bonus.code, adj.deduction.code]), upper)
    known = code.isin(list(maxima))
    other_source = leaves.set_index("code")["source"]
    add(~known, "code",
        lambda r: (f"mã tiêu chí '{code[r]}' không thuộc các tiêu chí chấm điểm thẩm định"
                   + (f" (tiêu chí này chấm qua {meth.sources.get(other_source[code[r]], other_source[code[r]])})"
                      if code[r] in other_source.index else "")),
        lambda r: f"unknown criterion code '{code[r]}': expected an appraised leaf code of methodology "
                  f"{meth.meta.id} (e.g. {app.index[0]}) or {adj.bonus.code}/{adj.deduction.code}")
    # The maximum a score is checked against: the form's "Điểm tối đa" of a leaf when given (a form made
    # for another methodology version; scoring rescales by it), else the methodology's. T/TR: no cap here.
    is_leaf = code.isin(app.index)
    fmax_raw = d["max"] if "max" in d else pd.Series("", index=d.index, dtype="str")
    fmax = _numbers(fmax_raw).where(is_leaf)
    add(is_leaf & (fmax_raw != "") & ~(fmax > 0), "max",
        lambda r: f"điểm tối đa '{fmax_raw[r]}' không phải số dương",
        lambda r: f"maximum '{fmax_raw[r]}' is not a positive number")
    fmax = fmax.where(fmax > 0)
    mx = fmax.fillna(code.map(maxima).astype(float))

    # Not applicable.
    na_key = d["na"].map(head_key)
    na = na_key.isin(TRUE_WORDS)
    add(~(na | na_key.isin(FALSE_WORDS)), "na",
        lambda r: f"giá trị '{d.at[r, 'na']}' không hợp lệ, chỉ ghi 'x' khi tiêu chí không áp dụng",
        lambda r: f"'{d.at[r, 'na']}' is not understood: expected 'x' (not applicable) or blank")

    # Scores.
    def score(col: str, label_vi: str, label_en: str, blank_ok: pd.Series) -> pd.Series:
        raw = d[col]
        val = _numbers(raw)
        add((raw != "") & val.isna(), col, lambda r: f"{label_vi} '{raw[r]}' không phải là số",
            lambda r: f"{label_en} '{raw[r]}' is not a number")
        add((raw == "") & ~blank_ok, col, f"thiếu {label_vi}", f"{label_en} is blank; expected a number")
        out = val.notna() & known & ((val < -1e-9) | (val > mx + 1e-9))
        add(out, col, lambda r: f"{label_vi} {raw[r]} nằm ngoài khoảng 0–{mx[r]:g} (điểm tối đa của tiêu chí {code[r]})",
            lambda r: f"{label_en} {raw[r]} outside 0..{mx[r]:g}, the maximum of criterion {code[r]}")
        return val

    # A blank bonus (T) or deduction (TR) row means none (0); a blank self-score of a criterion is an error.
    is_adj = code.isin([adj.bonus.code, adj.deduction.code])
    self_pts = score("self", "điểm tự chấm", "self-score", na | is_adj)
    self_pts = self_pts.mask(is_adj & self_pts.isna(), 0.0)
    appr = score("appraised", "điểm thẩm định", "appraised score", pd.Series(True, index=d.index))

    # Duplicates of commune × criterion.
    keyed = commune.notna() & known
    rows = pd.Series(d.index.astype(str), index=d.index)
    k = commune.fillna("") + "\x1f" + code
    first = rows.groupby(k).transform("first")
    dup = keyed & k.duplicated(keep="first") & keyed.groupby(k).transform("any")
    add(dup, "code", lambda r: f"xã {commune[r]}, tiêu chí {code[r]} đã có ở dòng {first[r]}",
        lambda r: f"duplicate row: commune {commune[r]} × criterion {code[r]} already in row {first[r]}")

    if meth.rules.appraisal_raise == "refuse":
        raise_ = appr.notna() & self_pts.notna() & (appr > self_pts + 1e-9) & ~na
        add(raise_, "appraised", lambda r: f"điểm thẩm định {appr[r]:g} cao hơn điểm tự chấm {self_pts[r]:g}",
            lambda r: f"appraised {appr[r]:g} above self-score {self_pts[r]:g}; the methodology refuses raises")

    if probs:
        raise InputError(sorted(probs, key=lambda p: (p.row or 0, p.column or "")))
    out = pd.DataFrame({
        "commune_code": commune.astype("str"),
        "code": code.astype("str"),
        "self_points": self_pts.astype(float),
        "appraised_points": appr.astype(float),
        "not_applicable": na.astype(bool),
        "reason": d["reason"].astype("str"),
        "evidence": (d["evidence"] if "evidence" in d else pd.Series("", index=d.index)).astype("str"),
        "max_points_form": fmax.astype(float),
    }).reset_index(drop=True)
    return out, sh.ignored_log()


def read_officials(path: Path, meth: Methodology, matcher: CommuneMatcher) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Officials' survey → (officials, rejections). One ballot = one respondent × commune row.

    Rules in order: duplicate (the same Mã phiếu × commune as an earlier row), unknown_commune,
    unknown_group, out_of_range (not A–D), blank_majority. "Không biết"/"KB" counts as blank."""
    ov = meth.officials_survey
    qs = meth.leaf_codes("officials_survey")
    cols = [Col("ballot_id", ("Mã phiếu",)), Col("group", ("Nhóm đối tượng", "Nhóm")),
            Col("name", ("Họ và tên", "Họ tên"), False), Col("commune", COMMUNE_HEADINGS)]
    cols += [Col(f"q:{q}", (q,)) for q in qs]
    sh = read_sheet(path, RAW_FILES["officials"][1], cols)
    d = sh.data
    ids = _ballot_ids(sh)
    v = _Verdict(d.index)
    commune = matcher.match_series(d["commune"])
    _check_reused_ids(v, ids, commune.fillna(d["commune"]))
    v.apply("unknown_commune", commune.isna(),
            "không xác định được xã " + _quote(d["commune"]) + " (unknown commune " + _quote(d["commune"]) + ")")
    groups = _label_map([(g.code, g.label) for g in ov.groups])
    group = d["group"].map(head_key).map(groups)
    known_groups = "/".join(dict.fromkeys(groups.values()))
    v.apply("unknown_group", group.isna(),
            "nhóm đối tượng " + _quote(d["group"]) + f" không thuộc {known_groups} (unknown respondent group "
            + _quote(d["group"]) + f"; expected one of {known_groups} or their labels)")
    ans = pd.DataFrame({q: d[f"q:{q}"].str.strip() for q in qs}, index=d.index)
    keys = ans.map(head_key)
    ans = ans.mask(keys.isin(DONT_KNOW_WORDS), "").apply(lambda s: s.str.upper())
    allowed = list(ov.answer_weights)
    bad = (ans != "") & ~ans.isin(allowed)
    v.apply("out_of_range", bad.any(axis=1), _out_of_range_detail(
        bad, d[[f"q:{q}" for q in qs]].set_axis(qs, axis=1), f"chỉ ghi {'/'.join(allowed)} hoặc để trống",
        f"expected one of {'/'.join(allowed)} or blank"))
    _answers_blank_majority(v, ans == "")
    ok = v.valid
    long = (ans[ok].assign(ballot_id=ids[ok], group=group[ok], commune_code=commune[ok])
            .melt(id_vars=["ballot_id", "group", "commune_code"], value_vars=qs, var_name="question",
                  value_name="answer", ignore_index=False))
    qorder = {q: i for i, q in enumerate(qs)}
    long = long.assign(_q=long["question"].map(qorder)).reset_index().sort_values(["row", "_q"], kind="stable")
    out = long[["ballot_id", "group", "commune_code", "question", "answer"]].astype("str").reset_index(drop=True)
    return out, _combine_rejections([sh.ignored_log(), v.log(sh, ids)])


def read_satisfaction(path: Path, meth: Methodology, matcher: CommuneMatcher, *,
                      survey_start: dt.date | None = None, survey_end: dt.date | None = None,
                      salt: str = "parindex") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Satisfaction (SIPAS) ballots → (satisfaction, ballots, rejections).

    Rules in order: duplicate (reused Mã phiếu), unknown_commune, unknown_field, out_of_range (not an
    integer of the scale, text included), blank_majority, outside_period (only when a period is given;
    a blank or unreadable date is then outside too), duplicate (the same salted hash of the normalised
    phone or ID number as an earlier otherwise-valid ballot; the first is kept)."""
    sv = meth.satisfaction_survey
    qs = meth.satisfaction_questions()["question"].tolist()
    cols = [Col("ballot_id", ("Mã phiếu",)), Col("date", ("Ngày khảo sát", "Ngày")),
            Col("commune", COMMUNE_HEADINGS), Col("field", ("Lĩnh vực", "Lĩnh vực TTHC")),
            Col("name", ("Họ và tên", "Họ tên"), False),
            Col("phone", ("Số điện thoại", "Điện thoại", "SĐT"), False),
            Col("idno", ("Số CCCD", "CCCD", "Số CCCD/CMND", "Số định danh", "CMND"), False)]
    cols += [Col(f"q:{q}", (q,)) for q in qs]
    sh = read_sheet(path, RAW_FILES["satisfaction"][1], cols)
    d = sh.data
    ids = _ballot_ids(sh)
    v = _Verdict(d.index)
    _check_reused_ids(v, ids)
    commune = matcher.match_series(d["commune"])
    v.apply("unknown_commune", commune.isna(),
            "không xác định được xã " + _quote(d["commune"]) + " (unknown commune " + _quote(d["commune"]) + ")")
    fields = _label_map([(p.code, p.label) for p in sv.procedure_fields])
    pfield = d["field"].map(head_key).map(fields)
    v.apply("unknown_field", pfield.isna(),
            "lĩnh vực " + _quote(d["field"]) + " không có trong danh mục (unknown procedure field "
            + _quote(d["field"]) + ")")
    raw = pd.DataFrame({q: d[f"q:{q}"] for q in qs}, index=d.index)
    num = raw.apply(_numbers)
    ok_val = num.notna() & (num == num.round()) & (num >= sv.scale.min) & (num <= sv.scale.max)
    bad = (raw != "") & ~ok_val
    v.apply("out_of_range", bad.any(axis=1), _out_of_range_detail(
        bad, raw, f"chỉ ghi số nguyên {sv.scale.min}–{sv.scale.max} hoặc để trống",
        f"expected an integer {sv.scale.min}–{sv.scale.max} or blank"))
    _answers_blank_majority(v, raw == "")
    date = _dates(d["date"])
    if survey_start is not None or survey_end is not None:
        lo = pd.Timestamp(survey_start) if survey_start is not None else pd.Timestamp.min
        hi = pd.Timestamp(survey_end) if survey_end is not None else pd.Timestamp.max
        period = (f"{lo:%d/%m/%Y}" if survey_start is not None else "…") + "–" + (
            f"{hi:%d/%m/%Y}" if survey_end is not None else "…")
        shown = date.dt.strftime("%d/%m/%Y").fillna("")
        outside = date.isna() | (date < lo) | (date > hi)
        v.apply("outside_period", outside, pd.Series(np.where(
            date.isna(), f"ngày khảo sát trống hoặc không đọc được, cần ngày trong {period} "
                         f"(date blank or unreadable; expected dd/mm/yyyy within {period})",
            "ngày khảo sát " + shown + f" ngoài thời gian khảo sát {period} (date outside the survey period)"),
            index=d.index, dtype="str"))
    # Duplicates among the ballots still valid, in file order.
    rows = pd.Series(d.index.astype(str), index=d.index)
    for col, kind, vi in (("phone", "phone", "số điện thoại"), ("idno", "id", "số CCCD")):
        if col not in d:
            continue
        h = _hash_key(d[col], kind, salt)
        cand = v.valid & (h != "")
        hk = h.where(cand, "")
        first_id = ids[cand].groupby(hk[cand]).transform("first").reindex(d.index).fillna("")
        first_row = rows[cand].groupby(hk[cand]).transform("first").reindex(d.index).fillna("")
        dup = cand & hk.duplicated(keep="first") & (hk != "")
        en = "phone number" if kind == "phone" else "ID number"
        v.apply("duplicate", dup, f"trùng {vi} với phiếu " + first_id + " (dòng " + first_row
                + f"), giữ phiếu trước (same {en} as ballot " + first_id + " in row " + first_row
                + "; the first is kept)")
    ok = v.valid
    ballots = pd.DataFrame({
        "ballot_id": ids, "commune_code": commune.fillna(""), "procedure_field": pfield.fillna(""),
        "date": date, "status": np.where(ok, "valid", "excluded"),
        "rule": v.rule.replace({"duplicate_id": "duplicate"}),
    }).astype({"ballot_id": "str", "commune_code": "str", "procedure_field": "str", "status": "str",
               "rule": "str"}).reset_index(drop=True)
    answers = num[ok].astype("Int64")
    long = (answers.assign(ballot_id=ids[ok], commune_code=commune[ok], procedure_field=pfield[ok])
            .melt(id_vars=["ballot_id", "commune_code", "procedure_field"], value_vars=qs, var_name="question",
                  value_name="answer", ignore_index=False))
    qorder = {q: i for i, q in enumerate(qs)}
    long = long.assign(_q=long["question"].map(qorder)).reset_index().sort_values(["row", "_q"], kind="stable")
    sat = pd.DataFrame({
        "ballot_id": long["ballot_id"].astype("str"), "commune_code": long["commune_code"].astype("str"),
        "procedure_field": long["procedure_field"].astype("str"), "question": long["question"].astype("str"),
        "answer": long["answer"].astype("Int64"), "weight": 1.0,
    }).reset_index(drop=True)
    return sat, ballots, _combine_rejections([sh.ignored_log(), v.log(sh, ids)])


def read_dossiers(path: Path, meth: Methodology, matcher: CommuneMatcher) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dossiers per commune × procedure field → (dossiers, rejections). A blank count is 0; an
    unknown or repeated commune, or a count that is not a whole number ≥ 0, refuses the file."""
    pf = meth.satisfaction_survey.procedure_fields
    cols = [Col("commune_code", ("Mã xã",)), Col("commune_name", ("Tên xã", "Xã, thị trấn"), False)]
    cols += [Col(f"f:{p.code}", (p.code, p.label)) for p in pf]
    sh = read_sheet(path, RAW_FILES["dossiers"][1], cols)
    d = sh.data
    probs: list[Problem] = []
    name = d["commune_name"] if "commune_name" in d else pd.Series("", index=d.index, dtype="str")
    commune = matcher.match_series(d["commune_code"]).fillna(matcher.match_series(name))
    for r in d.index[commune.isna().to_numpy()]:
        probs.append(sh.problem(int(r), "commune_code",
                                f"không xác định được xã (mã '{d.at[r, 'commune_code']}', tên '{name[r]}')",
                                f"unknown commune: code '{d.at[r, 'commune_code']}', name '{name[r]}'"))
    rows = pd.Series(d.index.astype(str), index=d.index)
    first = rows.groupby(commune.fillna("")).transform("first")
    for r in d.index[(commune.notna() & commune.duplicated(keep="first")).to_numpy()]:
        probs.append(sh.problem(int(r), "commune_code", f"xã {commune[r]} đã có ở dòng {first[r]}",
                                f"duplicate commune {commune[r]}: already in row {first[r]}"))
    counts = {}
    for p in pf:
        raw = d[f"f:{p.code}"].str.replace(r"^\d{1,3}(?:\.\d{3})+$", lambda m: m.group(0).replace(".", ""),
                                            regex=True)
        val = _numbers(raw).where(raw != "", 0.0)
        bad = val.isna() | (val < 0) | (val != val.round())
        for r in d.index[bad.to_numpy()]:
            probs.append(sh.problem(int(r), f"f:{p.code}", f"số hồ sơ '{d.at[r, f'f:{p.code}']}' không phải số "
                                    "nguyên không âm", f"dossier count '{d.at[r, f'f:{p.code}']}' is not a whole "
                                    "number ≥ 0"))
        counts[p.code] = val
    if probs:
        raise InputError(sorted(probs, key=lambda p: (p.row or 0, p.column or "")))
    wide = pd.DataFrame(counts, index=d.index).assign(commune_code=commune)
    long = wide.melt(id_vars="commune_code", var_name="procedure_field", value_name="dossiers")
    order = {p.code: i for i, p in enumerate(pf)}
    long = long.assign(_o=long["procedure_field"].map(order)).sort_values(["commune_code", "_o"], kind="stable")
    out = pd.DataFrame({"commune_code": long["commune_code"].astype("str"),
                        "procedure_field": long["procedure_field"].astype("str"),
                        "dossiers": long["dossiers"].astype("int64")}).reset_index(drop=True)
    return out, sh.ignored_log()


# ================================================================================================
# Clean tables
# ================================================================================================
_S = dict(nullable=False)
SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "assessment": pa.DataFrameSchema({
        "commune_code": pa.Column(str, **_S), "code": pa.Column(str, **_S),
        "self_points": pa.Column(float, nullable=True), "appraised_points": pa.Column(float, nullable=True),
        "not_applicable": pa.Column(bool, **_S), "reason": pa.Column(str, **_S), "evidence": pa.Column(str, **_S),
        "max_points_form": pa.Column(float, pa.Check.gt(0), nullable=True),
    }, strict=True, ordered=True, unique=["commune_code", "code"]),
    "officials": pa.DataFrameSchema({
        "ballot_id": pa.Column(str, **_S), "group": pa.Column(str, **_S), "commune_code": pa.Column(str, **_S),
        "question": pa.Column(str, **_S),
        "answer": pa.Column(str, pa.Check.isin(["", "A", "B", "C", "D"]), **_S),
    }, strict=True, ordered=True, unique=["ballot_id", "commune_code", "question"]),
    "satisfaction": pa.DataFrameSchema({
        "ballot_id": pa.Column(str, **_S), "commune_code": pa.Column(str, **_S),
        "procedure_field": pa.Column(str, **_S), "question": pa.Column(str, **_S),
        "answer": pa.Column("Int64", nullable=True), "weight": pa.Column(float, pa.Check.ge(0), **_S),
    }, strict=True, ordered=True, unique=["ballot_id", "question"]),
    "ballots": pa.DataFrameSchema({
        "ballot_id": pa.Column(str, **_S), "commune_code": pa.Column(str, **_S),
        "procedure_field": pa.Column(str, **_S), "date": pa.Column("datetime64[us]", nullable=True),
        "status": pa.Column(str, pa.Check.isin(["valid", "excluded"]), **_S), "rule": pa.Column(str, **_S),
    }, strict=True, ordered=True),
    "dossiers": pa.DataFrameSchema({
        "commune_code": pa.Column(str, **_S), "procedure_field": pa.Column(str, **_S),
        "dossiers": pa.Column("int64", pa.Check.ge(0), **_S),
    }, strict=True, ordered=True, unique=["commune_code", "procedure_field"]),
    "rejections": pa.DataFrameSchema({
        "file": pa.Column(str, **_S), "sheet": pa.Column(str, **_S), "row": pa.Column("int64", **_S),
        "rule": pa.Column(str, **_S), "detail": pa.Column(str, **_S),
    }, strict=True, ordered=True),
}
TABLES = ("assessment", "officials", "satisfaction", "ballots", "dossiers", "rejections")


@dataclass
class CleanData:
    """The clean tables of one year (docs/ARCHITECTURE.md, "Clean tables")."""

    assessment: pd.DataFrame
    officials: pd.DataFrame
    satisfaction: pd.DataFrame
    ballots: pd.DataFrame
    dossiers: pd.DataFrame
    rejections: pd.DataFrame

    def validate(self) -> "CleanData":
        """Check every table against its pandera schema (raises pandera's SchemaError)."""
        for t in TABLES:
            SCHEMAS[t].validate(getattr(self, t))
        return self

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``<table>.parquet`` for each table and ``rejections.csv`` (UTF-8); returns the paths."""
        self.validate()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for t in TABLES[:-1]:
            p = out / f"{t}.parquet"
            getattr(self, t).to_parquet(p, index=False)
            paths.append(p)
        p = out / "rejections.csv"
        self.rejections.to_csv(p, index=False, encoding="utf-8", lineterminator="\n")
        return paths + [p]

    @classmethod
    def read(cls, out_dir: str | Path) -> "CleanData":
        """Load the tables written by :meth:`write`."""
        out = Path(out_dir)
        tables = {t: pd.read_parquet(out / f"{t}.parquet") for t in TABLES[:-1]}
        tables["ballots"]["date"] = tables["ballots"]["date"].astype("datetime64[us]")
        rej = pd.read_csv(out / "rejections.csv", dtype={"row": "int64"}, keep_default_na=False,
                          encoding="utf-8")
        tables["rejections"] = _rejections(rej)
        return cls(**tables).validate()


def find_raw_file(raw_dir: Path, kind: str) -> Path:
    """The one .xlsx or .csv file in ``raw_dir`` whose name starts with the prefix of ``kind``."""
    prefix, sheet = RAW_FILES[kind]
    raw_dir = Path(raw_dir)
    hits = sorted(p for p in raw_dir.glob(f"{prefix}*") if p.suffix.lower() in (".xlsx", ".csv")
                  and not p.name.startswith("~$"))
    if len(hits) == 1:
        return hits[0]
    have = ", ".join(sorted(p.name for p in raw_dir.iterdir())) if raw_dir.is_dir() else "(thư mục không tồn tại)"
    if not hits:
        raise InputError(Problem(f"{prefix}<năm>.xlsx", sheet, None, None,
                                 f"không tìm thấy tệp {prefix}*.xlsx hoặc .csv trong {raw_dir} (hiện có: {have})",
                                 f"missing file: expected {prefix}<year>.xlsx or .csv in {raw_dir}"))
    raise InputError(Problem(", ".join(p.name for p in hits), sheet, None, None,
                             f"có {len(hits)} tệp cùng loại, chỉ được để một tệp",
                             f"{len(hits)} files match {prefix}*; keep exactly one"))


def clean_year(raw_dir: str | Path, meth: Methodology, communes: pd.DataFrame, *,
               survey_start: dt.date | None = None, survey_end: dt.date | None = None,
               salt: str = "parindex") -> CleanData:
    """Read and clean the four raw files of one year. Problems of every file are gathered into one
    InputError; excluded ballots go to ``rejections``."""
    matcher = CommuneMatcher(communes)
    raw_dir = Path(raw_dir)
    probs: list[Problem] = []
    got: dict[str, tuple] = {}
    readers = {
        "assessment": lambda p: read_assessment(p, meth, matcher),
        "officials": lambda p: read_officials(p, meth, matcher),
        "satisfaction": lambda p: read_satisfaction(p, meth, matcher, survey_start=survey_start,
                                                    survey_end=survey_end, salt=salt),
        "dossiers": lambda p: read_dossiers(p, meth, matcher),
    }
    for kind, reader in readers.items():
        try:
            got[kind] = reader(find_raw_file(raw_dir, kind))
        except InputError as e:
            probs.extend(e.problems)
    if probs:
        raise InputError(probs)
    sat, ballots, sat_rej = got["satisfaction"]
    data = CleanData(
        assessment=got["assessment"][0], officials=got["officials"][0], satisfaction=sat, ballots=ballots,
        dossiers=got["dossiers"][0],
        rejections=_combine_rejections([got["assessment"][1], got["officials"][1], sat_rej, got["dossiers"][1]]))
    return data.validate()
