"""One sheet of a raw file as a bounded grid of cell values — read without running anything in it.

* ``.xlsx`` / ``.xlsm`` (a zip of XML parts; macros are never run — only the sheet's XML is read): the
  declared sizes of the zip parts are checked first, then only the requested sheet is streamed row by
  row (never the whole workbook). A formula cell gives its cached value (what Excel showed when the
  file was saved); a formula saved without a cached value is recorded so that the caller can refuse it
  ("open the file in Excel and save it again") instead of reading it as blank.

  Two readers give the same grid. A *plain* sheet — no formula, no error cell, no rich-text run, no
  ``_xHHHH_`` escape, no TCVN3 capitals font, number formats that both readers call dates alike, its last
  row within ``max_rows`` — is read by calamine (``python-calamine``, Rust: about 10 × faster, what a
  province or the whole country needs); a first pass over the sheet's XML (decompressed in chunks, byte
  searches only) decides it. Every other sheet, and any sheet calamine fails on or that passes a limit, is
  read by the streaming parser below, which records formulas, decodes TCVN3 capitals fonts and gives the
  located refusals. ``tests/test_ingest.py`` checks that both readers give the same grid.
* ``.xls`` (Excel 97–2003): read with xlrd (formula cells carry their cached values in that format).
* ``.csv``: UTF-8 (with or without BOM), UTF-16 with BOM, else one of the 8-bit Vietnamese code pages
  (Windows-1258, TCVN3, VNI — decided on the whole file, see :mod:`parindex.ingest.legacy`).

Every reader stops with an :class:`~parindex.ingest.log.InputError` as soon as a limit of
:class:`Limits` is passed (file size, unpacked size, rows, columns), so that a small hostile file cannot
exhaust memory or time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError, iterparse

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils import get_column_letter

from ..text import nfc
from .log import InputError, Problem

#: Magic bytes of the two workbook containers.
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Limits:
    """Resource limits of reading one raw file (parameters ``ingest.max_*``)."""

    max_file_mb: float = 20.0
    max_unzipped_mb: float = 200.0
    max_rows: int = 50_000
    max_columns: int = 200


class Grid:
    """The cells of one sheet: ``rows[i][j]`` is row ``i + 1``, column ``j + 1`` (trailing blanks cut, None =
    blank). ``no_cache``: (row0, col0) of formulas saved without a value; ``formulas``: formula cells whose
    cached value was used; ``legacy_csv``: the 8-bit code page a CSV file was decoded from ("" = Unicode).

    The calamine reader gives the cells as one rectangular object array instead (``array``: blank cells are
    "" there, numbers may be int, dates date/time/timedelta): ``rows`` is then built from it on first use,
    normalised as the streaming parser gives them, while :mod:`parindex.ingest.sheets` reads the array column
    by column without building it."""

    def __init__(self, rows: list[list[object]] | None = None, no_cache: set[tuple[int, int]] | None = None,
                 formulas: int = 0, legacy_csv: str = "", array=None):
        self._rows = rows
        self.no_cache = no_cache if no_cache is not None else set()
        self.formulas = formulas
        self.legacy_csv = legacy_csv
        self.array = array

    @property
    def rows(self) -> list[list[object]]:
        if self._rows is None:
            self._rows = self.head(len(self.array))
        return self._rows

    @property
    def n_rows(self) -> int:
        return len(self._rows) if self._rows is not None else len(self.array)

    @property
    def width(self) -> int:
        if self._rows is not None:
            return max((len(r) for r in self._rows), default=0)
        return self.array.shape[1] if len(self.array) else 0

    def head(self, n: int) -> list[list[object]]:
        """The first ``n`` rows as lists (trailing blanks cut)."""
        if self._rows is not None:
            return self._rows[:n]
        out = []
        for r in self.array[:n].tolist():
            k = len(r)
            while k and (r[k - 1] == "" or r[k - 1] is None):
                k -= 1
            out.append([v if (t := type(v)) is float or (t is str and v) else _odd_cell(v) for v in r[:k]])
        return out


def _refuse(name: str, sheet: str, vi: str, en: str, row: int | None = None, col: str | None = None) -> InputError:
    return InputError(Problem(name, sheet, row, col, vi, en))


def check_size(path: Path, limits: Limits, sheet: str = "") -> None:
    size = path.stat().st_size
    if size > limits.max_file_mb * 1e6:
        raise _refuse(path.name, sheet, f"tệp quá lớn ({size / 1e6:.1f} MB, giới hạn {limits.max_file_mb:g} MB; "
                                        "tham số ingest.max_file_mb)",
                      f"file too large: {size / 1e6:.1f} MB > ingest.max_file_mb = {limits.max_file_mb:g} MB")


def file_kind(path: Path) -> str:
    """"xlsx", "xls" or "csv" from the first bytes (a workbook saved under another suffix is still read as
    what it is); "other" for anything else that does not end in .csv."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head == OLE_MAGIC:
        return "xls"
    return "csv" if path.suffix.lower() == ".csv" else "other"


def sheet_names(path: Path, limits: Limits) -> list[str]:
    """Names of the worksheets of a workbook ([""] for a CSV file)."""
    path = Path(path)
    check_size(path, limits)
    kind = file_kind(path)
    if kind == "xlsx":
        with _open_zip(path, limits) as z:
            return [n for n, _ in _xlsx_sheets(z, path.name)]
    if kind == "xls":
        book = _open_xls(path)
        try:
            return book.sheet_names()
        finally:
            book.release_resources()
    if kind == "csv":
        return [""]
    raise _not_a_workbook(path.name, "unknown container")


def read_grid(path: Path, sheet: str, limits: Limits) -> Grid:
    """The cells of ``sheet`` (ignored for CSV) within ``limits``."""
    path = Path(path)
    check_size(path, limits, sheet)
    kind = file_kind(path)
    if kind == "xlsx":
        return _xlsx_grid(path, sheet, limits)
    if kind == "xls":
        return _xls_grid(path, sheet, limits)
    if kind == "csv":
        return _csv_grid(path, limits)
    raise _not_a_workbook(path.name, "unknown container")


def _not_a_workbook(name: str, why: str) -> InputError:
    return _refuse(name, "", "tệp không phải bảng tính Excel (.xlsx, .xlsm, .xls) đọc được — nếu tệp có mật khẩu, "
                             "hãy bỏ mật khẩu rồi lưu lại; nếu là trang web (.htm), hãy lưu lại dưới dạng .xlsx",
                   f"not a readable .xlsx/.xlsm/.xls workbook ({why[:200]})")


# ------------------------------------------------------------------------------------------------
# .xlsx / .xlsm
# ------------------------------------------------------------------------------------------------
_CELL_REF = re.compile(r"([A-Z]{1,3})(\d+)$")
_NS = ("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}", "{http://purl.oclc.org/ooxml/spreadsheetml/main}", "")


def _tags(name: str) -> frozenset[str]:
    return frozenset(ns + name for ns in _NS)


T_ROW, T_C, T_V, T_F, T_IS, T_MERGE, T_DATA = (_tags(n) for n in ("row", "c", "v", "f", "is", "mergeCell",
                                                                 "sheetData"))


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _open_zip(path: Path, limits: Limits) -> zipfile.ZipFile:
    try:
        z = zipfile.ZipFile(path)
        infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise _not_a_workbook(path.name, f"{type(e).__name__}: {e}") from None
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_mb * 1e6 or len(infos) > 10_000:
        z.close()
        raise _refuse(path.name, "", f"tệp nén chứa {total / 1e6:.0f} MB dữ liệu khi giải nén, vượt giới hạn "
                                     f"{limits.max_unzipped_mb:g} MB (tham số ingest.max_unzipped_mb)",
                      f"workbook unpacks to {total / 1e6:.0f} MB > ingest.max_unzipped_mb = "
                      f"{limits.max_unzipped_mb:g} MB")
    return z


def _read_part(z: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        return z.read(name)
    except KeyError:
        return None


def _parse_xml(data: bytes, name: str):
    """Parse a small XML part (relationships, workbook, styles) into (tag, attrib, element) tuples."""
    try:
        return [el for _, el in iterparse(io.BytesIO(data), events=("end",))]
    except ParseError as e:
        raise _not_a_workbook(name, f"XML: {e}") from None


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = [p for p in (base_dir + "/" + target).split("/") if p]
    out: list[str] = []
    for p in parts:
        if p == "..":
            if out:
                out.pop()
        elif p != ".":
            out.append(p)
    return "/".join(out)


def _rels(z: zipfile.ZipFile, part: str, name: str) -> dict[str, str]:
    base_dir, _, fname = part.rpartition("/")
    data = _read_part(z, f"{base_dir}/_rels/{fname}.rels" if base_dir else f"_rels/{fname}.rels")
    if data is None:
        return {}
    return {el.get("Id"): _resolve(base_dir, el.get("Target", "")) for el in _parse_xml(data, name)
            if _local(el.tag) == "Relationship" and el.get("Id")}


def _workbook_part(z: zipfile.ZipFile, name: str) -> str:
    data = _read_part(z, "_rels/.rels")
    if data is not None:
        for el in _parse_xml(data, name):
            if _local(el.tag) == "Relationship" and str(el.get("Type", "")).endswith("/officeDocument"):
                return _resolve("", el.get("Target", ""))
    return "xl/workbook.xml"


def _xlsx_sheets(z: zipfile.ZipFile, name: str) -> list[tuple[str, str]]:
    """(sheet name, part path) of every worksheet, in workbook order."""
    wb_part = _workbook_part(z, name)
    data = _read_part(z, wb_part)
    if data is None:
        raise _not_a_workbook(name, f"no {wb_part}")
    rels = _rels(z, wb_part, name)
    out = []
    for el in _parse_xml(data, name):
        if _local(el.tag) == "sheet":
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
            target = rels.get(rid or "")
            if target and "worksheets/" in target:
                out.append((nfc(el.get("name", "")), target))
    return out


def _date1904(z: zipfile.ZipFile, name: str) -> bool:
    data = _read_part(z, _workbook_part(z, name)) or b""
    for el in _parse_xml(data, name) if data else []:
        if _local(el.tag) == "workbookPr":
            return str(el.get("date1904", "")).lower() in ("1", "true")
    return False


#: Fonts of the TCVN3 family for capitals (".VnTimeH", ".VnArialH" …): text typed in them uses the
#: lower-case TCVN3 codes and shows as capitals.
_CAPS_FONT = re.compile(r"^\.?vn.*h$", re.I)


def _caps_tcvn3(text: str) -> str:
    """Text of a TCVN3 capitals font → Unicode capitals (the rest of the cell stays as it is stored)."""
    from .legacy import decode_tcvn3

    return decode_tcvn3(text).upper()


def _rich_text(el) -> tuple[str, bool]:
    """Text of a shared or inline string (<si>/<is>) and whether it has runs; runs in a TCVN3 capitals
    font are decoded to Unicode capitals here (the font is lost after this point)."""
    parts, runs = [], False
    for child in el:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            runs = True
            text = "".join(t.text or "" for t in child if _local(t.tag) == "t")
            font = next((f.get("val", "") for pr in child if _local(pr.tag) == "rPr" for f in pr
                         if _local(f.tag) in ("rFont", "name")), "")
            parts.append(_caps_tcvn3(text) if _CAPS_FONT.match(font) else text)
    return "".join(parts), runs


def _shared_strings(z: zipfile.ZipFile, name: str) -> list[tuple[str, bool]]:
    part = next((p for p in z.namelist() if p.lower() == "xl/sharedstrings.xml"), None)
    if part is None:
        return []
    out: list[tuple[str, bool]] = []
    try:
        with z.open(part) as f:
            for _, el in iterparse(f, events=("end",)):
                if _local(el.tag) != "si":
                    continue
                out.append(_rich_text(el))
                el.clear()
    except ParseError as e:
        raise _not_a_workbook(name, f"sharedStrings XML: {e}") from None
    return out


def _style_kinds(z: zipfile.ZipFile, name: str) -> tuple[set[int], set[int], bool]:
    """Indexes of the cell formats (``s`` attribute) that show a number as a date, and of those whose font
    is a TCVN3 capitals font; and whether calamine's date rule agrees on every cell format (:func:`_xf_kinds`)."""
    part = next((p for p in z.namelist() if p.lower() == "xl/styles.xml"), None)
    if part is None:
        return set(), set(), True
    data = z.read(part)
    custom: dict[int, str] = {}
    xfs: list[tuple[int, int]] = []
    fonts: list[str] = []
    where = ""
    try:
        for event, el in iterparse(io.BytesIO(data), events=("start", "end")):
            tag = _local(el.tag)
            if tag in ("cellXfs", "fonts"):
                where = tag if event == "start" else ""
            elif event == "end" and tag == "numFmt":
                try:
                    custom[int(el.get("numFmtId", "-1"))] = el.get("formatCode", "")
                except ValueError:
                    pass
            elif event == "end" and tag == "font" and where == "fonts":
                fonts.append(next((f.get("val", "") for f in el if _local(f.tag) == "name"), ""))
            elif event == "start" and tag == "xf" and where == "cellXfs":
                try:
                    xfs.append((int(el.get("numFmtId", "0")), int(el.get("fontId", "0"))))
                except ValueError:
                    xfs.append((0, 0))
    except ParseError as e:
        raise _not_a_workbook(name, f"styles XML: {e}") from None
    return _xf_kinds(custom, xfs, fonts)


_BUILTIN_DATES = set(range(14, 23)) | set(range(27, 37)) | {45, 46, 47} | set(range(50, 59))


def _xf_kinds(custom: dict[int, str], xfs: list[tuple[int, int]], fonts: list[str]) -> tuple[set[int], set[int], bool]:
    """(cell formats that show a date, cell formats in a TCVN3 capitals font, whether calamine's date rule
    calls exactly the same formats dates)."""
    dates, caps, agree = set(), set(), True
    for i, (fid, font) in enumerate(xfs):
        code = custom.get(fid, BUILTIN_FORMATS.get(fid, ""))
        ours = fid in _BUILTIN_DATES or bool(code and is_date_format(code))
        if ours:
            dates.add(i)
        if ours != (_calamine_date(custom[fid]) if fid in custom else fid in _CALAMINE_BUILTIN_DATES):
            agree = False
        if 0 <= font < len(fonts) and _CAPS_FONT.match(fonts[font]):
            caps.add(i)
    return dates, caps, agree


#: Built-in number formats calamine reads as dates or durations (calamine ``formats.rs``).
_CALAMINE_BUILTIN_DATES = set(range(14, 23)) | {45, 46, 47}


def _calamine_date(code: str) -> bool:
    """Whether calamine reads a number in custom format ``code`` as a date or duration (its
    ``detect_custom_number_format``: a d/m/h/y/s outside quotes, brackets and escapes in the first section,
    an AM/PM marker, or a bracketed [h]/[m]/[s]). A code with a fill (``*``), on which calamine versions
    differ, counts as uncertain: reported as the opposite of openpyxl's verdict, so the sheet is read by the
    streaming parser."""
    if "*" in code:
        return not is_date_format(code)
    escaped = quote = ap = hms = False
    brackets = 0
    prev = " "
    for ch in code:
        if escaped:
            escaped = False
        elif ch in "_\\":
            escaped = True
        elif quote:
            quote = ch != '"'
        elif ch == '"':
            quote = True
        elif ch == ";":
            return False
        elif ch == "[":
            brackets += 1
        elif ch == "]" and brackets == 1 and hms:
            return True
        elif ch == "]":
            brackets = max(brackets - 1, 0)
        elif ch in "aA" and not ap and brackets == 0:
            ap = True
        elif ap and brackets == 0 and ch in "pm/PM":
            return True
        elif not ap and brackets == 0 and ch in "dmhysDMHYS":
            return True
        elif not (hms and ch.lower() == prev.lower()):
            hms = prev == "[" and ch in "mhsMHS"
        prev = ch
    return False


def _excel_date(serial: float, date1904: bool) -> object:
    base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    try:
        d = base + dt.timedelta(days=serial)
    except OverflowError:
        return serial
    return d


def _xlsx_grid(path: Path, sheet: str, limits: Limits) -> Grid:
    name = path.name
    with _open_zip(path, limits) as z:
        sheets = dict(_xlsx_sheets(z, name))
        if sheet not in sheets:
            raise KeyError(sheet)
        part = sheets[sheet]
        if part not in z.namelist():
            raise _not_a_workbook(name, f"sheet part {part} missing")
        dates, caps, agree = _style_kinds(z, name)
        if agree and not caps and _plain_sheet(path, z, part, limits):
            grid = _calamine_grid(path, sheet, limits)
            if grid is not None:
                return grid
        shared = _shared_strings(z, name)
        d1904 = _date1904(z, name)
        return _stream_sheet(z, part, shared, dates, caps, d1904, limits, name, sheet)


# ------------------------------------------------------------------------------------------------
# .xlsx, plain sheets: calamine
# ------------------------------------------------------------------------------------------------
#: What sends a sheet to the streaming parser, found by byte searches in its XML (each pattern starts with a
#: literal, which ``re`` scans for quickly): formulas (an ``f`` element, with or without a namespace prefix),
#: error and ISO-date cells, rich-text runs and phonetic runs (their fonts may be TCVN3 capitals), ``_xHHHH_``
#: escapes (calamine decodes them, the streaming parser keeps them as written).
_FORMULA = re.compile(rb"f[\s>/]")
_NOT_PLAIN = (re.compile(rb"t\s*=\s*[\x22\x27][ed][\x22\x27]"), re.compile(rb"rP[rh]"), re.compile(rb"_x[0-9A-Fa-f]{4}_"))
_LAST_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*)>")
_ROW_NUM = re.compile(rb"\sr\s*=\s*[\x22\x27](\d+)[\x22\x27]")
_CAPS_RUN = re.compile(rb"val\s*=\s*[\x22\x27]\.?vn[^\x22\x27]*h[\x22\x27]", re.I)
_CHUNK = 1 << 24


def _inflate(path: Path, z: zipfile.ZipFile, part: str):
    """The decompressed bytes of a zip part in chunks of at most :data:`_CHUNK`, straight through zlib (no
    CRC pass: this is a look-ahead, the reader that follows checks the part), never more than its declared
    size plus one chunk. Raises ValueError when the part is not a plain stored or deflated entry."""
    info = z.getinfo(part)
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError("encrypted or unusual compression")
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        head = fh.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            raise ValueError("bad local header")
        n, m = struct.unpack("<HH", head[26:30])
        fh.seek(info.header_offset + 30 + n + m)
        left = info.compress_size
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        total = 0
        while left > 0:
            data = fh.read(min(1 << 20, left))
            if not data:
                break
            left -= len(data)
            while data:
                if inflater is None:
                    out, data = data, b""
                else:
                    out = inflater.decompress(data, _CHUNK)
                    data = inflater.unconsumed_tail
                total += len(out)
                if total > info.file_size + _CHUNK:
                    raise ValueError("part larger than declared")
                if out:
                    yield out


def _plain_sheet(path: Path, z: zipfile.ZipFile, part: str, limits: Limits) -> bool:
    """Whether the sheet part (and the shared strings) hold nothing that only the streaming parser reads as the
    project does (see :data:`_NOT_PLAIN`), and the sheet's last row is within ``limits.max_rows``. Byte searches
    over the decompressed XML, chunk by chunk (about 1 s per 400 MB of XML)."""
    ss = next((p for p in z.namelist() if p.lower() == "xl/sharedstrings.xml"), None)
    tail = b""
    try:
        if ss is not None:
            data = b"".join(_inflate(path, z, ss))
            if b"<rPh" in data or b":rPh" in data or (b"rPr" in data and _CAPS_RUN.search(data)) \
                    or _NOT_PLAIN[2].search(data):
                return False
        for chunk in _inflate(path, z, part):
            buf = tail[-64:] + chunk
            for m in _FORMULA.finditer(buf):
                if m.start() > 0 and buf[m.start() - 1] in b"<:":
                    return False
            if any(p.search(buf) for p in _NOT_PLAIN):
                return False
            tail = buf[-65536:]
    except (ValueError, OSError, zlib.error, KeyError):
        return False
    rows = _LAST_ROW.findall(tail)
    if not rows:
        return b"<row" not in tail and b":row" not in tail   # no row at all: an empty sheet
    m = _ROW_NUM.search(b" " + rows[-1])
    return m is not None and int(m.group(1)) <= limits.max_rows


_BASE = {False: dt.datetime(1899, 12, 30), True: dt.datetime(1904, 1, 1)}


def _odd_cell(v: object) -> object:
    """A calamine value that is not a float or a non-empty text, as the streaming parser gives it: blank → None,
    whole numbers → float, dates and times → datetime (a time of day on the epoch day, as Excel stores it)."""
    if v == "" or v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return float(v)
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, dt.time):
        return _BASE[False].replace(hour=v.hour, minute=v.minute, second=v.second, microsecond=v.microsecond)
    if isinstance(v, dt.timedelta):
        return _BASE[False] + v
    return v


def _calamine_grid(path: Path, sheet: str, limits: Limits) -> Grid | None:
    """The grid of a plain sheet read by calamine, as one object array (see :class:`Grid`); None when calamine
    is not installed, fails, or the sheet passes a limit (the streaming parser then reads it and gives the
    located message)."""
    import numpy as np

    try:
        import python_calamine as pc
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    try:
        with pc.CalamineWorkbook.from_path(str(path)) as wb:
            idx = [i for i, n in enumerate(wb.sheet_names) if nfc(n) == sheet]
            if len(idx) != 1:
                return None
            ws = wb.get_sheet_by_index(idx[0])
            if ws.height > limits.max_rows:
                return None
            cells = ws.to_python(skip_empty_area=False)
            merged = ws.merged_cell_ranges or []
    except Exception:  # noqa: BLE001 - any failure of the fast path: the streaming parser decides
        return None
    width = max((len(r) for r in cells), default=0)
    if not cells or not width:
        return Grid([])
    arr = np.empty((len(cells), width), dtype=object)
    if all(len(r) == width for r in cells):
        arr[:] = cells
    else:  # pragma: no cover - calamine gives rectangular rows
        for i, r in enumerate(cells):
            arr[i, :len(r)] = r
    del cells
    used = arr != ""
    rows_used = np.flatnonzero(used.any(axis=1))
    cols_used = np.flatnonzero(used.any(axis=0))
    if not len(rows_used):
        return Grid([])
    n, w = int(rows_used[-1]) + 1, int(cols_used[-1]) + 1
    if n > limits.max_rows or w > limits.max_columns:
        return None
    arr = arr[:n, :w]
    for (r0, c0), (r1, c1) in merged[:10_000]:             # merged cells: the first cell's value, as _fill_merges
        if r0 < n and c0 < w and arr[r0, c0] != "":
            block = arr[r0:min(r1, n - 1) + 1, c0:min(c1, w - 1) + 1]
            block[block == ""] = arr[r0, c0]
    return Grid(array=arr)


def _stream_sheet(z: zipfile.ZipFile, part: str, shared: list[tuple[str, bool]], dates: set[int], caps: set[int],
                  d1904: bool, limits: Limits, name: str, sheet: str) -> Grid:
    rows: dict[int, dict[int, object]] = {}
    no_cache: set[tuple[int, int]] = set()
    merges: list[str] = []
    formulas = 0
    row_i = -1
    letters: dict[str, int] = {}

    try:
        with z.open(part) as f:
            for _, el in iterparse(f, events=("end",)):
                tag = el.tag
                if tag in T_ROW:
                    r = el.get("r")
                    row_i = int(r) - 1 if r and r.isdigit() else row_i + 1
                    if row_i >= limits.max_rows:
                        raise _refuse(name, sheet, f"trang tính có dòng thứ {row_i + 1} (kể cả dòng trống có định dạng), "
                                                   f"vượt giới hạn {limits.max_rows} dòng (tham số ingest.max_rows); "
                                                   "hãy xóa các dòng thừa bên dưới bảng",
                                      f"the sheet has a row {row_i + 1} (even if blank but formatted), beyond "
                                      f"ingest.max_rows = {limits.max_rows}; delete the rows below the table",
                                      row=row_i + 1)
                    cells: dict[int, object] = {}
                    col_i = -1
                    for c in el:
                        if c.tag not in T_C:
                            continue
                        ref = c.get("r")
                        m = _CELL_REF.match(ref) if ref else None
                        if m:
                            lt_ = m.group(1)
                            col_i = letters.get(lt_)
                            if col_i is None:
                                col_i = letters[lt_] = _col_index(lt_)
                        else:
                            col_i += 1
                        t = c.get("t", "n")
                        v = f_el = is_el = None
                        for ch in c:
                            lt = ch.tag
                            if lt in T_V:
                                v = ch.text
                            elif lt in T_F:
                                f_el = ch
                            elif lt in T_IS:
                                is_el = ch
                        runs = False
                        if t == "inlineStr":
                            value, runs = _rich_text(is_el) if is_el is not None else (None, False)
                        elif f_el is not None and (v is None or (v == "" and t != "str")):
                            no_cache.add((row_i, col_i))
                            value = None
                        elif v is None:
                            value = None
                        elif t == "s":
                            try:
                                value, runs = shared[int(v)]
                            except (ValueError, IndexError):
                                raise _not_a_workbook(name, f"bad shared string index in {ref}") from None
                        elif t in ("str", "e"):
                            value = v
                        elif t == "b":
                            value = v.strip() in ("1", "true")
                        elif t == "d":
                            try:
                                value = dt.datetime.fromisoformat(v.strip())
                            except ValueError:
                                value = v
                        else:
                            try:
                                num = float(v)
                            except ValueError:
                                value = v
                            else:
                                s = c.get("s")
                                if s is not None and s.isdigit() and int(s) in dates and num == num:
                                    value = _excel_date(num, d1904)
                                else:
                                    value = num
                        if isinstance(value, str) and not runs and caps and value:
                            st = c.get("s")
                            if st is not None and st.isdigit() and int(st) in caps:
                                value = _caps_tcvn3(value)
                        if f_el is not None and (row_i, col_i) not in no_cache:
                            formulas += 1
                        if value is None or value == "":
                            continue
                        if col_i >= limits.max_columns:
                            raise _refuse(name, sheet, f"ô {get_column_letter(min(col_i, 16383) + 1)}{row_i + 1} có "
                                                       f"dữ liệu ở cột thứ {col_i + 1}, vượt giới hạn "
                                                       f"{limits.max_columns} cột (tham số ingest.max_columns)",
                                          f"cell in column {col_i + 1}, beyond ingest.max_columns = "
                                          f"{limits.max_columns}", row=row_i + 1)
                        cells[col_i] = value
                    if cells:
                        rows[row_i] = cells
                    el.clear()
                elif tag in T_MERGE:
                    if len(merges) < 10_000 and el.get("ref"):
                        merges.append(el.get("ref"))
                elif tag in T_DATA:
                    el.clear()
    except ParseError as e:
        raise _not_a_workbook(name, f"sheet XML: {e}") from None
    except zipfile.BadZipFile as e:
        raise _not_a_workbook(name, f"{e}") from None
    n = max(rows) + 1 if rows else 0
    width = max((max(c) + 1 for c in rows.values()), default=0)
    grid = [[None] * (max(r) + 1) if (r := rows.get(i)) else [] for i in range(n)]
    for i, cells in rows.items():
        for j, v in cells.items():
            grid[i][j] = v
    _fill_merges(grid, merges, width)
    no_cache = {(i, j) for i, j in no_cache if i < limits.max_rows and j < limits.max_columns}
    return Grid(grid, no_cache, formulas)


def _fill_merges(grid: list[list[object]], merges: list[str], width: int) -> None:
    """Copy the value of a merged range's first cell into its other cells (within the used area only)."""
    for ref in merges:
        a, _, b = ref.partition(":")
        ma, mb = _CELL_REF.match(a), _CELL_REF.match(b or a)
        if not ma or not mb:
            continue
        r0, c0 = int(ma.group(2)) - 1, _col_index(ma.group(1))
        r1, c1 = int(mb.group(2)) - 1, _col_index(mb.group(1))
        if r0 >= len(grid) or c0 >= len(grid[r0]) or grid[r0][c0] is None:
            continue
        v = grid[r0][c0]
        for i in range(r0, min(r1, len(grid) - 1) + 1):
            row = grid[i]
            last = min(c1, width - 1)
            if len(row) <= last:
                row.extend([None] * (last + 1 - len(row)))
            for j in range(c0, last + 1):
                if row[j] is None:
                    row[j] = v


# ------------------------------------------------------------------------------------------------
# .xls (Excel 97–2003)
# ------------------------------------------------------------------------------------------------
def _open_xls(path: Path):
    import xlrd

    try:
        return xlrd.open_workbook(str(path), on_demand=True, ragged_rows=True, formatting_info=True)
    except Exception as e:  # xlrd raises many kinds for broken or encrypted files
        try:
            return xlrd.open_workbook(str(path), on_demand=True, ragged_rows=True)
        except Exception:
            raise _not_a_workbook(path.name, f"{type(e).__name__}: {e}") from None


def _xls_grid(path: Path, sheet: str, limits: Limits) -> Grid:
    import xlrd

    book = _open_xls(path)
    try:
        if sheet not in book.sheet_names():
            raise KeyError(sheet)
        try:
            ws = book.sheet_by_name(sheet)
        except Exception as e:
            raise _not_a_workbook(path.name, f"{type(e).__name__}: {e}") from None
        if ws.nrows > limits.max_rows:
            raise _refuse(path.name, sheet, f"trang tính có {ws.nrows} dòng, vượt giới hạn {limits.max_rows} dòng "
                                            "(tham số ingest.max_rows)",
                          f"{ws.nrows} rows > ingest.max_rows = {limits.max_rows}", row=ws.nrows)
        grid: list[list[object]] = []
        width = 0
        for i in range(ws.nrows):
            row: list[object] = []
            for j in range(ws.row_len(i)):
                c = ws.cell(i, j)
                if c.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    v: object = None
                elif c.ctype == xlrd.XL_CELL_DATE:
                    try:
                        v = xlrd.xldate_as_datetime(c.value, book.datemode)
                    except Exception:
                        v = c.value
                elif c.ctype == xlrd.XL_CELL_BOOLEAN:
                    v = bool(c.value)
                elif c.ctype == xlrd.XL_CELL_ERROR:
                    v = xlrd.error_text_from_code.get(c.value, "#ERR")
                else:
                    v = c.value
                if v is not None and v != "" and j >= limits.max_columns:
                    raise _refuse(path.name, sheet, f"dữ liệu ở cột thứ {j + 1}, vượt giới hạn {limits.max_columns} "
                                                    "cột (tham số ingest.max_columns)",
                                  f"cell in column {j + 1} > ingest.max_columns = {limits.max_columns}", row=i + 1)
                row.append(v)
            while row and (row[-1] is None or row[-1] == ""):
                row.pop()
            width = max(width, len(row))
            grid.append(row)
        merges = [f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1)}{r1}"
                  for r0, r1, c0, c1 in getattr(ws, "merged_cells", [])[:10_000]]
        _fill_merges(grid, merges, width)
        return Grid(grid)
    finally:
        book.release_resources()


# ------------------------------------------------------------------------------------------------
# .csv
# ------------------------------------------------------------------------------------------------
def decode_csv_bytes(raw: bytes, name: str) -> tuple[str, str]:
    """CSV bytes → (NFC text, code page): UTF-8 (with or without BOM), UTF-16 with BOM, else an 8-bit
    Vietnamese code page — Windows-1258, TCVN3 or VNI, whichever reads as Vietnamese."""
    from .legacy import decode_8bit

    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return nfc(raw.decode("utf-16")), ""
    try:
        return nfc(raw.decode("utf-8-sig")), ""
    except UnicodeDecodeError:
        pass
    text, page = decode_8bit(raw)
    if text is not None:
        return text, page
    try:
        raw.decode("cp1258")
        pos = None
    except UnicodeDecodeError as e:
        pos = e.start
    pos = pos if pos is not None else 0
    before = raw[:pos]
    line = before.split(b"\n")[-1]
    delim = b";" if line.count(b";") > line.count(b",") else b","
    raise InputError(Problem(
        name, "", before.count(b"\n") + 1, get_column_letter(line.count(delim) + 1),
        f"không đọc được bảng mã của tệp (byte {pos}); hãy lưu lại dưới dạng CSV UTF-8 hoặc .xlsx",
        f"unreadable encoding at byte {pos}: expected UTF-8, UTF-8 with BOM, Windows-1258, TCVN3 or VNI"))


def _csv_grid(path: Path, limits: Limits) -> Grid:
    text, page = decode_csv_bytes(path.read_bytes(), path.name)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delim = max([",", ";", "\t"], key=first.count) if first else ","
    grid: list[list[object]] = []
    csv.field_size_limit(1 << 20)
    try:
        for i, r in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delim)):
            if i >= limits.max_rows:
                raise _refuse(path.name, "", f"tệp có hơn {limits.max_rows} dòng (tham số ingest.max_rows)",
                              f"more than ingest.max_rows = {limits.max_rows} rows", row=i + 1)
            while r and r[-1] == "":
                r.pop()
            if len(r) > limits.max_columns:
                raise _refuse(path.name, "", f"dòng có {len(r)} cột, vượt giới hạn {limits.max_columns} cột "
                                             "(tham số ingest.max_columns)",
                              f"{len(r)} columns > ingest.max_columns = {limits.max_columns}", row=i + 1)
            grid.append(list(r))
    except csv.Error as e:
        raise _refuse(path.name, "", "tệp CSV hỏng, không đọc được", f"broken CSV: {str(e)[:200]}") from None
    return Grid(grid, legacy_csv=page)
