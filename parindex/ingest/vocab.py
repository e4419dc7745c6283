"""Vocabulary matching of coded columns: communes, procedure fields, respondent groups, answers.

A value is matched through a normalised key (NFC, no diacritics, lower case, punctuation and notes in
brackets dropped, "và"/"&" ignored) against the codes, the labels of the methodology and the aliases kept
as data (``methodologies/aliases-v1.yaml``: everyday and official names by code). A value that matches
no entry is *unknown* and reported with its closest candidates; a value whose key belongs to two entries,
or that is the beginning of two names ("Chi Lăng" for "Chi Lăng Bắc" and "Chi Lăng Nam"), is
*ambiguous* and reported with both. Nothing is guessed: typos are never corrected silently.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..text import name_key, nfc, strip_diacritics

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_ALIASES = ROOT / "methodologies" / "aliases-v1.yaml"
ALIAS_SECTIONS = ("procedure_fields", "respondent_groups", "officials_answers", "satisfaction_answers", "communes")


def vkey(s: object) -> str:
    """Normalised key of a label: no diacritics, lower case, notes in brackets and punctuation dropped."""
    s = strip_diacritics(nfc(str(s))).lower().replace("&", " va ")
    s = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", s)
    words = [w for w in re.sub(r"[^0-9a-z]+", " ", s).split() if w != "va"]
    return " ".join(words)


class AliasError(ValueError):
    """An alias file that cannot be used."""


@dataclass(frozen=True)
class Aliases:
    """The alias file: section → code → list of other names, and prefixes dropped before matching."""

    sections: dict
    prefixes: dict
    path: str = ""

    def of(self, section: str) -> dict[str, list[str]]:
        return self.sections.get(section, {})


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Aliases:
    try:
        d = yaml.load(Path(path).read_text(encoding="utf-8"),
                      Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise AliasError(f"{path}: không đọc được tệp tên gọi khác (cannot read the alias file: "
                         f"{str(e)[:200]})") from None
    if not isinstance(d, dict):
        raise AliasError(f"{path}: expected a mapping of sections {', '.join(ALIAS_SECTIONS)}")
    sections = {}
    for sec in ALIAS_SECTIONS:
        raw = d.get(sec) or {}
        if not isinstance(raw, dict) or not all(isinstance(v, list) and all(isinstance(x, (str, int, float))
                                                                            for x in v) for v in raw.values()):
            raise AliasError(f"{path}: section '{sec}' must map each code to a list of names")
        sections[sec] = {str(k): [nfc(str(x)) for x in v] for k, v in raw.items()}
    prefixes = d.get("prefixes") or {}
    if not isinstance(prefixes, dict):
        raise AliasError(f"{path}: 'prefixes' must map a section to a list of words")
    return Aliases(sections, {k: [vkey(p) for p in v] for k, v in prefixes.items()}, str(path))


def load_aliases(path: str | Path | None = DEFAULT_ALIASES) -> Aliases:
    """The alias file (``None``: no aliases)."""
    if path is None:
        return Aliases({}, {})
    p = Path(path)
    if not p.is_file():
        raise AliasError(f"{p}: không tìm thấy tệp tên gọi khác (alias file not found)")
    return _load(str(p.resolve()), p.stat().st_mtime)


@dataclass
class Match:
    """Result of matching a column: code per row (None when not matched), status ("ok", "blank",
    "unknown", "ambiguous"), how it matched ("code", "label", "normalised", "alias"), candidates text."""

    code: pd.Series
    status: pd.Series
    how: pd.Series
    hint: pd.Series
    cands: pd.Series

    @property
    def unmatched(self) -> pd.Series:
        return self.status.isin(["unknown", "ambiguous"])


class Vocabulary:
    """Codes with their labels and aliases; :meth:`match` resolves a column of written values."""

    def __init__(self, entries: list[tuple[str, str, list[str]]], prefixes: list[str] = (), key=vkey,
                 exact=None):
        self.key = key
        self.exact = exact  # optional value → code for exact forms (commune codes)
        self.labels = {code: label for code, label, _ in entries}
        self.prefixes = sorted((p for p in prefixes if p), key=len, reverse=True)
        self._map: dict[str, set[str]] = {}
        self._how: dict[tuple[str, str], str] = {}
        for code, label, aliases in entries:
            for form, how in [(code, "code"), (label, "label")] + [(a, "alias") for a in aliases]:
                k = key(form)
                if not k:
                    continue
                self._map.setdefault(k, set()).add(code)
                prev = self._how.get((k, code))
                if prev is None or (prev == "alias" and how != "alias"):
                    self._how[(k, code)] = how
        self._keys = sorted(self._map)

    def _strip(self, k: str) -> str:
        for p in self.prefixes:
            if k.startswith(p + " "):
                return k[len(p) + 1:]
        return k

    def resolve(self, value: str) -> tuple[str | None, str, str, str, tuple[str, ...]]:
        """(code, status, how, hint, candidate codes) of one written value."""
        s = nfc(str(value)).strip()
        if not s:
            return None, "blank", "", "", ()
        if self.exact is not None:
            c = self.exact(s)
            if c is not None:
                how = "code" if s == c else ("label" if s == self.labels.get(c) else "normalised")
                return c, "ok", how, "", ()
        k = self.key(s)
        for kk in dict.fromkeys([k, self._strip(k)]):
            codes = self._map.get(kk)
            if codes and len(codes) == 1:
                code = next(iter(codes))
                how = self._how.get((kk, code), "normalised")
                if how in ("code", "label") and s not in (code, self.labels.get(code)):
                    how = "normalised"
                return code, "ok", how, "", ()
            if codes:
                return None, "ambiguous", "", self._names(sorted(codes)), tuple(sorted(codes))
        # the beginning of two or more names → ambiguous; else unknown with the closest candidates
        kk = self._strip(k)
        starts = sorted({c for key_ in self._keys if key_.startswith(kk + " ") for c in self._map[key_]}) if kk else []
        if len(starts) > 1:
            return None, "ambiguous", "", self._names(starts), tuple(starts)
        close = difflib.get_close_matches(kk, self._keys, n=6, cutoff=0.6)
        codes = list(dict.fromkeys([c for key_ in close for c in sorted(self._map[key_])] + starts))[:3]
        return None, "unknown", "", self._names(codes), tuple(codes)

    def _names(self, codes: list[str]) -> str:
        return " / ".join(f"{self.labels.get(c, c)}" + (f" ({c})" if self.labels.get(c, c) != c else "")
                          for c in codes)

    def match(self, values: pd.Series) -> Match:
        idx, uniq = pd.factorize(values, use_na_sentinel=False)
        res = [self.resolve(v) for v in uniq]

        def get(i: int, dtype=object) -> pd.Series:
            arr = np.empty(len(res), dtype=object)
            arr[:] = [r[i] for r in res]
            return pd.Series(arr[idx] if len(res) else np.array([], dtype=object), index=values.index, dtype=dtype)

        return Match(code=get(0), status=get(1, "str"), how=get(2, "str"), hint=get(3, "str"), cands=get(4))


def procedure_fields(meth, aliases: Aliases) -> Vocabulary:
    al = aliases.of("procedure_fields")
    return Vocabulary([(p.code, p.label, al.get(p.code, [])) for p in meth.satisfaction_survey.procedure_fields],
                      aliases.prefixes.get("procedure_fields", []))


def respondent_groups(meth, aliases: Aliases) -> Vocabulary:
    al = aliases.of("respondent_groups")
    return Vocabulary([(g.code, g.label, al.get(g.code, [])) for g in meth.officials_survey.groups],
                      aliases.prefixes.get("respondent_groups", []))


def officials_answers(meth, aliases: Aliases) -> Vocabulary:
    ov = meth.officials_survey
    al = aliases.of("officials_answers")
    labels = getattr(ov, "answer_labels", None) or {}
    return Vocabulary([(a, labels.get(a, a), al.get(a, [])) for a in ov.answer_weights])


def satisfaction_answers(meth, aliases: Aliases) -> Vocabulary:
    sc = meth.satisfaction_survey.scale
    al = aliases.of("satisfaction_answers")
    return Vocabulary([(str(v), str(v), al.get(str(v), [])) for v in range(int(sc.min), int(sc.max) + 1)])


def _commune_key(s: str) -> str:
    return vkey(name_key(s))


def communes(matcher, aliases: Aliases) -> Vocabulary:
    """Commune codes and names: first ``matcher`` (a :class:`parindex.communes.CommuneMatcher`: codes, exact names,
    names with their type, bare names whose first word looks like a prefix such as "Phương Tiến"), then the
    vocabulary's normalised keys and aliases (ambiguity and closest candidates reported)."""
    al = aliases.of("communes")
    df = matcher.communes
    return Vocabulary([(c, n, al.get(c, [])) for c, n in zip(df["commune_code"], df["commune_name"])],
                      key=_commune_key, exact=matcher.match)
