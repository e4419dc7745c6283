"""Reading a sheet: bounded grid of cells → header row → table of text cells (xlsx, xlsm, xls or csv).

What a form may look like and still be read (every change is logged in the ``conversions`` table):

* the header anywhere in the first ``ingest.header_search_rows`` rows (30), under a letterhead;
* a two-level header ("Điểm" over "Tự chấm | Thẩm định", "Số hồ sơ" over the procedure fields), merged
  cells filled; headings with units or notes in brackets ("Điểm tự chấm (điểm)");
* headings in the legacy encodings TCVN3 / VNI, and columns of text in them (converted to Unicode NFC;
  a column mixing encodings is refused with its cells named);
* total rows ("Tổng cộng", "Cộng", "Tổng số") skipped;
* formula cells: their cached values; a formula saved without one is refused with its cell.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter

from ..text import nfc, strip_diacritics
from .legacy import DECODERS, NAMES, decide_column, readings
from .log import InputError, Problem, rejections_frame
from .workbook import Grid, Limits, read_grid, sheet_names

HEADER_SEARCH_ROWS = 30
#: Keys (see :func:`head_key`) of a cell that marks a total row.
TOTAL_KEYS = {"tong cong", "cong", "tong", "tong so", "total", "tong cong toan huyen", "toan huyen",
              "cong toan huyen", "tong toan huyen", "cong tong"}


def head_key(s: object) -> str:
    """Matching key of a heading or a code: NFC, no diacritics, lower case, punctuation → space.

    Dots are kept so that criterion codes ("1.6", "8.4.2") stay distinct."""
    return _head_key(s if isinstance(s, str) else str(s))


@lru_cache(maxsize=65_536)
def _head_key(s: str) -> str:
    s = strip_diacritics(nfc(s)).lower()
    return re.sub(r"[^0-9a-z.]+", " ", s).strip(" .")


@lru_cache(maxsize=65_536)
def bare_key(s: object) -> str:
    """:func:`head_key` without notes in brackets ("Điểm tự chấm (điểm)" → "diem tu cham")."""
    return head_key(re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", nfc(str(s))))


def cell_text(v: object) -> str:
    """One cell as NFC text: blanks → "", whole floats without ".0", dates as ISO yyyy-mm-dd."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if v != v:
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return v.strftime("%Y-%m-%d")
    s = v if isinstance(v, str) else str(v)
    return (s if s.isascii() else nfc(s)).strip()


def quote(v: str, n: int = 60) -> str:
    """A value quoted in a message: at most ``n`` characters."""
    v = str(v)
    return f"'{v[:n]}…'" if len(v) > n else f"'{v}'"


@dataclass(frozen=True)
class Col:
    """An expected column: canonical name, accepted headings (in order of preference), whether the file
    must have it."""

    name: str
    headings: tuple[str, ...]
    required: bool = True

    @property
    def keys(self) -> set[str]:
        return {head_key(h) for h in self.headings}

    def priority(self, heading: str) -> int | None:
        """Index of the first accepted heading ``heading`` reads as (None when it is none of them)."""
        return _priority(self.headings, heading)


@lru_cache(maxsize=65_536)
def _priority(headings: tuple[str, ...], heading: str) -> int | None:
    ks = {head_key(heading), bare_key(heading)} - {""}
    for i, h in enumerate(headings):
        if head_key(h) in ks or bare_key(h) in ks:
            return i
    return None


@dataclass
class Sheet:
    """The data rows of one sheet below its header row, as text, indexed by spreadsheet row number."""

    file: str
    sheet: str  # "" for CSV
    header_row: int  # spreadsheet row number of the header (the lower row of a two-level header)
    data: pd.DataFrame  # columns = Col.name of the matched columns; str dtype; index = row number
    letters: dict[str, str]  # Col.name → "C 'Mã tiêu chí'"
    ignored: list[tuple[str, str]]  # (letter, heading) of non-blank headings not in the form

    def problem(self, row: int | None, col: str | None, vi: str, en: str) -> Problem:
        return Problem(self.file, self.sheet, row, self.letters.get(col, col) if col else None, vi, en)

    def heading(self, col: str) -> str:
        return self.letters.get(col, col)

    def ignored_log(self) -> pd.DataFrame:
        return rejections_frame([
            (self.file, self.sheet, self.header_row, "ignored_column",
             f"Cột {letter} '{h[:60]}' không thuộc mẫu, không sử dụng (column not in the form; ignored)")
            for letter, h in self.ignored])


# ------------------------------------------------------------------------------------------------
# Header
# ------------------------------------------------------------------------------------------------
@dataclass
class _Header:
    row: int  # index in the grid
    pos: dict[str, int]  # Col.name → column index
    headings: dict[int, str]  # column index → heading as read (upper + lower for two-level headers)
    two_level: bool
    dup: list[tuple]  # (Col, [indexes]) matched more than once with the same preference


def _options(text: list[list[str]], i: int, j: int) -> list[str]:
    """The headings column ``j`` may carry when row ``i`` is the (lower) header row."""
    lower = text[i][j] if j < len(text[i]) else ""
    upper = text[i - 1][j] if i > 0 and j < len(text[i - 1]) else ""
    out = [lower] if lower else []
    if upper and lower and upper != lower:
        out.append(f"{upper} {lower}")
    if upper and not lower:
        out.append(upper)
    return out


def _match_row(text: list[list[str]], i: int, cols: list[Col]) -> _Header:
    width = max(len(text[i]), len(text[i - 1]) if i > 0 else 0)
    best: dict[str, list[tuple[int, int, str]]] = {c.name: [] for c in cols}
    headings: dict[int, str] = {}
    two = False
    for j in range(width):
        opts = _options(text, i, j)
        if opts:
            headings[j] = opts[0]
        for c in cols:
            pr = [(p, k) for k, o in enumerate(opts) if (p := c.priority(o)) is not None]
            if pr:
                p, k = min(pr)
                best[c.name].append((p, j, opts[k]))
    pos: dict[str, int] = {}
    dup = []
    for c in cols:
        cand = best[c.name]
        if not cand:
            continue
        top = min(p for p, _, _ in cand)
        idx = [j for p, j, _ in cand if p == top]
        if len(idx) > 1:
            dup.append((c, idx))
        pos[c.name] = idx[0]
        h = next(o for p, j, o in cand if j == idx[0] and p == top)
        if h != (text[i][idx[0]] if idx[0] < len(text[i]) else ""):
            two = True
        headings[idx[0]] = h
    if i > 0 and not two:  # a heading spanning several columns above their own headings (merged cells)
        above = [text[i - 1][j] for j in pos.values() if j < len(text[i - 1]) and text[i - 1][j]
                 and text[i - 1][j] != (text[i][j] if j < len(text[i]) else "")]
        # (a title merged over the whole table is not a heading of the columns)
        two = any(above.count(a) > 1 for a in set(above)) and (len(set(above)) > 1 or len(above) < len(pos))
    return _Header(i, pos, headings, two, dup)


def _complete(h: _Header, cols: list[Col], one_of: list[tuple[str, ...]]) -> bool:
    if not all(c.name in h.pos for c in cols if c.required):
        return False
    return all(any(n in h.pos for n in group) for group in one_of)


def find_header(text: list[list[str]], cols: list[Col], search_rows: int = HEADER_SEARCH_ROWS,
                one_of: list[tuple[str, ...]] = ()) -> tuple[_Header | None, _Header | None]:
    """(the header, or None; the closest candidate) among the first ``search_rows`` rows. A row whose
    headings are complete on their own wins over the two-level reading of the row below it."""
    best, best_n = None, -1
    for i in range(min(search_rows, len(text))):
        h = _match_row(text, i, cols)
        if _complete(h, cols, one_of):
            return h, h
        n = len(h.pos)
        if n > best_n:
            best, best_n = h, n
    return None, best


# ------------------------------------------------------------------------------------------------
# Reading a sheet
# ------------------------------------------------------------------------------------------------
def _pick_sheet(path: Path, sheet: str, cols: list[Col], limits: Limits, search_rows: int, ing) -> str:
    names = sheet_names(path, limits)
    if names == [""]:
        return ""
    if sheet in names:
        return sheet
    same = [n for n in names if n.strip().casefold() == sheet.casefold()]
    if len(same) == 1:
        if ing is not None:
            ing.convert(path.name, same[0], "", "sheet_name", f"trang tính '{same[0]}' đọc là '{sheet}'", 1)
        return same[0]
    found = ", ".join(f"'{s[:40]}'" for s in names[:20]) or "(không có)"
    hint_vi, hint_en = "", ""
    for other in names[:20]:
        try:
            g = read_grid(path, other, limits)
        except (InputError, KeyError):
            continue
        tg = _text_grid(g)[0]
        h, _ = find_header(tg, cols, search_rows)
        if h is not None:
            last = get_column_letter(max(i for i, c in enumerate(tg[h.row]) if c) + 1)
            where = f"dòng {h.row + 1}, cột A–{last}"
            hint_vi = f"; dòng tiêu đề của mẫu có ở trang tính '{other}', {where} — hãy đổi tên trang tính"
            hint_en = f"; the form's header row is in sheet '{other}', row {h.row + 1}, columns A–{last}: " \
                      "rename that sheet"
            break
    raise InputError(Problem(path.name, sheet, None, None,
                             f"không có trang tính '{sheet}' (các trang tính hiện có: {found}){hint_vi}",
                             f"expected sheet '{sheet}', found: {found}{hint_en}"))


def _text_grid(g: Grid) -> tuple[list[list[str]], int]:
    width = max((len(r) for r in g.rows), default=0)
    return [[cell_text(v) for v in r] for r in g.rows], width


class _Columns:
    """The cells of a grid as text, column by column: each column factorised once (``codes`` into its distinct
    values) and :func:`cell_text` applied to the distinct values only — a column of 500,000 ballots holds a few
    hundred distinct answers. ``text(j, lo)`` is column ``j`` from grid row ``lo`` on as an object array of
    str; ``nonblank(lo)`` marks the rows (from ``lo`` on) with a non-blank cell. The same text as
    :func:`_text_grid`, cell for cell: values that compare equal give the same text (1.0 and True give "1")."""

    def __init__(self, grid: Grid):
        import numpy as np

        from .workbook import _odd_cell

        self.n = grid.n_rows
        self.width = width = grid.width
        self.codes: list[np.ndarray] = []
        self.utext: list[np.ndarray] = []
        if not self.n or not width:
            return
        arr = grid.array
        if arr is None:
            arr = np.empty((self.n, width), dtype=object)
            for i, r in enumerate(grid.rows):
                if r:
                    arr[i, :len(r)] = r
        for j in range(width):
            codes, uniq = pd.factorize(arr[:, j], use_na_sentinel=True)
            # (calamine's cells: "" for blank, int, date, time: as the streaming parser gives them first)
            text = np.array([cell_text(u if type(u) in (str, float) else _odd_cell(u)) for u in uniq] + [""],
                            dtype=object)                                   # code −1 (blank) → ""
            self.codes.append(np.where(codes < 0, len(uniq), codes))
            self.utext.append(text)

    def text(self, j: int, lo: int):
        import numpy as np

        if j >= len(self.codes):
            return np.full(max(self.n - lo, 0), "", dtype=object)
        return self.utext[j][self.codes[j][lo:]]

    def nonblank(self, lo: int):
        import numpy as np

        out = np.zeros(max(self.n - lo, 0), dtype=bool)
        for codes, text in zip(self.codes, self.utext):
            out |= (text != "")[codes[lo:]]
        return out

    def distinct(self, cols: list[int]) -> set[str]:
        return {v for j in cols if j < len(self.utext) for v in self.utext[j]}


def _decode_header_rows(text: list[list[str]], rows: int) -> tuple[int, str]:
    """Headings written in TCVN3 / VNI (first ``rows`` rows) → Unicode, in place. (cells, encoding)."""
    n, kinds = 0, set()
    for r in text[:rows]:
        for j, v in enumerate(r):
            if v and not v.isascii():
                rd = readings(v)
                if len(rd) == 1 and (k := next(iter(rd))) in DECODERS:
                    r[j] = DECODERS[k](v)
                    n += 1
                    kinds.add(k)
    return n, "/".join(NAMES[k] for k in sorted(kinds))


def read_sheet(path: Path, sheet: str, cols: list[Col], ing=None, *, one_of: tuple[tuple[str, ...], ...] = ()
               ) -> Sheet:
    """Read ``sheet`` of a workbook (or the single table of a .csv), find the header row among the first
    rows and return the data rows as text. Raises InputError naming what is wrong and where.

    ``ing`` (:class:`parindex.ingest.context.Ingest`) gives the limits and receives the conversions log;
    ``one_of``: groups of optional columns of which at least one must be present."""
    from .context import Ingest

    ing = ing if ing is not None else Ingest()
    limits = ing.limits
    search = ing.header_search_rows
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InputError(Problem(name, sheet, None, None, "không tìm thấy tệp", f"file not found: {path}"))
    try:
        shown = _pick_sheet(path, sheet, cols, limits, search, ing)
        grid = read_grid(path, shown, limits)
    except KeyError:
        raise InputError(Problem(name, sheet, None, None, f"không có trang tính '{sheet}'",
                                 f"expected sheet '{sheet}'")) from None
    width = grid.width
    text = [[cell_text(v) for v in r] for r in grid.head(search)]      # the rows where the header may be
    columns = _Columns(grid)                                             # every cell as text, column by column
    if grid.legacy_csv and grid.legacy_csv != "cp1258":
        ing.convert(name, shown, "", "csv_encoding", f"tệp CSV viết bằng {NAMES[grid.legacy_csv]} → Unicode", 1)
    if not columns.nonblank(0).any():
        raise InputError(Problem(
            name, shown, 1, None, "tệp trống, không có dữ liệu",
            "blank file: no non-empty cell; expected a header row with "
            + ", ".join(f"'{c.headings[0]}'" for c in cols if c.required)))
    head = [list(r) for r in text[:search]]  # headings decoded from TCVN3/VNI for matching only
    n_hdr, hdr_enc = _decode_header_rows(head, search)
    h, best = find_header(head, cols, search, list(one_of))
    if h is None:
        row = (best.row if best else 0) + 1
        enc_vi = f"; {n_hdr} ô tiêu đề viết bằng {hdr_enc} đã được chuyển sang Unicode" if n_hdr else ""
        probs = [Problem(name, shown, row, f"'{c.headings[0]}'",
                         f"thiếu cột '{c.headings[0]}' ở dòng tiêu đề (tìm trong {search} dòng đầu, "
                         f"dòng gần đúng nhất là dòng {row}{enc_vi})",
                         f"missing column '{c.headings[0]}': no row among the first {search} has it "
                         f"together with the other headings of the form (closest: row {row})")
                 for c in cols if c.required and c.name not in (best.pos if best else {})]
        for group in one_of:
            if not any(n in (best.pos if best else {}) for n in group):
                heads = [c.headings[0] for c in cols if c.name in group]
                probs.append(Problem(name, shown, row, " / ".join(f"'{x}'" for x in heads),
                                     "cần ít nhất một trong các cột " + ", ".join(f"'{x}'" for x in heads),
                                     "expected at least one of the columns " + ", ".join(f"'{x}'" for x in heads)))
        raise InputError(probs)
    hr = h.row
    if h.dup:
        raise InputError([Problem(
            name, shown, hr + 1, ", ".join(f"{get_column_letter(i + 1)}" for i in idx) + f" '{c.headings[0]}'",
            f"cột '{c.headings[0]}' xuất hiện {len(idx)} lần", f"column '{c.headings[0]}' appears {len(idx)} times")
            for c, idx in h.dup])
    n_hdr = sum(1 for j, v in enumerate(head[hr]) if v != text[hr][j]) + (
        sum(1 for j, v in enumerate(head[hr - 1]) if v != text[hr - 1][j]) if h.two_level and hr > 0 else 0)
    if n_hdr:
        ing.convert(name, shown, "(dòng tiêu đề)", "header_encoding",
                    f"{n_hdr} ô tiêu đề viết bằng {hdr_enc} → Unicode", n_hdr)
    if h.two_level:
        ing.convert(name, shown, "(dòng tiêu đề)", "two_level_header",
                    f"tiêu đề hai tầng ở dòng {hr} và {hr + 1}", 1)
    pos = h.pos
    header = {j: h.headings.get(j, head[hr][j] if j < len(head[hr]) else "") for j in range(width)}
    for c in cols:
        if c.name in pos:
            got = header[pos[c.name]]
            if head_key(got) not in c.keys and c.priority(got) is not None and head_key(got) != bare_key(got):
                ing.convert(name, shown, got[:60], "heading", f"tiêu đề '{got[:60]}' đọc là '{c.headings[0]}'", 1)
    keep = columns.nonblank(hr + 1)                                      # data rows: those with a non-blank cell
    index = pd.RangeIndex(hr + 2, hr + 2 + len(keep), name="row")[keep]
    used = set(pos.values())
    ignored = [(get_column_letter(j + 1), header[j]) for j in range(width)
               if header[j] and j not in used and j < len(text[hr]) and text[hr][j]]
    data = pd.DataFrame({n: pd.array(columns.text(i, hr + 1)[keep], dtype="str") for n, i in pos.items()},
                        index=index)
    letters = {n: f"{get_column_letter(i + 1)} '{header[i][:60]}'" for n, i in pos.items()}
    # Total rows
    uniq = columns.distinct(list(pos.values()))
    totals = [v for v in uniq if v and len(v) <= 40 and v[0] in "TtCc" and head_key(v) in TOTAL_KEYS]
    total = data.isin(totals).any(axis=1) if totals else pd.Series(False, index=data.index)
    for r in data.index[total.to_numpy()]:
        ing.convert(name, shown, "", "total_row", f"dòng {r} là dòng tổng cộng, bỏ qua (total row skipped)", 1)
    data = data[~total]
    # Formulas saved without a cached value, in the columns and rows read
    rows_read = set(int(r) - 1 for r in data.index)
    cols_read = {i: n for n, i in pos.items()}
    stale = sorted((r, c) for r, c in grid.no_cache if r in rows_read and c in cols_read)
    if stale:
        raise InputError([Problem(
            name, shown, r + 1, f"{get_column_letter(c + 1)} '{header[c][:60]}'",
            f"ô {get_column_letter(c + 1)}{r + 1} là công thức chưa có giá trị lưu sẵn — mở tệp bằng Excel và "
            "lưu lại rồi chạy lại", f"cell {get_column_letter(c + 1)}{r + 1} is a formula saved without its value: "
            "open the file in Excel and save it again") for r, c in stale])
    if grid.formulas:
        ing.convert(name, shown, "", "formula", f"{grid.formulas} ô công thức: dùng giá trị Excel đã lưu", grid.formulas)
    # Legacy encodings, column by column
    probs = []
    for n in data.columns:
        vals = data[n].tolist()
        dec = decide_column(vals)
        if dec.kind in DECODERS:
            f = DECODERS[dec.kind]
            new = data[n].map(lambda v: f(v) if v and not v.isascii() else v)
            changed = int((new != data[n]).sum())
            data[n] = new.astype("str")
            ing.convert(name, shown, letters[n], "encoding", f"{NAMES[dec.kind]} → Unicode", changed)
        elif dec.kind == "mixed":
            cells = [f"{letters[n].split(' ')[0]}{data.index[i]}" for i in dec.cells[:10]]
            more = f" … (+{len(dec.cells) - 10})" if len(dec.cells) > 10 else ""
            probs.append(Problem(name, shown, int(data.index[dec.cells[0]]), letters[n],
                                 f"cột trộn nhiều bảng mã hoặc không xác định được bảng mã ({dec.detail}); các ô "
                                 f"cần sửa: {', '.join(cells)}{more} — hãy chuyển cả cột sang Unicode "
                                 "(Unikey: công cụ chuyển mã)",
                                 f"column mixes encodings or its encoding cannot be decided; cells "
                                 f"{', '.join(cells)}{more}: convert the whole column to Unicode"))
    if probs:
        raise InputError(probs)
    if data.empty:
        raise InputError(Problem(name, shown, hr + 2, None,
                                 f"có dòng tiêu đề (dòng {hr + 1}) nhưng không có dòng dữ liệu nào",
                                 f"header row {hr + 1} found but no data row below it"))
    return Sheet(name, shown, hr + 1, data, letters, ignored)
