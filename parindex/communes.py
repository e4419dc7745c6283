"""Commune reference list and name matching (codes are the statistics office's, as text)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .text import name_key, nfc, plain_key, typed_key


def load_communes(path: str | Path) -> pd.DataFrame:
    """Read a commune list into columns commune_code, commune_name, commune_type.

    Accepts the statistics-office layout (gso_level3_id, name, type, as a district's own list comes) and the
    national layout (commune_code, commune_name, commune_type, as ``data/reference/vn_admin_units_*.csv``).
    The communes of one district of the national list: :func:`parindex.district.communes_of`.
    """
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if "gso_level3_id" in df.columns:
        df = df.rename(columns={"gso_level3_id": "commune_code", "name": "commune_name", "type": "commune_type"})
    missing = {"commune_code", "commune_name"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: commune list lacks column(s) {sorted(missing)}")
    if "commune_type" not in df.columns:
        df["commune_type"] = ""
    out = df[["commune_code", "commune_name", "commune_type"]].copy()
    out["commune_name"] = out["commune_name"].map(nfc)
    if out["commune_code"].duplicated().any():
        dups = out.loc[out["commune_code"].duplicated(), "commune_code"].tolist()
        raise ValueError(f"{path}: duplicate commune codes {dups}")
    return out.reset_index(drop=True)


def _exact(s: str) -> str:
    """A name as written, up to case and spacing (diacritics kept)."""
    return " ".join(nfc(str(s)).casefold().split())


class CommuneMatcher:
    """Resolve a code or a name as written on a form ("Xã Tân Trào", "X. Tan Trao", "tan trao", "TT <name>",
    a five-digit code) to the official commune code. Ambiguous or unknown values give None."""

    def __init__(self, communes: pd.DataFrame):
        self.communes = communes
        self.codes = set(communes["commune_code"])
        keys: dict[str, set[str]] = {}
        for code, name in zip(communes["commune_code"], communes["commune_name"]):
            for k in {name_key(name), name_key(nfc(name))}:
                keys.setdefault(k, set()).add(code)
        self._by_key = {k: next(iter(v)) for k, v in keys.items() if len(v) == 1}
        self.ambiguous = {k for k, v in keys.items() if len(v) > 1}
        # Names that differ only in their diacritics ("Xã Minh Quán" / "Xã Minh Quân" in one district): by the
        # exact name, whole or without its type.
        exact: dict[str, set[str]] = {}
        types = communes["commune_type"] if "commune_type" in communes.columns else [""] * len(communes)
        for code, name, ctype in zip(communes["commune_code"], communes["commune_name"], types):
            full = _exact(name)
            bare = _exact(name[len(ctype):]) if ctype and nfc(name).startswith(nfc(ctype) + " ") else full
            for k in {full, bare}:
                exact.setdefault(k, set()).add(code)
        self._by_exact = {k: next(iter(v)) for k, v in exact.items() if len(v) == 1}
        # Names written with their type ("Thị trấn Yên Viên" / "Xã Yên Viên" in one district): by typed key.
        typed: dict[str, set[str]] = {}
        for code, name in zip(communes["commune_code"], communes["commune_name"]):
            t = typed_key(name)
            if t:
                typed.setdefault(t, set()).add(code)
        self._by_typed = {k: next(iter(v)) for k, v in typed.items() if len(v) == 1}

    def match(self, value: object) -> str | None:
        if value is None or (isinstance(value, float) and value != value):
            return None
        s = nfc(str(value)).strip()
        if not s:
            return None
        if s.endswith(".0") and s[:-2].isdigit():  # a code typed into a numeric Excel cell
            s = s[:-2]
        if s in self.codes:
            return s
        if s.isdigit() and s.zfill(5) in self.codes:
            return s.zfill(5)
        e = _exact(s)
        if e in self._by_exact:
            return self._by_exact[e]
        t = typed_key(s)
        if t in self._by_typed:
            return self._by_typed[t]
        key = name_key(s)
        if key in self.ambiguous:
            return None
        # A bare name whose first word looks like a prefix ("Phương Tiến", "Xà Phìn") loses that word in its
        # key; its whole key is tried as well, and a value the two keys read as different communes is refused.
        hits = {self._by_key[k] for k in (key, plain_key(s)) if k in self._by_key}
        return hits.pop() if len(hits) == 1 else None

    def match_series(self, values: pd.Series) -> pd.Series:
        uniq = {v: self.match(v) for v in pd.unique(values)}
        return values.map(uniq)
