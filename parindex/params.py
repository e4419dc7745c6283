"""Run parameters: one YAML file per year (``params/<year>.yaml``) plus ``--set key=value`` overrides.

Validated with pydantic: an unknown key or a value of the wrong type is refused with a message that
lists the valid keys. Paths are kept as written (relative to the project root) so that a manifest
reads the same on every machine.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ParamsError(ValueError):
    """Invalid run parameters; the message lists the valid keys."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Inputs(_M):
    raw_dir: str = Field(description="folder of the raw files of the year")
    # the earlier year's results.csv for the year-over-year section: "auto" = <reports>/<year-1>/results.csv
    # when it exists, "none" = no comparison, else a path
    previous_results: str = "auto"


class Scoring(_M):
    allow_missing_as_zero: bool = False
    rank_decimals: int = Field(2, ge=0, le=6)


class Survey(_M):
    group_weighting: Literal["pooled", "equal"] = "pooled"
    poststratify: bool = True
    survey_start: dt.date | None = None
    survey_end: dt.date | None = None
    ci_draws: int = Field(2000, ge=100)  # percentile-bootstrap replicates of the survey intervals


class District(_M):
    """Who is scored: the district's identity is data, never code (see :mod:`parindex.district`).

    ``code`` is the statistics-office district code (e.g. "300" for Huyện Thanh Miện); name, province and
    the commune list are looked up in the national reference list the project ships unless given here.
    ``communes`` may name a commune list file instead (statistics-office or national layout)."""
    code: str | None = None
    name: str | None = None
    province: str | None = None
    communes: str | None = None
    officials_groups: dict[str, int] | None = None   # respondents per group code; default: the methodology's
    ballots_per_commune: int | None = Field(None, ge=1)  # satisfaction ballots per commune; default: the methodology's
    salt: str = Field("parindex", min_length=1)       # secret of the duplicate-detection hash; never published


class Robustness(_M):
    enabled: bool = True
    n_draws: int = Field(1000, ge=10)
    weights: bool = True
    weight_spread: float = Field(0.25, ge=0, lt=1)
    weight_dist: Literal["uniform", "dirichlet"] = "uniform"
    sampling: bool = True
    rules: bool = True
    officials_joint: bool = True  # resample officials once for all communes (each rates every commune)
    top_k: int = Field(3, ge=1)


class Report(_M):
    """How the report marks uncertain results next to the ranking (chart, summary card, profiles)."""
    # a commune whose published band comes out in fewer than this share of the robustness draws is marked
    band_prob_min: float = Field(0.8, gt=0, le=1)
    # "sát ngưỡng": an index within this many percentage points of a band threshold
    near_threshold: float = Field(1.0, ge=0)


class Overrides(_M):
    """Methodology overrides applied on load (e.g. satisfaction.points=15)."""
    satisfaction_points: float | None = Field(None, gt=0)


class RunParams(_M):
    year: int = Field(ge=2000, le=2100)
    methodology: str = "methodologies/reference-default-v1.yaml"
    seed: int = 2023
    inputs: Inputs
    district: District = District()
    scoring: Scoring = Scoring()
    survey: Survey = Survey()
    robustness: Robustness = Robustness()
    satisfaction: Overrides = Overrides()
    report: Report = Report()

    def to_json_dict(self) -> dict[str, Any]:
        return json.loads(self.model_dump_json())

    def public_dict(self, salt: Literal["drop", "hash"] = "drop") -> dict[str, Any]:
        """The parameters as they may be written into published files: the hashing salt is a secret, so it is
        dropped, or (``salt="hash"``, for run folders) replaced by ``sha256:<hex of the salt>`` so that a
        replay can check that it uses the same salt (see :func:`with_salt`)."""
        d = self.to_json_dict()
        dist = d.setdefault("district", {})
        if salt == "hash":
            dist["salt"] = salt_digest(self.district.salt)
        else:
            dist.pop("salt", None)
        return d


SALT_DIGEST_PREFIX = "sha256:"


def salt_digest(salt: str) -> str:
    """What a run folder records of the salt: its SHA-256, never the salt itself."""
    import hashlib
    return SALT_DIGEST_PREFIX + hashlib.sha256(salt.encode("utf-8")).hexdigest()


def with_salt(recorded: dict[str, Any], salt: str, origin: str) -> dict[str, Any]:
    """Parameters recorded in a run folder (salt as its digest) with the salt put back, after checking that
    the salt is the one the run used."""
    d = json.loads(json.dumps(recorded))
    dist = d.setdefault("district", {})
    rec = dist.get("salt")
    if isinstance(rec, str) and rec.startswith(SALT_DIGEST_PREFIX):
        if salt_digest(salt) != rec:
            raise ParamsError(f"{origin}: chuỗi mã hóa (district.salt) khác với chuỗi của lần chạy gốc — không thể "
                              "tái lập việc phát hiện phiếu trùng (the duplicate-detection salt differs from the run's)")
        dist["salt"] = salt
    return d


def valid_keys(model: type[BaseModel] = RunParams, prefix: str = "") -> list[str]:
    """Dotted names of every settable key, e.g. ``survey.group_weighting``."""
    out: list[str] = []
    for name, f in model.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += valid_keys(ann, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def project_path(root: Path, p: str) -> Path:
    """A path from the parameters: absolute as given, else relative to the project root."""
    q = Path(p)
    return q if q.is_absolute() else (root / q)


def flatten_params(d: dict, prefix: str = "") -> dict[str, object]:
    """Nested parameters → dotted keys: {"survey.group_weighting": "pooled", …}."""
    out: dict[str, object] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten_params(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


_ALIASES = {"satisfaction.points": "satisfaction.satisfaction_points"}


def _set(d: dict, dotted: str, raw: str) -> None:
    dotted = _ALIASES.get(dotted, dotted)
    keys = valid_keys()
    if dotted not in keys:
        shown = [k if k != "satisfaction.satisfaction_points" else "satisfaction.points" for k in keys]
        raise ParamsError(f"unknown parameter {dotted!r}. Valid keys: " + ", ".join(shown))
    value = yaml.safe_load(raw) if raw != "" else None
    node = d
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def default_params(year: int) -> dict[str, Any]:
    """The parameters every run starts from before its file and ``--set`` values: only what depends on the
    year (every other default lives in the models above)."""
    return {"year": year, "seed": year, "inputs": {"raw_dir": f"data/raw/{year}"}}


def load_params(year: int, params_file: str | Path | None = None, sets: list[str] | None = None,
                root: Path | None = None) -> RunParams:
    """Parameters of a run: the year's file (``params/<year>.yaml`` under root when it exists), then the
    ``--set key=value`` overrides, validated."""
    d: dict[str, Any] = default_params(year)
    if params_file is None and root is not None and (root / "params" / f"{year}.yaml").exists():
        params_file = root / "params" / f"{year}.yaml"
    origin = str(params_file) if params_file else "defaults"
    if params_file is not None:
        try:
            loaded = yaml.safe_load(Path(params_file).read_text(encoding="utf-8")) or {}
        except OSError as e:
            raise ParamsError(f"{params_file}: cannot read parameters file ({e.strerror})") from None
        if not isinstance(loaded, dict):
            raise ParamsError(f"{params_file}: expected a mapping of parameters")
        d = _merge(d, loaded)
    for s in sets or []:
        if "=" not in s:
            raise ParamsError(f"--set {s!r}: expected key=value, e.g. --set survey.group_weighting=equal")
        k, v = s.split("=", 1)
        _set(d, k.strip(), v.strip())
    try:
        p = RunParams.model_validate(d)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"])
            lines.append(f"{loc}: {err['msg']}" + (f" (got {err['input']!r})" if err["type"] != "missing" else ""))
        raise ParamsError(f"{origin}: invalid parameters:\n  - " + "\n  - ".join(lines)
                          + "\nValid keys: " + ", ".join(valid_keys())) from None
    if p.year != year:
        raise ParamsError(f"{origin}: parameters are for year {p.year}, the run is for {year}")
    return p


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
