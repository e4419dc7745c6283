"""Screening of free text and ids for personal data before anything leaves ``data/raw/``.

Phone numbers (Vietnamese mobile and landline forms, with or without "+84", spaces, dots or dashes),
12-digit ID numbers (căn cước công dân, also written in groups of three) and the respondents' names found
in the ballot files' name columns are replaced by a marker. The counts of what was masked, per file and
column, are kept (the clean-stage table ``privacy``) for the report's data-quality appendix.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pandas as pd

from ..text import nfc

MASKS = {"phone": "[số điện thoại]", "id_number": "[số định danh]", "name": "[họ tên]"}
KIND_LABELS = {"phone": "Số điện thoại", "id_number": "Số định danh (CCCD)", "name": "Họ tên người trả lời"}

_SEP = r"[ .\-]?"
PHONE = re.compile(rf"(?<![\d])(?:\+84{_SEP}|84{_SEP}|0)(?:\d{_SEP}){{8,9}}\d(?![\d])")
ID12 = re.compile(rf"(?<![\d])\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}(?![\d])")
_WORD = re.compile(r"[^\W\d_]+")
_DIGIT = re.compile(r"\d")
#: a cell that is only a phone number whose leading zero Excel dropped (9 digits, mobile prefixes)
BARE_PHONE = re.compile(r"^\s*[35789]\d{8}\s*$")


def _fold_table() -> dict[int, str]:
    t = {}
    for i in range(0xC0, 0x1EFA):
        ch = chr(i)
        base = unicodedata.normalize("NFD", ch)[0]
        if base.isascii() and base.isalpha() and base != ch:
            t[i] = base.lower()
    t[ord("đ")] = t[ord("Đ")] = "d"
    return t


_FOLD = _fold_table()


def _fold(s: str) -> str:
    """Lower case without diacritics, one character for one (positions are kept for NFC text)."""
    out = s.translate(_FOLD).lower()
    return out if len(out) == len(s) else s.lower()


class Screen:
    """Masks personal data in text and counts what it masked, per (file, column, kind)."""

    def __init__(self, names: set[str] | None = None, exclude: set[str] | None = None):
        self.counts: Counter = Counter()
        self._names: set[str] = set()
        self._exclude = {_fold(nfc(x)) for x in (exclude or set())}
        self._longest = 2
        self.add_names(names or set())

    def add_exclusions(self, words) -> None:
        """Names that are never masked (commune names: a respondent may share a commune's name)."""
        from ..text import name_key

        for w in words:
            self._exclude.add(_fold(nfc(str(w))))
            self._exclude.add(name_key(str(w)))
        self._names -= self._exclude

    def add_names(self, names) -> None:
        for n in names:
            n = " ".join(nfc(str(n)).split())
            key = _fold(n)
            if len(n.split()) >= 2 and len(n) >= 5 and key not in self._exclude and not any(ch.isdigit() for ch in n):
                self._names.add(" ".join(key.split()))
                self._longest = min(5, max(self._longest, len(n.split())))

    def _name_spans(self, folded: str) -> list[tuple[int, int]]:
        """Spans of the respondents' names in ``folded`` text: runs of 2–5 words equal to a name."""
        if not self._names:
            return []
        words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(folded)]
        spans, i = [], 0
        while i < len(words):
            hit = 0
            for n in range(min(self._longest, len(words) - i), 1, -1):
                ws = words[i:i + n]
                if all(folded[a[1]:b[0]].isspace() for a, b in zip(ws, ws[1:])) and \
                        " ".join(w for _, _, w in ws) in self._names:
                    hit = n
                    break
            if hit:
                spans.append((words[i][0], words[i + hit - 1][1]))
                i += hit
            else:
                i += 1
        return spans

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

        if len(_DIGIT.findall(s)) >= 9:
            if BARE_PHONE.match(s):
                c["phone"] += 1
                return MASKS["phone"], c
            s = ID12.sub(sub("id_number"), s)
            s = PHONE.sub(sub("phone"), s)
        if self._names and " " in s.strip():
            folded = _fold(s)
            spans = self._name_spans(folded)
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
        freq = values.value_counts(sort=False)
        uniq = pd.Series(freq.index, dtype="str")
        # mask_text changes only a value with 9 digits or more, or one with a space when names are screened: the
        # others are left alone without a look (a superset is sent: any non-ASCII value may hold other digits)
        maybe = (uniq.str.count(r"[0-9]") >= 9) | uniq.str.contains(r"[^\x00-\x7f]", regex=True)
        if self._names:
            maybe |= uniq.str.contains(" ", regex=False)
        res = {v: self.mask_text(v) for v in uniq[maybe.to_numpy()]}
        changed = {v: r for v, r in res.items() if r[1]}
        for v, (_, cnt) in changed.items():
            for kind, n in cnt.items():
                self.counts[(file, column, kind)] += n * int(freq[v])
        if not changed:
            return values.astype("str")
        return values.map(lambda v: changed[v][0] if v in changed else v).astype("str")

    def table(self) -> pd.DataFrame:
        rows = [(f, col, kind, n) for (f, col, kind), n in sorted(self.counts.items())]
        return pd.DataFrame(rows, columns=["file", "column", "kind", "count"]).astype(
            {"file": "str", "column": "str", "kind": "str", "count": "int64"})
