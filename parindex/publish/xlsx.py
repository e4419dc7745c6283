"""Reproducible xlsx bytes (the same workbook content always gives the same file) and atomic file writes.

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
from openpyxl.writer.excel import ExcelWriter

FIXED_TIME = dt.datetime(2000, 1, 1, 0, 0, 0)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def workbook_bytes(wb: Workbook, stamp: dt.datetime = FIXED_TIME,
                   zip_time: tuple[int, int, int, int, int, int] | None = ZIP_TIME) -> bytes:
    """Serialise ``wb`` with created/modified = ``stamp`` and every zip entry dated ``zip_time``
    (``None``: the stamp's own date and time)."""
    wb.properties.created = stamp
    wb.properties.modified = stamp
    when = tuple(stamp.timetuple()[:6]) if zip_time is None else tuple(zip_time)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=when)
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
