"""Stage tables on disk: one parquet file per named table (typed, deterministic for the same versions)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path) -> None:
    """Write each table as ``<name>.parquet`` (index dropped)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.reset_index(drop=True).to_parquet(out_dir / f"{name}.parquet", index=False)


def read_tables(in_dir: Path) -> dict[str, pd.DataFrame]:
    """Every ``*.parquet`` table of a stage folder by name, plus ``rejections`` from rejections.csv."""
    out = {p.stem: pd.read_parquet(p) for p in sorted(in_dir.glob("*.parquet"))}
    rej = in_dir / "rejections.csv"
    if rej.exists() and "rejections" not in out:
        out["rejections"] = pd.read_csv(rej, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return out
