"""Methodology as data: load and validate one YAML file per methodology version.

The file holds the criteria tree (fields → criteria → sub-criteria) with maximum points, the source
that scores each leaf, the rules, the bands and the survey answer weights. Loading validates it; a
broken file is refused with a :class:`MethodologyError` whose message names the offending node.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .safeyaml import YamlError, clip, load_yaml
from .text import nfc, round_half_up

Source = Literal["appraisal", "officials_survey", "satisfaction_survey"]
#: How a commune's satisfaction factor index is estimated from its ballots:
#: ``plain_share`` — the share of valid answers that are positive (4–5), every ballot counting once: the rule
#: as written (DOMAIN.md, SIPAS); ``dossier_weighted`` — the same share with each ballot weighted by its
#: procedure field's share of the commune's dossiers over its share of the ballots (post-stratification,
#: :func:`parindex.surveys.poststratify`). The methodology file declares one; the other is computed beside it
#: (score stage, table ``estimator_check``).
Estimator = Literal["plain_share", "dossier_weighted"]
ESTIMATORS: tuple[str, ...] = ("plain_share", "dossier_weighted")
TOL = 1e-9


class MethodologyError(ValueError):
    """A methodology file that cannot be used; the message names the file and the node."""


#: a methodology file larger than this is refused before it is parsed
MAX_METHODOLOGY_BYTES = 4 * 1024 * 1024


class _Model(BaseModel):
    # non-finite numbers (.inf, .nan) are refused everywhere: points, caps, thresholds, weights, steps
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Meta(_Model):
    id: str
    version: str
    title: str
    status: Literal["reference_default", "official", "variant"]
    note: str
    pending: str | None = None


class Node(_Model):
    code: str
    label: str
    points: float = Field(ge=0)
    source: Source | None = None
    steps: list[float] | None = None
    subcriteria: list["Node"] = []


class FieldNode(_Model):
    code: str
    label: str
    points: float = Field(ge=0)
    criteria: list[Node]


class Rules(_Model):
    not_applicable: Literal["exclude"] = "exclude"
    appraisal_raise: Literal["flag", "refuse"] = "flag"
    appraisal_cut_requires_reason: bool = True


class Adjustment(_Model):
    code: str
    label: str
    cap: float = Field(ge=0)


class Adjustments(_Model):
    bonus: Adjustment
    deduction: Adjustment


class Band(_Model):
    code: str
    label: str                   # the threshold in words, e.g. "Từ 90 % trở lên"
    min_pct: float = Field(ge=0, le=100)
    color: str = "#888888"
    # Short name used in every table, chart and sheet (e.g. "Tốt"); a file without one shows the label.
    name: str | None = Field(None, min_length=1, max_length=24)

    @property
    def short(self) -> str:
        """The band's short name (its label when the methodology gives none)."""
        return self.name or self.label

    @property
    def title(self) -> str:
        """Name and threshold, e.g. "Tốt (từ 90 % trở lên)"; the label alone when there is no name."""
        if not self.name:
            return self.label
        lab = self.label[:1].lower() + self.label[1:]
        return f"{self.name} ({lab})"


class Group(_Model):
    code: str
    label: str
    size: int = Field(ge=0)


class OfficialsSurvey(_Model):
    answer_weights: dict[str, float]
    answer_labels: dict[str, str] = {}
    groups: list[Group]

    @field_validator("answer_weights")
    @classmethod
    def _weights_in_range(cls, v: dict[str, float]) -> dict[str, float]:
        for k, w in v.items():
            if not (0.0 <= w <= 1.0) or math.isnan(w):
                raise ValueError(f"answer weight of {k!r} is {w}, expected a share between 0 and 1")
        return v


class Question(_Model):
    code: str
    label: str


class Factor(_Model):
    code: str
    label: str
    questions: list[Question] = Field(min_length=1)


class ProcedureField(_Model):
    code: str
    label: str


class Scale(_Model):
    min: int
    max: int


class SatisfactionSurvey(_Model):
    scale: Scale
    positive_answers: list[int] = Field(min_length=1)
    ballots_per_commune: int = Field(ge=1)
    # The official rule (plain share of positive answers) unless the file declares otherwise.
    estimator: Estimator = "plain_share"
    factors: list[Factor] = Field(min_length=1)
    procedure_fields: list[ProcedureField] = Field(min_length=1)


class Methodology(_Model):
    meta: Meta
    scale: float = Field(gt=0)
    sources: dict[str, str]
    rules: Rules
    adjustments: Adjustments
    bands: list[Band] = Field(min_length=1)
    officials_survey: OfficialsSurvey
    satisfaction_survey: SatisfactionSurvey
    fields: list[FieldNode] = Field(min_length=1)
    # Set by load_methodology, not by the file.
    path: str | None = None
    sha256: str | None = None

    # ----- derived views -------------------------------------------------------------------
    def leaves(self) -> pd.DataFrame:
        """One row per scored leaf: code, field_code, criterion_code, label, points, source, steps."""
        rows = []
        for f in self.fields:
            for c in f.criteria:
                for leaf in c.subcriteria or [c]:
                    src = leaf.source or c.source or "appraisal"
                    rows.append(
                        dict(code=leaf.code, field_code=f.code, criterion_code=c.code, label=leaf.label,
                             points=float(leaf.points), source=src,
                             steps=tuple(leaf.steps) if leaf.steps else None)
                    )
        return pd.DataFrame(rows)

    def criteria(self) -> pd.DataFrame:
        """One row per criterion (first level below a field)."""
        return pd.DataFrame(
            [dict(code=c.code, field_code=f.code, label=c.label, points=float(c.points))
             for f in self.fields for c in f.criteria]
        )

    def field_table(self) -> pd.DataFrame:
        return pd.DataFrame([dict(field_code=f.code, label=f.label, points=float(f.points)) for f in self.fields])

    def band_of(self, pct: pd.Series, decimals: int = 2) -> pd.Series:
        """Band code for each index %: the band whose ``min_pct`` the **published** index reaches, i.e. the
        index rounded half up to ``decimals`` places (the run's ``scoring.rank_decimals``) — 89.995 % is
        published as 90.00 % and is "≥ 90 %"; 89.9949 % is published as 89.99 % and is not. Bands are
        ordered highest first, min inclusive. The array twin is
        :func:`parindex.uncertainty.rules.band_index`."""
        shown = pd.Series(round_half_up(pct.astype(float), decimals), index=pct.index)
        out = pd.Series(self.bands[-1].code, index=pct.index, dtype="str")
        for b in reversed(self.bands):
            out = out.mask(shown >= b.min_pct - TOL, b.code)
        return out

    def satisfaction_questions(self) -> pd.DataFrame:
        return pd.DataFrame(
            [dict(question=q.code, factor=f.code, label=q.label) for f in self.satisfaction_survey.factors
             for q in f.questions]
        )

    def leaf_codes(self, source: str) -> list[str]:
        lv = self.leaves()
        return lv.loc[lv.source == source, "code"].tolist()


def _check_tree(m: Methodology) -> list[str]:
    errs: list[str] = []
    seen: dict[str, str] = {}

    def note(code: str, where: str) -> None:
        if code in seen:
            errs.append(f"{where}: code {code!r} is used twice (also at {seen[code]})")
        else:
            seen[code] = where

    total = 0.0
    for f in m.fields:
        fw = f"field {f.code}"
        note(f.code, fw)
        s = sum(c.points for c in f.criteria)
        if abs(s - f.points) > TOL:
            errs.append(f"{fw}: criteria add up to {s:g} points, expected {f.points:g} (the field's points)")
        total += f.points
        for c in f.criteria:
            cw = f"{fw} › criterion {c.code}"
            note(c.code, cw)
            if c.subcriteria:
                s = sum(x.points for x in c.subcriteria)
                if abs(s - c.points) > TOL:
                    errs.append(f"{cw}: sub-criteria add up to {s:g} points, expected {c.points:g}")
                for x in c.subcriteria:
                    note(x.code, f"{cw} › sub-criterion {x.code}")
                    if x.subcriteria:
                        errs.append(f"{cw} › sub-criterion {x.code}: only two levels below a field are allowed")
            for leaf in c.subcriteria or [c]:
                lw = cw if leaf is c else f"{cw} › sub-criterion {leaf.code}"
                src = leaf.source or c.source or "appraisal"
                if leaf.steps is not None:
                    if src != "appraisal":
                        errs.append(f"{lw}: steps are only for appraised leaves (source is {src})")
                    bad = [v for v in leaf.steps if v < -TOL or v > leaf.points + TOL]
                    if bad:
                        errs.append(f"{lw}: steps {bad} lie outside 0–{leaf.points:g}")
                    if not any(abs(v - leaf.points) <= TOL for v in leaf.steps):
                        errs.append(f"{lw}: steps must include the full score {leaf.points:g}")
    if abs(total - m.scale) > TOL:
        errs.append(f"fields add up to {total:g} points, expected the scale {m.scale:g}")
    sat = [c for f in m.fields for c in f.criteria for leaf in (c.subcriteria or [c])
           if (leaf.source or c.source) == "satisfaction_survey"]
    if len(sat) > 1:
        errs.append("only one leaf may be scored by the satisfaction survey, found "
                    + ", ".join(c.code for c in sat))
    # Bands: strictly decreasing thresholds, last one 0, unique codes.
    prev = None
    for b in m.bands:
        if prev is not None and not b.min_pct < prev:
            errs.append(f"band {b.code}: min_pct {b.min_pct:g} must be below the previous band's {prev:g} "
                        "(bands are listed highest first)")
        prev = b.min_pct
    if m.bands[-1].min_pct != 0:
        errs.append(f"band {m.bands[-1].code}: the last band must start at 0 so that every index has a band")
    codes = [b.code for b in m.bands]
    if len(set(codes)) != len(codes):
        errs.append(f"bands: codes must be unique, got {codes}")
    names = [b.name for b in m.bands if b.name]
    if len(set(names)) != len(names):
        errs.append(f"bands: names must be unique, got {names}")
    # Survey definitions.
    groups = [g.code for g in m.officials_survey.groups]
    if len(set(groups)) != len(groups):
        errs.append(f"officials_survey.groups: codes must be unique, got {groups}")
    sv = m.satisfaction_survey
    if sv.scale.min >= sv.scale.max:
        errs.append(f"satisfaction_survey.scale: min {sv.scale.min} must be below max {sv.scale.max}")
    out = [a for a in sv.positive_answers if not sv.scale.min <= a <= sv.scale.max]
    if out:
        errs.append(f"satisfaction_survey.positive_answers: {out} lie outside the scale {sv.scale.min}–{sv.scale.max}")
    qcodes = [q.code for f in sv.factors for q in f.questions] + [f.code for f in sv.factors]
    dup = sorted({q for q in qcodes if qcodes.count(q) > 1})
    if dup:
        errs.append(f"satisfaction_survey.factors: codes used twice: {dup}")
    pcodes = [p.code for p in sv.procedure_fields]
    if len(set(pcodes)) != len(pcodes):
        errs.append(f"satisfaction_survey.procedure_fields: codes must be unique, got {pcodes}")
    for adj in (m.adjustments.bonus, m.adjustments.deduction):
        if adj.cap > m.scale + TOL:
            errs.append(f"adjustments: the cap of {adj.code!r} is {adj.cap:g} points, above the scale {m.scale:g} "
                        "(điểm thưởng/điểm trừ tối đa không được vượt thang điểm)")
        if adj.code in seen:
            errs.append(f"adjustments: code {adj.code!r} is also a criterion code")
    if m.adjustments.bonus.code == m.adjustments.deduction.code:
        errs.append("adjustments: bonus and deduction need different codes")
    return errs


def _loc(loc: tuple, data: dict) -> str:
    """Render a pydantic error location as a readable node path, naming codes where possible."""
    parts: list[str] = []
    node = data
    for p in loc:
        if isinstance(p, int) and isinstance(node, list) and p < len(node):
            node = node[p]
            code = node.get("code") if isinstance(node, dict) else None
            parts.append(f"[{p}]" + (f" (code {code})" if code else ""))
        else:
            node = node.get(p) if isinstance(node, dict) else None
            parts.append(str(p))
    return ".".join(parts).replace(".[", "[")


def parse_methodology(data: dict, origin: str = "<methodology>") -> Methodology:
    """Validate a methodology given as a mapping; raise MethodologyError naming the offending node."""
    if not isinstance(data, dict):
        raise MethodologyError(f"{origin}: tệp bộ tiêu chí phải là một bảng khóa: giá trị [expected a YAML mapping at the top level]")
    try:
        m = Methodology.model_validate(data)
    except ValidationError as e:
        lines = [clip(f"{_loc(err['loc'], data)}: {err['msg']}", 300) for err in e.errors()[:30]]
        if len(e.errors()) > 30:
            lines.append(f"… {len(e.errors()) - 30} more")
        raise MethodologyError(f"{origin}: bộ tiêu chí không hợp lệ [invalid methodology]:\n  - "
                               + "\n  - ".join(lines)) from None
    errs = _check_tree(m)
    if errs:
        shown = [clip(x, 300) for x in errs[:30]] + ([f"… {len(errs) - 30} more"] if len(errs) > 30 else [])
        raise MethodologyError(f"{origin}: bộ tiêu chí không hợp lệ [invalid methodology]:\n  - " + "\n  - ".join(shown))
    return m


def load_methodology(path: str | Path) -> Methodology:
    """Read, NFC-normalise and validate a methodology YAML file."""
    path = Path(path)
    raw = _read_bounded(path)
    data = _parse_yaml(raw, str(path))
    m = parse_methodology(data, str(path))
    return m.model_copy(update=dict(path=str(path), sha256=hashlib.sha256(raw).hexdigest()))


def _read_bounded(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_METHODOLOGY_BYTES + 1)
    except OSError as e:
        raise MethodologyError(f"{path}: không đọc được tệp bộ tiêu chí ({e.strerror}) "
                               f"[cannot read the methodology file: {e.strerror}]") from None
    return raw


#: parsed methodology files by (origin, SHA-256 of the bytes): a run reads the same files several times (its own, the
#: known maxima of every version, the baseline's); parsing is the slow part, so each content is parsed once
_PARSED: dict[tuple[str, str], object] = {}


def _parse_yaml(raw: bytes, origin: str):
    """The mapping of a methodology file: UTF-8 YAML within bounds (see parindex.safeyaml), NFC-normalised.
    A deep copy of the cached parse when these bytes were parsed before (callers may modify what they get)."""
    import copy

    key = (origin, hashlib.sha256(raw).hexdigest())
    if key not in _PARSED:
        if len(_PARSED) > 64:
            _PARSED.clear()
        _PARSED[key] = _parse_yaml_uncached(raw, origin)
    return copy.deepcopy(_PARSED[key])


def _parse_yaml_uncached(raw: bytes, origin: str):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    try:
        return load_yaml(nfc(text) if text is not None else raw, origin, max_bytes=MAX_METHODOLOGY_BYTES,
                         what=("tệp bộ tiêu chí", "methodology file"))
    except YamlError as e:
        raise MethodologyError(str(e)) from None


def with_satisfaction_points(data: dict, points: float) -> dict:
    """A copy of a methodology mapping where the satisfaction-survey leaf weighs ``points``; its criterion,
    its field and the scale change by the same amount (other leaves keep their points), and the meta says so."""
    import copy

    d = copy.deepcopy(data)
    for f in d["fields"]:
        for c in f["criteria"]:
            for leaf in c.get("subcriteria") or [c]:
                if (leaf.get("source") or c.get("source")) == "satisfaction_survey":
                    delta = float(points) - float(leaf["points"])
                    leaf["points"] = float(points)
                    if leaf is not c:
                        c["points"] = float(c["points"]) + delta
                    f["points"] = float(f["points"]) + delta
                    d["scale"] = float(d["scale"]) + delta
                    d["meta"]["id"] = f"{d['meta']['id']}+sipas{points:g}"
                    d["meta"]["status"] = "variant"
                    d["meta"]["note"] = (f"{d['meta']['note']} — Biến thể: khảo sát hài lòng {points:g} điểm "
                                         f"(tham số điểm khảo sát sự hài lòng = {points:g}).")
                    return d
    raise MethodologyError("the methodology has no satisfaction-survey leaf to override")


#: satisfaction estimators (satisfaction_survey.estimator) in Vietnamese (publish.labels re-exports them)
ESTIMATOR_LABELS = {"plain_share": "tỷ lệ đơn giản (mỗi phiếu như nhau, theo quy định)",
                    "dossier_weighted": "tỷ lệ gia quyền theo số hồ sơ của từng lĩnh vực"}


def with_satisfaction_estimator(data: dict, estimator: str) -> dict:
    """A copy of a methodology mapping whose satisfaction survey uses ``estimator`` (a what-if of the run's
    ``--set satisfaction.estimator=…``); the meta says so. The same mapping when it already declares it."""
    import copy

    if estimator not in ESTIMATORS:
        raise MethodologyError(f"satisfaction estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    declared = (data.get("satisfaction_survey") or {}).get("estimator", "plain_share")
    if declared == estimator:
        return data
    d = copy.deepcopy(data)
    d["satisfaction_survey"]["estimator"] = estimator
    d["meta"]["id"] = f"{d['meta']['id']}+{estimator}"
    d["meta"]["status"] = "variant"
    d["meta"]["note"] = (f"{d['meta']['note']} — Biến thể: chỉ số hài lòng tính theo {ESTIMATOR_LABELS[estimator]} "
                         f"(override satisfaction.estimator={estimator}).")
    return d


def write_effective_methodology(src: str | Path, dst: str | Path, satisfaction_points: float | None = None,
                                satisfaction_estimator: str | None = None) -> Methodology:
    """Write the methodology a run uses: a byte copy of ``src``, or the overridden variant (satisfaction
    points and/or estimator); return it loaded. An override equal to what the file declares changes nothing."""
    src, dst = Path(src), Path(dst)
    raw = _read_bounded(src)
    data = _parse_yaml(raw, str(src))
    changed = data
    if satisfaction_points is not None:
        changed = with_satisfaction_points(changed, satisfaction_points)
    if satisfaction_estimator is not None:
        changed = with_satisfaction_estimator(changed, satisfaction_estimator)
    if changed is data:
        dst.write_bytes(raw)
    else:
        dst.write_text(yaml.safe_dump(changed, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_methodology(dst)
