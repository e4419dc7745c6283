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


def plain_key(s: str) -> str:
    """Matching key of a name kept whole: no diacritics, lower case, single spaces."""
    s = strip_diacritics(nfc(str(s))).lower()
    return re.sub(r"[\s\u00a0_\-]+", " ", s).strip()


_PREFIX_TYPE = {"thi tran": "tt", "tt": "tt", "xa": "x", "x": "x", "phuong": "p", "p": "p", "thi xa": "tx", "tx": "tx"}


def typed_key(s: str) -> str | None:
    """Key of a name written with its type prefix, the prefix in one spelling: "Thị trấn Yên Viên" and
    "TT Yen Vien" → "tt:yen vien", "Xã Yên Viên" and "X. Yên Viên" → "x:yen vien"; None without a prefix."""
    p = plain_key(s)
    m = _PREFIX.match(p)
    if not m:
        return None
    word = re.sub(r"^(?:ubnd\s+)?(?:uy ban nhan dan\s+)?", "", p[:m.end()]).strip(" .")
    t = _PREFIX_TYPE.get(word)
    return f"{t}:{p[m.end():].strip()}" if t else None


def name_key(s: str) -> str:
    """Matching key of a commune name: no diacritics, lower case, single spaces, no "Xã"/"TT"/"X." prefix."""
    return _PREFIX.sub("", plain_key(s)).strip()


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
