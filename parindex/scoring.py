"""The scoring core: pure functions from tables to tables.

Clean input tables (as written by the cleaning stage):

* ``assessment``: commune_code, code, self_points, appraised_points, not_applicable, reason, evidence —
  one row per commune × appraised leaf, plus optional rows for the bonus / deduction codes.
* ``officials``: ballot_id, group, commune_code, question, answer ("A".."D" or "" for no answer).
* ``satisfaction``: ballot_id, commune_code, procedure_field, question, answer (Int64, <NA> = blank),
  and optionally ``weight`` (ballot weight, default 1).

Every function returns a new DataFrame and never mutates its inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .methodology import Methodology
from .text import fmt_num

LEAF_DTYPES = {"commune_code": "str", "code": "str", "field_code": "str", "source": "str", "max_points": "float64",
               "points": "float64", "self_points": "float64", "applicable": "bool", "n_answers": "Int64",
               "note": "str"}
LEAF_COLUMNS = list(LEAF_DTYPES)


class IncompleteDataError(ValueError):
    """Some commune lacks a row for some appraised leaf (``missing``) or has no valid answer at all in a
    survey (``missing_surveys``); both list (commune_code, code)."""

    def __init__(self, missing: pd.DataFrame, missing_surveys: pd.DataFrame | None = None):
        self.missing = missing
        self.missing_surveys = missing_surveys if missing_surveys is not None else _empty_missing(True)
        parts = []
        if len(missing):
            lines = [f"{r.commune_code} {r.commune_name}: {r.code}" for r in missing.itertuples()]
            more = "" if len(lines) <= 30 else f"\n  … and {len(lines) - 30} more"
            parts.append(f"Thiếu điểm của {len(missing)} tiêu chí (xã: tiêu chí) — dữ liệu chưa đầy đủ, không chấm "
                         "điểm:\n  " + "\n  ".join(lines[:30]) + more
                         + "\n(Use allow_missing_as_zero=True / --allow-missing-as-zero to score them as zero; "
                         "the report says so.)")
        ms = self.missing_surveys
        if len(ms):
            per = ms.groupby(["commune_code", "commune_name", "source"], sort=False)["code"].agg(", ".join)
            lines = [f"{c} {n} — {SURVEY_LABELS.get(s, s)}: {codes}" for (c, n, s), codes in per.items()]
            parts.append(f"{len(per)} trường hợp xã không có câu trả lời hợp lệ nào của một cuộc khảo sát "
                         "(xã — khảo sát: tiêu chí):\n  " + "\n  ".join(lines)
                         + "\n(No valid survey answer at all for these communes. With allow_missing_as_zero=True "
                         "their survey criteria are left out of both points and maximum, as for không áp dụng — "
                         "only for a commune absent from the survey: when its ballots were excluded, read the "
                         "rejection log and fix the file; the run refuses allow_missing_as_zero then.)")
        super().__init__("\n".join(parts))


SURVEY_LABELS = {"officials_survey": "khảo sát cán bộ", "satisfaction_survey": "khảo sát sự hài lòng"}


def _empty_missing(with_source: bool = False) -> pd.DataFrame:
    cols = ["commune_code", "code", "commune_name"] + (["source"] if with_source else [])
    return pd.DataFrame({c: pd.Series(dtype="str") for c in cols})


# ------------------------------------------------------------------------------------------------
# Completeness
# ------------------------------------------------------------------------------------------------
def find_missing(assessment: pd.DataFrame, meth: Methodology, communes: pd.DataFrame) -> pd.DataFrame:
    """Every (commune, appraised leaf) pair without a row in the assessment table."""
    codes = meth.leaf_codes("appraisal")
    full = pd.MultiIndex.from_product([communes["commune_code"], codes], names=["commune_code", "code"])
    have = pd.MultiIndex.from_frame(assessment[["commune_code", "code"]])
    miss = full.difference(have, sort=False).to_frame(index=False)
    order = {c: i for i, c in enumerate(codes)}
    miss = miss.merge(communes[["commune_code", "commune_name"]], on="commune_code", how="left")
    miss["_o"] = miss["code"].map(order)
    return miss.sort_values(["commune_code", "_o"]).drop(columns="_o").reset_index(drop=True)


def complete_assessment(assessment: pd.DataFrame, meth: Methodology, communes: pd.DataFrame,
                        allow_missing_as_zero: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (assessment, missing). Refuse with IncompleteDataError when rows are missing, unless
    ``allow_missing_as_zero``: then the missing leaves are added with 0 points and a note."""
    missing = find_missing(assessment, meth, communes)
    if len(missing) and not allow_missing_as_zero:
        raise IncompleteDataError(missing)
    if len(missing):
        add = missing[["commune_code", "code"]].assign(
            self_points=0.0, appraised_points=0.0, not_applicable=False,
            reason="Thiếu dữ liệu — tính 0 điểm theo tham số allow_missing_as_zero", evidence="")
        assessment = pd.concat([assessment, add], ignore_index=True)
    return assessment, missing


def find_missing_surveys(leaf_scores: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """Survey leaves of communes that have no valid answer to any question of that survey (the commune is
    missing from the survey, or every ballot of it was excluded): commune_code, code, commune_name, source.

    A single question without a valid answer, in a survey the commune does appear in, is not listed: it
    leaves points and maximum as the "không biết" rule says."""
    s = leaf_scores[leaf_scores["source"].isin(list(SURVEY_LABELS))]
    none = ~s.groupby(["commune_code", "source"])["applicable"].transform("any").astype(bool)
    miss = s.loc[none, ["commune_code", "code", "source"]].merge(
        communes[["commune_code", "commune_name"]], on="commune_code", how="left")
    if miss.empty:
        return _empty_missing(True)
    return miss[["commune_code", "code", "commune_name", "source"]].astype("str").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# Appraisal
# ------------------------------------------------------------------------------------------------
def score_appraisal(assessment: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Appraised points per commune × appraised leaf.

    A leaf marked not applicable counts in neither points nor maximum. A blank appraised score means
    the secretariat accepted the self-score. Points outside 0..max raise ValueError.
    """
    leaves = meth.leaves()
    leaves = leaves[leaves.source == "appraisal"][["code", "field_code", "source", "points"]]
    a = assessment.merge(leaves, on="code", how="inner", validate="many_to_one")
    appraised = a["appraised_points"].astype(float).fillna(a["self_points"].astype(float))
    form_max = _form_max(a)
    na = a["not_applicable"].astype(bool)
    blank = a[appraised.isna() & ~na]
    if len(blank):
        r = blank.iloc[0]
        raise ValueError(f"commune {r.commune_code}, criterion {r.code} has neither an appraised nor a self "
                         "score and is not marked not applicable")
    bad = a[(appraised < -1e-9) | (appraised > form_max + 1e-9)]
    if len(bad):
        r = bad.iloc[0]
        raise ValueError(f"appraised points {appraised[bad.index[0]]:g} of commune {r.commune_code}, "
                         f"criterion {r.code} lie outside 0–{form_max[bad.index[0]]:g}")
    # Scores entered against another methodology version's maximum count as the same share of this one's.
    scale = a["points"] / form_max.where(form_max > 0, a["points"])
    appraised = appraised * scale
    self_pts = a["self_points"].astype(float) * scale
    out = pd.DataFrame({
        "commune_code": a["commune_code"],
        "code": a["code"],
        "field_code": a["field_code"],
        "source": "appraisal",
        "max_points": np.where(na, 0.0, a["points"]),
        "points": np.where(na, 0.0, appraised),
        "self_points": np.where(na, 0.0, self_pts.fillna(0.0)),
        "applicable": ~na,
        "n_answers": pd.array([pd.NA] * len(a), dtype="Int64"),
        "note": np.where(na, "không áp dụng", ""),
    })
    return out.reset_index(drop=True)


def _form_max(a: pd.DataFrame) -> pd.Series:
    """The maximum a score was entered against: the form's "Điểm tối đa" (``max_points_form``) when the
    assessment table has it, else the methodology's leaf maximum (``points``)."""
    if "max_points_form" in a.columns:
        return a["max_points_form"].astype(float).fillna(a["points"].astype(float))
    return a["points"].astype(float)


def appraisal_changes(assessment: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Leaves whose appraised score differs from the self-score: cut or raise, with the reason and
    flags for a raise (always flagged) and a cut without a reason (flagged when the rules require one)."""
    leaves = meth.leaves()[["code", "label", "points"]]
    a = assessment.merge(leaves, on="code", how="inner")
    appraised = a["appraised_points"].astype(float).fillna(a["self_points"].astype(float))
    diff = appraised - a["self_points"].astype(float)
    a = a.assign(appraised_points=appraised, change=diff)
    a = a[(diff.abs() > 1e-9) & ~a["not_applicable"].astype(bool)].copy()
    a["kind"] = np.where(a["change"] < 0, "cut", "raise")
    reason = a["reason"].fillna("").astype(str).str.strip()
    a["flag"] = ""
    a.loc[a["kind"] == "raise", "flag"] = "nâng điểm"
    if meth.rules.appraisal_cut_requires_reason:
        a.loc[(a["kind"] == "cut") & (reason == ""), "flag"] = "giảm điểm không có lý do"
    cols = ["commune_code", "code", "label", "points", "self_points", "appraised_points", "change", "kind",
            "reason", "flag"]
    return a[cols].sort_values(["commune_code", "code"]).reset_index(drop=True)


OFF_STEP_COLUMNS = ["commune_code", "code", "label", "which", "value", "steps"]


def steps_text(steps) -> str:
    """The steps of a leaf as people read them: (1, 0.5, 0) → "1 / 0,5 / 0"; "" when there are none."""
    return " / ".join(fmt_num(float(v), 2).rstrip("0").rstrip(",") for v in steps) if steps else ""


def off_step_scores(assessment: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Self and appraised scores that are none of their leaf's steps (a flag for the auditor, not a refusal).

    Only applicable appraised leaves whose methodology gives ``steps`` are checked; a blank score is not
    (a blank appraised score takes the self-score, which is checked itself). A score entered against
    another maximum (``max_points_form``) is first rescaled to this methodology's leaf maximum, as
    :func:`score_appraisal` does, and ``value`` is that rescaled score, on the same scale as ``steps``.
    Returns commune_code, code, label, which ("self" / "appraised"), value, steps (text), one row per
    off-step score, in commune, leaf, self-before-appraised order.
    """
    lv = meth.leaves()
    lv = lv[(lv["source"] == "appraisal") & lv["steps"].notna()].reset_index(drop=True)
    a = assessment.merge(lv[["code", "label", "points"]].reset_index(names="_leaf"), on="code", how="inner")
    a = a[~a["not_applicable"].astype(bool)]
    empty = pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "str") for c in OFF_STEP_COLUMNS})
    if a.empty:
        return empty
    form_max = _form_max(a)
    scale = (a["points"] / form_max.where(form_max > 0, a["points"])).to_numpy()
    width = int(lv["steps"].map(len).max())
    step_mat = np.array([list(s) + [s[-1]] * (width - len(s)) for s in lv["steps"]])  # leaf × step, padded
    steps_of_row = step_mat[a["_leaf"].to_numpy()]
    parts = []
    for which, col in (("self", "self_points"), ("appraised", "appraised_points")):
        value = a[col].astype(float).to_numpy() * scale
        dist = np.abs(value[:, None] - steps_of_row).min(axis=1)
        off = ~np.isnan(value) & (dist > 1e-9)
        parts.append(a.loc[off, ["commune_code", "code", "label", "_leaf"]].assign(
            which=which, value=value[off], _w=0 if which == "self" else 1))
    out = pd.concat(parts, ignore_index=True)
    if out.empty:
        return empty
    out["steps"] = out["_leaf"].map(lv["steps"].map(steps_text))
    out = out.sort_values(["commune_code", "_leaf", "_w"], kind="stable")[OFF_STEP_COLUMNS]
    return out.astype({c: "str" for c in OFF_STEP_COLUMNS if c != "value"}).reset_index(drop=True)


def adjustments(assessment: pd.DataFrame, meth: Methodology, communes: pd.Series) -> pd.DataFrame:
    """Bonus and deduction per commune, each capped: columns commune_code, bonus, deduction."""
    out = pd.DataFrame({"commune_code": communes.values})
    for name, adj in (("bonus", meth.adjustments.bonus), ("deduction", meth.adjustments.deduction)):
        rows = assessment[assessment["code"] == adj.code]
        val = rows["appraised_points"].astype(float).fillna(rows["self_points"].astype(float))
        if (val < 0).any():
            c = rows.loc[val < 0, "commune_code"].iloc[0]
            raise ValueError(f"{adj.label} ({adj.code}) of commune {c} is negative; enter it as a positive number")
        s = val.groupby(rows["commune_code"]).sum()
        out[name] = out["commune_code"].map(s).fillna(0.0).clip(upper=adj.cap).astype(float)
    return out


# ------------------------------------------------------------------------------------------------
# Officials' survey
# ------------------------------------------------------------------------------------------------
def officials_mean_weight(officials: pd.DataFrame, meth: Methodology, group_weighting: str = "pooled"
                          ) -> pd.DataFrame:
    """Mean answer weight per commune × question over valid answers (blank = no answer, excluded).

    ``pooled``: every valid answer counts once. ``equal``: mean within each respondent group, then the
    unweighted mean over the groups that answered (each group weighs the same).
    Returns commune_code, question, mean_weight, n_answers.
    """
    if group_weighting not in ("pooled", "equal"):
        raise ValueError(f"group_weighting must be 'pooled' or 'equal', got {group_weighting!r}")
    w = meth.officials_survey.answer_weights
    o = officials.assign(w=officials["answer"].map(w))
    o = o[o["w"].notna()]
    if group_weighting == "pooled":
        g = o.groupby(["commune_code", "question"])["w"].agg(["mean", "size"])
    else:
        per = o.groupby(["commune_code", "question", "group"])["w"].agg(["mean", "size"])
        g = per.groupby(level=["commune_code", "question"]).agg(mean=("mean", "mean"), size=("size", "sum"))
    return g.rename(columns={"mean": "mean_weight", "size": "n_answers"}).reset_index()


def score_officials(officials: pd.DataFrame, meth: Methodology, communes: pd.Series,
                    group_weighting: str = "pooled") -> pd.DataFrame:
    """Officials' survey points per commune × survey leaf = leaf points × mean answer weight.

    A commune × question without any valid answer is left out of points and maximum (noted)."""
    leaves = meth.leaves()
    leaves = leaves[leaves.source == "officials_survey"][["code", "field_code", "points"]]
    mw = officials_mean_weight(officials, meth, group_weighting)
    grid = pd.MultiIndex.from_product([communes.values, leaves["code"]], names=["commune_code", "code"]).to_frame(
        index=False)
    g = grid.merge(leaves, on="code").merge(
        mw.rename(columns={"question": "code"}), on=["commune_code", "code"], how="left")
    has = g["mean_weight"].notna()
    return pd.DataFrame({
        "commune_code": g["commune_code"],
        "code": g["code"],
        "field_code": g["field_code"],
        "source": "officials_survey",
        "max_points": np.where(has, g["points"], 0.0),
        "points": np.where(has, g["points"] * g["mean_weight"].fillna(0.0), 0.0),
        "self_points": np.nan,
        "applicable": has.to_numpy(),
        "n_answers": g["n_answers"].fillna(0).astype("Int64"),
        "note": np.where(has, "", "không có câu trả lời hợp lệ"),
    })


# ------------------------------------------------------------------------------------------------
# Satisfaction survey (SIPAS)
# ------------------------------------------------------------------------------------------------
def satisfaction_factors(satisfaction: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Factor index per commune: (weighted) share of valid answers that are positive (4 or 5).

    Returns commune_code, factor, n_answers, n_positive, index (0..1)."""
    sv = meth.satisfaction_survey
    q = meth.satisfaction_questions()[["question", "factor"]]
    s = satisfaction.merge(q, on="question", how="inner")
    s = s[s["answer"].notna()]
    w = s["weight"].astype(float) if "weight" in s.columns else pd.Series(1.0, index=s.index)
    pos = s["answer"].isin(sv.positive_answers).to_numpy()
    s = s.assign(_w=w.to_numpy(), _wp=w.to_numpy() * pos, _p=pos.astype(int))
    g = s.groupby(["commune_code", "factor"]).agg(
        n_answers=("_w", "size"), n_positive=("_p", "sum"), w=("_w", "sum"), wp=("_wp", "sum"))
    g["index"] = g["wp"] / g["w"]
    order = {f.code: i for i, f in enumerate(sv.factors)}
    g = g.reset_index()
    g["_o"] = g["factor"].map(order)
    return g.sort_values(["commune_code", "_o"])[["commune_code", "factor", "n_answers", "n_positive", "index"]
                                                 ].reset_index(drop=True)


def score_satisfaction(factors: pd.DataFrame, meth: Methodology, communes: pd.Series) -> pd.DataFrame:
    """SIPAS leaf points per commune = mean of its factor indices × the leaf's points."""
    leaves = meth.leaves()
    leaf = leaves[leaves.source == "satisfaction_survey"]
    if leaf.empty:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in LEAF_DTYPES.items()})
    leaf = leaf.iloc[0]
    sipas = factors.groupby("commune_code")["index"].mean()
    n = factors.groupby("commune_code")["n_answers"].sum()
    idx = communes.map(sipas)
    has = idx.notna()
    return pd.DataFrame({
        "commune_code": communes.values,
        "code": leaf["code"],
        "field_code": leaf["field_code"],
        "source": "satisfaction_survey",
        "max_points": np.where(has, leaf["points"], 0.0),
        "points": np.where(has, idx.fillna(0.0) * leaf["points"], 0.0),
        "self_points": np.nan,
        "applicable": has.to_numpy(),
        "n_answers": communes.map(n).fillna(0).astype("Int64").to_numpy(),
        "note": np.where(has, "", "không có phiếu hợp lệ"),
    })


# ------------------------------------------------------------------------------------------------
# Totals, index, rank, band
# ------------------------------------------------------------------------------------------------
def rank_desc(values: pd.Series, decimals: int = 2) -> pd.Series:
    """Rank, highest first; values equal at the published precision share the best rank (1, 2, 2, 4)."""
    return values.round(decimals).rank(method="min", ascending=False).astype(int)


def aggregate(leaf_scores: pd.DataFrame, adj: pd.DataFrame, meth: Methodology, communes: pd.DataFrame,
              rank_decimals: int = 2) -> pd.DataFrame:
    """Results per commune: points per field, bonus, deduction, points, max_points, index_pct, rank, band."""
    fields = [f.code for f in meth.fields]
    pts = leaf_scores.pivot_table(index="commune_code", columns="field_code", values="points", aggfunc="sum",
                                  fill_value=0.0).reindex(columns=fields, fill_value=0.0)
    mx = leaf_scores.groupby("commune_code")["max_points"].sum()
    src = leaf_scores.pivot_table(index="commune_code", columns="source", values="points", aggfunc="sum",
                                  fill_value=0.0)
    res = communes[["commune_code", "commune_name"]].copy()
    for f in fields:
        res[f"field_{f}_points"] = res["commune_code"].map(pts[f]).fillna(0.0).astype(float)
    for s in ("appraisal", "officials_survey", "satisfaction_survey"):
        col = src[s] if s in src.columns else pd.Series(dtype=float)
        res[f"{s}_points"] = res["commune_code"].map(col).fillna(0.0).astype(float)
    res = res.merge(adj, on="commune_code", how="left")
    res[["bonus", "deduction"]] = res[["bonus", "deduction"]].fillna(0.0)
    base = res[[f"field_{f}_points" for f in fields]].sum(axis=1)
    res["points"] = base + res["bonus"] - res["deduction"]
    res["max_points"] = res["commune_code"].map(mx).fillna(0.0).astype(float)
    if (res["max_points"] <= 0).any():
        bad = res.loc[res["max_points"] <= 0, "commune_code"].tolist()
        raise ValueError(f"commune(s) {bad} have no applicable criterion (applicable maximum 0): no index can "
                         "be computed")
    res["index_pct"] = res["points"] / res["max_points"] * 100.0
    res["rank"] = rank_desc(res["index_pct"], rank_decimals)
    res["band"] = meth.band_of(res["index_pct"].round(rank_decimals))
    first = ["commune_code", "commune_name", "points", "max_points", "index_pct", "rank", "band"]
    res = res[first + [c for c in res.columns if c not in first]]
    return res.sort_values(["rank", "commune_code"]).reset_index(drop=True)


def score_all(assessment: pd.DataFrame, officials: pd.DataFrame, satisfaction: pd.DataFrame,
              meth: Methodology, communes: pd.DataFrame, *, allow_missing_as_zero: bool = False,
              group_weighting: str = "pooled", rank_decimals: int = 2) -> dict[str, pd.DataFrame]:
    """Run the whole scoring core; returns the named tables of the scored stage.

    Refuses with one IncompleteDataError listing every gap — appraised leaves without a row and communes
    without any valid answer in a survey — unless ``allow_missing_as_zero``: then the missing appraised
    leaves score 0 of their maximum (``missing``) and the survey leaves of a commune missing from a survey
    leave points and maximum (``missing_surveys``; zero would cost the commune for the survey team's gap)."""
    codes = communes["commune_code"]
    off_step = off_step_scores(assessment, meth)  # rows as entered (before any missing leaf is filled with 0)
    factors = satisfaction_factors(satisfaction, meth)
    survey_leaves = pd.concat([score_officials(officials, meth, codes, group_weighting),
                               score_satisfaction(factors, meth, codes)], ignore_index=True)
    missing = find_missing(assessment, meth, communes)
    missing_surveys = find_missing_surveys(survey_leaves, communes)
    if (len(missing) or len(missing_surveys)) and not allow_missing_as_zero:
        raise IncompleteDataError(missing, missing_surveys)
    assessment, missing = complete_assessment(assessment, meth, communes, allow_missing_as_zero=True)
    leaf_scores = pd.concat([score_appraisal(assessment, meth), survey_leaves], ignore_index=True)
    order = {c: i for i, c in enumerate(meth.leaves()["code"])}
    leaf_scores = leaf_scores.assign(_o=leaf_scores["code"].map(order)).sort_values(
        ["commune_code", "_o"]).drop(columns="_o").reset_index(drop=True)
    adj = adjustments(assessment, meth, codes)
    results = aggregate(leaf_scores, adj, meth, communes, rank_decimals)
    return dict(results=results, leaf_scores=leaf_scores, satisfaction_factors=factors,
                appraisal_changes=appraisal_changes(assessment, meth), missing=missing,
                missing_surveys=missing_surveys, off_step=off_step)
