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
from .labels import num_text as fmt_num
from .labels import pct_text as fmt_pct
from .labels import INK, PP, SOURCE_LABELS, ink_on, int_text, pct_text, rank_text, signed_text

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
# Colour-blind-safe colours (Okabe & Ito's palette; blue → orange for ordered scales, never red → green).
FIELD_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999",
                "#000000", "#BBBBBB"]
SOURCE_COLORS = {"appraisal": "#0072B2", "officials_survey": "#E69F00", "satisfaction_survey": "#009E73"}
SELF_COLOR = "#9ecae1"
APPRAISED_COLOR = "#08519c"
MEAN_COLOR = "#555555"
UP_COLOR, DOWN_COLOR, SAME_COLOR = "#08519c", "#b35806", "#8c8c8c"
#: share of the maximum achieved (0 → 100 %): orange where points were lost, pale where none were; every
#: colour keeps dark ink readable (contrast ≥ 4.5:1, tested)
ACHIEVED_SCALE = [[0.0, "#e08214"], [0.5, "#fdb863"], [0.8, "#fee0b6"], [1.0, "#eef3f8"]]
#: a probability from 0 (orange) through ½ (white) to 1 (blue)
PROBABILITY_SCALE = [[0.0, "#b35806"], [0.25, "#f1a340"], [0.5, "#f7f7f7"], [0.75, "#92c5de"], [1.0, "#2166ac"]]


def esc(s: object) -> str:
    """Escape a text for plotly (which renders <b>, <br>, <a …> and friends in strings)."""
    return html.escape("" if s is None else str(s), quote=False)


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


def uncertainty_marks(results: pd.DataFrame, meth: Methodology, robustness: pd.DataFrame | None,
                      near_threshold: float, band_prob_min: float) -> pd.DataFrame:
    """Per commune (rank order): what the ranking chart, the summary card and the profiles mark.

    ``near``: the index lies within ``near_threshold`` percentage points of a band threshold (``threshold``:
    that threshold, ``threshold_band``: the band starting there); ``reduced``: the applicable maximum is below
    the scale because a criterion did not apply. With robustness results: rank_median, rank_p05, rank_p95,
    ``p_keep`` (probability of the published band), ``low``: p_keep below ``band_prob_min``, ``other``/``p_other``:
    the band it falls into most often otherwise."""
    r = _ranked(results)
    idx = r["index_pct"].astype(float).to_numpy()
    thr = [(b.min_pct, b) for b in meth.bands if 0 < b.min_pct < 100]
    out = pd.DataFrame({"commune_code": r["commune_code"].astype(str).to_numpy(), "rank": r["rank"].astype(int)})
    dist = np.array([[abs(v - t) for t, _ in thr] for v in idx]) if thr else np.zeros((len(r), 0))
    nearest = dist.argmin(axis=1) if thr else np.zeros(len(r), dtype=int)
    near = (dist.min(axis=1) <= near_threshold + 1e-9) if thr else np.zeros(len(r), dtype=bool)
    out["near"] = near
    out["threshold"] = [thr[k][0] if n else np.nan for k, n in zip(nearest, near)]
    out["threshold_band"] = [thr[k][1].code if n else "" for k, n in zip(nearest, near)]
    out["reduced"] = (r["max_points"].astype(float) < float(meth.scale) - 1e-9).to_numpy()
    if robustness is not None and len(robustness):
        rob = robustness.assign(commune_code=robustness["commune_code"].astype(str)).set_index("commune_code")
        rob = rob.reindex(out["commune_code"])
        for c in ("rank_median", "rank_p05", "rank_p95"):
            out[c] = rob[c].to_numpy(dtype=float)
        bands = [b.code for b in meth.bands if f"p_band_{b.code}" in rob.columns]
        probs = rob[[f"p_band_{c}" for c in bands]].to_numpy(dtype=float)
        pub = r["band"].astype(str).to_numpy()
        col = np.array([bands.index(b) if b in bands else -1 for b in pub])
        keep = np.where(col >= 0, probs[np.arange(len(r)), np.maximum(col, 0)], np.nan)
        masked = np.where(np.arange(len(bands))[None, :] == col[:, None], -1.0, probs)
        oth = masked.argmax(axis=1) if bands else np.zeros(len(r), dtype=int)
        out["p_keep"] = keep
        out["low"] = keep < band_prob_min - 1e-12
        out["other"] = [bands[k] if bands else "" for k in oth]
        out["p_other"] = masked[np.arange(len(r)), oth] if bands else np.nan
    out.attrs.update(near_threshold=float(near_threshold), band_prob_min=float(band_prob_min))
    return out


def _axis_cut(values: np.ndarray, thresholds: list[float]) -> tuple[float, float]:
    """A cut axis for the ranking: from a little below the lowest index (down to the threshold just below it
    when that is near) to a little above the highest, leaving room for the value labels."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    span = max(hi - lo, 2.0)
    start = np.floor(lo - 0.15 * span)
    below = [t for t in thresholds if t <= lo]
    if below and lo - max(below) <= 0.6 * span:
        start = min(start, max(below) - 0.5)
    return float(max(start, 0.0)), float(hi + 0.32 * span)


def fig_ranking(results: pd.DataFrame, meth: Methodology, marks: pd.DataFrame | None = None) -> go.Figure:
    """The ranking at a glance: each commune's index as a dot on a cut axis (lollipop, rank 1 on top) coloured
    by band, with the band thresholds and the district mean labelled; communes within reach of a threshold
    ringed ("sát ngưỡng"). With robustness ``marks`` (:func:`uncertainty_marks`) a second panel beside it gives
    each commune's 5–95 % rank interval, median rank and published rank, and names the probability of the
    published band when it is low. A "*" after a name: its maximum is below the scale (a criterion did not
    apply)."""
    r = _ranked(results)
    n = len(r)
    m = marks.set_index("commune_code") if marks is not None else None
    codes = r["commune_code"].astype(str)
    reduced = (r["max_points"].astype(float) < float(meth.scale) - 1e-9).to_numpy()
    labels = commune_labels(r)
    labels = pd.Series([lab + (" *" if red else "") for lab, red in zip(labels, reduced)], index=r.index)
    bands = {b.code: b for b in meth.bands}
    idx = r["index_pct"].astype(float).to_numpy()
    thresholds = [b.min_pct for b in meth.bands if 0 < b.min_pct < 100]
    lo, hi = _axis_cut(idx, thresholds)
    robust = m is not None and "rank_median" in m.columns
    breakdown = np.array(ranking_breakdown(r, meth), dtype=object)

    def rob_lines(code: str) -> str:
        if not robust:
            return ""
        x = m.loc[code]
        b = bands.get(str(r.loc[codes == code, "band"].iloc[0]))
        out = (f"<br>Hạng trung vị {rank_text(x.rank_median)}; khoảng 5–95 %: hạng {rank_text(x.rank_p05)} – "
               f"{rank_text(x.rank_p95)}")
        if b is not None and pd.notna(x.p_keep):
            out += f"<br>Xác suất giữ xếp loại {esc(b.short)}: {pct_text(100.0 * x.p_keep, 0)}"
        return out

    def near_line(code: str) -> str:
        if m is None or not bool(m.loc[code, "near"]):
            return ""
        t = float(m.loc[code, "threshold"])
        return f"<br><i>Sát ngưỡng {esc(bands[m.loc[code, 'threshold_band']].short)} ({pct_text(t, 0)})</i>"

    extra = np.array([rob_lines(c) + near_line(c) + ("<br>* Có tiêu chí không áp dụng: điểm tối đa "
                                                      f"{fmt_num(mx)}" if red else "")
                      for c, red, mx in zip(codes, reduced, r["max_points"])], dtype=object)
    fig = go.Figure()
    # stems from the start of the cut axis to each dot
    sx, sy = [], []
    for v, lab in zip(idx, labels):
        sx += [lo, v, None]
        sy += [lab, lab, None]
    fig.add_trace(go.Scatter(x=sx, y=sy, mode="lines", line=dict(color="#c9ced4", width=2), hoverinfo="skip",
                             showlegend=False))
    near = m.reindex(codes)["near"].to_numpy(dtype=bool) if m is not None else np.zeros(n, dtype=bool)
    for b in meth.bands:  # one trace per band → a legend of the bands, in methodology order
        sel = (r["band"].astype(str) == b.code).to_numpy()
        if not sel.any():
            continue
        sub = r[sel]
        custom = np.column_stack([
            sub["rank"].astype(int).astype(str), [fmt_num(v) for v in sub["points"]],
            [fmt_num(v) for v in sub["max_points"]], [fmt_pct(v) for v in sub["index_pct"]],
            [esc(b.short)] * len(sub), breakdown[sel], extra[sel]])
        fig.add_trace(go.Scatter(
            x=sub["index_pct"].round(4).tolist(), y=labels[sel].tolist(), mode="markers+text",
            name=esc(b.title), marker=dict(color=b.color, size=12, line=dict(color="#ffffff", width=1)),
            text=[("\u2007\u2007" + fmt_pct(v) + " · sát ngưỡng") if nr else fmt_pct(v)
                  for v, nr in zip(sub["index_pct"], near[sel])],
            textposition="middle right", textfont=dict(color=INK, size=12), cliponaxis=False,
            customdata=custom,
            hovertemplate=("<b>%{y}</b><br>Hạng %{customdata[0]} · Chỉ số %{customdata[3]}<br>Điểm %{customdata[1]} / "
                           "%{customdata[2]} · Xếp loại %{customdata[4]}%{customdata[6]}%{customdata[5]}"
                           "<extra></extra>")))
    if near.any():
        fig.add_trace(go.Scatter(
            x=idx[near].round(4).tolist(), y=labels[near].tolist(), mode="markers", hoverinfo="skip",
            name=f"Sát ngưỡng (± {_pts(marks.attrs.get('near_threshold'))})",
            marker=dict(symbol="circle-open", size=20, color=INK, line=dict(width=2))))
    mean = float(idx.mean())
    shapes = [dict(type="line", xref="x", yref="paper", x0=mean, x1=mean, y0=0, y1=1,
                   line=dict(color=MEAN_COLOR, dash="dash", width=1.5))]
    notes = []
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=esc(f"Bình quân huyện {fmt_pct(mean)}"),
                             line=dict(color=MEAN_COLOR, dash="dash", width=1.5), hoverinfo="skip"))
    last = None
    for b in sorted(meth.bands, key=lambda x: x.min_pct):
        if 0 < b.min_pct < 100 and lo <= b.min_pct <= hi:
            shapes.append(dict(type="line", xref="x", yref="paper", x0=b.min_pct, x1=b.min_pct, y0=0, y1=1,
                               line=dict(color=b.color, dash="dot", width=2)))
            # labels of thresholds close together are staggered so that they do not overlap
            close = last is not None and (b.min_pct - last[0]) < 0.3 * (hi - lo) and last[1] == 0
            notes.append(dict(x=b.min_pct, y=1, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                              yshift=14 if close else 0, text=f"Ngưỡng {esc(b.short)}: {fmt_pct(b.min_pct, 0)}",
                              font=dict(size=11, color=INK)))
            last = (b.min_pct, 14 if close else 0)
    layout = base_layout(
        height=_bar_height(n, per=30, extra=190), shapes=shapes, annotations=notes,
        legend=dict(orientation="h", yanchor="top", y=1.0, yref="container", xanchor="left", x=0,
                    xref="container", font=dict(size=11), traceorder="normal"),
        xaxis=dict(title=dict(text="Chỉ số CCHC (%), trục cắt"), range=[lo, hi], tickmode="array",
                   tickvals=_pct_ticks(lo, hi), ticktext=[fmt_pct(v, 0) for v in _pct_ticks(lo, hi)],
                   domain=[0, 0.6 if robust else 1.0], zeroline=False),
        yaxis=dict(categoryorder="array", categoryarray=labels.tolist(), autorange="reversed", automargin=True),
        margin=dict(l=10, r=20, t=76, b=50),
    )
    if robust:
        mm = m.reindex(codes)
        med, p05, p95 = (mm[c].to_numpy(dtype=float) for c in ("rank_median", "rank_p05", "rank_p95"))
        hover = [f"<b>{lab}</b><br>Hạng công bố {int(rk)}<br>Hạng trung vị {rank_text(a)}"
                 f"<br>Khoảng 5–95 %: hạng {rank_text(b_)} – {rank_text(c_)}"
                 for lab, rk, a, b_, c_ in zip(labels, r["rank"], med, p05, p95)]
        fig.add_trace(go.Scatter(
            x=med.round(4).tolist(), y=labels.tolist(), xaxis="x2", yaxis="y", mode="markers",
            name="Hạng trung vị, khoảng 5–95 %", marker=dict(size=8, color="#1f4e79"), showlegend=False,
            error_x=dict(type="data", symmetric=False, array=np.round(p95 - med, 4).tolist(),
                         arrayminus=np.round(med - p05, 4).tolist(), thickness=3, width=0, color="#1f4e79"),
            hovertext=hover, hoverinfo="text"))
        fig.add_trace(go.Scatter(
            x=r["rank"].astype(int).tolist(), y=labels.tolist(), xaxis="x2", yaxis="y", mode="markers",
            name="Hạng công bố", marker=dict(symbol="diamond-open", size=10, color=INK, line=dict(width=1.5)),
            showlegend=False,
            hovertext=hover, hoverinfo="text"))
        low = mm["low"].to_numpy(dtype=bool)
        if low.any():
            keep = mm["p_keep"].to_numpy(dtype=float)
            txt = [f"giữ {esc(bands[str(bd)].short)}: {pct_text(100.0 * k, 0)}"
                   for bd, k in zip(r["band"].astype(str)[low], keep[low])]
            fig.add_trace(go.Scatter(
                x=(p95[low] + 0.35).round(4).tolist(), y=labels[low].tolist(), xaxis="x2", yaxis="y",
                mode="markers+text", text=txt, textposition="middle right", cliponaxis=False,
                textfont=dict(size=11, color=INK), hoverinfo="skip", showlegend=False,
                name=f"Xác suất giữ xếp loại < {pct_text(100.0 * marks.attrs.get('band_prob_min', 0), 0)}",
                marker=dict(symbol="triangle-left", size=9, color=DOWN_COLOR)))
        step = next(k for k in (1, 2, 5, 10, 20, 50, 100) if n / k <= 8)
        layout["xaxis2"] = dict(domain=[0.66, 1.0], anchor="y", range=[0.4, n + 0.6 + 0.45 * n],
                                title=dict(text="Hạng có thể (khoảng 5–95 %)"), tickmode="array",
                                tickvals=sorted({1, *range(step, n + 1, step)}), showgrid=True, zeroline=False)
    fig.update_layout(**layout)
    return fig


def _pct_ticks(lo: float, hi: float) -> list[float]:
    """Round tick values on the cut axis, none above 100 %."""
    span = hi - lo
    step = next(s for s in (1, 2, 5, 10, 20, 25) if span / s <= 8)
    start = np.ceil(lo / step) * step
    return [float(v) for v in np.arange(start, min(hi, 100.0) + 1e-9, step)]


def _pts(x) -> str:
    return f"{fmt_num(float(x), 1).rstrip('0').rstrip(',')} {PP}" if x is not None else PP


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
               textfont=dict(size=11, color=DOWN_COLOR)),
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
    ntext = [[(f"{int_text(v)} câu trả lời hợp lệ" if np.isfinite(v) else "không có câu trả lời") for v in row]
             + ["trung bình các yếu tố"] for row in nn]
    zmin = float(np.nanmin(z)) if np.isfinite(z).any() else 0.0
    zmin = min(50.0, np.floor(zmin / 10.0) * 10.0)
    fig = go.Figure(go.Heatmap(
        z=np.round(z, 4).tolist(), x=cols, y=labels, text=text, texttemplate="%{text}",
        textfont=dict(color=INK), customdata=ntext, colorscale=ACHIEVED_SCALE, zmin=zmin, zmax=100, xgap=2, ygap=2,
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


def fig_sources(results: pd.DataFrame, meth: Methodology) -> go.Figure:
    """Points per source (appraisal, officials' survey, SIPAS), stacked per commune, ordered by rank."""
    r = _ranked(results)
    labels = commune_labels(r).tolist()
    lv = meth.leaves()
    mx = lv.groupby("source")["points"].sum()
    colors = SOURCE_COLORS
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
    """Heatmap commune × criterion: points achieved as % of the criterion's applicable maximum, the criteria
    grouped by field (a white gap between fields, the field's number and name above its group); a criterion
    that does not apply at a commune is left blank ("–")."""
    r = _ranked(results)
    pct, pts, mx = criteria_matrix(leaf_scores, meth, results)
    crit = meth.criteria()
    labels = commune_labels(r).tolist()
    x = [esc(c) for c in crit["code"]]
    z = pct.to_numpy(dtype=float)
    p, m = pts.to_numpy(dtype=float), mx.to_numpy(dtype=float)
    full = [esc(f"{c}. {lab}") for c, lab in zip(crit["code"], crit["label"])]
    field_of = crit["field_code"].tolist()
    flabel = {f.code: f.label for f in meth.fields}
    # whole percent, halves rounded up (62.5 → 63; str.format would round half to even)
    text = [[fmt_num(np.floor(v + 0.5), 0) if np.isfinite(v) else "–" for v in row] for row in z]
    custom = [[[full[j], (f"{fmt_num(p[i, j])} / {fmt_num(m[i, j])} điểm ({fmt_pct(z[i, j], 1)})"
                          if np.isfinite(z[i, j]) else "không áp dụng"),
                esc(f"Lĩnh vực {field_of[j]}. {flabel.get(field_of[j], '')}")] for j in range(z.shape[1])]
              for i in range(z.shape[0])]
    fig = go.Figure(go.Heatmap(
        z=[[None if not np.isfinite(v) else round(float(v), 4) for v in row] for row in z],
        x=x, y=labels, text=text, texttemplate="%{text}", textfont=dict(size=9, color=INK), customdata=custom,
        colorscale=ACHIEVED_SCALE, zmin=0, zmax=100, xgap=1, ygap=1,
        colorbar=dict(title=dict(text="% tối đa"), ticksuffix=" %", thickness=12),
        hovertemplate="<b>%{y}</b><br>%{customdata[2]}<br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>"))
    shapes, notes = [], []
    starts = [j for j in range(len(field_of)) if j == 0 or field_of[j] != field_of[j - 1]]
    for k, j0 in enumerate(starts):
        j1 = (starts[k + 1] if k + 1 < len(starts) else len(field_of)) - 1
        if j0 > 0:  # a white gap between two fields
            shapes.append(dict(type="line", xref="x", yref="paper", x0=j0 - 0.5, x1=j0 - 0.5, y0=0, y1=1,
                               line=dict(color="#ffffff", width=4), name="field-gap"))
        width = max(6, 3 * (j1 - j0 + 1))
        notes.append(dict(x=(j0 + j1) / 2, y=1, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                          yshift=34, text=wrap_label(f"{field_of[j0]}. {flabel.get(field_of[j0], '')}", width),
                          font=dict(size=9, color=INK), name="field-label"))
    fig.update_layout(**base_layout(
        height=_bar_height(len(r), per=26, extra=190), shapes=shapes, annotations=notes,
        xaxis=dict(side="top", tickangle=-90, type="category", tickfont=dict(size=10), automargin=True),
        yaxis=dict(autorange="reversed", automargin=True),
        margin=dict(l=10, r=10, t=120, b=20),
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


SAT_ANSWER_COLORS = ["#b35806", "#f1a340", "#e0e0e0", "#92c5de", "#2166ac"]
OFFICIALS_ANSWER_COLORS = {"A": "#2166ac", "B": "#92c5de", "C": "#fdb863", "D": "#b35806", "": "#d0d0d0"}


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
            insidetextanchor="middle", textfont=dict(size=11, color=ink_on(color)),
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
    counts = [f"{int_text(n)} câu trả lời hợp lệ, {int_text(b)} câu bỏ trống" for n, b in zip(shares["n_valid"],
                                                                                  shares["n_blank"])]
    return _share_bars(y, shares, cats, [esc(x) for x in shares["label"]], counts)


def fig_officials_answers(shares: pd.DataFrame, meth: Methodology) -> go.Figure:
    """Share of answers A/B/C/D and blank per officials'-survey question (stacked to 100 %)."""
    os_ = meth.officials_survey
    cats = [(k, f"{k} – {os_.answer_labels.get(k, '')}".rstrip(" –"), OFFICIALS_ANSWER_COLORS.get(k, "#888"))
            for k in os_.answer_weights] + [("blank", "Không biết / không trả lời", OFFICIALS_ANSWER_COLORS[""])]
    y = [esc(q) for q in shares["question"]]
    full = [esc(f"{q}. {lab}") for q, lab in zip(shares["question"], shares["label"])]
    counts = [f"{int_text(n)} câu trả lời" for n in shares["n"]]
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
    groups = (("up", "Tăng hạng", UP_COLOR), ("down", "Giảm hạng", DOWN_COLOR), ("same", "Giữ nguyên", SAME_COLOR))
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
                 f"({signed_text(m.index_change)} {PP})")
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


# ------------------------------------------------------------------------------------------------
# Several years
# ------------------------------------------------------------------------------------------------
def trend_table(history: pd.DataFrame, results: pd.DataFrame, year: int) -> pd.DataFrame:
    """Index and rank per commune and published year (the earlier years of ``history`` and this year's
    results), communes of this year only: commune_code, commune_name, year, index_pct, rank, band."""
    now = results[["commune_code", "index_pct", "rank", "band"]].assign(year=int(year))
    h = history[["year", "commune_code", "index_pct", "rank", "band"]].copy()
    h = h[h["year"].astype(int) != int(year)]
    t = pd.concat([h, now], ignore_index=True)
    t["commune_code"] = t["commune_code"].astype(str)
    t["year"] = t["year"].astype(int)
    names = dict(zip(results["commune_code"].astype(str), results["commune_name"]))
    t = t[t["commune_code"].isin(names)].assign(commune_name=lambda d: d["commune_code"].map(names))
    rank_now = dict(zip(results["commune_code"].astype(str), results["rank"]))
    t = t.assign(_r=t["commune_code"].map(rank_now)).sort_values(["_r", "commune_code", "year"])
    return t.drop(columns="_r")[["commune_code", "commune_name", "year", "index_pct", "rank", "band"]] \
        .reset_index(drop=True)


def fig_trend(trend: pd.DataFrame, meth: Methodology) -> go.Figure:
    """Index per commune over the published years (one line each, this year's rank order in the legend, a
    click on a name hides it) with the district mean as a thick dashed line and the band thresholds."""
    years = sorted(trend["year"].unique().tolist())
    fig = go.Figure()
    order = list(dict.fromkeys(trend["commune_code"]))
    for i, code in enumerate(order):
        t = trend[trend["commune_code"] == code].set_index("year").reindex(years)
        name = esc(t["commune_name"].dropna().iloc[0])
        hover = [f"<b>{name}</b><br>Năm {y}: {pct_text(v)}, hạng {int(rk) if pd.notna(rk) else '–'}"
                 for y, v, rk in zip(years, t["index_pct"], t["rank"])]
        fig.add_trace(go.Scatter(
            x=[str(y) for y in years], y=[None if pd.isna(v) else round(float(v), 4) for v in t["index_pct"]],
            mode="lines+markers", name=name, line=dict(width=1.5, color=FIELD_COLORS[i % 8]),
            marker=dict(size=6), hovertext=hover, hoverinfo="text", opacity=0.85))
    mean = trend.groupby("year")["index_pct"].mean().reindex(years)
    fig.add_trace(go.Scatter(
        x=[str(y) for y in years], y=mean.round(4).tolist(), mode="lines+markers", name="Bình quân huyện",
        line=dict(width=4, color=INK, dash="dash"), marker=dict(size=8, color=INK),
        hovertext=[f"<b>Bình quân huyện</b><br>Năm {y}: {pct_text(v)}" for y, v in zip(years, mean)],
        hoverinfo="text"))
    lo = float(np.nanmin(trend["index_pct"])) if len(trend) else 0.0
    shapes = [dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=b.min_pct, y1=b.min_pct,
                   line=dict(color=b.color, dash="dot", width=1.5))
              for b in meth.bands if 0 < b.min_pct < 100 and b.min_pct >= lo - 3]
    fig.update_layout(**base_layout(
        height=460, shapes=shapes,
        legend=dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02, font=dict(size=11)),
        xaxis=dict(type="category", title=dict(text="Năm")),
        yaxis=dict(title=dict(text="Chỉ số CCHC (%)"), ticksuffix=" %"),
        margin=dict(l=10, r=10, t=30, b=40),
    ))
    return fig


# ------------------------------------------------------------------------------------------------
# Images for publication (PNG): title, year and source line in the page's style
# ------------------------------------------------------------------------------------------------
def for_image(fig: go.Figure, title: str, source: str) -> go.Figure:
    """A copy of ``fig`` for a stand-alone picture: the page's white style and fonts, the title (with the
    year) on top and a source line at the bottom, the legend kept. The original figure is not changed."""
    f = go.Figure(fig)
    top = int(f.layout.margin.t or 40)
    bottom = int(f.layout.margin.b or 40)
    f.update_layout(
        template="plotly_white", separators=",.", font=dict(family=FONT, size=13, color="#222"),
        title=dict(text=f"<b>{esc(title)}</b>", x=0.01, xanchor="left", y=1, yref="container", yanchor="top",
                   pad=dict(t=12), font=dict(size=17, color=INK)),
        margin=dict(t=top + 46, b=bottom + 40),
        height=int(f.layout.height or 500) + 86)
    f.add_annotation(text=esc(source), xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
                     yshift=-(bottom + 8), showarrow=False, font=dict(size=11, color="#59636e"), align="left")
    if f.layout.legend.yref == "container":  # a legend pinned to the top makes room for the title
        f.update_layout(legend=dict(y=1 - 46 / f.layout.height))
    return f
