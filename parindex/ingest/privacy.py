"""Screening of free text and ids for personal data before anything leaves ``data/raw/``.

Phone numbers (Vietnamese mobile and landline forms, with or without "+84", spaces, dots or dashes),
12-digit ID numbers (căn cước công dân, also written in groups of three) and the respondents' names found
in the ballot files' name columns are replaced by a marker. The counts of what was masked, per file and
column, are kept (the clean-stage table ``privacy``) for the report's data-quality appendix.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from ..text import nfc, strip_diacritics

MASKS = {"phone": "[số điện thoại]", "id_number": "[số định danh]", "name": "[họ tên]"}
KIND_LABELS = {"phone": "Số điện thoại", "id_number": "Số định danh (CCCD)", "name": "Họ tên người trả lời"}

_SEP = r"[ .\-]?"
PHONE = re.compile(rf"(?<![\d])(?:\+84{_SEP}|84{_SEP}|0)(?:\d{_SEP}){{8,9}}\d(?![\d])")
ID12 = re.compile(rf"(?<![\d])\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}(?![\d])")
#: a cell that is only a phone number whose leading zero Excel dropped (9 digits, mobile prefixes)
BARE_PHONE = re.compile(r"^\s*[35789]\d{8}\s*$")


def _fold(s: str) -> str:
    """Lower case without diacritics, one character for one (positions are kept for NFC text)."""
    out = strip_diacritics(s).lower()
    return out if len(out) == len(s) else s.lower()


class Screen:
    """Masks personal data in text and counts what it masked, per (file, column, kind)."""

    def __init__(self, names: set[str] | None = None, exclude: set[str] | None = None):
        self.counts: Counter = Counter()
        self._names: set[str] = set()
        self._exclude = {_fold(nfc(x)) for x in (exclude or set())}
        self._re: re.Pattern | None = None
        self.add_names(names or set())

    def add_exclusions(self, words) -> None:
        """Names that are never masked (commune names: a respondent may share a commune's name)."""
        from ..text import name_key

        for w in words:
            self._exclude.add(_fold(nfc(str(w))))
            self._exclude.add(name_key(str(w)))
        self._names -= self._exclude
        self._re = None

    def add_names(self, names) -> None:
        for n in names:
            n = " ".join(nfc(str(n)).split())
            key = _fold(n)
            if len(n.split()) >= 2 and len(n) >= 5 and key not in self._exclude and not any(ch.isdigit() for ch in n):
                self._names.add(key)
        self._re = None

    def _name_re(self) -> re.Pattern | None:
        if self._re is None and self._names:
            alts = "|".join(re.escape(n) for n in sorted(self._names, key=len, reverse=True))
            self._re = re.compile(rf"(?<![^\W\d_])(?:{alts})(?![^\W\d_])")
        return self._re

    def mask_text(self, s: str) -> tuple[str, Counter]:
        """``s`` with personal data masked, and what was masked."""
        c: Counter = Counter()
        if not s:
            return s, c

        def sub(kind):
            def f(_m):
                c[kind] += 1
                return MASKS[kind]
            return f

        if BARE_PHONE.match(s):
            c["phone"] += 1
            return MASKS["phone"], c
        s = ID12.sub(sub("id_number"), s)
        s = PHONE.sub(sub("phone"), s)
        rx = self._name_re()
        if rx is not None:
            folded = _fold(s)
            spans = [(m.start(), m.end()) for m in rx.finditer(folded)]
            if spans and len(folded) == len(s):
                out, last = [], 0
                for a, b in spans:
                    out += [s[last:a], MASKS["name"]]
                    last = b
                    c["name"] += 1
                s = "".join(out + [s[last:]])
        return s, c

    def series(self, values: pd.Series, file: str, column: str) -> pd.Series:
        """A text column with personal data masked (counts recorded under ``file``/``column``)."""
        if values.empty:
            return values
        uniq = pd.unique(values)
        res = {v: self.mask_text(v) for v in uniq}
        total: Counter = Counter()
        counts = values.map(lambda v: res[v][1])
        for cnt in counts:
            total.update(cnt)
        for kind, n in total.items():
            self.counts[(file, column, kind)] += n
        return values.map({v: r[0] for v, r in res.items()}).astype("str")

    def table(self) -> pd.DataFrame:
        rows = [(f, col, kind, n) for (f, col, kind), n in sorted(self.counts.items())]
        return pd.DataFrame(rows, columns=["file", "column", "kind", "count"]).astype(
            {"file": "str", "column": "str", "kind": "str", "count": "int64"})
