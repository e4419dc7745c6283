"""Commune reference list and name matching (codes are the statistics office's, as text)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .text import name_key, nfc

DEFAULT_REFERENCE = Path(__file__).resolve().parent.parent / "data" / "reference" / "thanh_mien_communes_2023.csv"


def load_communes(path: str | Path = DEFAULT_REFERENCE) -> pd.DataFrame:
    """Read a commune list into columns commune_code, commune_name, commune_type.

    Accepts the statistics-office layout of ``thanh_mien_communes_2023.csv`` (gso_level3_id, name,
    type) and the national layout (commune_code, commune_name, commune_type).
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


class CommuneMatcher:
    """Resolve a code or a name as written on a form ("Xã Đoàn Tùng", "X. Doan Tung", "doan tung",
    "TT Thanh Mien", "11251") to the official commune code. Ambiguous or unknown values give None."""

    def __init__(self, communes: pd.DataFrame):
        self.communes = communes
        self.codes = set(communes["commune_code"])
        keys: dict[str, set[str]] = {}
        for code, name in zip(communes["commune_code"], communes["commune_name"]):
            for k in {name_key(name), name_key(nfc(name))}:
                keys.setdefault(k, set()).add(code)
        self._by_key = {k: next(iter(v)) for k, v in keys.items() if len(v) == 1}
        self.ambiguous = {k for k, v in keys.items() if len(v) > 1}

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
        return self._by_key.get(name_key(s))

    def match_series(self, values: pd.Series) -> pd.Series:
        uniq = {v: self.match(v) for v in pd.unique(values)}
        return values.map(uniq)
