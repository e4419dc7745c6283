"""Reproducible xlsx bytes (the same workbook content always gives the same file), no live formula in any
cell, and atomic file writes.

Every workbook the project writes (results.xlsx, compare.xlsx, the sample plan, the entry forms) is
serialised by :func:`workbook_bytes`, which first passes it through :func:`inert_text`: a cell holding text
is stored as text, never as a formula — openpyxl would otherwise store any string starting with ``=`` as a
formula, so a commune name or an appraisal reason ``=HYPERLINK("http://…")`` would become a live link —
and text that a spreadsheet would read as a formula when the cell is edited (starting with ``=``, ``+``,
``-``, ``@``, tab, CR) carries Excel's "quote prefix" flag. Numbers stay numbers. The project writes no
formula cells (drop-down lists and validations are not cells), so nothing legitimate is lost.

openpyxl stamps a workbook's ``modified`` property with the current time when it saves, and zip entries
carry the time they were written. Here the workbook is serialised with :class:`openpyxl.writer.excel.
ExcelWriter` directly (no stamping), its document properties are set to a fixed ``stamp``, and every zip
entry gets a fixed date, DEFLATE compression, mode 0644 and the Unix "made by" system.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.writer.excel import ExcelWriter

from ..csvsafe import TRIGGERS

FIXED_TIME = dt.datetime(2000, 1, 1, 0, 0, 0)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _inert(cell: Cell) -> bool:
    v = cell.value
    if not isinstance(v, str):
        return False
    changed = False
    if cell.data_type == "f":
        cell.data_type = "s"
        changed = True
    if v.lstrip("'").startswith(TRIGGERS) and not cell.quotePrefix:
        cell.quotePrefix = True
        changed = True
    return changed


def inert_text(wb: Workbook) -> int:
    """Make every text cell of every sheet inert (see the module docstring); returns how many cells changed."""
    n = 0
    for ws in wb.worksheets:
        for cell in list(ws._cells.values()):
            n += _inert(cell)
    return n


def workbook_bytes(wb: Workbook, stamp: dt.datetime = FIXED_TIME,
                   zip_time: tuple[int, int, int, int, int, int] | None = ZIP_TIME) -> bytes:
    """Serialise ``wb`` with created/modified = ``stamp`` and every zip entry dated ``zip_time``
    (``None``: the stamp's own date and time)."""
    inert_text(wb)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    when = tuple(stamp.timetuple()[:6]) if zip_time is None else tuple(zip_time)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    return fixed_zip(buf.getvalue(), when)


def fixed_zip(data: bytes, date_time: tuple[int, int, int, int, int, int] = ZIP_TIME) -> bytes:
    """A zip archive (xlsx, docx) rewritten reproducibly: the same entries in the same order, each dated
    ``date_time``, DEFLATE, mode 0644, made on Unix."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zi.create_system = 3
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def write_bytes_atomic(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_workbook(wb: Workbook, path: str | Path, stamp: dt.datetime = FIXED_TIME,
                  zip_time: tuple[int, int, int, int, int, int] | None = ZIP_TIME) -> Path:
    """Write :func:`workbook_bytes` of ``wb`` to ``path`` atomically; returns the path."""
    return write_bytes_atomic(workbook_bytes(wb, stamp, zip_time), path)
