"""The scoring core: pure functions from tables to tables.

Clean input tables (as written by the cleaning stage):

* ``assessment``: commune_code, code, self_points, appraised_points, not_applicable, reason, evidence —
  one row per commune × appraised leaf, plus optional rows for the bonus / deduction codes.
* ``officials``: ballot_id, group, commune_code, question, answer ("A".."D" or "" for no answer).
* ``satisfaction``: ballot_id, commune_code, procedure_field, question, answer (Int64, <NA> = blank),
  and optionally ``weight`` (ballot weight, default 1: the weights of the methodology's satisfaction
  estimator, :func:`parindex.surveys.apply_estimator`).
* ``dossiers`` (optional): commune_code, procedure_field, dossiers — for the other estimator's check
  (``estimator_check``) and the dossier lines of the ``adjustment_log``.

Bands and rank ties are decided on the **published** index: index_pct rounded half up to
``rank_decimals`` places (:func:`parindex.text.round_half_up`), the figure people read.

Every function returns a new DataFrame and never mutates its inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .methodology import ESTIMATORS, Methodology
from .text import fmt_num, round_half_up

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
    dup = a.duplicated(["commune_code", "code"])
    if dup.any():
        r = a[dup].iloc[0]
        raise ValueError(f"commune {r.commune_code}, criterion {r.code} has more than one row (only bonus and "
                         "deduction rows may repeat)")
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


def adjustment_rows(assessment: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """The bonus and deduction rows as entered, one per row (a commune may have several of each: one per
    ground): commune_code, kind ("bonus" / "deduction"), value (the appraised points, else the self-score),
    self_points, reason, evidence; in the order of the assessment table."""
    parts = []
    for name, adj in (("bonus", meth.adjustments.bonus), ("deduction", meth.adjustments.deduction)):
        rows = assessment[assessment["code"] == adj.code]
        val = rows["appraised_points"].astype(float).fillna(rows["self_points"].astype(float)).fillna(0.0)
        if (val < 0).any():
            c = rows.loc[val < 0, "commune_code"].iloc[0]
            raise ValueError(f"{adj.label} ({adj.code}) of commune {c} is negative; enter it as a positive number")
        parts.append(pd.DataFrame({
            "commune_code": rows["commune_code"].astype(str), "kind": name, "value": val,
            "self_points": rows["self_points"].astype(float),
            "reason": rows["reason"].fillna("").astype(str) if "reason" in rows else "",
            "evidence": rows["evidence"].fillna("").astype(str) if "evidence" in rows else "",
            "_row": rows.index}))
    out = pd.concat(parts, ignore_index=True).sort_values("_row", kind="stable").drop(columns="_row")
    return out.reset_index(drop=True)


def adjustments(assessment: pd.DataFrame, meth: Methodology, communes: pd.Series) -> pd.DataFrame:
    """Bonus and deduction per commune: all its rows of each summed, then the sum capped (each row is
    listed in the ``adjustment_log``, and what the cap cut): columns commune_code, bonus, deduction."""
    rows = adjustment_rows(assessment, meth)
    out = pd.DataFrame({"commune_code": communes.values})
    for name, adj in (("bonus", meth.adjustments.bonus), ("deduction", meth.adjustments.deduction)):
        r = rows[rows["kind"] == name]
        s = r["value"].groupby(r["commune_code"]).sum()
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
    o = officials.assign(w=officials["answer"].map(w).astype("float64"))   # float even when no row is left
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
def lookup(values: pd.Series, mapping: dict, missing):
    """``mapping[v]`` for each value (``missing`` when absent), through a factorisation of the column
    (fast on long text columns: the dictionary is consulted once per distinct value)."""
    k, uniq = pd.factorize(values, use_na_sentinel=True)
    dtype = np.int64 if isinstance(missing, int) else float
    lut = np.array([mapping.get(u, missing) for u in uniq] + [missing], dtype=dtype)
    return lut[k]          # k = −1 (missing value) picks the trailing ``missing``


def satisfaction_factors(satisfaction: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Factor index per commune: (weighted) share of valid answers that are positive (4 or 5). A factor
    without any valid answer (of weight > 0) has no row: SIPAS is then the mean of the other factors, and
    the ``adjustment_log`` lists it.

    Returns commune_code, factor, n_answers, n_positive, index (0..1)."""
    sv = meth.satisfaction_survey
    q = meth.satisfaction_questions()[["question", "factor"]]
    order = {f.code: i for i, f in enumerate(sv.factors)}
    # each answer's factor (in the methodology's order) through the distinct questions; unknown questions dropped
    fidx = lookup(satisfaction["question"], dict(zip(q["question"], q["factor"].map(order))), -1)
    w = satisfaction["weight"].to_numpy(dtype=float) if "weight" in satisfaction.columns else np.ones(len(fidx))
    answered = satisfaction["answer"].notna().to_numpy()
    keep = (fidx >= 0) & answered & (w > 0)  # a ballot of weight 0 (dossier weighting, field without dossiers) is not counted
    pos = satisfaction["answer"].isin(sv.positive_answers).to_numpy()[keep]
    ccode, cuniq = pd.factorize(satisfaction["commune_code"][keep], sort=True)
    F = max(len(order), 1)
    key = ccode.astype(np.int64) * F + fidx[keep]
    wk = w[keep]
    if (ccode < 0).any():                               # a blank commune code counts nowhere (as a groupby key)
        key, wk, pos = key[ccode >= 0], wk[ccode >= 0], pos[ccode >= 0]
    s = pd.DataFrame({"_k": key, "_w": wk, "_wp": wk * pos, "_p": pos.astype(int)})
    g = s.groupby("_k").agg(n_answers=("_w", "size"), n_positive=("_p", "sum"), w=("_w", "sum"), wp=("_wp", "sum"))
    k = g.index.to_numpy()
    codes = [f.code for f in sv.factors]
    out = pd.DataFrame({"commune_code": pd.Series(cuniq).take(k // F).to_numpy(),
                        "factor": np.array(codes, dtype=object)[k % F],
                        "n_answers": g["n_answers"].to_numpy(), "n_positive": g["n_positive"].to_numpy(),
                        "index": (g["wp"] / g["w"]).to_numpy()})
    return out.astype({"commune_code": satisfaction["commune_code"].dtype, "factor": q["factor"].dtype})


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
    """Rank, highest first; values equal at the published precision (rounded half up to ``decimals``)
    share the best rank (1, 2, 2, 4)."""
    shown = pd.Series(round_half_up(values.astype(float), decimals), index=values.index)
    return shown.rank(method="min", ascending=False).astype(int)


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
    res["band"] = meth.band_of(res["index_pct"], rank_decimals)
    first = ["commune_code", "commune_name", "points", "max_points", "index_pct", "rank", "band"]
    res = res[first + [c for c in res.columns if c not in first]]
    return res.sort_values(["rank", "commune_code"]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# The satisfaction estimator: the declared one and the other, side by side
# ------------------------------------------------------------------------------------------------
ESTIMATOR_CHECK_COLUMNS = (["commune_code"] + [f"index_{e}" for e in ESTIMATORS] + [f"rank_{e}" for e in ESTIMATORS]
                           + [f"band_{e}" for e in ESTIMATORS] + ["band_differs"])


def _with_satisfaction_leaf(leaf_scores: pd.DataFrame, sat_leaf: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([leaf_scores[leaf_scores["source"] != "satisfaction_survey"], sat_leaf], ignore_index=True)


def _estimator_tables(satisfaction: pd.DataFrame, dossiers: pd.DataFrame,
                      post: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The satisfaction table weighted by each estimator (:func:`parindex.surveys.apply_estimator`), the
    post-stratification computed once (``post``: :func:`parindex.surveys.poststratify`'s result, when known)."""
    from .surveys import poststratify

    post = post if post is not None else poststratify(satisfaction, dossiers)
    return {"plain_share": satisfaction.assign(weight=1.0), "dossier_weighted": post[0]}


def check_estimator_weights(satisfaction: pd.DataFrame, dossiers: pd.DataFrame, meth: Methodology,
                            weighted: dict[str, pd.DataFrame] | None = None) -> None:
    """Refuse a satisfaction table whose ``weight`` column is not that of the methodology's estimator (one
    place decides: the methodology; the cleaning stage applies it). ``weighted``: the tables of
    :func:`_estimator_tables`, when already computed."""
    est = meth.satisfaction_survey.estimator
    if est not in ESTIMATORS:
        raise ValueError(f"satisfaction estimator must be one of {', '.join(ESTIMATORS)}, got {est!r}")
    weighted = weighted if weighted is not None else _estimator_tables(satisfaction, dossiers)
    want = weighted[est]["weight"].to_numpy(dtype=float)
    have = (satisfaction["weight"].to_numpy(dtype=float) if "weight" in satisfaction.columns
            else np.ones(len(satisfaction)))
    bad = ~np.isclose(have, want, rtol=1e-9, atol=1e-12)
    if bad.any():
        r = satisfaction.iloc[int(np.argmax(bad))]
        raise ValueError(f"satisfaction ballot {r['ballot_id']} (commune {r['commune_code']}) weighs {have[bad][0]:g} "
                         f"but the methodology's estimator {est!r} gives {want[bad][0]:g}: the satisfaction table was "
                         "weighted for another estimator; weight it with parindex.surveys.apply_estimator")


def estimator_check(leaf_scores: pd.DataFrame, adj: pd.DataFrame, satisfaction: pd.DataFrame,
                    dossiers: pd.DataFrame, meth: Methodology, communes: pd.DataFrame,
                    rank_decimals: int = 2, weighted: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Index, rank and band of every commune under each satisfaction estimator (plain share, dossier
    weighted), everything else as published; ``band_differs`` marks a commune whose band depends on the
    estimator. One of the two is the published result (the methodology's ``satisfaction_survey.estimator``).
    Rows in commune order of ``communes``."""
    codes = communes["commune_code"]
    out = pd.DataFrame({"commune_code": codes.astype(str).to_numpy()})
    weighted = weighted if weighted is not None else _estimator_tables(satisfaction, dossiers)
    for est in ESTIMATORS:
        sat = weighted[est]
        leaf = score_satisfaction(satisfaction_factors(sat, meth), meth, codes)
        res = aggregate(_with_satisfaction_leaf(leaf_scores, leaf), adj, meth, communes, rank_decimals)
        res = res.set_index(res["commune_code"].astype(str))
        for col in ("index", "rank", "band"):
            out[f"{col}_{est}"] = out["commune_code"].map(res["index_pct" if col == "index" else col])
    out["band_differs"] = out[[f"band_{e}" for e in ESTIMATORS]].nunique(axis=1) > 1
    return out.astype({f"band_{e}": "str" for e in ESTIMATORS} | {f"rank_{e}": "int64" for e in ESTIMATORS})[
        ESTIMATOR_CHECK_COLUMNS]


# ------------------------------------------------------------------------------------------------
# Every exclusion, zero weight, rescaling and adjustment, with the points it moved
# ------------------------------------------------------------------------------------------------
ADJUSTMENT_LOG_COLUMNS = ["commune_code", "kind", "detail", "points_effect", "max_effect", "index_effect"]
#: kinds of the adjustment log, in the order they are listed within a commune
ADJUSTMENT_KINDS = ("rescaled_form_maximum", "question_without_answers", "survey_without_answers",
                    "factor_without_answers", "commune_without_dossiers", "field_without_dossiers",
                    "field_without_ballots", "bonus", "bonus_cap", "deduction", "deduction_cap")


def _pts(v: float) -> str:
    """Points as people write them: 1.5 → "1,5", 2 → "2", 0.3333 → "0,33"."""
    return fmt_num(float(v), 2).rstrip("0").rstrip(",")


def _log_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["commune_code", "kind", "detail", "points_effect", "max_effect"])
    return df.astype({"commune_code": "str", "kind": "str", "detail": "str", "points_effect": "float64",
                      "max_effect": "float64"})


def adjustment_log(assessment: pd.DataFrame, leaf_scores: pd.DataFrame, factors: pd.DataFrame,
                   satisfaction: pd.DataFrame, dossiers: pd.DataFrame | None, results: pd.DataFrame,
                   meth: Methodology, missing_surveys: pd.DataFrame | None = None,
                   weights_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """One line per decision that moved (or could have moved) a commune's score outside the plain reading
    of its entries: commune_code, kind, detail (Vietnamese), points_effect and max_effect (what the rule did
    to the commune's points and applicable maximum), index_effect (published index − the index without that
    rule, percentage points; each line on its own, other lines as published).

    Kinds (:data:`ADJUSTMENT_KINDS`), and the alternative each effect is measured against:

    * ``rescaled_form_maximum`` — a score entered against another maximum on the form, counted as the same
      share of this methodology's maximum (vs the score as entered);
    * ``question_without_answers`` — an officials' survey question without any valid answer for the commune
      (all "không biết" / blank): it leaves points and maximum (vs counting it 0 of its points);
      ``survey_without_answers`` — every leaf of a survey the commune has no valid answer in (only with
      ``allow_missing_as_zero``), the same way;
    * ``factor_without_answers`` — SIPAS factors without any valid answer: SIPAS is the mean of the other
      factors (vs counting them 0);
    * ``commune_without_dossiers``, ``field_without_dossiers``, ``field_without_ballots`` — the dossier counts
      and the ballots do not meet (:func:`parindex.surveys.dossier_gaps`); under ``dossier_weighted`` the
      ballots of a field without dossiers weigh 0 (vs weight 1); the others move nothing, they are listed;
    * ``bonus`` / ``deduction`` — each row as entered (vs without that row, before the cap);
      ``bonus_cap`` / ``deduction_cap`` — what the cap took off the sum of the rows (vs no cap).
    """
    from .surveys import apply_estimator, dossier_gaps

    lv = meth.leaves().set_index("code")
    rows: list[dict] = []
    # Scores entered against another maximum.
    app = assessment.merge(lv.loc[lv["source"] == "appraisal", ["points"]], left_on="code", right_index=True)
    if "max_points_form" in app.columns:
        app = app[app["max_points_form"].notna() & ~app["not_applicable"].astype(bool)]
        app = app[(app["max_points_form"].astype(float) - app["points"]).abs() > 1e-9]
        val = app["appraised_points"].astype(float).fillna(app["self_points"].astype(float))
        for r, v in zip(app.itertuples(), val):
            counted = v * r.points / r.max_points_form
            rows.append(dict(commune_code=r.commune_code, kind="rescaled_form_maximum", points_effect=counted - v,
                             max_effect=0.0,
                             detail=f"Tiêu chí {r.code}: {_pts(v)}/{_pts(r.max_points_form)} điểm theo điểm tối đa "
                                    f"trên biểu mẫu, quy đổi thành {_pts(counted)}/{_pts(r.points)} điểm theo bộ "
                                    "tiêu chí (cùng tỷ lệ)"))
    # Survey leaves without any valid answer.
    gone = leaf_scores[leaf_scores["source"].isin(["officials_survey", "satisfaction_survey"])
                       & ~leaf_scores["applicable"].astype(bool)]
    whole = set()
    if missing_surveys is not None and len(missing_surveys):
        whole = set(zip(missing_surveys["commune_code"].astype(str), missing_surveys["code"].astype(str)))
    for r in gone.itertuples():
        q = float(lv.at[r.code, "points"])
        src = SURVEY_LABELS.get(r.source, r.source)
        if (str(r.commune_code), str(r.code)) in whole or r.source == "satisfaction_survey":
            rows.append(dict(commune_code=r.commune_code, kind="survey_without_answers", points_effect=0.0,
                             max_effect=-q, detail=f"Tiêu chí {r.code}: xã không có câu trả lời hợp lệ nào của "
                                                   f"{src} — không tính vào điểm đạt và điểm tối đa ({_pts(q)} điểm)"))
        else:
            rows.append(dict(commune_code=r.commune_code, kind="question_without_answers", points_effect=0.0,
                             max_effect=-q, detail=f"Tiêu chí {r.code} ({lv.at[r.code, 'label']}): không có câu trả "
                                                   "lời hợp lệ nào (mọi phiếu “không biết” hoặc bỏ trống) — không "
                                                   f"tính vào điểm đạt và điểm tối đa ({_pts(q)} điểm)"))
    # SIPAS factors without any valid answer.
    sat_leaf = lv[lv["source"] == "satisfaction_survey"]
    if len(sat_leaf) and len(factors):
        k = len(meth.satisfaction_survey.factors)
        labels = {f.code: f.label for f in meth.satisfaction_survey.factors}
        g = factors.groupby("commune_code")["index"].agg(["sum", "mean", "size"])
        for c, x in g[g["size"] < k].iterrows():
            have = set(factors.loc[factors["commune_code"] == c, "factor"])
            miss = [f.code for f in meth.satisfaction_survey.factors if f.code not in have]
            pts = float(sat_leaf["points"].iloc[0])
            rows.append(dict(commune_code=c, kind="factor_without_answers", max_effect=0.0,
                             points_effect=(x["mean"] - x["sum"] / k) * pts,
                             detail="Khảo sát sự hài lòng: yếu tố " + ", ".join(f"{m} ({labels[m]})" for m in miss)
                                    + f" không có câu trả lời hợp lệ — SIPAS là bình quân của {int(x['size'])} yếu tố "
                                      f"còn lại thay vì {k}"))
    # Dossier counts vs ballots.
    if dossiers is not None:
        est = meth.satisfaction_survey.estimator
        weighted = est == "dossier_weighted"
        pf = {p.code: p.label for p in meth.satisfaction_survey.procedure_fields}
        gaps = dossier_gaps(satisfaction, dossiers, weights_table)
        pub_sat = leaf_scores[leaf_scores["source"] == "satisfaction_survey"].set_index("commune_code")["points"]
        for r in gaps.itertuples():
            label = pf.get(r.procedure_field, r.procedure_field)
            effect = 0.0
            if r.kind == "commune_without_dossiers":
                why = ("xã không có trong tệp số hồ sơ" if r.reason == "absent"
                       else "số hồ sơ bằng 0 ở mọi lĩnh vực có phiếu")
                detail = (f"{r.ballots} phiếu hài lòng hợp lệ, {why}: "
                          + ("không gia quyền được, các phiếu giữ trọng số 1 (tỷ lệ đơn giản)" if weighted else
                             "không ảnh hưởng đến điểm (tỷ lệ đơn giản); khi gia quyền theo hồ sơ, xã này vẫn tính "
                             "tỷ lệ đơn giản"))
            elif r.kind == "field_without_dossiers":
                if weighted:
                    one = satisfaction[satisfaction["commune_code"] == r.commune_code]
                    w = apply_estimator(one, dossiers, est)[0]["weight"].to_numpy(dtype=float).copy()
                    w[(one["procedure_field"] == r.procedure_field).to_numpy()] = 1.0
                    cf = score_satisfaction(satisfaction_factors(one.assign(weight=w), meth), meth,
                                            pd.Series([r.commune_code]))["points"].iloc[0]
                    effect = float(pub_sat.get(r.commune_code, 0.0)) - float(cf)
                detail = (f"{r.ballots} phiếu hài lòng của lĩnh vực {label} nhưng tệp số hồ sơ ghi 0 hồ sơ: "
                          + ("trọng số 0 (không được tính)" if weighted else
                             "vẫn tính như mọi phiếu (tỷ lệ đơn giản); khi gia quyền theo hồ sơ, các phiếu này có "
                             "trọng số 0"))
            else:
                detail = (f"Lĩnh vực {label} có {r.dossiers} hồ sơ nhưng không có phiếu hài lòng hợp lệ nào"
                          + ("; trọng số của lĩnh vực được chia cho các lĩnh vực có phiếu" if weighted else ""))
            rows.append(dict(commune_code=r.commune_code, kind=r.kind, detail=detail, points_effect=effect,
                             max_effect=0.0))
    # Bonus and deduction rows, and the caps.
    adj_rows = adjustment_rows(assessment, meth)
    for name, adj, sign in (("bonus", meth.adjustments.bonus, 1.0), ("deduction", meth.adjustments.deduction, -1.0)):
        a = adj_rows[(adj_rows["kind"] == name) & (adj_rows["value"] > 0)]
        for r in a.itertuples():
            note = "; ".join(t for t in (r.evidence.strip(), r.reason.strip()) if t)
            changed = (f" (tự chấm {_pts(r.self_points)}, thẩm định {_pts(r.value)})"
                       if pd.notna(r.self_points) and abs(r.self_points - r.value) > 1e-9 else "")
            rows.append(dict(commune_code=r.commune_code, kind=name, points_effect=sign * r.value, max_effect=0.0,
                             detail=f"{adj.label} ({adj.code}): {_pts(r.value)} điểm{changed}"
                                    + (f" — {note}" if note else "")))
        tot = a.groupby("commune_code")["value"].agg(["sum", "size"])
        for c, x in tot[tot["sum"] > adj.cap + 1e-9].iterrows():
            rows.append(dict(commune_code=c, kind=f"{name}_cap", points_effect=-sign * (x["sum"] - adj.cap),
                             max_effect=0.0,
                             detail=f"Tổng {adj.label.lower()} {_pts(x['sum'])} điểm ({int(x['size'])} dòng) vượt mức "
                                    f"tối đa {_pts(adj.cap)} điểm: chỉ tính {_pts(adj.cap)} điểm"))
    log = _log_frame(rows)
    res = results.set_index(results["commune_code"].astype(str))
    p = log["commune_code"].map(res["points"]).astype(float)
    m = log["commune_code"].map(res["max_points"]).astype(float)
    idx = log["commune_code"].map(res["index_pct"]).astype(float)
    log["index_effect"] = idx - (p - log["points_effect"]) / (m - log["max_effect"]) * 100.0
    order = {k: i for i, k in enumerate(ADJUSTMENT_KINDS)}
    corder = {c: i for i, c in enumerate(results.sort_values(["rank", "commune_code"])["commune_code"].astype(str))}
    log = log.assign(_c=log["commune_code"].map(corder), _k=log["kind"].map(order))
    log = log.sort_values(["_c", "_k"], kind="stable").drop(columns=["_c", "_k"])
    return log[ADJUSTMENT_LOG_COLUMNS].reset_index(drop=True)


def score_all(assessment: pd.DataFrame, officials: pd.DataFrame, satisfaction: pd.DataFrame,
              meth: Methodology, communes: pd.DataFrame, *, allow_missing_as_zero: bool = False,
              group_weighting: str = "pooled", rank_decimals: int = 2,
              dossiers: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Run the whole scoring core; returns the named tables of the scored stage.

    Refuses with one IncompleteDataError listing every gap — appraised leaves without a row and communes
    without any valid answer in a survey — unless ``allow_missing_as_zero``: then the missing appraised
    leaves score 0 of their maximum (``missing``) and the survey leaves of a commune missing from a survey
    leave points and maximum (``missing_surveys``; zero would cost the commune for the survey team's gap).

    With ``dossiers`` (the pipeline always gives them): the satisfaction weights are checked against the
    methodology's estimator, ``estimator_check`` holds index, rank and band under both estimators, and the
    ``adjustment_log`` has the dossier lines; without, both lack what needs the dossiers."""
    codes = communes["commune_code"]
    from .surveys import poststratify

    post = poststratify(satisfaction, dossiers) if dossiers is not None else None   # once for the whole stage
    weighted = _estimator_tables(satisfaction, dossiers, post) if dossiers is not None else None
    if dossiers is not None:
        check_estimator_weights(satisfaction, dossiers, meth, weighted)
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
    if dossiers is not None:
        check = estimator_check(leaf_scores, adj, satisfaction, dossiers, meth, communes, rank_decimals, weighted)
        check = check.set_index("commune_code").loc[results["commune_code"].astype(str)].reset_index()
    else:
        check = pd.DataFrame({c: pd.Series(dtype="bool" if c == "band_differs" else "str" if c == "commune_code"
                                           or c.startswith("band_") else "int64" if c.startswith("rank_") else
                                           "float64") for c in ESTIMATOR_CHECK_COLUMNS})
    log = adjustment_log(assessment, leaf_scores, factors, satisfaction, dossiers, results, meth, missing_surveys,
                         post[1] if post is not None else None)
    return dict(results=results, leaf_scores=leaf_scores, satisfaction_factors=factors,
                appraisal_changes=appraisal_changes(assessment, meth), missing=missing,
                missing_surveys=missing_surveys, off_step=off_step, estimator_check=check, adjustment_log=log)
