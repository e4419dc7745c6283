"""Legacy Vietnamese encodings (TCVN3 / ABC and VNI-Windows): detection and conversion to Unicode NFC.

No maintained Python library converts these (Python's codecs know neither; glibc's iconv knows only
TCVN3), so the mapping tables are kept as data in ``legacy_vn.yaml`` with their source.

Detection works on what a cell's text *would read as* under each interpretation — as it is (Unicode),
decoded from TCVN3, decoded from VNI — and asks whether every word that carries a non-ASCII letter is a
well-formed Vietnamese syllable (onset, vowel nucleus, coda; at most one tone mark) or an all-capital
abbreviation without vowels ("HĐND"). A cell plausible under exactly one interpretation is evidence for
it; a column is converted only when its evidence is one-sided (see :func:`decide_column`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ..text import nfc

TABLES_PATH = Path(__file__).with_name("legacy_vn.yaml")
TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
VOWELS = set("aăâeêioôơuưy")
#: Latin-1 symbols that TCVN3 uses for letters (and × ÷): odd in Vietnamese Unicode text.
SUSPECT = set(chr(c) for c in range(0xA1, 0xC0)) | {"\u00d7", "\u00f7"}

_ONSET = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x"
_NUCLEI = sorted("""a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe oi oo ôi ơi ua uâ uê ui uô
uơ uy ưa ưi ươ ưu ya yê iêu yêu oai oay oao oeo uây uôi uya uyê uyu ươi ươu""".split(), key=len, reverse=True)
_CODA = "ng|nh|ch|c|m|n|p|t"
SYLLABLE = re.compile(rf"^(?:{_ONSET})?(?:{'|'.join(_NUCLEI)})(?:{_CODA})?$")
# "gì", "gìn": the i of the onset gi is the nucleus
SYLLABLE_GI = re.compile(rf"^gi(?:{_CODA})?$")
WORD = re.compile(r"[^\W\d_]+")
#: Vietnamese capitals outside Latin-1 (a cell typed in TCVN3 holds them only from a ".…H" font run).
VIET_CAPS = {c for c in (chr(i) for i in range(0x100, 0x1F00)) if c.isupper()
             and unicodedata.normalize("NFD", c)[0] in "AEIOUYD" and c.lower() != c}


@lru_cache(maxsize=1)
def tables() -> tuple[dict[str, str], dict[str, str]]:
    """(TCVN3 char → Unicode, VNI sequence → Unicode), from ``legacy_vn.yaml``."""
    d = yaml.load(TABLES_PATH.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    tcvn = {chr(int(k, 16)): nfc(v) for k, v in d["tcvn3"].items()}
    vni = {"".join(chr(int(b, 16)) for b in k.split()): nfc(v) for k, v in d["vni"].items()}
    return tcvn, vni


@lru_cache(maxsize=1)
def _vni_regex() -> re.Pattern:
    _, vni = tables()
    return re.compile("|".join(re.escape(k) for k in sorted(vni, key=len, reverse=True)))


@lru_cache(maxsize=1)
def _tcvn3_table() -> dict[int, str]:
    return {ord(c): u for c, u in tables()[0].items()}


@lru_cache(maxsize=100_000)
def decode_tcvn3(s: str) -> str:
    """TCVN3 text (Latin-1 characters of the TCVN3 bytes) → Unicode NFC. Capitals with a tone mark are
    typed with the lower-case codes in the ".…H" fonts: a word whose plain letters are all capitals (at
    least two) is put in capitals."""
    table = _tcvn3_table()
    dec = s.translate(table)  # one character for one: positions are kept
    if dec == s and not any(ord(c) in table for c in s):
        return s
    out = None
    for m in WORD.finditer(dec):
        a, b = m.span()
        orig = s[a:b]
        plain = [c for c in orig if c.isascii() and c.isalpha()]
        if len(plain) >= 2 and all(c.isupper() for c in plain) and any(ord(c) in table for c in orig):
            out = out or list(dec)
            out[a:b] = list(dec[a:b].upper())
    return nfc("".join(out) if out else dec)


@lru_cache(maxsize=100_000)
def decode_vni(s: str) -> str:
    _, vni = tables()
    return nfc(_vni_regex().sub(lambda m: vni[m.group(0)], s))


def _word_ok(w: str) -> bool:
    if w.isascii():
        return True
    low = nfc(w.lower())
    d = unicodedata.normalize("NFD", low)
    if sum(c in TONES for c in d) > 1:
        return False
    base = nfc("".join(c for c in d if c not in TONES))
    if not all(("a" <= c <= "z") or c in "ăâêôơưđ" for c in base):
        return False
    if w.upper() == w and not any(c in VOWELS for c in base):
        return True  # an abbreviation such as HĐND, ĐB
    return bool(SYLLABLE.match(base) or SYLLABLE_GI.match(base))


@lru_cache(maxsize=100_000)
def reads_as_vietnamese(s: str) -> bool:
    """True when every word of ``s`` with a non-ASCII letter is a Vietnamese syllable (or an all-capital
    abbreviation) and no TCVN3-only symbol is left."""
    if any(c in SUSPECT for c in s):
        return False
    return all(_word_ok(w) for w in WORD.findall(s))


@lru_cache(maxsize=100_000)
def readings(s: str) -> frozenset[str]:
    """The interpretations under which ``s`` reads as Vietnamese: subset of {"unicode", "tcvn3", "vni"}.
    Empty for ASCII text (nothing to decide) and for text that reads as none."""
    if s.isascii():
        return frozenset()
    out = set()
    if reads_as_vietnamese(s):
        out.add("unicode")
    # legacy text is stored as Latin-1 characters, besides the capitals a TCVN3 capitals font gave
    if _maybe_legacy(s):
        t = decode_tcvn3(s)
        if t != s and reads_as_vietnamese(t):
            out.add("tcvn3")
        v = decode_vni(s)
        if v != s and reads_as_vietnamese(v):
            out.add("vni")
    return frozenset(out)


@lru_cache(maxsize=1)
def _non_legacy() -> re.Pattern:
    return re.compile("[^\x00-\xff" + "".join(sorted(VIET_CAPS)) + "]")


def _maybe_legacy(s: str) -> bool:
    """Whether ``s`` could be legacy text: Latin-1 characters (and capitals of a TCVN3 capitals font) only."""
    return _non_legacy().search(s) is None


DECODERS = {"tcvn3": decode_tcvn3, "vni": decode_vni}
NAMES = {"tcvn3": "TCVN3 (ABC, phông .VnTime)", "vni": "VNI (phông VNI-Times)", "unicode": "Unicode"}


@dataclass
class Decision:
    """How a column is stored: "unicode" (nothing to do), "tcvn3" or "vni" (convert), or "mixed" with the
    positions of the cells that disagree with the majority / cannot be decided."""

    kind: str
    cells: list[int]  # positions (in the values given) of the offending cells when kind == "mixed"
    detail: str = ""


def decide_column(values: list[str]) -> Decision:
    """Decide the encoding of one column from its cells (see the module docstring).

    * no cell reads only as TCVN3 or only as VNI → "unicode";
    * cells read only as TCVN3 (or only as VNI), none only as Unicode or only as the other, and every
      non-ASCII cell reads under that encoding → convert;
    * anything else → "mixed", naming the cells that do not fit the majority."""
    cand = {v for v in set(values) if v and not v.isascii()}
    if not any(_maybe_legacy(v) for v in cand):  # every non-ASCII cell has a letter no legacy text holds
        return Decision("unicode", [])
    uniq = {v: readings(v) for v in cand}
    if not any(len(r) == 1 and "unicode" not in r for r in uniq.values()):
        return Decision("unicode", [])
    info = [(i, uniq[v]) for i, v in enumerate(values) if v in uniq]
    strong: dict[str, list[int]] = {"unicode": [], "tcvn3": [], "vni": []}
    for i, r in info:
        if len(r) == 1:
            strong[next(iter(r))].append(i)
    if not strong["tcvn3"] and not strong["vni"]:
        return Decision("unicode", [])
    legacy = [k for k in ("tcvn3", "vni") if strong[k]]
    if len(legacy) == 1 and not strong["unicode"]:
        kind = legacy[0]
        misfit = [i for i, r in info if kind not in r]
        if not misfit:
            return Decision(kind, [])
        return Decision("mixed", misfit, f"{len(misfit)} ô không đọc được theo {NAMES[kind]}")
    counts = {k: len(v) for k, v in strong.items() if v}
    major = max(counts, key=lambda k: (counts[k], k == "unicode"))
    misfit = [i for i, r in info if major not in r]
    detail = ", ".join(f"{n} ô {NAMES[k]}" for k, n in counts.items())
    return Decision("mixed", misfit, detail)


def decode_8bit(raw: bytes) -> tuple[str | None, str]:
    """Bytes of an 8-bit CSV file → (NFC text, code page) for the code page under which most non-ASCII
    words read as Vietnamese: Windows-1258, TCVN3 or VNI. (None, "") when none reads at all."""
    cands: dict[str, str] = {}
    try:
        cands["cp1258"] = nfc(raw.decode("cp1258"))
    except UnicodeDecodeError:
        pass
    latin = raw.decode("latin-1")
    # the whole file: not through the per-cell caches, which would keep it (in and out) for the process's life
    cands["tcvn3"] = decode_tcvn3.__wrapped__(latin)
    cands["vni"] = decode_vni.__wrapped__(latin)

    def score(text: str) -> float:
        words = [w for w in WORD.findall(text) if not w.isascii()][:5000]
        if not words:
            return 0.0
        bad = sum(c in SUSPECT for c in text[:200_000])
        return sum(_word_ok(w) for w in words) / len(words) - bad / max(len(words), 1)

    scores = {k: score(v) for k, v in cands.items()}
    best = max(scores, key=lambda k: (scores[k], k == "cp1258"))
    if scores[best] <= 0.5:
        if "cp1258" in cands:
            return cands["cp1258"], "cp1258"
        return None, ""
    return cands[best], best
