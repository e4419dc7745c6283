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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .safeyaml import YamlError, clip, load_yaml, quote
from .uncertainty.alternatives import ALTERNATIVES

#: upper bounds of the counts a parameter file may ask for (a run must finish in minutes, not exhaust memory)
MAX_CI_DRAWS = 20_000
MAX_ROBUSTNESS_DRAWS = 50_000
MAX_PARAMS_BYTES = 256 * 1024
MAX_SET_CHARS = 1000


class ParamsError(ValueError):
    """Invalid run parameters; the message lists the valid keys."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Inputs(_M):
    raw_dir: str = Field(description="folder of the raw files of the year", min_length=1, max_length=1000)
    # the earlier year's results for the year-over-year section: "auto" = the published run of <year-1>
    # (reports/<year-1>/) when there is one, "none" = no comparison, else the path of a results.csv written
    # by parindex (its columns are checked before anything is copied)
    previous_results: str = Field("auto", min_length=1, max_length=1000)


class Scoring(_M):
    allow_missing_as_zero: bool = False
    rank_decimals: int = Field(2, ge=0, le=6)


#: keys that no longer exist → what replaces them (said when a file or --set still uses one)
REMOVED_KEYS = {
    "survey.poststratify": "the satisfaction estimator is declared by the methodology "
                           "(satisfaction_survey.estimator: plain_share | dossier_weighted); for a what-if use "
                           "--set satisfaction.estimator=dossier_weighted",
}


class Survey(_M):
    group_weighting: Literal["pooled", "equal"] = "pooled"

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, d):
        if isinstance(d, dict) and "poststratify" in d:
            raise ValueError("survey.poststratify was removed: " + REMOVED_KEYS["survey.poststratify"])
        return d
    survey_start: dt.date | None = None
    survey_end: dt.date | None = None
    ci_draws: int = Field(2000, ge=100, le=MAX_CI_DRAWS)  # percentile-bootstrap replicates of the survey intervals
    #: how the survey intervals' replicates are drawn (:mod:`parindex.uncertainty.bootstrap`): "padded" — the draws
    #: every earlier run used (replays reproduce published intervals); "compact" — about 4 × fewer random numbers,
    #: for runs of thousands of communes; intervals then differ from padded ones by Monte Carlo noise only
    ci_layout: Literal["padded", "compact"] = "padded"

    @model_validator(mode="after")
    def _period(self):
        if self.survey_start and self.survey_end and self.survey_end < self.survey_start:
            raise ValueError(f"survey_end {self.survey_end} is before survey_start {self.survey_start} "
                             "(ngày kết thúc khảo sát trước ngày bắt đầu)")
        return self


class District(_M):
    """Who is scored: the district's identity is data, never code (see :mod:`parindex.district`).

    ``code`` is the statistics-office district code (three digits, written as text); name, province and
    the commune list are looked up in the national reference list the project ships unless given here.
    ``communes`` may name a commune list file instead (statistics-office or national layout); ``name`` (with
    ``province``) alone is looked up in the national list as well."""
    code: str | None = Field(None, max_length=20)
    name: str | None = Field(None, max_length=200)
    province: str | None = Field(None, max_length=200)
    communes: str | None = Field(None, max_length=1000)
    # respondents per group code; default: the methodology's
    officials_groups: dict[str, int] | None = Field(None, max_length=50)
    ballots_per_commune: int | None = Field(None, ge=1, le=10_000)  # satisfaction ballots per commune
    salt: str = Field("parindex", min_length=1, max_length=1000)  # secret of the duplicate-detection hash

    @model_validator(mode="after")
    def _group_sizes(self):
        for k, v in (self.officials_groups or {}).items():
            if not 0 <= v <= 10_000 or len(k) > 50:
                raise ValueError(f"officials_groups: group {quote(k, 50)} has {v} respondents, expected 0 to 10000")
        return self

    @field_validator("code", mode="before")
    @classmethod
    def _code_as_text(cls, v: Any) -> Any:
        # YAML reads an unquoted 123 as a number, and 042 as the octal number 34: a number of three digits is
        # taken as written, a smaller one is refused (its leading zeros are lost).
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            if 100 <= v <= 999:
                return str(v)
            raise ValueError(f'mã huyện {v} mất các số 0 đứng đầu: ghi mã dạng chữ trong dấu nháy, ví dụ code: "042" '
                             f'(write the district code as quoted text; YAML reads an unquoted 042 as the octal '
                             f'number 34)')
        return v


def _options(name: str):
    """The type of an alternative's option list: its options in the registry (parindex.uncertainty.alternatives)."""
    return list[Literal[ALTERNATIVES[name].options]]


def _all_options(name: str) -> list[str]:
    return list(ALTERNATIVES[name].options)


class Alternatives(_M):
    """Scoring-rule alternatives of the robustness stage (switched on and off together by ``robustness.rules``):
    for each, the options a Monte Carlo draw picks from, each equally likely. The published option (detected
    from the published tables) must be listed; an empty list holds the alternative at the published option.
    What each alternative does and how the array model applies it: :mod:`parindex.uncertainty.alternatives`."""
    officials_groups: _options("officials_groups") = Field(default_factory=lambda: _all_options("officials_groups"))
    satisfaction_factor: _options("satisfaction_factor") = Field(
        default_factory=lambda: _all_options("satisfaction_factor"))
    satisfaction_estimator: _options("satisfaction_estimator") = Field(
        default_factory=lambda: _all_options("satisfaction_estimator"))
    aggregation: _options("aggregation") = Field(default_factory=lambda: _all_options("aggregation"))

    @model_validator(mode="before")
    @classmethod
    def _known_names(cls, data):
        if isinstance(data, dict):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                raise ValueError(f"unknown rule alternative(s) {', '.join(map(repr, unknown))}; valid alternatives: "
                                 + ", ".join(f"{n} ({' | '.join(ALTERNATIVES[n].options)})" for n in cls.model_fields))
        return data

    @field_validator("*")
    @classmethod
    def _no_repeats(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"an option is listed twice: {v}")
        return v


class Robustness(_M):
    """Monte Carlo robustness of the ranking (:mod:`parindex.uncertainty.robustness`)."""
    enabled: bool = True
    n_draws: int = Field(1000, ge=10, le=MAX_ROBUSTNESS_DRAWS)
    weights: bool = True
    weight_spread: float = Field(0.25, ge=0, lt=1)
    weight_dist: Literal["uniform", "dirichlet"] = "uniform"
    sampling: bool = True
    officials_joint: bool = True  # resample officials once for all communes (each rates every commune)
    n_replicates: int = Field(2000, ge=1, le=100_000)  # bootstrap replicates in the pool the draws pick from
    rules: bool = True            # master switch of the rule alternatives below
    alternatives: Alternatives = Alternatives()
    top_k: int = Field(3, ge=1, le=1000)
    sobol_n: int = Field(1024, ge=2, le=2**16)     # Saltelli base sample (a power of 2), size of the realisation pools
    sobol_resamples: int = Field(100, ge=10, le=10_000)  # bootstrap resamples of the Sobol confidence intervals
    outrank_max_communes: int = Field(2000, ge=2, le=100_000)  # the communes × communes outranking matrix is skipped above this

    @field_validator("sobol_n")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"sobol_n must be a power of 2 (2, 4, …, 1024, …), got {v}")
        return v


class Ingest(_M):
    """Reading the raw files (parindex.ingest): vocabulary, thresholds, resource limits, duplicates."""
    aliases: str | None = "methodologies/aliases-v1.yaml"   # other names of coded values; null = none
    # a coded column (commune, field, group, answers) with more than this share of unmatched values (and at
    # least unmatched_min_count of them) refuses the import
    unmatched_share: float = Field(0.05, ge=0, le=1)
    unmatched_min_count: int = Field(5, ge=1)
    header_search_rows: int = Field(30, ge=1, le=200)
    max_file_mb: float = Field(20.0, gt=0, le=2000)
    max_unzipped_mb: float = Field(200.0, gt=0, le=20000)
    max_rows: int = Field(50_000, ge=10, le=1_048_576)
    max_columns: int = Field(200, ge=5, le=16_384)
    max_dossiers: int = Field(10_000, ge=1)             # dossiers of one procedure field in one commune
    max_adjustment_points: float = Field(10.0, gt=0)   # one bonus (T) or deduction (TR) row
    duplicate_scope: Literal["commune", "district"] = "commune"  # same phone/ID number within a commune or district
    warn_excluded_share: float = Field(0.05, ge=0, le=1)  # a completed run says so above this share of ballots


class Report(_M):
    """How the report marks uncertain results next to the ranking (chart, summary card, profiles)."""
    # a commune whose published band comes out in fewer than this share of the robustness draws is marked
    band_prob_min: float = Field(0.8, gt=0, le=1)
    # "sát ngưỡng": an index within this many percentage points of a band threshold
    near_threshold: float = Field(1.0, ge=0)


class Overrides(_M):
    """Methodology overrides applied on load (e.g. satisfaction.points=15), for what-ifs: the run's
    ``methodology.yaml`` records the variant. Unset = what the methodology file declares.

    ``estimator``: how the satisfaction index is estimated (``plain_share`` | ``dossier_weighted``, see
    :data:`parindex.methodology.Estimator`); the methodology declares it (``satisfaction_survey.estimator``),
    so there is one switch, and this override rewrites it."""
    satisfaction_points: float | None = Field(None, gt=0, le=1000)
    estimator: Literal["plain_share", "dossier_weighted"] | None = None


class LegalDoc(_M):
    """A document the drafts cite (a plan, a decision): kind, number and symbol, date, issuer, subject, as they
    are written in the citation ("Kế hoạch số 3049/KH-UBND ngày 22/12/2022 của UBND huyện về …"). A blank
    number or date is left as "…" for the officer to complete."""
    kind: str | None = None       # "Kế hoạch", "Quyết định"
    number: str | None = None     # "3049/KH-UBND"
    date: dt.date | None = None
    issuer: str | None = None     # "UBND huyện", "Chủ tịch UBND tỉnh"
    subject: str | None = None    # "về việc …"


class Signer(_M):
    """The signature block: authority line ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"), position, name (blank: left
    for the signer to write)."""
    authority: str | None = None
    position: str | None = None
    name: str | None = None


class Documents(_M):
    """The drafts the district issues (:mod:`parindex.documents`): appraisal notices, report, decision.

    ``issuer`` lines of the issuing body and ``place`` (place name of the date line) default to the district's
    (see the shipped templates); dates left blank become "ngày … tháng … năm …"; ``templates`` names a
    folder of edited template files that replace the shipped ones of the same name."""
    enabled: bool = True
    issuer: list[str] = []
    place: str | None = None
    signer: Signer = Signer()
    plan: LegalDoc = LegalDoc()          # the district's plan for the year's index (cited first)
    basis: list[LegalDoc] = []           # further documents cited as the basis
    notice_date: dt.date | None = None
    reply_deadline: dt.date | None = None   # the communes' explanations are due by this date
    report_date: dt.date | None = None
    decision_date: dt.date | None = None
    templates: str | None = None


class RunParams(_M):
    year: int = Field(ge=2000, le=2100)
    methodology: str = Field("methodologies/reference-default-v1.yaml", min_length=1, max_length=1000)
    seed: int = Field(2023, ge=0, lt=2**32)
    inputs: Inputs
    district: District = District()
    scoring: Scoring = Scoring()
    survey: Survey = Survey()
    robustness: Robustness = Robustness()
    satisfaction: Overrides = Overrides()
    documents: Documents = Documents()
    ingest: Ingest = Ingest()
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


def _is_text(dotted: str) -> bool:
    """Whether the parameter at ``dotted`` holds text (str or str | None)."""
    model: type[BaseModel] = RunParams
    *parents, last = dotted.split(".")
    for name in parents:
        model = model.model_fields[name].annotation
    ann = model.model_fields[last].annotation
    return ann is str or ann == (str | None)


def _set(d: dict, dotted: str, raw: str) -> None:
    dotted = _ALIASES.get(dotted, dotted)
    keys = valid_keys()
    if dotted in REMOVED_KEYS:
        raise ParamsError(f"parameter {dotted!r} was removed: {REMOVED_KEYS[dotted]}")
    if dotted not in keys:
        shown = [k if k != "satisfaction.satisfaction_points" else "satisfaction.points" for k in keys]
        raise ParamsError(f"tham số không tồn tại {quote(dotted, 100)} [unknown parameter {quote(dotted, 100)}]. "
                          "Valid keys: " + ", ".join(shown))
    value = parse_set_value(dotted, raw)
    node = d
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ParamsError(f"--set {dotted}: {p} không phải một nhóm tham số [{p} is not a group of parameters]")
    node[parts[-1]] = value


def parse_set_value(key: str, raw: str):
    """The value of ``--set key=raw``: text parameters as typed (unless quoted), others read as one YAML
    scalar (``true``, ``15``, ``equal``, ``2023-10-01``…). Refused: text longer than :data:`MAX_SET_CHARS`, values starting with a character YAML reserves
    (``@``, `` ` ``, ``%``, ``&``, ``*``, ``!``, ``|``, ``>``) unless quoted, and anything that is not YAML."""
    if raw == "":
        return None
    if len(raw) > MAX_SET_CHARS:
        raise ParamsError(f"--set {key}: giá trị quá dài ({len(raw)} ký tự, tối đa {MAX_SET_CHARS}) "
                          f"[value too long: {len(raw)} characters, at most {MAX_SET_CHARS}]")
    if _is_text(key) and raw[:1] not in ("'", '"'):
        return raw            # text as typed: --set district.code=042 stays "042"
    if raw[0] in "@`%&*!|>":
        raise ParamsError(f"--set {key}={clip(raw, 60)}: giá trị không được bắt đầu bằng ký tự {raw[0]!r}; nếu "
                          f"đó là một chuỗi, hãy đặt trong dấu nháy, ví dụ --set '{key}=\"{clip(raw, 30)}\"' "
                          f"[a value may not start with {raw[0]!r}; quote it if it is text]")
    try:
        return load_yaml(raw, f"--set {key}", max_bytes=4 * MAX_SET_CHARS, max_aliases=0, max_nodes=1000,
                         what=("giá trị", "value"))
    except YamlError as e:
        raise ParamsError(str(e)) from None


def default_params(year: int) -> dict[str, Any]:
    """The parameters every run starts from before its file and ``--set`` values: only what depends on the
    year (every other default lives in the models above)."""
    return {"year": year, "seed": year, "inputs": {"raw_dir": f"data/raw/{year}"}}


def survey_period(year: int) -> tuple[dt.date, dt.date]:
    """The satisfaction survey period the district plan sets for ``year`` (1 October – 15 December): what
    ``parindex init`` writes into a new year's parameters and what the demo generator dates its ballots in."""
    return dt.date(year, 10, 1), dt.date(year, 12, 15)


def load_params(year: int, params_file: str | Path | None = None, sets: list[str] | None = None,
                root: Path | None = None) -> RunParams:
    """Parameters of a run: the year's file (``params/<year>.yaml`` under root when it exists), then the
    ``--set key=value`` overrides, validated."""
    d: dict[str, Any] = default_params(year)
    if params_file is None and root is not None and (root / "params" / f"{year}.yaml").exists():
        params_file = root / "params" / f"{year}.yaml"
    origin = str(params_file) if params_file else "defaults"
    if params_file is not None:
        loaded = read_params_file(Path(params_file))
        d = _merge(d, loaded)
    for s in sets or []:
        if "=" not in s:
            raise ParamsError(f"--set {clip(s, 100)!r}: cần dạng khóa=giá trị [expected key=value], "
                              "e.g. --set survey.group_weighting=equal")
        k, v = s.split("=", 1)
        _set(d, k.strip(), v.strip())
    try:
        p = RunParams.model_validate(d)
    except ValidationError as e:
        lines = []
        for err in e.errors()[:20]:
            loc = ".".join(str(x) for x in err["loc"])
            lines.append(f"{clip(loc, 100)}: {clip(err['msg'])}"
                         + (f" (got {quote(err['input'])})" if err["type"] != "missing" else ""))
        keys = "\nValid keys: " + ", ".join(valid_keys())
        raise ParamsError(f"{origin}: tham số không hợp lệ [invalid parameters]:\n  - " + "\n  - ".join(lines)
                          + keys) from None
    if p.year != year:
        raise ParamsError(f"{origin}: tham số của năm {p.year}, lần chạy là năm {year} "
                          f"[parameters are for year {p.year}, the run is for {year}]")
    return p


def read_params_file(path: Path) -> dict:
    """A parameters file as a mapping: UTF-8 YAML, at most :data:`MAX_PARAMS_BYTES`, aliases bounded."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_PARAMS_BYTES + 1)
    except OSError as e:
        raise ParamsError(f"{path}: không đọc được tệp tham số ({e.strerror}) "
                          f"[cannot read the parameters file: {e.strerror}]") from None
    try:
        loaded = load_yaml(raw, str(path), max_bytes=MAX_PARAMS_BYTES, what=("tệp tham số", "parameters file"))
    except YamlError as e:
        raise ParamsError(str(e)) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ParamsError(f"{path}: tệp tham số phải là một bảng khóa: giá trị (YAML mapping) "
                          f"[expected a mapping of parameters, found {type(loaded).__name__}]")
    bad = [k for k in loaded if not isinstance(k, str)]
    if bad:
        raise ParamsError(f"{path}: khóa tham số phải là chữ [parameter keys must be text]: {quote(bad[:5])}")
    return loaded


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
