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

from .methodology import Methodology
from .text import fmt_num, fmt_pct

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
FIELD_COLORS = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756", "#72B7B2", "#9D755D", "#EECA3B",
                "#FF9DA6", "#BAB0AC"]
SELF_COLOR = "#9ecae1"
APPRAISED_COLOR = "#08519c"
MEAN_COLOR = "#555555"
SOURCE_LABELS = {"appraisal": "Thẩm định", "officials_survey": "Điều tra cán bộ",
                 "satisfaction_survey": "Khảo sát hài lòng"}


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
def fig_ranking(results: pd.DataFrame, meth: Methodology) -> go.Figure:
    """Index % per commune as horizontal bars, ordered by rank (1 on top), coloured by band."""
    r = _ranked(results)
    labels = commune_labels(r)
    bands = {b.code: b for b in meth.bands}
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
        ])
        fig.add_trace(go.Bar(
            y=labels[m].tolist(), x=sub["index_pct"].round(4).tolist(), orientation="h",
            name=esc(f"{b.label}"), marker=dict(color=b.color),
            text=[fmt_pct(v) for v in sub["index_pct"]], textposition="inside", insidetextanchor="end",
            textfont=dict(color="white"), customdata=custom,
            hovertemplate=("<b>%{y}</b><br>Hạng: %{customdata[0]}<br>Điểm: %{customdata[1]} / %{customdata[2]}"
                           "<br>Chỉ số: %{customdata[3]}<br>Xếp loại: %{customdata[4]}<extra></extra>"),
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
