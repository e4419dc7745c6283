"""CSV cells that a spreadsheet would run as a formula, neutralised (OWASP "CSV Injection").

A spreadsheet program (Excel, LibreOffice Calc, Google Sheets) opening a CSV file treats a cell whose first
character is ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula: ``=HYPERLINK("http://…")``
typed into an appraisal reason would become a live link in ``rejections.csv``. Following OWASP's guidance
(https://owasp.org/www-community/attacks/CSV_Injection), every *text* cell that starts with one of those
characters (also NUL, and the full-width ＝ ＋ － ＠ some spreadsheet locales accept) is written with a
leading single quote ``'``, which spreadsheets read as "this is text"; fields are quoted and inner double
quotes doubled by the csv writer (RFC 4180). Numeric columns are left alone: a negative number stays a
number.

The prefix is reversible for the project's own readers (:func:`restore_frame`): a cell is prefixed when,
after any leading quotes, it starts with a trigger — so ``'=x`` is written ``''=x`` and read back as ``'=x``.
"""

from __future__ import annotations

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\x00", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value):
    """One cell: text starting (after leading quotes) with a formula trigger gets a leading ``'``."""
    if isinstance(value, str) and value.lstrip("'").startswith(TRIGGERS):
        return "'" + value
    return value


def restore(value):
    """Undo :func:`neutralise` (for the project's own readers of its CSV files)."""
    if isinstance(value, str) and value.startswith("'") and value.lstrip("'").startswith(TRIGGERS):
        return value[1:]
    return value


def _text_columns(df: pd.DataFrame) -> list:
    return [c for c in df.columns if pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c])]


def _map_text(df: pd.DataFrame, fn) -> pd.DataFrame:
    """A copy of ``df`` with ``fn`` applied to its text cells and column names; numeric columns untouched."""
    out = df.copy()
    for c in _text_columns(out):
        out[c] = out[c].map(fn, na_action="ignore")
    out.columns = [fn(c) for c in out.columns]
    return out


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) are neutralised; numeric columns untouched."""
    return _map_text(df, neutralise)


def restore_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`safe_frame` on a frame read back from one of the project's CSV files."""
    return _map_text(df, restore)


def csv_text(df: pd.DataFrame, **kw) -> str:
    """``df.to_csv`` of the neutralised frame (no index, ``\\n`` line ends unless given)."""
    kw.setdefault("index", False)
    kw.setdefault("lineterminator", "\n")
    return safe_frame(df).to_csv(**kw)


def write_csv(df: pd.DataFrame, path, *, bom: bool = False, **kw) -> None:
    """Write the neutralised frame to ``path`` atomically (UTF-8, with BOM when asked)."""
    from .publish.xlsx import write_bytes_atomic

    text = csv_text(df, **kw)
    write_bytes_atomic((("\ufeff" if bom else "") + text).encode("utf-8"), path)
