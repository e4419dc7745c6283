"""Clean tables of one year: schemas, the CleanData bundle, locating the raw files, clean_year."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..communes import CommuneMatcher
from ..methodology import Methodology
from ..text import strip_diacritics
from .context import Ingest
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
#: Logs of the cleaning stage besides the rejection log (kept in the run's clean stage, not in write()):
#: conversions (what was converted or recognised, by file, sheet, column), privacy (personal data masked,
#: by file, column, kind), duplicates (each duplicate ballot and the first one), coverage (rows read per
#: commune and survey), exclusions (ballots read, valid and excluded per survey file).
LOG_TABLES = ("conversions", "privacy", "duplicates", "coverage", "exclusions")


@dataclass
class CleanData:
    """The clean tables of one year (docs/ARCHITECTURE.md, "Clean tables")."""

    assessment: pd.DataFrame
    officials: pd.DataFrame
    satisfaction: pd.DataFrame
    ballots: pd.DataFrame
    dossiers: pd.DataFrame
    rejections: pd.DataFrame
    log: dict[str, pd.DataFrame] = field(default_factory=dict)  # LOG_TABLES

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


RAW_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
_COPY = re.compile(r"(\s*-\s*(copy|ban sao|sao chep)(\s*\(\d+\))?|\s*\(\d+\)|\s+copy)$")


def _file_key(name: str) -> str:
    """File name matching key: no diacritics, lower case, spaces and hyphens as underscores."""
    return re.sub(r"[\s\-]+", "_", strip_diacritics(name).lower())


def find_raw_file(raw_dir: Path, kind: str) -> Path:
    """The one .xlsx/.xlsm/.xls/.csv file in ``raw_dir`` whose name starts with the prefix of ``kind``
    (letter case, diacritics, spaces or hyphens for underscores do not matter). Two candidates — e.g. a
    "… - Copy.xlsx" beside the original — are refused by name."""
    prefix, sheet = RAW_FILES[kind]
    raw_dir = Path(raw_dir)
    files = sorted(p for p in raw_dir.iterdir() if p.is_file()) if raw_dir.is_dir() else []
    hits = [p for p in files if _file_key(p.name).startswith(prefix) and p.suffix.lower() in RAW_SUFFIXES
            and not p.name.startswith(("~$", ".~lock"))]
    if len(hits) == 1:
        return hits[0]
    have = ", ".join(p.name for p in files[:30]) if raw_dir.is_dir() else "(thư mục không tồn tại)"
    if not hits:
        raise InputError(Problem(f"{prefix}<năm>.xlsx", sheet, None, None,
                                 f"không tìm thấy tệp {prefix}*.xlsx, .xls hoặc .csv trong {raw_dir} (hiện có: {have})",
                                 f"missing file: expected {prefix}<year>.xlsx or .csv in {raw_dir}"))
    copies = [p.name for p in hits if _COPY.search(_file_key(p.stem).replace("_", " "))]
    note_vi = f" — {', '.join(copies)} có vẻ là bản sao, hãy xóa hoặc chuyển ra khỏi thư mục" if copies else ""
    note_en = f"; {', '.join(copies)} look like copies" if copies else ""
    raise InputError(Problem(", ".join(p.name for p in hits), sheet, None, None,
                             f"có {len(hits)} tệp cùng loại ({', '.join(p.name for p in hits)}), chỉ được để một "
                             f"tệp{note_vi}", f"{len(hits)} files match {prefix}*; keep exactly one{note_en}"))


def clean_year(raw_dir: str | Path, meth: Methodology, communes: pd.DataFrame, *,
               survey_start: dt.date | None = None, survey_end: dt.date | None = None,
               salt: str, ing: Ingest | None = None) -> CleanData:
    """Read and clean the four raw files of one year. Problems of every file are gathered into one
    InputError (with the rejection logs read so far, for the diagnosis); excluded ballots go to
    ``rejections``; free text and ids are screened for personal data (:mod:`parindex.ingest.privacy`);
    the conversions, personal data masked, duplicate pairs and coverage go to ``CleanData.log``."""
    ing = ing if ing is not None else Ingest()
    matcher = CommuneMatcher(communes)
    ing.screen.add_exclusions(communes["commune_name"])
    raw_dir = Path(raw_dir)
    probs: list[Problem] = []
    logs: list[pd.DataFrame] = []
    got: dict[str, tuple] = {}
    paths: dict[str, Path] = {}
    readers = {
        "assessment": lambda p: read_assessment(p, meth, matcher, ing),
        "officials": lambda p: read_officials(p, meth, matcher, ing),
        "satisfaction": lambda p: read_satisfaction(p, meth, matcher, survey_start=survey_start,
                                                    survey_end=survey_end, salt=salt, ing=ing),
        "dossiers": lambda p: read_dossiers(p, meth, matcher, ing),
    }
    for kind, reader in readers.items():
        try:
            paths[kind] = find_raw_file(raw_dir, kind)
            got[kind] = reader(paths[kind])
            logs.append(got[kind][-1])
        except InputError as e:
            probs.extend(e.problems)
            if e.rejections is not None:
                logs.append(e.rejections)
    if probs:
        rej = _screen_rejections(combine_rejections(logs), ing)
        raise InputError([_screen_problem(p, ing) for p in probs], rejections=rej)
    sat, ballots, sat_rej = got["satisfaction"]
    a = got["assessment"][0]
    afile = paths["assessment"].name
    a["reason"] = ing.screen.series(a["reason"], afile, "Lý do thẩm định")
    a["evidence"] = ing.screen.series(a["evidence"], afile, "Ghi chú minh chứng")
    conv = ing.screened_conversions()
    data = CleanData(
        assessment=a, officials=got["officials"][0], satisfaction=sat, ballots=ballots,
        dossiers=got["dossiers"][0],
        rejections=_screen_rejections(combine_rejections(
            [got["assessment"][1], got["officials"][1], sat_rej, got["dossiers"][1]]), ing))
    data.log = {"conversions": conv, "privacy": ing.screen.table(), "duplicates": ing.duplicates_table(),
                "coverage": ing.coverage_table(), "exclusions": ing.exclusions_table()}
    return data.validate()


def _screen_rejections(rej: pd.DataFrame, ing: Ingest) -> pd.DataFrame:
    if rej.empty:
        return rej
    parts = [g.assign(detail=ing.screen.series(g["detail"], f, "(nhật ký loại)")) for f, g in rej.groupby("file", sort=False)]
    return rejections_frame(pd.concat(parts).sort_index())


def _screen_problem(p: Problem, ing: Ingest) -> Problem:
    vi, _ = ing.screen.mask_text(p.vi)
    en, _ = ing.screen.mask_text(p.en)
    return Problem(p.file, p.sheet, p.row, p.column, vi, en) if (vi, en) != (p.vi, p.en) else p
