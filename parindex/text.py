"""Vietnamese text helpers: NFC normalisation, diacritic-insensitive name keys, number formatting."""

from __future__ import annotations

import math
import re
import unicodedata

_PREFIX = re.compile(
    r"^(?:ubnd\s+)?(?:uy ban nhan dan\s+)?(?:thi tran|thi xa|phuong|xa|tt|tx|p|x)(?:\s*\.\s*|\s+)", re.I
)


def nfc(s: str) -> str:
    """Unicode NFC form (Vietnamese files mix precomposed and combining diacritics)."""
    return unicodedata.normalize("NFC", s)


def strip_diacritics(s: str) -> str:
    """Remove Vietnamese diacritics ("Đoàn Tùng" → "Doan Tung")."""
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", "".join(ch for ch in s if unicodedata.category(ch) != "Mn"))


def name_key(s: str) -> str:
    """Matching key of a commune name: no diacritics, lower case, single spaces, no "Xã"/"TT"/"X." prefix."""
    s = strip_diacritics(nfc(str(s))).lower()
    s = re.sub(r"[\s\u00a0_\-]+", " ", s).strip()
    s = _PREFIX.sub("", s).strip()
    return s


def fmt_num(x: float, decimals: int = 2) -> str:
    """Vietnamese number format: decimal comma, dot as thousands separator (1.234,56)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    s = f"{x:,.{decimals}f}"
    return s.replace(",", "\u0001").replace(".", ",").replace("\u0001", ".")


def fmt_pct(x: float, decimals: int = 2) -> str:
    """Vietnamese percentage: 89.7712 → "89,77 %" (narrow no-break space before the sign)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{fmt_num(x, decimals)}\u00a0%"
