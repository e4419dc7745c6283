"""The run state: one object holding everything a yearly run knows, and one way to save and load it.

A :class:`Run` holds the typed parameters, the effective methodology, the district (its communes), the
tables of each stage that has run, a small JSON summary per stage, the earlier year's published results
when the run compares with them, and a step log: for every stage, the function called, its arguments and
the SHA-256 of the tables it read and wrote. Stage functions (:mod:`parindex.pipeline`) take a run and
return it with their stage filled in; notebooks load a run, call one stage, show it and save it.

A run folder (a staging folder during ``parindex run``, a scratch folder in JupyterLab)::

    params.json         the parameters (typed, after overrides)
    methodology.yaml    the effective methodology
    communes.csv        the commune list of the district as used
    district.json       the district's name, province, code and survey sizes (never the salt)
    previous_results.csv  the earlier year's results the report compares with (when any)
    processed/<stage>/  one parquet file per table (rejections also as rejections.csv), info.json
    steps.json          the step log (no timings: same inputs and parameters → same bytes)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .csvsafe import restore_frame, write_csv
from .district import DistrictInfo
from .methodology import Methodology, load_methodology
from .params import RunParams

#: The stages in order; each fills ``Run.tables[stage]``.
STAGES = ("clean", "score", "uncertainty")
#: Tables stored as UTF-8 CSV (read by people) instead of parquet.
CSV_TABLES = {"rejections"}


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def jsonable(x: Any) -> Any:
    """Plain JSON values (numpy scalars unwrapped, non-finite floats → None)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, (dt.date, dt.datetime)):
        return x.isoformat()
    return x


def dump_json(obj: Any) -> str:
    return json.dumps(jsonable(obj), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_table(df: pd.DataFrame, path_stem: Path, name: str) -> Path:
    """Write one stage table: parquet, or CSV for :data:`CSV_TABLES`. Returns the path."""
    if name in CSV_TABLES:
        p = path_stem.with_suffix(".csv")
        write_csv(df, p)  # no formula for spreadsheets
    else:
        p = path_stem.with_suffix(".parquet")
        df.reset_index(drop=True).to_parquet(p, index=False)
    return p


def read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        df = restore_frame(pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8"))
        if "row" in df.columns:
            df["row"] = df["row"].astype("int64")
        return df
    return pd.read_parquet(path)


@dataclass
class Step:
    """One line of the step log."""

    stage: str
    function: str
    arguments: dict
    inputs: dict[str, str]      # name → SHA-256 (raw files, or tables of earlier stages)
    outputs: dict[str, str]     # table name → SHA-256 of its stored bytes (filled in by save)

    def to_dict(self) -> dict:
        return {"stage": self.stage, "function": self.function, "arguments": jsonable(self.arguments),
                "inputs": dict(self.inputs), "outputs": dict(self.outputs)}


@dataclass
class Run:
    """The state of one yearly run (see the module docstring)."""

    params: RunParams
    root: Path                      # project root: relative paths in the parameters start here
    methodology: Methodology        # effective (after overrides)
    district: DistrictInfo
    folder: Path | None = None      # where the run is saved
    tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    info: dict[str, dict] = field(default_factory=dict)     # per stage: JSON summary (e.g. robustness)
    steps: list[Step] = field(default_factory=list)
    previous: pd.DataFrame | None = None    # the earlier year's published results (results.csv)
    # The published run the year-over-year comparison uses: year, run_id, methodology_id, methodology_title,
    # date (dd/mm/yyyy), path — None when there is no comparison. Recorded by pipeline.start, read back by Run.load.
    baseline: dict | None = None
    # Published results of the earlier years for a multi-year trend: year, commune_code, index_pct, rank, band
    # (None or empty when fewer than two earlier years are published). Recorded by pipeline.start, read back by Run.load.
    history: pd.DataFrame | None = None
    trial: bool = False             # a trial run from JupyterLab: never published
    _unsaved: set[str] = field(default_factory=set, repr=False)

    # ---------------------------------------------------------------- access
    @property
    def year(self) -> int:
        return self.params.year

    @property
    def communes(self) -> pd.DataFrame:
        return self.district.communes

    def has(self, stage: str) -> bool:
        return stage in self.tables

    def stage_tables(self, stage: str) -> dict[str, pd.DataFrame]:
        if stage not in self.tables:
            raise KeyError(f"stage {stage!r} has not run yet (run it first: parindex.pipeline.{stage})")
        return self.tables[stage]

    def table(self, name: str) -> pd.DataFrame:
        """A table by name, from whichever stage holds it (later stages first)."""
        for stage in reversed(STAGES):
            if name in self.tables.get(stage, {}):
                return self.tables[stage][name]
        raise KeyError(f"no table {name!r} in this run (stages run: {', '.join(self.tables) or 'none'})")

    def all_tables(self) -> dict[str, pd.DataFrame]:
        """Every table of every stage by name (a later stage's table wins on a clash)."""
        out: dict[str, pd.DataFrame] = {}
        for stage in STAGES:
            out.update(self.tables.get(stage, {}))
        return out

    def table_hashes(self, stage: str) -> dict[str, str]:
        """SHA-256 of the stored tables of a stage (from the step log)."""
        for s in reversed(self.steps):
            if s.stage == stage:
                return dict(s.outputs)
        return {}

    def record(self, stage: str, tables: dict[str, pd.DataFrame], *, function: str, arguments: dict,
               inputs: dict[str, str], info: dict | None = None) -> None:
        """Put a stage's tables into the run and log the step (outputs hashed when saved)."""
        self.tables[stage] = dict(tables)
        if info is not None:
            self.info[stage] = info
        else:
            self.info.pop(stage, None)
        self.steps = [s for s in self.steps if s.stage != stage]
        self.steps.append(Step(stage, function, arguments, inputs, {}))
        self._unsaved.add(stage)

    # ---------------------------------------------------------------- save / load
    def save(self, folder: Path | None = None) -> Path:
        """Write the stages computed since the last save (and the run's own files when missing)."""
        folder = Path(folder or self.folder)
        if folder is None:
            raise ValueError("Run.save: no folder")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "params.json").exists():
            (folder / "params.json").write_text(dump_json(self.params.to_json_dict()), encoding="utf-8")
        if not (folder / "communes.csv").exists():
            write_csv(self.communes, folder / "communes.csv")
        if not (folder / "district.json").exists():
            pub = {k: v for k, v in self.district.public().items() if k != "n_communes"}
            (folder / "district.json").write_text(dump_json(pub), encoding="utf-8")
        for stage in STAGES:
            if stage not in self._unsaved:
                continue
            d = folder / "processed" / stage
            d.mkdir(parents=True, exist_ok=True)
            for old in d.iterdir():
                if old.is_file():
                    old.unlink()
            hashes = {}
            for name, df in self.tables[stage].items():
                p = write_table(df, d / name, name)
                hashes[name] = sha256_file(p)
            if stage in self.info:
                (d / "info.json").write_text(dump_json(self.info[stage]), encoding="utf-8")
            for s in self.steps:
                if s.stage == stage:
                    s.outputs = dict(sorted(hashes.items()))
        self._unsaved.clear()
        (folder / "steps.json").write_text(dump_json([s.to_dict() for s in self.steps]), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path, root: Path | None = None, trial: bool = False) -> "Run":
        """Load a run folder written by :meth:`save` (the stages it holds)."""
        folder = Path(folder)
        params = RunParams.model_validate(json.loads((folder / "params.json").read_text(encoding="utf-8")))
        meth = load_methodology(folder / "methodology.yaml")
        root = Path(root) if root is not None else _project_root(folder)
        district = _district_from_folder(params, meth, folder, root)
        run = cls(params=params, root=root, methodology=meth, district=district, folder=folder, trial=trial)
        steps_path = folder / "steps.json"
        if steps_path.exists():
            run.steps = [Step(**s) for s in json.loads(steps_path.read_text(encoding="utf-8"))]
        for stage in STAGES:
            d = folder / "processed" / stage
            if not d.is_dir():
                continue
            tables = {}
            for p in sorted(d.iterdir()):
                if p.suffix in (".parquet", ".csv"):
                    tables[p.stem] = read_table(p)
            if stage == "clean" and "ballots" in tables:
                tables["ballots"]["date"] = tables["ballots"]["date"].astype("datetime64[us]")
            run.tables[stage] = tables
            if (d / "info.json").exists():
                run.info[stage] = json.loads((d / "info.json").read_text(encoding="utf-8"))
        prev = folder / "previous_results.csv"
        if prev.exists():
            run.previous = restore_frame(pd.read_csv(prev, dtype={"commune_code": str}, encoding="utf-8-sig",
                                                     keep_default_na=False))
        from .baseline import load_recorded

        run.baseline, run.history = load_recorded(folder)   # the earlier year's run the comparison used
        return run


def _project_root(folder: Path) -> Path:
    """The checkout a run folder belongs to: the nearest parent holding pyproject.toml (else the package's)."""
    for p in [folder.resolve(), *folder.resolve().parents]:
        if (p / "pyproject.toml").exists() and (p / "parindex").is_dir():
            return p
    return Path(__file__).resolve().parent.parent


def _district_from_folder(params: RunParams, meth: Methodology, folder: Path, root: Path) -> DistrictInfo:
    """The district of a saved run: ``district.json`` and ``communes.csv`` of the folder, the salt from the
    parameters; a folder without them (not saved yet) resolves the parameters afresh."""
    from .communes import load_communes
    from .district import resolve_district

    if (folder / "district.json").exists() and (folder / "communes.csv").exists():
        d = json.loads((folder / "district.json").read_text(encoding="utf-8"))
        return DistrictInfo(code=d.get("code"), name=d["name"], province=d["province"],
                            communes=restore_frame(load_communes(folder / "communes.csv")),
                            officials_groups={k: int(v) for k, v in d["officials_groups"].items()},
                            ballots_per_commune=int(d["ballots_per_commune"]), salt=params.district.salt,
                            province_code=d.get("province_code"))
    return resolve_district(params.district, meth, root)
