"""Clean tables of one year: schemas, the CleanData bundle, locating the raw files, clean_year."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..communes import CommuneMatcher
from ..methodology import Methodology
from .log import InputError, Problem, combine_rejections, rejections_frame
from .readers import (
    RAW_FILES,
    read_assessment,
    read_dossiers,
    read_officials,
    read_satisfaction,
)

_S = dict(nullable=False)
SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "assessment": pa.DataFrameSchema({
        "commune_code": pa.Column(str, **_S), "code": pa.Column(str, **_S),
        "self_points": pa.Column(float, nullable=True), "appraised_points": pa.Column(float, nullable=True),
        "not_applicable": pa.Column(bool, **_S), "reason": pa.Column(str, **_S), "evidence": pa.Column(str, **_S),
        "max_points_form": pa.Column(float, pa.Check.gt(0), nullable=True),
    }, strict=True, ordered=True),  # commune × leaf is unique (the reader refuses repeats); T/TR rows may repeat
    "officials": pa.DataFrameSchema({
        "ballot_id": pa.Column(str, **_S), "group": pa.Column(str, **_S), "commune_code": pa.Column(str, **_S),
        "question": pa.Column(str, **_S),
        "answer": pa.Column(str, pa.Check.isin(["", "A", "B", "C", "D"]), **_S),
    }, strict=True, ordered=True, unique=["ballot_id", "commune_code", "question"]),
    "satisfaction": pa.DataFrameSchema({
        "ballot_id": pa.Column(str, **_S), "commune_code": pa.Column(str, **_S),
        "procedure_field": pa.Column(str, **_S), "question": pa.Column(str, **_S),
        "answer": pa.Column("Int64", nullable=True), "weight": pa.Column(float, pa.Check.ge(0), **_S),
    }, strict=True, ordered=True, unique=["ballot_id", "question"]),
    "ballots": pa.DataFrameSchema({
        "ballot_id": pa.Column(str, **_S), "commune_code": pa.Column(str, **_S),
        "procedure_field": pa.Column(str, **_S), "date": pa.Column("datetime64[us]", nullable=True),
        "status": pa.Column(str, pa.Check.isin(["valid", "excluded"]), **_S), "rule": pa.Column(str, **_S),
    }, strict=True, ordered=True),
    "dossiers": pa.DataFrameSchema({
        "commune_code": pa.Column(str, **_S), "procedure_field": pa.Column(str, **_S),
        "dossiers": pa.Column("int64", pa.Check.ge(0), **_S),
    }, strict=True, ordered=True, unique=["commune_code", "procedure_field"]),
    "rejections": pa.DataFrameSchema({
        "file": pa.Column(str, **_S), "sheet": pa.Column(str, **_S), "row": pa.Column("int64", **_S),
        "rule": pa.Column(str, **_S), "detail": pa.Column(str, **_S),
    }, strict=True, ordered=True),
}
TABLES = ("assessment", "officials", "satisfaction", "ballots", "dossiers", "rejections")


@dataclass
class CleanData:
    """The clean tables of one year (docs/ARCHITECTURE.md, "Clean tables")."""

    assessment: pd.DataFrame
    officials: pd.DataFrame
    satisfaction: pd.DataFrame
    ballots: pd.DataFrame
    dossiers: pd.DataFrame
    rejections: pd.DataFrame

    def validate(self) -> "CleanData":
        """Check every table against its pandera schema (raises pandera's SchemaError)."""
        for t in TABLES:
            SCHEMAS[t].validate(getattr(self, t))
        return self

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``<table>.parquet`` for each table and ``rejections.csv`` (UTF-8); returns the paths."""
        self.validate()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for t in TABLES[:-1]:
            p = out / f"{t}.parquet"
            getattr(self, t).to_parquet(p, index=False)
            paths.append(p)
        p = out / "rejections.csv"
        self.rejections.to_csv(p, index=False, encoding="utf-8", lineterminator="\n")
        return paths + [p]

    @classmethod
    def read(cls, out_dir: str | Path) -> "CleanData":
        """Load the tables written by :meth:`write`."""
        out = Path(out_dir)
        tables = {t: pd.read_parquet(out / f"{t}.parquet") for t in TABLES[:-1]}
        tables["ballots"]["date"] = tables["ballots"]["date"].astype("datetime64[us]")
        rej = pd.read_csv(out / "rejections.csv", dtype={"row": "int64"}, keep_default_na=False,
                          encoding="utf-8")
        tables["rejections"] = rejections_frame(rej)
        return cls(**tables).validate()


def find_raw_file(raw_dir: Path, kind: str) -> Path:
    """The one .xlsx or .csv file in ``raw_dir`` whose name starts with the prefix of ``kind``."""
    prefix, sheet = RAW_FILES[kind]
    raw_dir = Path(raw_dir)
    hits = sorted(p for p in raw_dir.glob(f"{prefix}*") if p.suffix.lower() in (".xlsx", ".csv")
                  and not p.name.startswith("~$"))
    if len(hits) == 1:
        return hits[0]
    have = ", ".join(sorted(p.name for p in raw_dir.iterdir())) if raw_dir.is_dir() else "(thư mục không tồn tại)"
    if not hits:
        raise InputError(Problem(f"{prefix}<năm>.xlsx", sheet, None, None,
                                 f"không tìm thấy tệp {prefix}*.xlsx hoặc .csv trong {raw_dir} (hiện có: {have})",
                                 f"missing file: expected {prefix}<year>.xlsx or .csv in {raw_dir}"))
    raise InputError(Problem(", ".join(p.name for p in hits), sheet, None, None,
                             f"có {len(hits)} tệp cùng loại, chỉ được để một tệp",
                             f"{len(hits)} files match {prefix}*; keep exactly one"))


def clean_year(raw_dir: str | Path, meth: Methodology, communes: pd.DataFrame, *,
               survey_start: dt.date | None = None, survey_end: dt.date | None = None,
               salt: str = "parindex") -> CleanData:
    """Read and clean the four raw files of one year. Problems of every file are gathered into one
    InputError; excluded ballots go to ``rejections``."""
    matcher = CommuneMatcher(communes)
    raw_dir = Path(raw_dir)
    probs: list[Problem] = []
    got: dict[str, tuple] = {}
    readers = {
        "assessment": lambda p: read_assessment(p, meth, matcher),
        "officials": lambda p: read_officials(p, meth, matcher),
        "satisfaction": lambda p: read_satisfaction(p, meth, matcher, survey_start=survey_start,
                                                    survey_end=survey_end, salt=salt),
        "dossiers": lambda p: read_dossiers(p, meth, matcher),
    }
    for kind, reader in readers.items():
        try:
            got[kind] = reader(find_raw_file(raw_dir, kind))
        except InputError as e:
            probs.extend(e.problems)
    if probs:
        raise InputError(probs)
    sat, ballots, sat_rej = got["satisfaction"]
    data = CleanData(
        assessment=got["assessment"][0], officials=got["officials"][0], satisfaction=sat, ballots=ballots,
        dossiers=got["dossiers"][0],
        rejections=combine_rejections([got["assessment"][1], got["officials"][1], sat_rej, got["dossiers"][1]]))
    return data.validate()

