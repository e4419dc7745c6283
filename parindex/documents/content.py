"""The numbers of the drafts: every figure a notice, the report or the decision states, taken from the run's
tables and formatted the Vietnamese way (:mod:`parindex.publish.labels`).

Each function returns plain dicts of formatted strings (the templates' context) and named tables (rows of
formatted cells with their alignment). Nothing here is wording: sentences live in the template files.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..ingest.readers import RAW_FILES
from ..methodology import Methodology
from ..publish.labels import (
    STATUS_LABELS,
    num_text,
    pct_text,
    points_cell,
    points_text,
    rank_text,
    signed_text,
    text_cell,
)
from ..rounds import moved_by_round2, round2_counts
from ..scoring import adjustments, appraisal_changes, complete_assessment, score_appraisal
from ..text import nfc

PLACEHOLDER = "…"
_UNIT = re.compile(r"^(huyện|thị xã|thành phố|quận)\s+", re.I)


@dataclass
class Table:
    """Formatted rows of one table, each column's alignment, and the default column widths (a template's
    ``widths_mm`` replaces them)."""

    rows: list[list[str]]
    align: list[str]
    widths_mm: list[float]


# ------------------------------------------------------------------------------------------------
# Small formatters
# ------------------------------------------------------------------------------------------------
def date_parts(d: dt.date | None, year_if_blank: int | None = None) -> dict[str, str]:
    """Day, month, year as a date line writes them (Decree 30: a day below 10 and the months 1 and 2 with a
    leading zero); "…" for a date not set yet (the year may still be known)."""
    if d is None:
        return {"day": PLACEHOLDER, "month": PLACEHOLDER,
                "year": str(year_if_blank) if year_if_blank else PLACEHOLDER, "short": PLACEHOLDER}
    return {"day": f"{d.day:02d}", "month": f"{d.month:02d}" if d.month <= 2 else str(d.month), "year": str(d.year),
            "short": f"{d.day:02d}/{d.month:02d}/{d.year}"}


def lower_first(s: str) -> str:
    """"Xã Lê Hồng" → "xã Lê Hồng" (a unit name inside a sentence); "90 %" kept on one line."""
    s = text_cell(s).replace(" %", "\u00a0%")
    return s[:1].lower() + s[1:]


def short_name(district: str) -> str:
    """"Huyện X" → "X" (the place name of the date line: the district name without its type)."""
    return _UNIT.sub("", text_cell(district)).strip()


pts = points_cell    # appraisal points without trailing zeros ("1,5", "64,25", "0"; "–" when missing)


def names_text(names: list[str]) -> str:
    return ", ".join(dict.fromkeys(text_cell(n) for n in names))


# ------------------------------------------------------------------------------------------------
# Shared context
# ------------------------------------------------------------------------------------------------
def legal_doc(d, citation_renderer) -> dict:
    """A cited document (params LegalDoc) as the templates use it: its fields with "…" for what is blank,
    ``citation`` (rendered with the common template's citation pattern) and ``cited`` (anything known)."""
    parts = date_parts(d.date)
    out = {"kind": text_cell(d.kind), "number": text_cell(d.number) or PLACEHOLDER, "date": parts["short"],
           "issuer": text_cell(d.issuer), "subject": text_cell(d.subject),
           "cited": bool(d.kind or d.number or d.subject)}
    out["citation"] = citation_renderer(out) if out["cited"] else ""
    return out


# ------------------------------------------------------------------------------------------------
# Appraisal notice (round 1)
# ------------------------------------------------------------------------------------------------
def appraisal_round1(round1: pd.DataFrame, meth: Methodology, communes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Round-1 appraisal numbers of every commune, as scoring computes them: ``leaves`` (score_appraisal of
    the round-1 assessment, missing leaves completed as scoring does), ``changes`` (appraisal_changes),
    ``totals`` per commune (max, self, appraised, bonus and deduction self / appraised, capped)."""
    full, _ = complete_assessment(round1, meth, communes, allow_missing_as_zero=True)
    leaves = score_appraisal(full, meth)
    changes = appraisal_changes(round1, meth)
    codes = communes["commune_code"]
    adj = adjustments(full, meth, codes).set_index("commune_code")
    adj_self = adjustments(full.assign(appraised_points=full["self_points"]), meth, codes).set_index("commune_code")
    g = leaves.groupby("commune_code")
    totals = pd.DataFrame({"max": g["max_points"].sum(), "self": g["self_points"].sum(), "appraised": g["points"].sum()})
    totals = totals.reindex(codes).fillna(0.0)
    totals["bonus"], totals["deduction"] = adj["bonus"], adj["deduction"]
    totals["bonus_self"], totals["deduction_self"] = adj_self["bonus"], adj_self["deduction"]
    return {"leaves": leaves, "changes": changes, "totals": totals}


def notice(code: str, name: str, r1: dict, labels: dict) -> tuple[dict, dict[str, Table]]:
    """Context and tables of one commune's appraisal notice."""
    t = r1["totals"].loc[code]
    ch = r1["changes"][r1["changes"]["commune_code"] == code]
    n_cut, n_raise = int((ch["kind"] == "cut").sum()), int((ch["kind"] == "raise").sum())
    total_self = t["self"] + t["bonus_self"] - t["deduction_self"]
    total = t["appraised"] + t["bonus"] - t["deduction"]
    ctx = {
        "max": pts(t["max"]), "self": pts(t["self"]), "appraised": pts(t["appraised"]),
        "change": signed_text(t["appraised"] - t["self"]).rstrip("0").rstrip(","),
        "cut": pts(-ch.loc[ch["kind"] == "cut", "change"].sum()),
        "n_changes": len(ch), "n_cut": n_cut, "n_raise": n_raise,
        "bonus": pts(t["bonus"]), "bonus_self": pts(t["bonus_self"]),
        "deduction": pts(t["deduction"]), "deduction_self": pts(t["deduction_self"]),
        "has_adjustments": bool(t[["bonus", "deduction", "bonus_self", "deduction_self"]].abs().sum() > 0),
        "total_self": pts(total_self), "total": pts(total),
    }
    rows = []
    for i, x in enumerate(ch.itertuples(), start=1):
        rows.append([str(i), text_cell(x.code), text_cell(x.label), pts(x.points), pts(x.self_points),
                     pts(x.appraised_points), pts(x.change), text_cell(x.reason) or labels["no_reason"]])
    tables = {"changes": Table(rows, ["center", "center", "left", "center", "center", "center", "center", "left"],
                               [11, 14, 44, 14, 14, 15, 16, 37])}
    return ctx, tables


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------
def _band_labels(meth: Methodology) -> dict[str, str]:
    return {b.code: b.label for b in meth.bands}


def ranking_table(results: pd.DataFrame, meth: Methodology) -> Table:
    r = results.sort_values(["rank", "commune_code"])
    bands = _band_labels(meth)
    rows = [[rank_text(x.rank), text_cell(x.commune_name), num_text(x.points), num_text(x.max_points),
             num_text(x.index_pct), bands.get(x.band, text_cell(x.band))] for x in r.itertuples()]
    return Table(rows, ["center", "left", "center", "center", "center", "center"], [14, 44, 20, 20, 22, 45])


def annex_table(results: pd.DataFrame, meth: Methodology) -> Table:
    r = results.sort_values(["rank", "commune_code"])
    bands = _band_labels(meth)
    rows = [[str(i), text_cell(x.commune_name), num_text(x.points), num_text(x.index_pct), rank_text(x.rank),
             bands.get(x.band, text_cell(x.band))] for i, x in enumerate(r.itertuples(), start=1)]
    return Table(rows, ["center", "left", "center", "center", "center", "center"], [12, 46, 21, 24, 18, 44])


def results_summary(results: pd.DataFrame, meth: Methodology) -> dict:
    r = results
    hi, lo = r["index_pct"].max(), r["index_pct"].min()
    top = r.loc[r["index_pct"].round(2) == round(hi, 2), "commune_name"].tolist()
    bottom = r.loc[r["index_pct"].round(2) == round(lo, 2), "commune_name"].tolist()
    counts = r["band"].value_counts()
    bands = [{"code": b.code, "label": b.label, "label_lower": lower_first(b.label), "count": int(counts.get(b.code, 0))}
             for b in meth.bands]
    return {"n": len(r), "mean": pct_text(r["index_pct"].mean()), "median": pct_text(r["index_pct"].median()),
            "high": pct_text(hi), "high_names": names_text(top), "low": pct_text(lo), "low_names": names_text(bottom),
            "spread": num_text(hi - lo), "bands": bands,
            "mean_points": num_text(r["points"].mean())}


def fields_table(results: pd.DataFrame, leaf_scores: pd.DataFrame, meth: Methodology) -> Table:
    """Per field: maximum, mean points, share achieved (all communes' points over their applicable maxima),
    the highest and the lowest commune share."""
    g = leaf_scores.groupby(["field_code", "commune_code"])[["points", "max_points"]].sum()
    rows = []
    for f in meth.fields:
        col = f"field_{f.code}_points"
        per = g.loc[f.code] if f.code in g.index.get_level_values(0) else pd.DataFrame(columns=["points", "max_points"])
        share = (per["points"] / per["max_points"].where(per["max_points"] > 0)) * 100.0
        total = per["points"].sum() / per["max_points"].sum() * 100.0 if per["max_points"].sum() > 0 else np.nan
        mean = results[col].mean()
        rows.append([f"{f.code}. {text_cell(f.label)}", points_text(f.points), num_text(mean), num_text(total),
                     num_text(share.max()), num_text(share.min())])
    return Table(rows, ["left", "center", "center", "center", "center", "center"], [63, 18, 21, 21, 21, 21])


def sources_table(results: pd.DataFrame, leaf_scores: pd.DataFrame, meth: Methodology) -> Table:
    lv = meth.leaves()
    rows = []
    for s in ("appraisal", "officials_survey", "satisfaction_survey"):
        col = f"{s}_points"
        if col not in results.columns:
            continue
        mx = float(lv.loc[lv["source"] == s, "points"].sum())
        ls = leaf_scores[leaf_scores["source"] == s]
        share = ls["points"].sum() / ls["max_points"].sum() * 100.0 if ls["max_points"].sum() > 0 else np.nan
        mean = results[col].mean()
        rows.append([text_cell(meth.sources.get(s, s)), points_text(mx), num_text(mean), num_text(share),
                     num_text(results[col].max()), num_text(results[col].min())])
    return Table(rows, ["left", "center", "center", "center", "center", "center"], [63, 18, 21, 21, 21, 21])


def method_context(meth: Methodology, district, tables: dict) -> dict:
    lv = meth.leaves()
    by = lv.groupby("source")["points"].sum()
    sources = [{"label": text_cell(meth.sources.get(s, s)), "points": points_text(float(by.get(s, 0.0)))}
               for s in ("appraisal", "officials_survey", "satisfaction_survey") if s in by.index]
    groups = [{"label": lower_first(g.label), "n": int(district.officials_groups.get(g.code, 0))}
              for g in meth.officials_survey.groups]
    off = tables.get("officials")
    bal = tables.get("ballots")
    rej = tables.get("rejections")
    off_prefix = RAW_FILES["officials"][0]
    off_excluded = 0
    if isinstance(rej, pd.DataFrame) and len(rej):
        off_excluded = int((rej["file"].astype(str).str.startswith(off_prefix) & (rej["rule"] != "ignored_column")).sum())
    n_communes = len(district.communes)
    out = {
        "scale": points_text(meth.scale), "title": text_cell(meth.meta.title), "id": meth.meta.id,
        "status": STATUS_LABELS.get(meth.meta.status, meth.meta.status), "official": meth.meta.status == "official",
        "pending": text_cell(meth.meta.pending), "sources": sources,
        "bands": [{"code": b.code, "label": b.label, "label_lower": lower_first(b.label)} for b in meth.bands],
        "officials_planned": int(sum(district.officials_groups.values())), "officials_groups": groups,
        "officials_respondents": int(off["ballot_id"].nunique()) if isinstance(off, pd.DataFrame) else 0,
        "officials_ratings": int(off[["ballot_id", "commune_code"]].drop_duplicates().shape[0])
        if isinstance(off, pd.DataFrame) else 0,
        "officials_answers": int((off["answer"] != "").sum()) if isinstance(off, pd.DataFrame) else 0,
        "officials_blank": int((off["answer"] == "").sum()) if isinstance(off, pd.DataFrame) else 0,
        "officials_excluded": off_excluded,
        "per_commune": int(district.ballots_per_commune), "sat_planned": int(district.ballots_per_commune * n_communes),
        "sat_received": int(len(bal)) if isinstance(bal, pd.DataFrame) else 0,
        "sat_valid": int((bal["status"] == "valid").sum()) if isinstance(bal, pd.DataFrame) else 0,
        "sat_excluded": int((bal["status"] != "valid").sum()) if isinstance(bal, pd.DataFrame) else 0,
        "n_communes": n_communes,
    }
    return out


def appraisal_context(changes: pd.DataFrame, leaf_scores: pd.DataFrame, results: pd.DataFrame) -> tuple[dict, Table]:
    """Appraisal (final) across communes: counts, points cut, and a per-commune table."""
    c = changes
    ctx = {"n_changes": len(c), "n_cut": int((c["kind"] == "cut").sum()), "n_raise": int((c["kind"] == "raise").sum()),
           "n_communes": int(c.loc[c["kind"] == "cut", "commune_code"].nunique()),
           "cut_points": pts(-c.loc[c["kind"] == "cut", "change"].sum()),
           "n_flagged": int((c["flag"].fillna("").astype(str) != "").sum())}
    ls = leaf_scores[leaf_scores["source"] == "appraisal"]
    g = ls.groupby("commune_code")[["self_points", "points", "max_points"]].sum()
    r = results.sort_values(["rank", "commune_code"])
    rows = []
    for x in r.itertuples():
        s, a, m = g.loc[x.commune_code] if x.commune_code in g.index else (np.nan, np.nan, np.nan)
        cc = c[c["commune_code"] == x.commune_code]
        rows.append([text_cell(x.commune_name), pts(m), pts(s), pts(a), pts(a - s), str(int((cc["kind"] == "cut").sum())),
                     str(int((cc["kind"] == "raise").sum()))])
    return ctx, Table(rows, ["left", "center", "center", "center", "center", "center", "center"],
                      [50, 19, 19, 19, 19, 20, 19])


def surveys_context(results: pd.DataFrame, meth: Methodology) -> tuple[dict, Table | None]:
    cols = set(results.columns)
    lv = meth.leaves()
    off_max = float(lv.loc[lv["source"] == "officials_survey", "points"].sum())
    ctx: dict = {"officials_max": points_text(off_max), "has_sat": "sat_index_pct" in cols,
                 "has_officials": "officials_survey_points" in cols}
    if ctx["has_officials"]:
        o = results["officials_survey_points"]
        ctx.update(officials_mean=num_text(o.mean()), officials_high=num_text(o.max()), officials_low=num_text(o.min()),
                   officials_high_names=names_text(results.loc[o.round(2) == round(o.max(), 2), "commune_name"].tolist()),
                   officials_low_names=names_text(results.loc[o.round(2) == round(o.min(), 2), "commune_name"].tolist()))
    if ctx["has_sat"]:
        s = results["sat_index_pct"]
        ctx.update(sat_mean=pct_text(s.mean()), sat_high=pct_text(s.max()), sat_low=pct_text(s.min()),
                   sat_high_names=names_text(results.loc[s.round(2) == round(s.max(), 2), "commune_name"].tolist()),
                   sat_low_names=names_text(results.loc[s.round(2) == round(s.min(), 2), "commune_name"].tolist()))
    need = {"ballots_received", "ballots_valid", "ballots_excluded", "sat_index_pct", "officials_survey_points"}
    if not need <= cols:
        return ctx, None
    r = results.sort_values(["rank", "commune_code"])
    rows = [[text_cell(x.commune_name), str(int(x.ballots_received)), str(int(x.ballots_valid)),
             str(int(x.ballots_excluded)), num_text(x.sat_index_pct), num_text(x.officials_survey_points)]
            for x in r.itertuples()]
    return ctx, Table(rows, ["left", "center", "center", "center", "center", "center"], [50, 22, 22, 22, 24, 25])


def robustness_context(tables: dict, meth: Methodology, info: dict | None) -> tuple[dict, Table | None]:
    from ..publish.robustness_figures import plain_language

    rob = tables.get("robustness")
    if not isinstance(rob, pd.DataFrame) or rob.empty:
        return {"present": False}, None
    outrank = tables.get("outrank") if isinstance(tables.get("outrank"), pd.DataFrame) else None
    info = info or {}
    r = rob.sort_values(["rank", "commune_code"])
    keep = np.array([float(getattr(x, f"p_band_{x.band}", np.nan)) for x in r.itertuples()]) * 100.0
    rows = [[rank_text(x.rank), text_cell(x.commune_name), rank_text(x.rank_median),
             f"{rank_text(x.rank_p05)} – {rank_text(x.rank_p95)}", num_text(k, 1)]
            for x, k in zip(r.itertuples(), keep)]
    ctx = {"present": True, "text": nfc(plain_language(rob, meth, outrank)),
           "n_draws": num_text(info["n_draws"], 0) if info.get("n_draws") else PLACEHOLDER,
           "mean_shift": num_text(info["mean_abs_rank_shift"]) if info.get("mean_abs_rank_shift") is not None
           else num_text(rob["mean_abs_shift"].mean()),
           "solid": int((keep >= 95.0).sum()), "n": len(r),
           "spread": pct_text(100.0 * float(info["weight_spread"]), 0) if info.get("weight_spread") is not None else ""}
    return ctx, Table(rows, ["center", "left", "center", "center", "center"], [16, 55, 28, 32, 34])


def yoy_context(results: pd.DataFrame, previous: pd.DataFrame | None, previous_year: int | None
                ) -> tuple[dict, Table | None]:
    from ..publish.figures import year_over_year

    if previous is None or previous_year is None:
        return {"present": False}, None
    m = year_over_year(results, previous)
    rows = [[text_cell(x.commune_name), rank_text(x.rank_prev), num_text(x.index_prev), rank_text(x.rank),
             num_text(x.index_pct), signed_text(x.move, 0)] for x in m.itertuples()]
    mean_prev, mean_now = float(previous["index_pct"].mean()), float(results["index_pct"].mean())
    ctx = {"present": True, "year": previous_year, "n_up": int((m["move"] > 0).sum()),
           "n_down": int((m["move"] < 0).sum()), "n_same": int((m["move"] == 0).sum()),
           "mean_prev": pct_text(mean_prev), "mean_now": pct_text(mean_now),
           "mean_change": signed_text(mean_now - mean_prev)}
    return ctx, Table(rows, ["left", "center", "center", "center", "center", "center"], [55, 20, 22, 20, 22, 26])


def rounds_context(tables: dict, labels: dict, info: dict | None) -> tuple[dict, dict[str, Table]]:
    """The explanation round: counts, the contested items, and the communes whose index or rank changed."""
    items = tables.get("round2")
    if not isinstance(items, pd.DataFrame):
        return {"present": False}, {}
    names = {}
    res = tables.get("results")
    if isinstance(res, pd.DataFrame):
        names = dict(zip(res["commune_code"].astype(str), res["commune_name"]))
    s = (info or {}).get("round2") or {}
    ctx = {"present": True, **round2_counts(items),
           "points_restored": pts((items["final_points"] - items["round1_points"]).where(items["changed"], 0.0).sum())}
    ctx["summary"] = s
    ctx["n_moved"] = 0
    word = {"accept": labels["accept"], "keep": labels["keep"], "pending": labels["pending"]}
    rows = [[text_cell(names.get(x.commune_code, x.commune_code)), text_cell(x.code), pts(x.self_points),
             pts(x.round1_points), pts(x.requested_points), word.get(x.decision, text_cell(x.decision)),
             pts(x.final_points)] for x in items.itertuples()]
    out = {"round2": Table(rows, ["left", "center", "center", "center", "center", "center", "center"],
                           [42, 16, 18, 22, 18, 27, 22])}
    r1 = tables.get("round1_results")
    if isinstance(r1, pd.DataFrame):
        moved = moved_by_round2(r1)
        ctx["n_moved"] = len(moved)
        rows = [[text_cell(x.commune_name), num_text(x.index_pct_round1), rank_text(x.rank_round1), num_text(x.index_pct),
                 rank_text(x.rank)] for x in moved.itertuples()]
        out["round1_results"] = Table(rows, ["left", "center", "center", "center", "center"], [57, 27, 27, 27, 27])
    return ctx, out
