"""The offline interactive HTML report (Vietnamese), one self-contained file.

``render_report(tables, meth, context)`` turns the scored tables into a page built with Jinja2
(autoescape on) and plotly.js embedded once inline: no external script, style, font or image, so the
page makes zero network requests. Figures and the scorecard data are embedded as JSON inside
``<script type="application/json">`` blocks with ``<``, ``>`` and ``&`` written as ``\\u003c`` etc., so
no input text can close a script tag; the page's JavaScript only ever writes data with
``textContent``. Text passed to plotly is HTML-escaped by :mod:`parindex.publish.figures`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from .. import __version__
from ..csvsafe import neutralise
from ..methodology import Methodology
from ..params import Report as ReportParams
from ..params import flatten_params
from ..text import fmt_num, fmt_pct, nfc
from . import figures as F
from . import profiles as P
from . import robustness_figures as RF
from .labels import (
    ADJUSTMENT_KIND_LABELS,
    ESTIMATOR_LABELS,
    CONVERSION_LABELS,
    KIND_LABELS,
    PP,
    PRIVACY_LABELS,
    STATUS_LABELS,
    WHICH_LABELS,
    band_rule_text,
    detail_vi,
    int_text,
    num_text,
    param_label,
    param_value,
    pct_text,
    points_text,
    rank_text,
    rule_label,
    signed_text,
    steps_label,
    text_cell,
)
from .page import figure_json, page_scripts, script_json, template_env
from .rounds_section import rounds_section

SURVEY_RESULT_COLUMNS = ["sat_index_pct", "sat_ci_low", "sat_ci_high", "officials_points", "officials_ci_low",
                         "officials_ci_high", "ballots_received", "ballots_valid", "ballots_excluded"]
ROBUSTNESS_COLUMNS = ["commune_code", "rank", "rank_median", "rank_p05", "rank_p95"]
MAX_ROWS = 500  # longest data-quality listing shown in the page (the xlsx/csv carry everything)


@dataclass
class ReportContext:
    year: int
    district: str                    # the run's district and province (parindex.district.DistrictInfo)
    province: str
    run_label: str = ""              # e.g. methodology id + seed, shown in a footer
    params: dict = field(default_factory=dict)   # shown in the methodology appendix
    notes: list[str] = field(default_factory=list)  # warnings shown prominently in the summary
    robustness_summary: dict | None = None          # robustness.json of the robustness stage
    previous_year: int | None = None                # year of the table "previous_results", when given
    # how uncertain results are marked next to the ranking (params.report: band_prob_min, near_threshold)
    report: ReportParams = field(default_factory=ReportParams)
    # the published run the year-over-year comparison uses (Run.baseline: year, run_id, methodology_id,
    # methodology_title, date, path), None when unknown
    baseline: dict | None = None
    # published results of the earlier years (Run.history: year, commune_code, index_pct, rank, band)
    history: pd.DataFrame | None = None




def previous_results_check(previous: pd.DataFrame | None, results: pd.DataFrame, previous_year: int | None
                           ) -> tuple[bool, str | None]:
    """Whether the earlier year's results can be compared with this year's: same set of communes and the
    columns commune_code, rank, index_pct. Returns (usable, Vietnamese note when not usable)."""
    if previous is None:
        return False, None
    y = f"năm {previous_year}" if previous_year else "năm trước"
    need = ["commune_code", "rank", "index_pct"]
    miss = [c for c in need if c not in previous.columns]
    if miss:
        return False, f"Không so sánh được với {y}: bảng kết quả {y} thiếu cột {', '.join(miss)}."
    a = set(previous["commune_code"].astype(str))
    b = set(results["commune_code"].astype(str))
    if a != b or len(previous) != len(results):
        only_now, only_prev = sorted(b - a), sorted(a - b)
        detail = []
        if only_now:
            detail.append(f"chỉ có trong năm nay: {', '.join(only_now)}")
        if only_prev:
            detail.append(f"chỉ có trong {y}: {', '.join(only_prev)}")
        if not detail:
            detail.append("có mã xã lặp lại")
        return False, (f"Không so sánh với {y}: danh sách xã, thị trấn hai năm khác nhau ("
                       + "; ".join(detail) + ").")
    return True, None


def _require(tables: dict, name: str, cols: list[str]) -> pd.DataFrame:
    if name not in tables or tables[name] is None:
        raise ValueError(f"render_report: the table {name!r} is required")
    t = tables[name]
    miss = [c for c in cols if c not in t.columns]
    if miss:
        raise ValueError(f"render_report: table {name!r} lacks column(s) {miss}")
    return t


def _present(tables: dict, name: str) -> pd.DataFrame | None:
    t = tables.get(name)
    return t if isinstance(t, pd.DataFrame) else None


# ------------------------------------------------------------------------------------------------
# Data behind every chart and table: "Tải dữ liệu (CSV)"
# ------------------------------------------------------------------------------------------------
class Downloads:
    """CSV files embedded in the page (one per chart or table), offered by a "Tải dữ liệu (CSV)" button.

    Vietnamese headers, numbers with a dot decimal (as results.csv), UTF-8 (the page adds the byte-order mark
    when saving, so that Excel shows Vietnamese); text that would start a spreadsheet formula is prefixed with
    an apostrophe, so it stays text."""

    def __init__(self, year: int):
        self.year = year
        self.files: dict[str, dict] = {}

    def add(self, key: str, name: str, df: pd.DataFrame) -> str:
        d = df.copy()
        for c in d.columns:
            if d[c].dtype == object or pd.api.types.is_string_dtype(d[c]):
                d[c] = d[c].map(_csv_text)
            elif pd.api.types.is_float_dtype(d[c]):
                d[c] = d[c].round(4) + 0.0
        text = d.to_csv(index=False, lineterminator="\n")
        self.files[key] = dict(name=f"{name}_{self.year}.csv", csv=text)
        return key

    def blob(self) -> Markup:
        return Markup(script_json(dict(sorted(self.files.items()))))


def _csv_text(v) -> str:
    """A text cell of a download: as shown on the page, formula triggers neutralised like every CSV file."""
    return neutralise(text_cell(v))


# ------------------------------------------------------------------------------------------------
# Section builders (plain dicts / lists of preformatted strings for the template)
# ------------------------------------------------------------------------------------------------
def _movers(moves: pd.DataFrame | None, k: int = 3) -> dict | None:
    """Largest rank gains and losses since the earlier year (ties: larger index change, then rank)."""
    if moves is None:
        return None
    m = moves.assign(name=moves["commune_name"].map(text_cell))
    up = m[m["move"] > 0].sort_values(["move", "index_change", "rank"], ascending=[False, False, True]).head(k)
    down = m[m["move"] < 0].sort_values(["move", "index_change", "rank"], ascending=[True, True, True]).head(k)

    def rows(df: pd.DataFrame) -> list[dict]:
        return [dict(name=x.name, move=signed_text(x.move, 0), prev=int(x.rank_prev), rank=int(x.rank),
                     change=signed_text(x.index_change)) for x in df.itertuples()]

    return dict(up=rows(up), down=rows(down), same=int((m["move"] == 0).sum()))


def ballot_count(tables: dict, results: pd.DataFrame) -> dict | None:
    """The one count of satisfaction ballots every part of the report shows: received = valid + excluded, for
    the district and per commune; a ballot that names no commune of the district (``outside``) counts in the
    district's total only. From the ballots table when given, else from the results' ballot columns."""
    codes = results["commune_code"].astype(str)
    bal = _present(tables, "ballots")
    if bal is not None:
        b = bal.assign(commune_code=bal["commune_code"].fillna("").astype(str))
        ok = b["status"].astype(str) == "valid"
        inside = b["commune_code"].isin(set(codes))
        per = pd.DataFrame({"commune_code": codes.to_numpy()})
        per["received"] = per["commune_code"].map(b[inside].groupby("commune_code").size()).fillna(0).astype(int)
        per["valid"] = per["commune_code"].map(b[inside & ok].groupby("commune_code").size()).fillna(0).astype(int)
        out = dict(received=len(b), valid=int(ok.sum()), excluded=int((~ok).sum()),
                   outside=int((~inside).sum()), outside_valid=int((~inside & ok).sum()))
    elif {"ballots_received", "ballots_valid", "ballots_excluded"} <= set(results.columns):
        per = pd.DataFrame({"commune_code": codes.to_numpy(), "received": results["ballots_received"].astype(int),
                            "valid": results["ballots_valid"].astype(int)})
        out = dict(received=int(per["received"].sum()), valid=int(per["valid"].sum()),
                   excluded=int(results["ballots_excluded"].sum()), outside=0, outside_valid=0)
    else:
        return None
    per["excluded"] = per["received"] - per["valid"]
    out["per_commune"] = per
    out["text"] = (f"{int_text(out['received'])} phiếu nhận, {int_text(out['valid'])} phiếu hợp lệ, "
                   f"{int_text(out['excluded'])} phiếu bị loại")
    out["definition"] = ("Số phiếu nhận = số phiếu hợp lệ + số phiếu bị loại; phiếu của một xã, thị trấn là phiếu "
                         "ghi tên xã, thị trấn đó."
                         + (f" {int_text(out['outside'])} phiếu không ghi được xã, thị trấn nào của huyện chỉ được "
                            "tính trong tổng số của huyện (dòng “không xác định được xã”)." if out["outside"] else ""))
    return out


def _summary(results: pd.DataFrame, meth: Methodology, missing: pd.DataFrame | None, context: ReportContext,
             missing_surveys: pd.DataFrame | None = None) -> dict:
    r = results
    hi, lo = r["index_pct"].max(), r["index_pct"].min()
    top = r.loc[r["index_pct"].round(2) == round(hi, 2), "commune_name"].map(text_cell).tolist()
    bottom = r.loc[r["index_pct"].round(2) == round(lo, 2), "commune_name"].map(text_cell).tolist()
    counts = r["band"].value_counts()
    bands = [dict(code=b.code, name=b.short, label=b.label, color=b.color, count=int(counts.get(b.code, 0)))
             for b in meth.bands]
    notes = [nfc(str(n)) for n in context.notes]
    if missing is not None and len(missing):
        auto = (f"{len(missing)} tiêu chí thiếu dữ liệu (ở {missing['commune_code'].nunique()} xã, thị trấn) "
                "được tính 0 điểm — xem Phụ lục chất lượng dữ liệu.")
        notes.append(auto)
    if missing_surveys is not None and len(missing_surveys):
        names = ", ".join(dict.fromkeys(text_cell(n) for n in missing_surveys["commune_name"]))
        notes.append(f"{len(missing_surveys)} tiêu chí khảo sát không có phiếu hợp lệ ở {names}: không tính vào "
                     "điểm đạt và điểm tối đa của xã, thị trấn đó.")
    if meth.meta.status != "official":
        notes.append(f"Bộ tiêu chí đang dùng: {meth.meta.title} ({STATUS_LABELS.get(meth.meta.status, meth.meta.status)}"
                     + (f"; chờ {meth.meta.pending}" if meth.meta.pending else "") + ").")
    return dict(n=len(r), mean=pct_text(r["index_pct"].mean()), median=pct_text(r["index_pct"].median()),
                high=pct_text(hi), high_names=", ".join(top), low=pct_text(lo), low_names=", ".join(bottom),
                spread=num_text(hi - lo), bands=bands, notes=list(dict.fromkeys(notes)))


def _results_table(results: pd.DataFrame, meth: Methodology) -> dict:
    bands = {b.code: b for b in meth.bands}
    fields = [f for f in meth.fields if f"field_{f.code}_points" in results.columns]
    extra = [(c, lab) for c, lab in (("bonus", meth.adjustments.bonus.label),
                                     ("deduction", meth.adjustments.deduction.label))
             if c in results.columns and (results[c] != 0).any()]
    head = ([("Hạng", "num"), ("Mã xã", ""), ("Tên xã, thị trấn", ""), ("Điểm đạt", "num"),
             ("Điểm tối đa", "num"), ("Chỉ số", "num"), ("Xếp loại", "")]
            + [(f"LV{f.code}", "num", f"{f.code}. {f.label} (tối đa {points_text(f.points)} điểm)") for f in fields]
            + [("Thưởng" if c == "bonus" else "Trừ", "num", lab) for c, lab in extra])
    head = [dict(text=h[0], cls=h[1], title=h[2] if len(h) > 2 else "") for h in head]
    rows = []
    r = results.sort_values(["rank", "commune_code"])
    cols = {c: r[c].tolist() for c in r.columns}
    reduced = False
    for i in range(len(r)):
        b = bands.get(cols["band"][i])
        red = float(cols["max_points"][i]) < float(meth.scale) - 1e-9
        reduced |= red
        rows.append(dict(
            cells=[str(int(cols["rank"][i])), text_cell(cols["commune_code"][i]), text_cell(cols["commune_name"][i]),
                   num_text(cols["points"][i]), num_text(cols["max_points"][i]) + (" *" if red else ""),
                   pct_text(cols["index_pct"][i])],
            band=dict(label=b.short if b else text_cell(cols["band"][i]), color=b.color if b else "#888"),
            after=[num_text(cols[f"field_{f.code}_points"][i]) for f in fields] + [num_text(cols[c][i]) for c, _ in extra],
        ))
    return dict(head=head, rows=rows, reduced=reduced, scale=points_text(meth.scale),
                fields="; ".join(f"LV{f.code}: {f.label}" for f in fields))


def _names(results: pd.DataFrame) -> dict[str, str]:
    return dict(zip(results["commune_code"].astype(str), results["commune_name"].map(text_cell)))


def _appraisal_tables(changes: pd.DataFrame, results: pd.DataFrame, limit: int = 20) -> dict:
    names = _names(results)
    rank = dict(zip(results["commune_code"].astype(str), results["rank"]))
    c = changes.assign(_rank=changes["commune_code"].astype(str).map(rank))
    cuts = c[c["kind"] == "cut"].sort_values(["change", "_rank", "code"]).head(limit)
    flagged = c[c["flag"].fillna("").astype(str) != ""].sort_values(["_rank", "code"])

    def rows(df: pd.DataFrame) -> list[dict]:
        return [dict(commune=names.get(str(x.commune_code), text_cell(x.commune_code)), code=text_cell(x.code), label=text_cell(x.label),
                     self=num_text(x.self_points), appraised=num_text(x.appraised_points), change=num_text(x.change),
                     kind=KIND_LABELS.get(x.kind, text_cell(x.kind)), reason=text_cell(x.reason) or "(không ghi lý do)",
                     flag=text_cell(x.flag))
                for x in df.itertuples()]

    n_cut = int((c["kind"] == "cut").sum())
    return dict(cuts=rows(cuts), flagged=rows(flagged), n_cut=n_cut, n_raise=int((c["kind"] == "raise").sum()),
                n_flag=len(flagged), cut_points=num_text(-c.loc[c["kind"] == "cut", "change"].sum()),
                n_communes=int(c.loc[c["kind"] == "cut", "commune_code"].nunique()), limit=limit,
                truncated=n_cut > limit)


def _methodology(meth: Methodology, context: ReportContext) -> dict:
    src = meth.sources
    tree = []
    for f in meth.fields:
        tree.append(dict(level=0, code=f.code, label=f.label, points=points_text(f.points), source="", steps=""))
        for c in f.criteria:
            leaf_src = c.source or ("appraisal" if not c.subcriteria else "")
            tree.append(dict(level=1, code=c.code, label=c.label, points=points_text(c.points),
                             source=src.get(leaf_src, "") if not c.subcriteria else "", steps=steps_label(c.steps)))
            for s in c.subcriteria:
                tree.append(dict(level=2, code=s.code, label=s.label, points=points_text(s.points),
                                 source=src.get(s.source or c.source or "appraisal", ""), steps=steps_label(s.steps)))
    lv = meth.leaves()
    by_source = lv.groupby("source")["points"].sum()
    sources = [dict(label=src.get(s, s), points=points_text(float(by_source.get(s, 0.0))))
               for s in ("appraisal", "officials_survey", "satisfaction_survey")]
    r = meth.rules
    rules = [
        "Chỉ số (%) = điểm đạt được / tổng điểm tối đa của các tiêu chí áp dụng × 100; "
        f"thang điểm {points_text(meth.scale)} điểm.",
        "Tiêu chí được đánh dấu “không áp dụng” không tính vào cả điểm đạt và điểm tối đa (điểm tối đa của xã "
        "đó nhỏ hơn thang điểm; đánh dấu * trong các bảng)."
        if r.not_applicable == "exclude" else f"Tiêu chí không áp dụng: {r.not_applicable}.",
        "Điểm thẩm định bỏ trống được hiểu là chấp nhận điểm tự chấm.",
        ("Thẩm định nâng điểm so với tự chấm được chấp nhận nhưng được đánh dấu để Hội đồng xem xét."
         if r.appraisal_raise == "flag" else "Thẩm định không được nâng điểm so với điểm tự chấm."),
        ("Mỗi trường hợp giảm điểm khi thẩm định phải ghi lý do; trường hợp không có lý do được đánh dấu."
         if r.appraisal_cut_requires_reason else "Giảm điểm khi thẩm định không bắt buộc ghi lý do."),
        f"{meth.adjustments.bonus.label} (mã {meth.adjustments.bonus.code}) tối đa "
        f"{points_text(meth.adjustments.bonus.cap)} điểm, {meth.adjustments.deduction.label.lower()} "
        f"(mã {meth.adjustments.deduction.code}) tối đa {points_text(meth.adjustments.deduction.cap)} điểm; "
        "tính ngoài thang điểm.",
    ]
    os_ = meth.officials_survey
    answers = [dict(code=k, label=os_.answer_labels.get(k, ""), weight=fmt_pct(w * 100, 0))
               for k, w in os_.answer_weights.items()]
    rules.append("Điều tra xã hội học: điểm tiêu chí = điểm tối đa × trọng số bình quân của các câu trả lời hợp lệ "
                 "(“không biết / không trả lời” không tính vào tử số và mẫu số).")
    sv = meth.satisfaction_survey
    rules.append(f"Sự hài lòng (SIPAS): chỉ số mỗi yếu tố = tỷ lệ câu trả lời hợp lệ đạt mức "
                 f"{', '.join(str(a) for a in sv.positive_answers)} trên thang {sv.scale.min}–{sv.scale.max}; "
                 "SIPAS = bình quân các yếu tố; điểm SIPAS = SIPAS × điểm tối đa của tiêu chí.")
    rules += _decision_rules(meth, context)
    groups = [dict(code=g.code, label=g.label, size=g.size) for g in os_.groups]
    factors = [dict(code=f.code, label=f.label, questions="; ".join(f"{q.code}: {q.label}" for q in f.questions))
               for f in sv.factors]
    bands = [dict(code=b.code, name=b.short, label=b.label, min=pct_text(b.min_pct, 0), color=b.color)
             for b in meth.bands]
    params = [dict(key=text_cell(k), label=param_label(k), value=param_value(v))
              for k, v in flatten_params(context.params).items() if k != "district.salt"]
    m = meth.meta
    return dict(tree=tree, sources=sources, rules=rules, answers=answers, groups=groups, factors=factors,
                bands=bands, params=params, id=m.id, version=m.version, title=m.title,
                status=STATUS_LABELS.get(m.status, m.status), note=m.note, pending=m.pending or "",
                sha256=meth.sha256 or "", path=Path(meth.path).name if meth.path else "")


def _quality(tables: dict, results: pd.DataFrame, meth: Methodology, count: dict | None) -> dict | None:
    rej, bal, miss = _present(tables, "rejections"), _present(tables, "ballots"), _present(tables, "missing")
    off = _present(tables, "off_step")
    conv, priv = _present(tables, "conversions"), _present(tables, "privacy")
    if rej is None and bal is None and (miss is None or miss.empty) and (off is None or off.empty) and (
            conv is None or conv.empty) and (priv is None or priv.empty):
        return None
    names = _names(results)
    out: dict = dict(rejections=None, ballots=None, missing=None, off_step=None, conversions=None, privacy=None)
    if conv is not None and len(conv):
        out["conversions"] = dict(
            rows=[dict(file=text_cell(x.file), sheet=text_cell(x.sheet), column=text_cell(x.column),
                       kind=CONVERSION_LABELS.get(x.kind, text_cell(x.kind)), detail=text_cell(x.detail), n=int(x.count))
                  for x in conv.head(MAX_ROWS).itertuples()], truncated=len(conv) > MAX_ROWS)
    if priv is not None and len(priv):
        out["privacy"] = [dict(file=text_cell(x.file), column=text_cell(x.column),
                               kind=PRIVACY_LABELS.get(x.kind, text_cell(x.kind)), n=int(x.count))
                          for x in priv.itertuples()]
    if rej is not None:
        by_rule = rej.groupby(["file", "rule"], sort=True).size().reset_index(name="n")
        detail = rej.sort_values(["file", "sheet", "row"]).head(MAX_ROWS)
        out["rejections"] = dict(
            n=len(rej),
            by_rule=[dict(file=text_cell(x.file), label=rule_label(x.rule), n=int(x.n)) for x in by_rule.itertuples()],
            rows=[dict(file=text_cell(x.file), sheet=text_cell(x.sheet), row=text_cell(x.row), rule=rule_label(x.rule),
                       detail=detail_vi(x.detail))
                  for x in detail.itertuples()],
            truncated=len(rej) > MAX_ROWS)
    if bal is not None and count is not None:
        b = bal.assign(commune_code=bal["commune_code"].fillna("").astype(str),
                       rule=bal["rule"].fillna("").astype(str))
        excl = b[b["status"] != "valid"]
        rules = sorted(excl["rule"].unique().tolist())
        inside = set(results["commune_code"].astype(str))
        by = excl.assign(commune_code=excl["commune_code"].where(excl["commune_code"].isin(inside), "")) \
            .groupby(["commune_code", "rule"]).size().unstack(fill_value=0).reindex(columns=rules, fill_value=0)
        per = count["per_commune"].set_index("commune_code")
        rows = []
        for c in results.sort_values(["rank", "commune_code"])["commune_code"].astype(str):
            counts = [int(by.loc[c, r]) if c in by.index else 0 for r in rules]
            rows.append(dict(code=c, name=names.get(c, ""), received=int(per.loc[c, "received"]),
                             valid=int(per.loc[c, "valid"]), excluded=int(per.loc[c, "excluded"]), counts=counts))
        if count["outside"]:
            counts = [int(by.loc["", r]) if "" in by.index else 0 for r in rules]
            rows.append(dict(code="", name="(không xác định được xã)", received=count["outside"],
                             valid=count["outside_valid"], excluded=count["outside"] - count["outside_valid"],
                             counts=counts))
        totals = [sum(r["counts"][i] for r in rows) for i in range(len(rules))]
        out["ballots"] = dict(rules=[dict(code=r, label=rule_label(r)) for r in rules], rows=rows,
                              totals=totals, n_received=int_text(count["received"]), n_valid=int_text(count["valid"]),
                              n_excluded=int_text(count["excluded"]))
    if miss is not None and len(miss):
        labels = dict(zip(meth.leaves()["code"], meth.leaves()["label"]))
        out["missing"] = [dict(code=text_cell(x.commune_code), name=names.get(str(x.commune_code), ""), leaf=text_cell(x.code),
                               label=text_cell(labels.get(x.code, ""))) for x in miss.head(MAX_ROWS).itertuples()]
    if off is not None and len(off):
        out["off_step"] = dict(
            rows=[dict(code=text_cell(x.commune_code), name=names.get(str(x.commune_code), ""), leaf=text_cell(x.code),
                       label=text_cell(x.label), which=WHICH_LABELS.get(x.which, text_cell(x.which)), value=_score(x.value),
                       steps=text_cell(x.steps)) for x in off.head(MAX_ROWS).itertuples()],
            n=len(off), truncated=len(off) > MAX_ROWS)
    return out


# ------------------------------------------------------------------------------------------------
# Decisions made visible (issue 12): the satisfaction estimator, bands at the boundary, bonus rows, and every
# exclusion / zero weight / rescaling with the points it moved (score tables estimator_check, adjustment_log)
# ------------------------------------------------------------------------------------------------
def _rank_decimals(context: ReportContext) -> int:
    return int((context.params.get("scoring") or {}).get("rank_decimals", 2))


def _decision_rules(meth: Methodology, context: ReportContext) -> list[str]:
    """Method-appendix lines: which satisfaction estimator, the band rule, several bonus/deduction rows."""
    est = meth.satisfaction_survey.estimator
    other = next(e for e in ESTIMATOR_LABELS if e != est)
    adj = meth.adjustments
    return [
        f"Chỉ số hài lòng của mỗi yếu tố được tính theo {ESTIMATOR_LABELS[est]}; cách tính "
        f"{ESTIMATOR_LABELS[other]} được tính song song để đối chiếu (Phụ lục Chất lượng dữ liệu).",
        band_rule_text(meth, _rank_decimals(context)),
        f"Một xã có thể có nhiều dòng {adj.bonus.label.lower()} ({adj.bonus.code}) hoặc {adj.deduction.label.lower()} "
        f"({adj.deduction.code}), mỗi dòng một nội dung: các dòng được cộng lại rồi mới áp mức tối đa; từng dòng "
        "được liệt kê ở Phụ lục Chất lượng dữ liệu.",
    ]


def _decisions(tables: dict, results: pd.DataFrame, meth: Methodology) -> dict | None:
    """Data-quality block: the estimator used and the communes whose band the other would change
    (``estimator_check``), and every line of the ``adjustment_log`` with the points it moved."""
    check, log = _present(tables, "estimator_check"), _present(tables, "adjustment_log")
    if check is None and log is None:
        return None
    names = _names(results)
    est = meth.satisfaction_survey.estimator
    other = next(e for e in ESTIMATOR_LABELS if e != est)
    out: dict = dict(estimator=ESTIMATOR_LABELS[est], other=ESTIMATOR_LABELS[other], changes=None, rows=None,
                     n=0, truncated=False)
    if check is not None and len(check):
        bands = {b.code: b.label for b in meth.bands}
        moved = check[check["band_differs"].astype(bool)]
        out["changes"] = [dict(code=text_cell(x["commune_code"]), name=names.get(str(x["commune_code"]), ""),
                               index=pct_text(x[f"index_{est}"]), band=bands.get(x[f"band_{est}"], x[f"band_{est}"]),
                               other_index=pct_text(x[f"index_{other}"]),
                               other_band=bands.get(x[f"band_{other}"], x[f"band_{other}"]))
                          for _, x in moved.iterrows()]
    if log is not None:
        log = _collapse_rescaled(log)
        out["n"] = len(log)
        out["rows"] = [dict(code=text_cell(x.commune_code), name=names.get(str(x.commune_code), ""),
                            kind=ADJUSTMENT_KIND_LABELS.get(x.kind, text_cell(x.kind)), detail=text_cell(x.detail),
                            points=signed_text(x.points_effect), max=signed_text(x.max_effect),
                            index=signed_text(x.index_effect))
                       for x in log.head(MAX_ROWS).itertuples()]
        out["truncated"] = len(log) > MAX_ROWS
    return out


def _collapse_rescaled(log: pd.DataFrame, keep: int = 3) -> pd.DataFrame:
    """A commune with more than ``keep`` scores rescaled from the form's maximum (a whole form made for another
    methodology version) gets one line for them in the page: their count and the points they moved together
    (exact: a rescaling changes points, not the maximum, so the effects add up). The xlsx lists each."""
    r = log["kind"] == "rescaled_form_maximum"
    n = r.groupby(log["commune_code"]).transform("sum")
    many = r & (n > keep)
    if not many.any():
        return log
    g = log[many].groupby("commune_code", sort=False).agg(
        points_effect=("points_effect", "sum"), max_effect=("max_effect", "sum"), index_effect=("index_effect", "sum"),
        n=("kind", "size"), first=("kind", lambda x: x.index[0]))
    g["kind"] = "rescaled_form_maximum"
    g["detail"] = (g["n"].astype(str) + " tiêu chí chấm theo điểm tối đa trên biểu mẫu khác bộ tiêu chí, quy đổi "
                   "cùng tỷ lệ (từng tiêu chí ở trang “Điều chỉnh và loại trừ” của tệp results.xlsx)")
    g = g.reset_index().set_index("first")
    out = pd.concat([log[~many], g[log.columns]]).sort_index(kind="stable")
    return out.reset_index(drop=True)


def _decision_notes(decisions: dict | None) -> list[str]:
    """Summary notes: a commune whose band depends on the satisfaction estimator."""
    if not decisions or not decisions.get("changes"):
        return []
    parts = [f"{c['name'] or c['code']} ({c['index']}, {c['band']}; theo cách kia {c['other_index']}, "
             f"{c['other_band']})" for c in decisions["changes"]]
    return [f"Chỉ số hài lòng tính theo {decisions['estimator']}. Nếu tính theo {decisions['other']}, xếp loại "
            "sẽ khác ở: " + "; ".join(parts) + " — xem Phụ lục Chất lượng dữ liệu."]


def _score(x) -> str:
    """A score with up to 4 decimals, trailing zeros dropped (0.7 → "0,7"; 0.3333… → "0,3333")."""
    return "–" if x is None or pd.isna(x) else fmt_num(float(x), 4).rstrip("0").rstrip(",")


def _surveys(tables: dict, results: pd.DataFrame, meth: Methodology, figs: dict, count: dict | None,
             dl: Downloads) -> dict | None:
    """Survey section: ballot counts, satisfaction index and officials' points with their 95 % intervals,
    factor heatmap, answer distributions. Each part only when its data are given."""
    factors = _present(tables, "satisfaction_factors")
    sat, off = _present(tables, "satisfaction"), _present(tables, "officials")
    cols = set(results.columns)
    out: dict = dict(ballots=None, sat_ci=False, off_ci=False, factors=False, sat_answers=None, off_answers=None)
    r = results.sort_values(["rank", "commune_code"])
    if count is not None:
        per = count["per_commune"].set_index("commune_code")
        rows = [dict(name=text_cell(x.commune_name), code=text_cell(x.commune_code),
                     received=int_text(per.loc[str(x.commune_code), "received"]),
                     valid=int_text(per.loc[str(x.commune_code), "valid"]),
                     excluded=int_text(per.loc[str(x.commune_code), "excluded"]),
                     sat=pct_text(getattr(x, "sat_index_pct", None), 1) if "sat_index_pct" in cols else "",
                     sat_ci=(f"{pct_text(x.sat_ci_low, 1)} – {pct_text(x.sat_ci_high, 1)}"
                             if {"sat_ci_low", "sat_ci_high"} <= cols else ""),
                     off=num_text(x.officials_points) if "officials_points" in cols else "",
                     off_ci=(f"{num_text(x.officials_ci_low)} – {num_text(x.officials_ci_high)}"
                             if {"officials_ci_low", "officials_ci_high"} <= cols else ""))
                for x in r.itertuples()]
        if count["outside"]:
            rows.append(dict(name="(không xác định được xã)", code="", received=int_text(count["outside"]),
                             valid=int_text(count["outside_valid"]),
                             excluded=int_text(count["outside"] - count["outside_valid"]), sat="", sat_ci="", off="",
                             off_ci=""))
        out["ballots"] = dict(rows=rows, received=int_text(count["received"]), valid=int_text(count["valid"]),
                              excluded=int_text(count["excluded"]), text=count["text"], definition=count["definition"],
                              has_sat="sat_index_pct" in cols, has_off="officials_points" in cols)
        d = pd.DataFrame({"Mã xã": [x["code"] for x in rows], "Xã, thị trấn": [x["name"] for x in rows]})
        pc = count["per_commune"].set_index("commune_code")
        d["Phiếu nhận"] = [int(pc.loc[c, "received"]) if c in pc.index else count["outside"] for c in d["Mã xã"]]
        d["Hợp lệ"] = [int(pc.loc[c, "valid"]) if c in pc.index else count["outside_valid"] for c in d["Mã xã"]]
        d["Bị loại"] = d["Phiếu nhận"] - d["Hợp lệ"]
        rr = r.assign(commune_code=r["commune_code"].astype(str)).set_index("commune_code").reindex(d["Mã xã"])
        for c, h in (("sat_index_pct", "Chỉ số hài lòng (%)"), ("sat_ci_low", "Hài lòng: cận dưới 95 %"),
                     ("sat_ci_high", "Hài lòng: cận trên 95 %"), ("officials_points", "Điểm điều tra cán bộ"),
                     ("officials_ci_low", "Điều tra cán bộ: cận dưới 95 %"),
                     ("officials_ci_high", "Điều tra cán bộ: cận trên 95 %")):
            if c in rr.columns:
                d[h] = rr[c].to_numpy(dtype=float)
        dl.add("survey-table", "khao_sat_theo_xa", d)
    if {"sat_index_pct", "sat_ci_low", "sat_ci_high"} <= cols:
        figs["fig-sat-ci"] = figure_json(F.fig_satisfaction_intervals(results))
        out["sat_ci"] = True
    if {"officials_points", "officials_ci_low", "officials_ci_high"} <= cols:
        figs["fig-off-ci"] = figure_json(F.fig_officials_intervals(results, meth))
        out["off_ci"] = True
    if factors is not None and len(factors):
        figs["fig-satisfaction"] = figure_json(F.fig_satisfaction(factors, meth, results))
        out["factors"] = True
        mtx = F.satisfaction_matrix(factors, meth, results)
        d = pd.DataFrame({"Mã xã": r["commune_code"].astype(str).to_numpy(),
                          "Xã, thị trấn": r["commune_name"].map(text_cell).to_numpy()})
        for f in meth.satisfaction_survey.factors:
            d[f"{f.label} (%)"] = mtx[f.code].to_numpy(dtype=float)
        d["Chung (SIPAS) (%)"] = mtx["SIPAS"].to_numpy(dtype=float)
        dl.add("fig-satisfaction", "hai_long_theo_yeu_to", d)
    if sat is not None and len(sat):
        sh = F.satisfaction_answer_shares(sat, meth)
        figs["fig-sat-answers"] = figure_json(F.fig_satisfaction_answers(sh, meth))
        out["sat_answers"] = dict(n_valid=fmt_num(sh["n_valid"].sum(), 0), n_blank=fmt_num(sh["n_blank"].sum(), 0),
                                  n_ballots=fmt_num(sat["ballot_id"].nunique(), 0))
        dl.add("fig-sat-answers", "phan_bo_tra_loi_hai_long", sh.drop(columns="factor").rename(columns={
            "label": "Yếu tố", "n_valid": "Số câu trả lời hợp lệ", "n_blank": "Số câu bỏ trống",
            **{str(a): f"Mức {a} (%)" for a in range(meth.satisfaction_survey.scale.min,
                                                       meth.satisfaction_survey.scale.max + 1)}}))
    if off is not None and len(off):
        sh = F.officials_answer_shares(off, meth)
        figs["fig-off-answers"] = figure_json(F.fig_officials_answers(sh, meth))
        out["off_answers"] = dict(n=fmt_num(sh["n"].sum(), 0), n_resp=fmt_num(off["ballot_id"].nunique(), 0),
                                  blank=pct_text(float((off["answer"].fillna("").astype(str).str.strip() == "").mean()
                                                   * 100.0), 1))
        dl.add("fig-off-answers", "phan_bo_tra_loi_dieu_tra_can_bo", sh.rename(columns={
            "question": "Mã câu hỏi", "label": "Nội dung", "blank": "Không biết / không trả lời (%)",
            "n": "Số câu trả lời", **{k: f"Phương án {k} (%)" for k in meth.officials_survey.answer_weights}}))
    if out["ballots"] is None and not (out["sat_ci"] or out["off_ci"] or out["factors"] or out["sat_answers"]
                                       or out["off_answers"]):
        return None
    return out


def _house_style(fig):
    """The report's look for a figure built elsewhere (robustness figures): white template, system fonts,
    no title (the section's heading says it), Vietnamese separators."""
    fig.update_layout(template="plotly_white", separators=",.", title=None,
                      font=dict(family=F.FONT, size=13, color="#222"), hoverlabel=dict(font=dict(family=F.FONT)),
                      margin=dict(t=30))
    return fig


def _outrank(tables: dict) -> pd.DataFrame | None:
    outrank = _present(tables, "outrank")
    if outrank is None:
        return None
    outrank = outrank.copy()
    if "commune_code" in outrank.columns:
        outrank = outrank.set_index("commune_code")
    outrank.index = outrank.index.astype(str)
    outrank.columns = outrank.columns.astype(str)
    return outrank


def _robustness(tables: dict, results: pd.DataFrame, meth: Methodology, context: ReportContext, figs: dict,
                dl: Downloads) -> dict | None:
    """Robustness section from the robustness stage's tables (absent → None)."""
    pc = _present(tables, "robustness")
    if pc is None:
        return None
    miss = [c for c in ROBUSTNESS_COLUMNS if c not in pc.columns]
    if miss:
        raise ValueError(f"render_report: table 'robustness' lacks column(s) {miss}")
    pc = pc.assign(commune_code=pc["commune_code"].astype(str))
    names = _names(results)
    if "commune_name" not in pc.columns:
        pc = pc.assign(commune_name=pc["commune_code"].map(names).fillna(""))
    if "band" not in pc.columns:
        band = dict(zip(results["commune_code"].astype(str), results["band"]))
        pc = pc.assign(band=pc["commune_code"].map(band))
    pc = pc.sort_values(["rank", "commune_code"]).reset_index(drop=True)
    bands = [b for b in meth.bands if f"p_band_{b.code}" in pc.columns]
    bshort = {b.code: b.short for b in meth.bands}
    bcolor = {b.code: b.color for b in meth.bands}
    outrank = _outrank(tables)
    top_k = (context.robustness_summary or {}).get("top_k")
    rows = []
    for x in pc.itertuples():
        probs = [pct_text(100.0 * getattr(x, f"p_band_{b.code}"), 1) for b in bands]
        rows.append(dict(rank=int(x.rank), name=text_cell(x.commune_name), band=bshort.get(text_cell(x.band), text_cell(x.band)),
                         color=bcolor.get(text_cell(x.band), "#888"),
                         median=rank_text(x.rank_median), lo=rank_text(x.rank_p05), hi=rank_text(x.rank_p95),
                         probs=probs,
                         top=pct_text(100.0 * x.p_top_k, 1) if "p_top_k" in pc.columns else "",
                         shift=num_text(x.mean_abs_shift) if "mean_abs_shift" in pc.columns else ""))
    d = pd.DataFrame({"Hạng công bố": pc["rank"].astype(int), "Mã xã": pc["commune_code"],
                      "Xã, thị trấn": pc["commune_name"].map(text_cell), "Xếp loại công bố": pc["band"].map(bshort),
                      "Hạng trung vị": pc["rank_median"], "Hạng: phân vị 5 %": pc["rank_p05"],
                      "Hạng: phân vị 95 %": pc["rank_p95"]})
    for b in bands:
        d[f"Xác suất xếp loại {b.short} (%)"] = 100.0 * pc[f"p_band_{b.code}"].astype(float)
    if "p_top_k" in pc.columns:
        d["Xác suất thuộc nhóm dẫn đầu (%)"] = 100.0 * pc["p_top_k"].astype(float)
    if "mean_abs_shift" in pc.columns:
        d["Mức thay đổi hạng bình quân"] = pc["mean_abs_shift"].astype(float)
    dl.add("band-prob-table", "do_vung_xep_hang", d)
    out = dict(rows=rows, bands=[dict(code=b.code, name=b.short, label=b.label, color=b.color) for b in bands],
               has_top="p_top_k" in pc.columns, top_k=top_k, has_shift="mean_abs_shift" in pc.columns,
               outrank=False, sobol=False, loo=None, convergence=None, facts=[])
    if outrank is not None and len(outrank):
        figs["fig-outrank"] = figure_json(_house_style(RF.fig_outrank_heatmap(outrank, pc)))
        out["outrank"] = True
        codes = [c for c in pc["commune_code"] if c in outrank.index]
        o = outrank.loc[codes, codes] * 100.0
        o.index = [names.get(c, c) for c in codes]
        o.columns = [names.get(c, c) for c in codes]
        dl.add("fig-outrank", "xac_suat_xep_tren", o.rename_axis("Xã ở hàng xếp trên xã ở cột (%)").reset_index())
    sobol = _present(tables, "sobol")
    if sobol is not None:
        figs["fig-sobol"] = figure_json(_house_style(RF.fig_sobol(sobol)))
        out["sobol"] = True
        from .labels import UNCERTAINTY_SOURCE_LABELS
        dl.add("fig-sobol", "chi_so_sobol", pd.DataFrame({
            "Nguồn bất định": sobol["source"].map(lambda s: UNCERTAINTY_SOURCE_LABELS.get(s, text_cell(s))),
            "Chỉ số bậc nhất": sobol["S1"], "Sai số (bậc nhất)": sobol["S1_conf"], "Chỉ số tổng": sobol["ST"],
            "Sai số (tổng)": sobol["ST_conf"]}))
    loo = _present(tables, "leave_one_out")
    if loo is not None:
        fields = [f for f in meth.fields if f"rank_without_{f.code}" in loo.columns]
        l = loo.assign(commune_code=loo["commune_code"].astype(str)).sort_values(["rank", "commune_code"])
        lrows = []
        for x in l.itertuples(index=False):
            dd = x._asdict()
            cells = []
            for f in fields:
                v = int(dd[f"rank_without_{f.code}"])
                mv = int(dd["rank"]) - v
                cells.append(dict(text=str(v), cls="up" if mv > 0 else "down" if mv < 0 else ""))
            lrows.append(dict(rank=int(dd["rank"]), name=names.get(dd["commune_code"], dd["commune_code"]),
                              cells=cells, span=f"{min(int(dd['rank']), *[int(c['text']) for c in cells])} – "
                                                f"{max(int(dd['rank']), *[int(c['text']) for c in cells])}"
                              if cells else ""))
        out["loo"] = dict(fields=[dict(code=f.code, label=f"{f.code}. {f.label}") for f in fields], rows=lrows)
        d = pd.DataFrame({"Hạng công bố": l["rank"].astype(int), "Mã xã": l["commune_code"],
                          "Xã, thị trấn": l["commune_code"].map(names)})
        for f in fields:
            d[f"Hạng khi bỏ lĩnh vực {f.code}"] = l[f"rank_without_{f.code}"].astype(int)
        dl.add("loo-table", "hang_khi_bo_mot_linh_vuc", d)
    conv = _present(tables, "convergence")
    summ = context.robustness_summary or {}
    if conv is not None and len(conv):
        c = conv.set_index("statistic")
        parts = []
        n1, n2 = summ.get("n_draws"), summ.get("n_draws_convergence")
        head = (f"Kiểm tra hội tụ: so sánh {fmt_num(n1, 0)} và {fmt_num(n2, 0)} lần mô phỏng"
                if n1 and n2 else "Kiểm tra hội tụ: so sánh n và 2n lần mô phỏng")
        if "mean_abs_shift_overall" in c.index:
            v = c.loc["mean_abs_shift_overall"]
            parts.append(f"mức thay đổi hạng bình quân {num_text(v.value_n)} và {num_text(v.value_2n)}")
        if "mean_rank_interval_width" in c.index:
            v = c.loc["mean_rank_interval_width"]
            parts.append(f"độ rộng bình quân của khoảng 5–95 % là {num_text(v.value_n)} và {num_text(v.value_2n)} hạng")
        pb = conv[conv["statistic"].astype(str).str.startswith(("p_band_", "p_top_k"))]
        if len(pb):
            parts.append("xác suất xếp loại / nhóm dẫn đầu thay đổi nhiều nhất "
                         f"{num_text(float(pb['change'].abs().max()) * 100.0, 1)} {PP}")
        out["convergence"] = head + ": " + "; ".join(parts) + "."
    if summ:
        src = {"weights": "trọng số lĩnh vực", "sampling": "chọn mẫu khảo sát (bootstrap)",
               "rules": "quy tắc tính điểm"}
        facts = []
        if summ.get("n_draws"):
            facts.append(f"{fmt_num(summ['n_draws'], 0)} lần mô phỏng")
        if summ.get("sources_on") is not None:
            facts.append("nguồn bất định: " + (", ".join(src.get(x, text_cell(x)) for x in summ["sources_on"]) or "không có"))
        if summ.get("weight_spread") is not None:
            facts.append(f"trọng số lĩnh vực dao động ±{fmt_pct(100.0 * float(summ['weight_spread']), 0)}")
        if summ.get("seed") is not None:
            facts.append(f"hạt giống ngẫu nhiên {text_cell(summ['seed'])}")
        out["facts"] = facts
    return out


def _baseline(context: ReportContext, meth: Methodology, previous_year: int) -> dict | None:
    """Which published run of the earlier year the comparison uses, and a warning when it was scored under
    another methodology (Run.baseline; None when the run does not say)."""
    b = context.baseline
    if not b:
        return None
    mid, title = text_cell(b.get("methodology_id")), text_cell(b.get("methodology_title"))
    run_id, date = text_cell(b.get("run_id")), text_cell(b.get("date"))
    year = text_cell(b.get("year")) or str(previous_year)
    text = (f"Kết quả năm {year} dùng để so sánh: lần tính {run_id}" + (f" ngày {date}" if date else "")
            + (f", bộ tiêu chí “{title}”" if title else (f", bộ tiêu chí {mid}" if mid else "")) + ".")
    differs = bool(mid) and mid != meth.meta.id
    warn = (f"Năm {year} được tính theo bộ tiêu chí khác (“{title or mid}”) với năm {context.year} "
            f"(“{meth.meta.title}”): thay đổi thứ hạng và chỉ số có thể do thay đổi phương pháp, không chỉ do kết "
            "quả thực hiện." if differs else "")
    return dict(text=text, warning=warn, run_id=run_id, date=date, year=year, methodology=title or mid)


def _year_over_year(tables: dict, results: pd.DataFrame, context: ReportContext, meth: Methodology,
                    dl: Downloads) -> tuple[pd.DataFrame | None, dict | None, str | None]:
    """(moves, section data, note) for the earlier year's results (absent or not comparable → no section)."""
    prev = _present(tables, "previous_results")
    ok, note = previous_results_check(prev, results, context.previous_year)
    if not ok:
        return None, None, note
    moves = F.year_over_year(results, prev)
    py = context.previous_year if context.previous_year else context.year - 1
    rows = [dict(rank=int(x.rank), name=text_cell(x.commune_name), prev=int(x.rank_prev), move=signed_text(x.move, 0),
                 cls="up" if x.move > 0 else "down" if x.move < 0 else "", index_prev=pct_text(x.index_prev),
                 index=pct_text(x.index_pct), change=signed_text(x.index_change),
                 ccls="up" if x.index_change > 0 else "down" if x.index_change < 0 else "")
            for x in moves.itertuples()]
    mean_prev, mean_now = float(prev["index_pct"].mean()), float(results["index_pct"].mean())
    data = dict(year=context.year, previous_year=py, rows=rows,
                fig=F.fig_rank_slope(moves, context.year, py), n_up=int((moves["move"] > 0).sum()),
                n_down=int((moves["move"] < 0).sum()), n_same=int((moves["move"] == 0).sum()),
                mean_prev=pct_text(mean_prev), mean_now=pct_text(mean_now), mean_change=signed_text(mean_now - mean_prev),
                baseline=_baseline(context, meth, py), trend=None)
    d = moves.rename(columns={"commune_code": "Mã xã", "commune_name": "Xã, thị trấn", "rank_prev": f"Hạng {py}",
                              "rank": f"Hạng {context.year}", "move": "Thay đổi hạng (+ = tăng)",
                              "index_prev": f"Chỉ số {py} (%)", "index_pct": f"Chỉ số {context.year} (%)",
                              "index_change": f"Thay đổi chỉ số ({PP})"})
    dl.add("yoy-table", f"so_sanh_voi_nam_{py}", d)
    return moves, data, None


def _trend(context: ReportContext, results: pd.DataFrame, meth: Methodology, figs: dict, dl: Downloads
           ) -> dict | None:
    """Index per commune over three or more published years (context.history plus this year)."""
    h = context.history
    if h is None or not isinstance(h, pd.DataFrame) or h.empty:
        return None
    t = F.trend_table(h, results, context.year)
    years = sorted(t["year"].unique().tolist())
    if len(years) < 3:
        return None
    figs["fig-trend"] = figure_json(F.fig_trend(t, meth))
    bshort = {b.code: b.short for b in meth.bands}
    wide = t.pivot_table(index="commune_code", columns="year", values="index_pct", aggfunc="first")
    ranks = t.pivot_table(index="commune_code", columns="year", values="rank", aggfunc="first")
    order = list(dict.fromkeys(t["commune_code"]))
    names = _names(results)
    d = pd.DataFrame({"Mã xã": order, "Xã, thị trấn": [names.get(c, "") for c in order]})
    for y in years:
        d[f"Chỉ số {y} (%)"] = wide.reindex(order)[y].to_numpy(dtype=float) if y in wide.columns else np.nan
        d[f"Hạng {y}"] = ranks.reindex(order)[y].to_numpy(dtype=float) if y in ranks.columns else np.nan
    dl.add("fig-trend", "xu_huong_nhieu_nam", d)
    mean = t.groupby("year")["index_pct"].mean()
    return dict(years=years, first=years[0], last=years[-1],
                means="; ".join(f"{y}: {pct_text(mean[y])}" for y in years),
                bands=bshort)


# ------------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------------
def report_parts(tables: dict[str, pd.DataFrame], meth: Methodology, context: ReportContext) -> dict:
    """Everything the report template needs (also the profiles, which the publish stage prints)."""
    results = _require(tables, "results", ["commune_code", "commune_name", "points", "max_points", "index_pct",
                                           "rank", "band"])
    if results.empty:
        raise ValueError("render_report: the results table is empty")
    leaf_scores = _present(tables, "leaf_scores")
    changes = _present(tables, "appraisal_changes")
    missing = _present(tables, "missing")
    dl = Downloads(context.year)
    figs: dict[str, str] = {}
    sections: list[dict] = []

    def section(key: str, title: str, appendix: bool = False) -> dict:
        n = sum(1 for s in sections if s["appendix"] == appendix) + 1
        num = f"Phụ lục {chr(64 + n)}." if appendix else f"{n}."
        s = dict(key=key, id=f"sec-{key}", title=title, number=num, appendix=appendix)
        sections.append(s)
        return s

    r = results.sort_values(["rank", "commune_code"])
    rob_table = _present(tables, "robustness")
    marks = F.uncertainty_marks(results, meth, rob_table, context.report.near_threshold,
                                context.report.band_prob_min)
    moves, yoy, yoy_note = _year_over_year(tables, results, context, meth, dl)
    charts: dict = {}          # the figures drawn again as PNG pictures by the publish stage (objects, not JSON)

    def chart(key: str, fig) -> None:
        charts[key] = fig
        figs[key] = figure_json(fig)

    chart("fig-ranking", F.fig_ranking(results, meth, marks))
    d = pd.DataFrame({"Hạng": r["rank"].astype(int).to_numpy(), "Mã xã": r["commune_code"].astype(str).to_numpy(),
                      "Xã, thị trấn": r["commune_name"].map(text_cell).to_numpy(),
                      "Điểm đạt": r["points"].astype(float).to_numpy(),
                      "Điểm tối đa": r["max_points"].astype(float).to_numpy(),
                      "Chỉ số CCHC (%)": r["index_pct"].astype(float).to_numpy(),
                      "Xếp loại": r["band"].map({b.code: b.short for b in meth.bands}).fillna("").to_numpy()})
    mk = marks.set_index("commune_code").reindex(d["Mã xã"])
    d["Sát ngưỡng xếp loại"] = np.where(mk["near"].to_numpy(dtype=bool), "có", "")
    if "rank_median" in mk.columns:
        d["Hạng trung vị"] = mk["rank_median"].to_numpy(dtype=float)
        d["Hạng: phân vị 5 %"] = mk["rank_p05"].to_numpy(dtype=float)
        d["Hạng: phân vị 95 %"] = mk["rank_p95"].to_numpy(dtype=float)
        d["Xác suất giữ xếp loại (%)"] = 100.0 * mk["p_keep"].to_numpy(dtype=float)
    dl.add("fig-ranking", "xep_hang", d)
    section("ranking", "Xếp hạng Chỉ số CCHC")
    chart("fig-fields", F.fig_fields(results, meth))
    fcols = [f for f in meth.fields if f"field_{f.code}_points" in r.columns]
    d = pd.DataFrame({"Hạng": r["rank"].astype(int).to_numpy(), "Mã xã": r["commune_code"].astype(str).to_numpy(),
                      "Xã, thị trấn": r["commune_name"].map(text_cell).to_numpy()})
    for f in fcols:
        d[f"{f.code}. {f.label} (tối đa {points_text(f.points)})"] = r[f"field_{f.code}_points"].astype(float).to_numpy()
    dl.add("fig-fields", "diem_theo_linh_vuc", d)
    if all(f"{s}_points" in results.columns for s in ("appraisal", "officials_survey", "satisfaction_survey")):
        chart("fig-sources", F.fig_sources(results, meth))
        d = pd.DataFrame({"Hạng": r["rank"].astype(int).to_numpy(), "Mã xã": r["commune_code"].astype(str).to_numpy(),
                          "Xã, thị trấn": r["commune_name"].map(text_cell).to_numpy()})
        for s in ("appraisal", "officials_survey", "satisfaction_survey"):
            d[meth.sources.get(s, s)] = r[f"{s}_points"].astype(float).to_numpy()
        dl.add("fig-sources", "diem_theo_nguon", d)
    if leaf_scores is not None:
        chart("fig-criteria", F.fig_criteria_heatmap(leaf_scores, meth, results))
        pct, pts, mx = F.criteria_matrix(leaf_scores, meth, results)
        crit = meth.criteria().set_index("code")
        long = pd.DataFrame({
            "Mã xã": np.repeat(pct.index.astype(str), pct.shape[1]),
            "Mã tiêu chí": np.tile(pct.columns.astype(str), pct.shape[0]),
            "Điểm đạt": pts.to_numpy(dtype=float).reshape(-1), "Điểm tối đa áp dụng": mx.to_numpy(dtype=float).reshape(-1),
            "Tỷ lệ đạt (%)": pct.to_numpy(dtype=float).reshape(-1)})
        names = _names(results)
        long.insert(1, "Xã, thị trấn", long["Mã xã"].map(names))
        long.insert(3, "Tiêu chí", long["Mã tiêu chí"].map(crit["label"]))
        long.insert(3, "Lĩnh vực", long["Mã tiêu chí"].map(crit["field_code"]))
        dl.add("fig-criteria", "ty_le_dat_theo_tieu_chi", long)
    section("fields", "Điểm theo lĩnh vực và tiêu chí")
    profiles = None
    if leaf_scores is not None:
        prev = _present(tables, "previous_results") if yoy is not None else None
        rows = P.profile_data(tables, results, meth, year=context.year, district=context.district,
                              province=context.province, marks=marks, previous=prev,
                              previous_year=yoy["previous_year"] if yoy else None)
        dl.add("profiles", "ho_so_linh_vuc", P.profile_csv(rows))
        profiles = dict(options=[(p["code"], f"{p['rank']}. {p['name']}") for p in rows], rows=rows)
        section("profiles", "Hồ sơ từng xã, thị trấn")
    appraisal = None
    if leaf_scores is not None or changes is not None:
        if leaf_scores is not None:
            figs["fig-appraisal"] = figure_json(F.fig_self_vs_appraised(leaf_scores, results))
            g = r[["commune_code", "commune_name"]].assign(commune_code=r["commune_code"].astype(str)).merge(
                F.self_vs_appraised(leaf_scores).assign(commune_code=lambda x: x["commune_code"].astype(str)),
                on="commune_code", how="left")
            dl.add("fig-appraisal", "tu_cham_va_tham_dinh", g.rename(columns={
                "commune_code": "Mã xã", "commune_name": "Xã, thị trấn", "self_points": "Tổng điểm tự chấm",
                "appraised_points": "Tổng điểm thẩm định", "max_points": "Điểm tối đa", "change": "Chênh lệch"}))
        if changes is not None:
            appraisal = _appraisal_tables(changes, results)
            names = _names(results)
            dl.add("appraisal-table", "dieu_chinh_khi_tham_dinh", pd.DataFrame({
                "Mã xã": changes["commune_code"].astype(str), "Xã, thị trấn": changes["commune_code"].astype(str).map(names),
                "Mã tiêu chí": changes["code"], "Tiêu chí": changes["label"], "Điểm tự chấm": changes["self_points"],
                "Điểm thẩm định": changes["appraised_points"], "Chênh lệch": changes["change"],
                "Điều chỉnh": changes["kind"].map(KIND_LABELS).fillna(""), "Lý do thẩm định": changes["reason"],
                "Cảnh báo": changes["flag"]}))
        section("appraisal", "Tự đánh giá và thẩm định")
    rounds = rounds_section(tables, results)
    if rounds is not None:
        section("rounds", "Giải trình và thẩm định lại")
    count = ballot_count(tables, results)
    surveys = _surveys(tables, results, meth, figs, count, dl)
    if surveys is not None:
        section("surveys", "Điều tra xã hội học và khảo sát sự hài lòng")
    robustness = _robustness(tables, results, meth, context, figs, dl)
    if robustness is not None:
        section("robustness", "Độ vững của xếp hạng")
    if yoy is not None:
        chart("fig-yoy", yoy.pop("fig"))
    trend = _trend(context, results, meth, figs, dl)
    if yoy is not None:
        yoy["trend"] = trend
        section("yoy", f"So sánh với năm {yoy['previous_year']}")
    elif trend is not None:
        section("yoy", "Kết quả qua các năm")
    table = _results_table(results, meth)
    from .export import results_frame
    rf = results_frame(results, meth)
    dl.add("results-table", "ket_qua", rf.rename(columns=RESULT_HEADERS(meth)))
    section("results", "Bảng kết quả")
    method = _methodology(meth, context)
    dl.add("method-tree", "he_thong_tieu_chi", pd.DataFrame({
        "Mã": [t["code"] for t in method["tree"]], "Lĩnh vực, tiêu chí, tiêu chí thành phần": [t["label"] for t in method["tree"]],
        "Điểm tối đa": [t["points"] for t in method["tree"]], "Nguồn đánh giá": [t["source"] for t in method["tree"]],
        "Mức điểm": [t["steps"] for t in method["tree"]]}))
    if method["params"]:
        dl.add("method-params", "tham_so", pd.DataFrame({"Tham số": [p["label"] for p in method["params"]],
                                                          "Giá trị": [p["value"] for p in method["params"]]}))
    section("methodology", "Phương pháp tính", appendix=True)
    quality = _quality(tables, results, meth, count)
    decisions = _decisions(tables, results, meth)
    if quality is None and decisions is not None:
        quality = dict(rejections=None, ballots=None, missing=None, off_step=None, conversions=None, privacy=None)
    if quality is not None:
        section("quality", "Chất lượng dữ liệu", appendix=True)
        _quality_downloads(quality, tables, dl)
    summary = _summary(results, meth, missing, context, _present(tables, "missing_surveys"))
    summary["notes"] += _decision_notes(decisions)
    if yoy_note:
        summary["notes"].append(yoy_note)
    summary["movers"] = _movers(moves)
    summary["previous_year"] = yoy["previous_year"] if yoy else None
    summary["baseline"] = yoy["baseline"] if yoy else None
    if yoy and yoy["baseline"] and yoy["baseline"]["warning"]:
        summary["notes"].append(yoy["baseline"]["warning"])
    summary["reliability"] = RF.reliability_notes(marks, results, meth, _outrank(tables))
    summary["ballots"] = count["text"] if count else ""
    summary["near"] = F._pts(context.report.near_threshold)
    summary["prob_min"] = pct_text(100.0 * context.report.band_prob_min, 0)
    return dict(results=results, figs=figs, sections=sections, summary=summary, table=table, appraisal=appraisal,
                profiles=profiles, surveys=surveys, robustness=robustness, yoy=yoy, trend=trend, method=method,
                quality=quality, downloads=dl, marks=marks, rounds=rounds, decisions=decisions, charts=charts)


def _quality_downloads(q: dict, tables: dict, dl: Downloads) -> None:
    if q["missing"]:
        dl.add("quality-missing", "tieu_chi_thieu_du_lieu", pd.DataFrame(q["missing"]).rename(columns={
            "code": "Mã xã", "name": "Xã, thị trấn", "leaf": "Mã tiêu chí", "label": "Tiêu chí"}))
    if q["off_step"]:
        dl.add("off-step", "diem_khong_theo_muc", pd.DataFrame(q["off_step"]["rows"]).rename(columns={
            "code": "Mã xã", "name": "Xã, thị trấn", "leaf": "Mã tiêu chí", "label": "Tiêu chí", "which": "Loại điểm",
            "value": "Điểm", "steps": "Các mức hợp lệ"}))
    if q["ballots"]:
        b = q["ballots"]
        d = pd.DataFrame({"Mã xã": [r["code"] for r in b["rows"]], "Xã, thị trấn": [r["name"] for r in b["rows"]],
                          "Phiếu nhận": [r["received"] for r in b["rows"]], "Hợp lệ": [r["valid"] for r in b["rows"]],
                          "Bị loại": [r["excluded"] for r in b["rows"]]})
        for i, rule in enumerate(b["rules"]):
            d[rule["label"]] = [r["counts"][i] for r in b["rows"]]
        dl.add("quality-ballots", "phieu_bi_loai", d)
    rej = _present(tables, "rejections")
    if rej is not None:
        dl.add("quality-rejections", "dong_bi_loai", pd.DataFrame({
            "Tệp": rej["file"].map(text_cell), "Trang tính": rej["sheet"].map(text_cell), "Dòng": rej["row"],
            "Lý do loại": rej["rule"].map(rule_label), "Chi tiết": rej["detail"].map(detail_vi)}))


def RESULT_HEADERS(meth: Methodology) -> dict[str, str]:
    """Vietnamese headers of the results table's CSV (the English ones stay in results.csv)."""
    h = {"commune_code": "Mã xã", "commune_name": "Tên xã, thị trấn", "points": "Điểm đạt", "max_points": "Điểm tối đa",
         "index_pct": "Chỉ số CCHC (%)", "rank": "Hạng", "band": "Mã xếp loại", "band_label": "Ngưỡng xếp loại",
         "band_name": "Xếp loại",
         "appraisal_points": "Điểm thẩm định", "officials_survey_points": "Điểm điều tra xã hội học",
         "satisfaction_survey_points": "Điểm khảo sát sự hài lòng", "bonus": meth.adjustments.bonus.label,
         "deduction": meth.adjustments.deduction.label, "sat_index_pct": "Chỉ số hài lòng (%)",
         "sat_ci_low": "Hài lòng: cận dưới 95 %", "sat_ci_high": "Hài lòng: cận trên 95 %",
         "officials_points": "Điểm điều tra cán bộ", "officials_ci_low": "Điều tra cán bộ: cận dưới 95 %",
         "officials_ci_high": "Điều tra cán bộ: cận trên 95 %", "ballots_received": "Phiếu nhận",
         "ballots_valid": "Phiếu hợp lệ", "ballots_excluded": "Phiếu bị loại"}
    for f in meth.fields:
        h[f"field_{f.code}_points"] = f"LV{f.code}. {f.label}"
    return h


def render_report(tables: dict[str, pd.DataFrame], meth: Methodology, context: ReportContext,
                  parts: dict | None = None) -> str:
    """Render the Vietnamese offline report as one HTML string (same inputs → same bytes)."""
    p = parts if parts is not None else report_parts(tables, meth, context)
    figs = p["figs"]
    fig_blob = "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in figs.items()) + "}"
    env = template_env()
    html = env.get_template("report.html.j2").render(
        ctx=context, meth=meth, version=__version__,
        title=f"Chỉ số cải cách hành chính năm {context.year} của UBND các xã, thị trấn",
        sections=p["sections"], secmap={s["key"]: s for s in p["sections"]},
        summary=p["summary"], table=p["table"], appraisal=p["appraisal"],
        sat_positive=", ".join(str(a) for a in meth.satisfaction_survey.positive_answers),
        has_sources="fig-sources" in figs, has_criteria="fig-criteria" in figs, profiles=p["profiles"],
        surveys=p["surveys"], robustness=p["robustness"], yoy=p["yoy"], trend=p["trend"], rounds=p["rounds"],
        method=p["method"], quality=p["quality"], decisions=p["decisions"], downloads=set(p["downloads"].files),
        csv_data=p["downloads"].blob(), figures=Markup(script_json(fig_blob)),
        source=source_line(context), **page_scripts(),
    )
    return nfc(html)


def source_line(context: ReportContext) -> str:
    """The source line of every chart image and profile."""
    return (f"Nguồn: {context.district}, {context.province} — kết quả xác định Chỉ số CCHC năm {context.year} "
            "của UBND các xã, thị trấn.")
