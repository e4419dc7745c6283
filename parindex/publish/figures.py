"""Plotly figures of the report: one function per chart, each returning a ``go.Figure``.

The figures are usable in a notebook as they are, and :mod:`parindex.report` serialises them into the
offline HTML page. Every text that comes from input data (commune names, labels, reasons) is passed
through :func:`esc` before it reaches plotly, because plotly interprets a subset of HTML in strings.
Numbers shown in labels are formatted the Vietnamese way (``89,77 %``) and the layout uses
``separators=",."`` so that axis ticks and hover numbers follow the same convention.
"""

from __future__ import annotations

import html
import textwrap

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..methodology import Methodology
from ..text import fmt_num, fmt_pct
from .labels import SOURCE_LABELS

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
FIELD_COLORS = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756", "#72B7B2", "#9D755D", "#EECA3B",
                "#FF9DA6", "#BAB0AC"]
SELF_COLOR = "#9ecae1"
APPRAISED_COLOR = "#08519c"
MEAN_COLOR = "#555555"


def esc(s: object) -> str:
    """Escape a text for plotly (which renders <b>, <br>, <a …> and friends in strings)."""
    return html.escape("" if s is None else str(s), quote=False)


def _esc_all(values) -> list[str]:
    return [esc(v) for v in values]


def wrap_label(s: object, width: int = 16) -> str:
    """Escape a label and break it into lines of about ``width`` characters with <br>."""
    lines = textwrap.wrap("" if s is None else str(s), width=width) or [""]
    return "<br>".join(esc(x) for x in lines)


def base_layout(**kw) -> dict:
    """Common layout: Vietnamese number separators, system fonts (no web fonts), white template."""
    layout = dict(
        template="plotly_white",
        separators=",.",
        font=dict(family=FONT, size=13, color="#222"),
        margin=dict(l=10, r=20, t=40, b=40),
        hoverlabel=dict(font=dict(family=FONT)),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0),
    )
    layout.update(kw)
    return layout


def commune_labels(results: pd.DataFrame) -> pd.Series:
    """Escaped display label per commune (the name; the code is appended when names repeat), broken
    into lines of about 24 characters so that an unusually long name cannot squeeze the plot."""
    names = results["commune_name"].astype(str)
    dup = names.duplicated(keep=False)
    labels = names.where(~dup, names + " (" + results["commune_code"].astype(str) + ")")
    return pd.Series([wrap_label(x, 24) for x in labels], index=results.index)


def _ranked(results: pd.DataFrame) -> pd.DataFrame:
    return results.sort_values(["rank", "commune_code"]).reset_index(drop=True)


def _bar_height(n: int, per: int = 30, extra: int = 150) -> int:
    return int(max(320, n * per + extra))


def _field_codes(meth: Methodology) -> list[str]:
    return [f.code for f in meth.fields]


# ------------------------------------------------------------------------------------------------
def ranking_breakdown(results: pd.DataFrame, meth: Methodology) -> list[str]:
    """Hover text per commune (rows of ``results`` in order): points by field and by source, plus bonus
    and deduction when not zero; every line starts with <br> (plotly markup; labels escaped)."""
    parts = []
    fields = [f for f in meth.fields if f"field_{f.code}_points" in results.columns]
    if fields:
        parts.append(pd.Series("<br><i>Theo lĩnh vực</i>", index=results.index))
        for f in fields:
            v = results[f"field_{f.code}_points"].map(lambda x: fmt_num(x))
            parts.append(f"<br>LV{esc(f.code)}: " + v + f" / {fmt_num(f.points)}")
    mx = meth.leaves().groupby("source")["points"].sum()
    srcs = [s for s in ("appraisal", "officials_survey", "satisfaction_survey") if f"{s}_points" in results.columns]
    if srcs:
        parts.append(pd.Series("<br><i>Theo nguồn</i>", index=results.index))
        for s in srcs:
            v = results[f"{s}_points"].map(lambda x: fmt_num(x))
            parts.append(f"<br>{esc(SOURCE_LABELS[s])}: " + v + f" / {fmt_num(float(mx.get(s, 0.0)))}")
    for c, lab, sign in (("bonus", meth.adjustments.bonus.label, "+"), ("deduction", meth.adjustments.deduction.label, "−")):
        if c in results.columns:
            v = results[c].astype(float)
            parts.append(pd.Series(np.where(v != 0, f"<br>{esc(lab)}: {sign}" + v.map(lambda x: fmt_num(x)), ""),
                                   index=results.index))
    if not parts:
        return [""] * len(results)
    out = parts[0].astype(str)
    for p in parts[1:]:
        out = out + p.astype(str)
    return out.tolist()


def fig_ranking(results: pd.DataFrame, meth: Methodology) -> go.Figure:
    """Index % per commune as horizontal bars, ordered by rank (1 on top), coloured by band."""
    r = _ranked(results)
    labels = commune_labels(r)
    bands = {b.code: b for b in meth.bands}
    breakdown = np.array(ranking_breakdown(r, meth), dtype=object)
    fig = go.Figure()
    for b in meth.bands:  # one trace per band → a legend of the bands, in methodology order
        m = (r["band"] == b.code).to_numpy()
        if not m.any():
            continue
        sub = r[m]
        custom = np.column_stack([
            sub["rank"].astype(str),
            [fmt_num(v) for v in sub["points"]],
            [fmt_num(v) for v in sub["max_points"]],
            [fmt_pct(v) for v in sub["index_pct"]],
            [esc(b.label)] * len(sub),
            breakdown[m],
        ])
        fig.add_trace(go.Bar(
            y=labels[m].tolist(), x=sub["index_pct"].round(4).tolist(), orientation="h",
            name=esc(f"{b.label}"), marker=dict(color=b.color),
            text=[fmt_pct(v) for v in sub["index_pct"]], textposition="inside", insidetextanchor="end",
            textfont=dict(color="white"), customdata=custom,
            hovertemplate=("<b>%{y}</b><br>Hạng: %{customdata[0]}<br>Điểm: %{customdata[1]} / %{customdata[2]}"
                           "<br>Chỉ số: %{customdata[3]}<br>Xếp loại: %{customdata[4]}%{customdata[5]}<extra></extra>"),
        ))
    mean = float(r["index_pct"].mean())
    shapes = [dict(type="line", xref="x", yref="paper", x0=mean, x1=mean, y0=0, y1=1,
                   line=dict(color=MEAN_COLOR, dash="dash", width=1.5))]
    # legend-only entry for the dashed district-mean line
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=esc(f"Bình quân huyện {fmt_pct(mean)}"),
                             line=dict(color=MEAN_COLOR, dash="dash", width=1.5), hoverinfo="skip"))
    for b in meth.bands:
        if 0 < b.min_pct < 100:
            shapes.append(dict(type="line", xref="x", yref="paper", x0=b.min_pct, x1=b.min_pct, y0=0, y1=1,
                               line=dict(color=bands[b.code].color, dash="dot", width=1)))
    fig.update_layout(**base_layout(
        height=_bar_height(len(r)), shapes=shapes, bargap=0.25,
        xaxis=dict(title=dict(text="Chỉ số CCHC (%)"), range=[0, 100.5], ticksuffix=" %", dtick=10),
        yaxis=dict(categoryorder="array", categoryarray=labels.tolist(), autorange="reversed", automargin=True),
    ))
    return fig


def fig_fields(results: pd.DataFrame, meth: Methodology) -> go.Figure:
    """Points per field, stacked per commune (ordered by rank), one colour per field."""
    r = _ranked(results)
    labels = commune_labels(r).tolist()
    fig = go.Figure()
    for i, f in enumerate(meth.fields):
        col = f"field_{f.code}_points"
        if col not in r.columns:
            continue
        vals = r[col].astype(float)
        fig.add_trace(go.Bar(
            y=labels, x=vals.round(4).tolist(), orientation="h", name=wrap_label(f"{f.code}. {f.label}", 48),
            marker=dict(color=FIELD_COLORS[i % len(FIELD_COLORS)]),
            customdata=np.column_stack([[fmt_num(v) for v in vals], [fmt_num(f.points)] * len(r)]),
            hovertemplate=(f"<b>%{{y}}</b><br>{esc(f.code + '. ' + f.label)}<br>"
                           "Điểm: %{customdata[0]} / %{customdata[1]}<extra></extra>"),
        ))
    fig.update_layout(**base_layout(
        barmode="stack", height=_bar_height(len(r), extra=260),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0, font=dict(size=11),
                    traceorder="normal", entrywidth=0.5, entrywidthmode="fraction"),
        xaxis=dict(title=dict(text="Điểm đạt được"), range=[0, float(meth.scale) * 1.02]),
        yaxis=dict(categoryorder="array", categoryarray=labels, autorange="reversed", automargin=True),
    ))
    return fig


def self_vs_appraised(leaf_scores: pd.DataFrame) -> pd.DataFrame:
    """Self-assessed and appraised points per commune over the appraised (applicable) leaves."""
    a = leaf_scores[(leaf_scores["source"] == "appraisal") & leaf_scores["applicable"].astype(bool)]
    g = a.groupby("commune_code").agg(self_points=("self_points", "sum"), appraised_points=("points", "sum"),
                                      max_points=("max_points", "sum"))
    g["change"] = g["appraised_points"] - g["self_points"]
    return g.reset_index()


def fig_self_vs_appraised(leaf_scores: pd.DataFrame, results: pd.DataFrame) -> go.Figure:
    """Self-assessed vs appraised points (appraisal criteria only) per commune, ordered by rank."""
    r = _ranked(results)
    labels = commune_labels(r).tolist()
    g = r[["commune_code"]].merge(self_vs_appraised(leaf_scores), on="commune_code", how="left").fillna(0.0)
    custom = np.column_stack([[fmt_num(v) for v in g["self_points"]], [fmt_num(v) for v in g["appraised_points"]],
                              [fmt_num(v) for v in g["change"]], [fmt_num(v) for v in g["max_points"]]])
    hover = ("<b>%{y}</b><br>Tự chấm: %{customdata[0]} / %{customdata[3]}<br>Thẩm định: %{customdata[1]}"
             "<br>Chênh lệch: %{customdata[2]}<extra></extra>")
    fig = go.Figure([
        go.Bar(y=labels, x=g["self_points"].round(4).tolist(), orientation="h", name="Tự đánh giá (tự chấm)",
               marker=dict(color=SELF_COLOR), customdata=custom, hovertemplate=hover),
        go.Bar(y=labels, x=g["appraised_points"].round(4).tolist(), orientation="h", name="Sau thẩm định",
               marker=dict(color=APPRAISED_COLOR), customdata=custom, hovertemplate=hover,
               text=[fmt_num(v) if v else "" for v in g["change"]], textposition="outside",
               textfont=dict(size=11, color="#b03a2e")),
    ])
    hi = float(max(g["self_points"].max(), g["appraised_points"].max(), 1.0))
    fig.update_layout(**base_layout(
        barmode="group", height=_bar_height(len(r), per=40), bargap=0.2, bargroupgap=0.05,
        xaxis=dict(title=dict(text="Điểm các tiêu chí thẩm định"), range=[0, hi * 1.1]),
        yaxis=dict(categoryorder="array", categoryarray=labels, autorange="reversed", automargin=True),
    ))
    return fig


def satisfaction_matrix(satisfaction_factors: pd.DataFrame, meth: Methodology, results: pd.DataFrame
                        ) -> pd.DataFrame:
    """Factor index (%) per commune (rows, rank order) × factor (columns) plus the SIPAS mean column."""
    r = _ranked(results)
    codes = [f.code for f in meth.satisfaction_survey.factors]
    m = satisfaction_factors.pivot_table(index="commune_code", columns="factor", values="index", aggfunc="first")
    m = m.reindex(index=r["commune_code"], columns=codes) * 100.0
    m["SIPAS"] = m[codes].mean(axis=1)
    return m


def fig_satisfaction(satisfaction_factors: pd.DataFrame, meth: Methodology, results: pd.DataFrame) -> go.Figure:
    """Heatmap of satisfaction by factor (share of answers 4–5, %) per commune, plus the SIPAS mean."""
    r = _ranked(results)
    m = satisfaction_matrix(satisfaction_factors, meth, results)
    n = satisfaction_factors.pivot_table(index="commune_code", columns="factor", values="n_answers",
                                         aggfunc="first").reindex(index=r["commune_code"], columns=m.columns[:-1])
    cols = [wrap_label(f.label, 14) for f in meth.satisfaction_survey.factors] + ["Chung<br>(SIPAS)"]
    labels = commune_labels(r).tolist()
    z = m.to_numpy(dtype=float)
    text = [[fmt_pct(v, 1) if np.isfinite(v) else "–" for v in row] for row in z]
    nn = n.to_numpy(dtype=float)
    ntext = [[(f"{int(v)} câu trả lời hợp lệ" if np.isfinite(v) else "không có câu trả lời") for v in row]
             + ["trung bình các yếu tố"] for row in nn]
    zmin = float(np.nanmin(z)) if np.isfinite(z).any() else 0.0
    zmin = min(50.0, np.floor(zmin / 10.0) * 10.0)
    fig = go.Figure(go.Heatmap(
        z=np.round(z, 4).tolist(), x=cols, y=labels, text=text, texttemplate="%{text}",
        customdata=ntext, colorscale="RdYlGn", zmin=zmin, zmax=100, xgap=2, ygap=2,
        colorbar=dict(title=dict(text="%"), ticksuffix=" %", thickness=12),
        hovertemplate="<b>%{y}</b><br>%{x}: %{text}<br>%{customdata}<extra></extra>",
    ))
    fig.update_layout(**base_layout(
        height=_bar_height(len(r), per=30, extra=170),
        xaxis=dict(side="top", tickangle=0, automargin=True),
        yaxis=dict(autorange="reversed", automargin=True),
        margin=dict(l=10, r=10, t=60, b=20),
    ))
    return fig


def field_shares(leaf_scores: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per commune × field: points, applicable maximum and share (%) of the maximum achieved."""
    g = leaf_scores.groupby(["commune_code", "field_code"], as_index=False).agg(
        points=("points", "sum"), max_points=("max_points", "sum"))
    g["pct"] = np.where(g["max_points"] > 0, g["points"] / g["max_points"].where(g["max_points"] > 0) * 100.0,
                        np.nan)
    order = {c: i for i, c in enumerate(_field_codes(meth))}
    return g.assign(_o=g["field_code"].map(order)).sort_values(["commune_code", "_o"]).drop(columns="_o")


def fig_commune(results: pd.DataFrame, leaf_scores: pd.DataFrame, meth: Methodology, commune_code: str
                ) -> go.Figure:
    """Scorecard chart: share of each field's maximum achieved by one commune vs the district mean."""
    shares = field_shares(leaf_scores, meth)
    codes = _field_codes(meth)
    mean = shares.groupby("field_code")["pct"].mean().reindex(codes)
    one = shares[shares["commune_code"] == commune_code].set_index("field_code").reindex(codes)
    name = results.loc[results["commune_code"] == commune_code, "commune_name"]
    name = esc(name.iloc[0]) if len(name) else esc(commune_code)
    x = [f"LV {c}" for c in codes]
    full = [esc(f"{f.code}. {f.label}") for f in meth.fields]
    fig = go.Figure([
        go.Bar(x=x, y=one["pct"].round(4).tolist(), name=name, marker=dict(color=APPRAISED_COLOR),
               text=[fmt_pct(v, 1) for v in one["pct"]], textposition="outside",
               customdata=np.column_stack([full, [fmt_num(v) for v in one["points"]],
                                           [fmt_num(v) for v in one["max_points"]]]),
               hovertemplate="%{customdata[0]}<br>Đạt %{customdata[1]} / %{customdata[2]} điểm (%{text})"
                             "<extra></extra>"),
        go.Bar(x=x, y=mean.round(4).tolist(), name="Bình quân huyện", marker=dict(color="#bdbdbd"),
               text=[fmt_pct(v, 1) for v in mean], textposition="outside", customdata=full,
               hovertemplate="%{customdata}<br>Bình quân huyện: %{text}<extra></extra>"),
    ])
    fig.update_layout(**base_layout(
        barmode="group", height=380, bargap=0.25,
        yaxis=dict(title=dict(text="% điểm tối đa của lĩnh vực"), range=[0, 112], ticksuffix=" %", dtick=20),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        margin=dict(l=10, r=10, t=40, b=40),
    ))
    return fig


def fig_sources(results: pd.DataFrame, meth: Methodology) -> go.Figure:
    """Points per source (appraisal, officials' survey, SIPAS), stacked per commune, ordered by rank."""
    r = _ranked(results)
    labels = commune_labels(r).tolist()
    lv = meth.leaves()
    mx = lv.groupby("source")["points"].sum()
    colors = {"appraisal": "#3b6ea5", "officials_survey": "#e08b2c", "satisfaction_survey": "#3c9a5f"}
    fig = go.Figure()
    for s in ("appraisal", "officials_survey", "satisfaction_survey"):
        col = f"{s}_points"
        if col not in r.columns:
            continue
        label = esc(meth.sources.get(s, SOURCE_LABELS[s]))
        fig.add_trace(go.Bar(
            y=labels, x=r[col].round(4).tolist(), orientation="h", name=label, marker=dict(color=colors[s]),
            customdata=np.column_stack([[fmt_num(v) for v in r[col]], [fmt_num(mx.get(s, 0.0))] * len(r)]),
            hovertemplate=f"<b>%{{y}}</b><br>{label}: %{{customdata[0]}} / %{{customdata[1]}}<extra></extra>"))
    fig.update_layout(**base_layout(
        barmode="stack", height=_bar_height(len(r)),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0, traceorder="normal"),
        xaxis=dict(title=dict(text="Điểm đạt được"), range=[0, float(meth.scale) * 1.02]),
        yaxis=dict(categoryorder="array", categoryarray=labels, autorange="reversed", automargin=True),
    ))
    return fig


# ------------------------------------------------------------------------------------------------
# Criteria heatmap
# ------------------------------------------------------------------------------------------------
def criteria_matrix(leaf_scores: pd.DataFrame, meth: Methodology, results: pd.DataFrame
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per commune (rows, rank order) × criterion (first level below a field, methodology order):
    (share of the applicable maximum achieved in %, points, applicable maximum). A criterion with no
    applicable maximum at a commune (not applicable) is NaN in the share."""
    r = _ranked(results)
    crit = meth.criteria()
    leaf_to_crit = meth.leaves().set_index("code")["criterion_code"]
    ls = leaf_scores.assign(criterion=leaf_scores["code"].map(leaf_to_crit))
    ls = ls[ls["criterion"].notna()]
    g = ls.groupby(["commune_code", "criterion"]).agg(points=("points", "sum"), max_points=("max_points", "sum"))
    pts = g["points"].unstack().reindex(index=r["commune_code"], columns=crit["code"])
    mx = g["max_points"].unstack().reindex(index=r["commune_code"], columns=crit["code"])
    pct = pts / mx.where(mx > 0) * 100.0
    return pct, pts, mx


def fig_criteria_heatmap(leaf_scores: pd.DataFrame, meth: Methodology, results: pd.DataFrame) -> go.Figure:
    """Heatmap commune × criterion: points achieved as % of the criterion's applicable maximum."""
    r = _ranked(results)
    pct, pts, mx = criteria_matrix(leaf_scores, meth, results)
    crit = meth.criteria()
    labels = commune_labels(r).tolist()
    x = [esc(c) for c in crit["code"]]
    z = pct.to_numpy(dtype=float)
    p, m = pts.to_numpy(dtype=float), mx.to_numpy(dtype=float)
    full = [esc(f"{c}. {lab}") for c, lab in zip(crit["code"], crit["label"])]
    # whole percent, halves rounded up (62.5 → 63; str.format would round half to even)
    text = [[fmt_num(np.floor(v + 0.5), 0) if np.isfinite(v) else "–" for v in row] for row in z]
    custom = [[[full[j], (f"{fmt_num(p[i, j])} / {fmt_num(m[i, j])} điểm ({fmt_pct(z[i, j], 1)})"
                          if np.isfinite(z[i, j]) else "không áp dụng")] for j in range(z.shape[1])]
              for i in range(z.shape[0])]
    fig = go.Figure(go.Heatmap(
        z=[[None if not np.isfinite(v) else round(float(v), 4) for v in row] for row in z],
        x=x, y=labels, text=text, texttemplate="%{text}", textfont=dict(size=9), customdata=custom,
        colorscale="RdYlGn", zmin=0, zmax=100, xgap=1, ygap=1,
        colorbar=dict(title=dict(text="% tối đa"), ticksuffix=" %", thickness=12),
        hovertemplate="<b>%{y}</b><br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>"))
    fig.update_layout(**base_layout(
        height=_bar_height(len(r), per=26, extra=150),
        xaxis=dict(side="top", tickangle=-90, type="category", tickfont=dict(size=10), automargin=True),
        yaxis=dict(autorange="reversed", automargin=True),
        margin=dict(l=10, r=10, t=60, b=20),
    ))
    return fig


# ------------------------------------------------------------------------------------------------
# Surveys
# ------------------------------------------------------------------------------------------------
def _interval_fig(r: pd.DataFrame, point: str, lo: str, hi: str, name: str, xtitle: str, color: str,
                  fmt, xrange=None) -> go.Figure:
    labels = commune_labels(r).tolist()
    v = r[point].astype(float)
    a, b = r[lo].astype(float), r[hi].astype(float)
    custom = np.column_stack([[fmt(x) for x in v], [fmt(x) for x in a], [fmt(x) for x in b]])
    fig = go.Figure(go.Scatter(
        x=v.round(4).tolist(), y=labels, mode="markers", name=esc(name), marker=dict(size=9, color=color),
        error_x=dict(type="data", symmetric=False, array=(b - v).clip(lower=0).round(4).tolist(),
                     arrayminus=(v - a).clip(lower=0).round(4).tolist(), thickness=2, width=4, color=color),
        customdata=custom,
        hovertemplate=("<b>%{y}</b><br>" + esc(name) + ": %{customdata[0]}<br>Khoảng tin cậy 95 %: "
                       "%{customdata[1]} – %{customdata[2]}<extra></extra>")))
    mean = float(v.mean())
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=esc(f"Bình quân huyện {fmt(mean)}"),
                             line=dict(color=MEAN_COLOR, dash="dash", width=1.5), hoverinfo="skip"))
    fig.update_layout(**base_layout(
        height=_bar_height(len(r), per=28), showlegend=True,
        shapes=[dict(type="line", xref="x", yref="paper", x0=mean, x1=mean, y0=0, y1=1,
                     line=dict(color=MEAN_COLOR, dash="dash", width=1.5))],
        xaxis=dict(title=dict(text=xtitle), range=xrange),
        yaxis=dict(categoryorder="array", categoryarray=labels, autorange="reversed", automargin=True),
    ))
    return fig


def fig_satisfaction_intervals(results: pd.DataFrame) -> go.Figure:
    """Satisfaction index (%) per commune with its 95 % bootstrap interval, rank order."""
    r = _ranked(results)
    lo = float(np.nanmin(r["sat_ci_low"].astype(float))) if r["sat_ci_low"].notna().any() else 0.0
    fig = _interval_fig(r, "sat_index_pct", "sat_ci_low", "sat_ci_high", "Chỉ số hài lòng",
                        "Chỉ số hài lòng (%), khoảng tin cậy 95 %", "#3c9a5f", lambda x: fmt_pct(x, 1),
                        [max(0.0, np.floor(lo / 5.0) * 5.0 - 5.0), 100.5])
    fig.update_xaxes(ticksuffix=" %")
    return fig


def fig_officials_intervals(results: pd.DataFrame, meth: Methodology) -> go.Figure:
    """Officials' survey points per commune with its 95 % bootstrap interval, rank order."""
    r = _ranked(results)
    mx = float(meth.leaves().query("source == 'officials_survey'")["points"].sum())
    return _interval_fig(r, "officials_points", "officials_ci_low", "officials_ci_high",
                         "Điểm điều tra cán bộ, đại biểu",
                         f"Điểm điều tra xã hội học (tối đa {fmt_num(mx).rstrip('0').rstrip(',')}), "
                         "khoảng tin cậy 95 %", "#e08b2c", lambda x: fmt_num(x), [0, mx * 1.02])


SAT_ANSWER_COLORS = ["#b2182b", "#ef8a62", "#e0e0e0", "#67a9cf", "#2166ac"]
OFFICIALS_ANSWER_COLORS = {"A": "#1a9850", "B": "#a6d96a", "C": "#fdae61", "D": "#d73027", "": "#bdbdbd"}


def satisfaction_answer_shares(satisfaction: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per factor (methodology order): share (%) of each answer on the scale among the valid answers of
    all valid ballots (unweighted counts), plus n_valid and n_blank. Columns: factor, label, <1..5>,
    n_valid, n_blank."""
    sv = meth.satisfaction_survey
    scale = list(range(sv.scale.min, sv.scale.max + 1))
    q = meth.satisfaction_questions()[["question", "factor"]]
    s = satisfaction.merge(q, on="question", how="inner")
    blank = s["answer"].isna()
    cnt = (s[~blank].assign(a=s.loc[~blank, "answer"].astype(int)).groupby(["factor", "a"]).size()
           .unstack(fill_value=0).reindex(columns=scale, fill_value=0))
    codes = [f.code for f in sv.factors]
    cnt = cnt.reindex(index=codes, fill_value=0)
    n = cnt.sum(axis=1)
    out = cnt.div(n.where(n > 0), axis=0) * 100.0
    out.columns = [str(c) for c in scale]
    out["n_valid"] = n.astype(int)
    out["n_blank"] = blank.groupby(s["factor"]).sum().reindex(codes, fill_value=0).astype(int)
    out.insert(0, "label", [f.label for f in sv.factors])
    return out.rename_axis("factor").reset_index()


def officials_answer_shares(officials: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per officials'-survey question (methodology order): share (%) of answers A, B, C, D and blank
    ("không biết / không trả lời") among all answers. Columns: question, label, A, B, C, D, blank, n."""
    lv = meth.leaves()
    lv = lv[lv["source"] == "officials_survey"]
    cats = list(meth.officials_survey.answer_weights)
    a = officials["answer"].fillna("").astype(str).str.strip()
    a = a.where(a.isin(cats), "")
    cnt = (pd.crosstab(officials["question"], a).reindex(index=lv["code"], columns=cats + [""], fill_value=0)
           .fillna(0))
    n = cnt.sum(axis=1)
    out = cnt.div(n.where(n > 0), axis=0) * 100.0
    out.columns = cats + ["blank"]
    out["n"] = n.astype(int)
    out.insert(0, "label", lv["label"].to_numpy())
    return out.rename_axis("question").reset_index()


def _share_bars(y: list[str], shares: pd.DataFrame, cats: list[tuple[str, str, str]], hover_y: list[str],
                counts: list[str]) -> go.Figure:
    fig = go.Figure()
    for col, name, color in cats:
        v = shares[col].astype(float)
        fig.add_trace(go.Bar(
            y=y, x=v.round(4).tolist(), orientation="h", name=esc(name), marker=dict(color=color),
            text=[fmt_pct(x, 0) if np.isfinite(x) and x >= 6 else "" for x in v], textposition="inside",
            insidetextanchor="middle", textfont=dict(size=11),
            customdata=np.column_stack([hover_y, [fmt_pct(x, 1) if np.isfinite(x) else "–" for x in v], counts]),
            hovertemplate=f"<b>%{{customdata[0]}}</b><br>{esc(name)}: %{{customdata[1]}}<br>%{{customdata[2]}}"
                          "<extra></extra>"))
    fig.update_layout(**base_layout(
        barmode="stack", height=_bar_height(len(y), per=30, extra=130), bargap=0.3,
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0, traceorder="normal"),
        xaxis=dict(range=[0, 100.5], ticksuffix=" %", title=dict(text="Tỷ lệ câu trả lời")),
        yaxis=dict(categoryorder="array", categoryarray=y, autorange="reversed", automargin=True),
    ))
    return fig


SAT_ANSWER_LABELS = {1: "Rất không hài lòng", 2: "Không hài lòng", 3: "Bình thường", 4: "Hài lòng",
                     5: "Rất hài lòng"}


def fig_satisfaction_answers(shares: pd.DataFrame, meth: Methodology) -> go.Figure:
    """Share of answers 1–5 per satisfaction factor (valid answers, stacked to 100 %)."""
    sv = meth.satisfaction_survey
    scale = list(range(sv.scale.min, sv.scale.max + 1))
    colors = SAT_ANSWER_COLORS if len(scale) == 5 else FIELD_COLORS
    cats = [(str(a), f"{a} – {SAT_ANSWER_LABELS[a]}" if len(scale) == 5 and a in SAT_ANSWER_LABELS else str(a),
             colors[i % len(colors)]) for i, a in enumerate(scale)]
    y = [wrap_label(lab, 22) for lab in shares["label"]]
    counts = [f"{int(n)} câu trả lời hợp lệ, {int(b)} câu bỏ trống" for n, b in zip(shares["n_valid"],
                                                                                  shares["n_blank"])]
    return _share_bars(y, shares, cats, [esc(x) for x in shares["label"]], counts)


def fig_officials_answers(shares: pd.DataFrame, meth: Methodology) -> go.Figure:
    """Share of answers A/B/C/D and blank per officials'-survey question (stacked to 100 %)."""
    os_ = meth.officials_survey
    cats = [(k, f"{k} – {os_.answer_labels.get(k, '')}".rstrip(" –"), OFFICIALS_ANSWER_COLORS.get(k, "#888"))
            for k in os_.answer_weights] + [("blank", "Không biết / không trả lời", OFFICIALS_ANSWER_COLORS[""])]
    y = [esc(q) for q in shares["question"]]
    full = [esc(f"{q}. {lab}") for q, lab in zip(shares["question"], shares["label"])]
    counts = [f"{int(n)} câu trả lời" for n in shares["n"]]
    return _share_bars(y, shares, cats, full, counts)


# ------------------------------------------------------------------------------------------------
# Year over year
# ------------------------------------------------------------------------------------------------
def year_over_year(results: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Moves since the earlier year, rank order of this year: commune_code, commune_name, rank_prev, rank,
    move (rank_prev − rank: positive = moved up), index_prev, index_pct, index_change (points of %)."""
    r = _ranked(results)[["commune_code", "commune_name", "rank", "index_pct"]]
    p = previous[["commune_code", "rank", "index_pct"]].rename(columns={"rank": "rank_prev",
                                                                        "index_pct": "index_prev"})
    p = p.assign(commune_code=p["commune_code"].astype(str))
    out = r.assign(commune_code=r["commune_code"].astype(str)).merge(p, on="commune_code", how="left")
    out["move"] = out["rank_prev"] - out["rank"]
    out["index_change"] = out["index_pct"] - out["index_prev"]
    return out[["commune_code", "commune_name", "rank_prev", "rank", "move", "index_prev", "index_pct",
                "index_change"]]


def fig_rank_slope(moves: pd.DataFrame, year: int, previous_year: int,
                   axis_labels: tuple[str, str] | None = None) -> go.Figure:
    """Slope chart of ranks: earlier year on the left, this year on the right, one line per commune
    (green = moved up, red = moved down, grey = same rank). ``axis_labels`` (left, right) replaces the
    two year labels, e.g. ("Lần chạy A", "Lần chạy B") when two runs are compared."""
    x0, x1 = axis_labels if axis_labels else (str(previous_year), str(year))
    x0, x1 = esc(x0), esc(x1)
    labels = commune_labels(moves.reset_index(drop=True)).tolist()
    fig = go.Figure()
    groups = (("up", "Tăng hạng", "#1a7f37"), ("down", "Giảm hạng", "#c0392b"), ("same", "Giữ nguyên", "#8c8c8c"))
    kind = np.where(moves["move"] > 0, "up", np.where(moves["move"] < 0, "down", "same"))
    for key, name, color in groups:
        idx = np.flatnonzero(kind == key)
        if not len(idx):
            continue
        xs, ys, hov = [], [], []
        for i in idx:
            m = moves.iloc[i]
            h = (f"<b>{labels[i]}</b><br>Hạng {x0}: {int(m.rank_prev)} → {x1}: {int(m['rank'])}"
                 f"<br>Chỉ số: {fmt_pct(m.index_prev)} → {fmt_pct(m.index_pct)} "
                 f"({'+' if m.index_change > 0 else ''}{fmt_num(m.index_change)} điểm %)")
            xs += [x0, x1, None]
            ys += [int(m.rank_prev), int(m["rank"]), None]
            hov += [h, h, ""]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name, line=dict(color=color, width=2),
                                 marker=dict(size=8, color=color), hovertext=hov, hoverinfo="text"))
    n = len(moves)
    # two no-break spaces keep the labels off the end markers of the lines
    right = [f"\u00a0\u00a0{int(r)}. {lab}" for r, lab in zip(moves["rank"], labels)]
    prev = moves.sort_values("rank_prev")
    left_labels = commune_labels(prev.reset_index(drop=True)).tolist()
    left = [f"{lab} ({int(r)})\u00a0\u00a0" for r, lab in zip(prev["rank_prev"], left_labels)]
    fig.add_trace(go.Scatter(x=[x1] * n, y=moves["rank"].astype(int).tolist(), mode="text", text=right,
                             textposition="middle right", showlegend=False, hoverinfo="skip",
                             textfont=dict(size=11)))
    fig.add_trace(go.Scatter(x=[x0] * n, y=prev["rank_prev"].astype(int).tolist(), mode="text", text=left,
                             textposition="middle left", showlegend=False, hoverinfo="skip",
                             textfont=dict(size=11)))
    fig.update_layout(**base_layout(
        height=_bar_height(n, per=30, extra=120),
        xaxis=dict(type="category", categoryorder="array", categoryarray=[x0, x1], range=[-1.3, 2.3],
                   showgrid=False, side="top"),
        yaxis=dict(showticklabels=False, showgrid=False, zeroline=False, range=[n + 0.5, 0.5]),
        margin=dict(l=10, r=10, t=60, b=10),
    ))
    return fig
