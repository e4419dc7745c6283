"""Vietnamese text helpers: NFC normalisation, diacritic-insensitive name keys, number formatting."""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np

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


#: scaled values closer than this (relative) to a half are taken as the half: float noise such as
#: 17.999 / 20 × 100 = 89.99499999999999 must round like the decimal 89.995 that people compute
_HALF_TOL = 1e-9


def round_half_up(x, decimals: int = 2):
    """Round as people and the documents do: to ``decimals`` places, halves away from zero
    (89.995 → 90.00, 89.9949 → 89.99, −0.125 → −0.13), after forgiving binary noise of about 1e-9
    relative. Python's ``round``/``format`` and numpy's ``round`` round the binary value or halves to
    even, so 17.999 / 20 × 100 would become 89.99 there. Works on scalars and arrays/Series (NaN stays
    NaN); this is the one rounding of the published index (display, rank ties and bands)."""
    scale = 10.0 ** decimals
    a = np.abs(np.asarray(x, dtype=float)) * scale
    out = np.sign(x) * np.floor(a + 0.5 + _HALF_TOL * np.maximum(a, 1.0)) / scale
    if isinstance(x, (int, float, np.floating, np.integer)):
        return float(out)
    return out


def fmt_num(x: float, decimals: int = 2) -> str:
    """Vietnamese number format: decimal comma, dot as thousands separator (1.234,56); rounded half up
    (:func:`round_half_up`), as the published index is banded and ranked."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    s = f"{round_half_up(x, decimals):,.{decimals}f}"
    return s.replace(",", "\u0001").replace(".", ",").replace("\u0001", ".")


def fmt_pct(x: float, decimals: int = 2) -> str:
    """Vietnamese percentage: 89.7712 → "89,77 %" (narrow no-break space before the sign)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{fmt_num(x, decimals)}\u00a0%"
