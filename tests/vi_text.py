"""Is a text Vietnamese? Finds English words and internal codes in what a council member reads.

``foreign(text, allow)`` returns the offending tokens of ``text``:

* internal codes: snake_case (``blank_majority``), dotted keys (``survey.group_weighting``), camelCase, and the
  words programs print for missing or boolean values (NaN, None, null, undefined, True, False);
* English words: a token written in ASCII letters only that is no Vietnamese syllable written without its
  marks (onset, one to three vowels, an allowed final consonant: "thanh", "lam", "an", "so" pass; "legend",
  "click", "seed", "default" do not), or that is one of a few short English words that look like syllables.

Vietnamese syllables carry diacritics most of the time, so a token with a Vietnamese letter is taken as
Vietnamese. The allow-list is short and each entry is justified where it is defined (ALLOWED).
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

#: Written the same way in Vietnamese documents; each has a reason.
ALLOWED = {
    # administrative abbreviations of Vietnamese itself (cải cách hành chính, ủy ban nhân dân, thủ tục hành
    # chính, Mặt trận Tổ quốc, kinh tế - xã hội, quyết định, Bộ Nội vụ) and the name of the national
    # satisfaction index (SIPAS)
    "CCHC", "UBND", "TTHC", "MTTQ", "UBMTTQ", "KT", "XH", "QĐ", "BNV", "SIPAS",
    # "LV" = lĩnh vực, spelled out under the results table
    "LV",
    # file formats named on buttons and in notes
    "CSV", "PNG", "PDF", "JSON",
    # the name of the software in the footer, and of the checksum of the methodology file
    "parindex", "SHA",
    # names of statistical methods without a Vietnamese word (chỉ số Sobol, phân phối Dirichlet, bootstrap
    # explained as "lấy mẫu lặp lại")
    "Sobol", "Dirichlet", "bootstrap",
}
#: Short English words that happen to look like Vietnamese syllables.
ENGLISH = {"the", "of", "on", "at", "it", "by", "be", "is", "my", "he", "we", "up", "and", "or", "for", "with",
           "from", "this", "that", "min", "max", "mean", "top", "keep", "team", "main", "pan", "true", "nan",
           "seed", "may", "day", "say", "pay", "ten", "man", "can", "cat", "tip", "tie", "due", "cue", "bean",
           "rain", "pain", "gain", "chain", "boat", "coat", "heat", "neat", "seat", "deep", "none", "type", "code"}
SYLLABLE = re.compile(r"^(ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdghklmnprstvx])?[aeiouy]{1,3}(ch|ng|nh|[cmnpt])?$")
CODES = [re.compile(p) for p in (r"\b[A-Za-z]+_[A-Za-z0-9_]+\b", r"\b[a-z]+(?:\.[a-z_]+)+\b",
                                 r"\b[a-z]+[A-Z][A-Za-z]*\b", r"\b(?:NaN|NaT|None|null|undefined|True|False)\b")]
#: references to files, run folders and checksums, shown as written
REFERENCES = re.compile(r"[\w./\\-]*\w\.(?:csv|xlsx|xls|yaml|yml|html|pdf|png)\b|\b\d{3}-[0-9a-f]{8}\b|\b[0-9a-f]{16,}\b"
                        r"|[\w.-]+(?:/[\w.-]*)+")


def foreign(text: str, allow: set[str] = frozenset()) -> list[str]:
    """English words and internal codes in ``text`` (see the module docstring)."""
    text = REFERENCES.sub(" ", text)
    for a in sorted(allow, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(a)}(?![\w-])", " ", text)
    out = [m.group(0) for p in CODES for m in p.finditer(text)]
    for tok in re.findall(r"[^\W\d_]+", text):
        if len(tok) < 2 or not tok.isascii() or tok in ALLOWED:
            continue
        low = tok.lower()
        if low in ENGLISH or not SYLLABLE.match(low):
            out.append(tok)
    return out


class _Visible(HTMLParser):
    """Text a reader sees: text outside <script>/<style>, and the title, aria-label, alt and placeholder
    attributes (hidden profiles included: each is shown when chosen)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for k, v in attrs:
            if k in ("title", "aria-label", "alt", "placeholder") and v:
                self.parts.append(v)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    p = _Visible()
    p.feed(page)
    return "\n".join(p.parts)


TEXT_KEYS = {"name", "text", "hovertext", "hovertemplate", "customdata", "ticktext", "categoryarray", "x", "y",
             "texttemplate", "title"}


def figure_texts(page: str) -> str:
    """Every text of the page's charts that a reader may see (names, labels, tick texts, titles, annotations,
    hover texts), HTML tags and plotly placeholders removed."""
    m = re.search(r'<script type="application/json" id="figures-data">(.*?)</script>', page, re.S)
    figs = json.loads(m.group(1)) if m else {}
    out: list[str] = []

    def walk(v, key=None, inside=False, parent=None):
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "name" and parent in ("annotations", "shapes"):
                    continue  # an id the page's script uses, never shown
                walk(x, k, inside or k in TEXT_KEYS or k == "annotations", key)
        elif isinstance(v, list):
            for x in v:
                walk(x, key, inside, parent if isinstance(x, dict) and key not in ("annotations", "shapes") else key)
        elif isinstance(v, str) and inside and key not in ("color", "bgcolor", "bordercolor", "family", "type",
                                                           "mode", "xref", "yref", "xanchor", "yanchor", "side",
                                                           "symbol", "dash", "dtype", "bdata", "xaxis", "yaxis",
                                                           "legend", "hoverinfo", "textposition", "orientation",
                                                           "align", "valign"):
            s = re.sub(r"%\{[^}]*\}", " ", v)
            s = re.sub(r"<[^>]+>", " ", s)
            out.append(html.unescape(s))

    walk(figs)
    return "\n".join(out)
