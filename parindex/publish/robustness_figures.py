"""Figures and plain-language summary of the robustness analysis (Vietnamese labels).

Every figure is a plotly ``Figure`` with ``separators=",."`` (decimal comma, dot for thousands).
Commune names are data: they are HTML-escaped before they go into plotly labels and hover texts.
:func:`plain_language` returns plain text (not escaped): the report template escapes it.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..methodology import Methodology
from .labels import num_text as fmt_num
from .labels import pct_text as fmt_pct
from .labels import INK, UNCERTAINTY_SOURCE_LABELS, pct_text, rank_text

SEPARATORS = ",."


def _names(per_commune: pd.DataFrame) -> pd.Series:
    """Display name per commune (name, or code when there is none); duplicates get their code."""
    code = per_commune["commune_code"].astype(str)
    name = per_commune["commune_name"].astype(str) if "commune_name" in per_commune.columns else code
    dup = name.duplicated(keep=False)
    return name.where(~dup, name + " (" + code + ")")


def _ordered(per_commune: pd.DataFrame) -> pd.DataFrame:
    return per_commune.sort_values(["rank", "commune_code"], kind="stable").reset_index(drop=True)


def fig_rank_intervals(per_commune: pd.DataFrame) -> go.Figure:
    """Median rank with its 5–95 % interval per commune, ordered by the published rank (rank 1 on top)."""
    pc = _ordered(per_commune)
    labels = [html.escape(s) for s in _names(pc)]
    hover = [f"<b>{lab}</b><br>Hạng công bố: {int(r)}<br>Hạng trung vị: {rank_text(m)}"
             f"<br>Khoảng 5–95 %: hạng {rank_text(a)} – {rank_text(b)}"
             for lab, r, m, a, b in zip(labels, pc["rank"], pc["rank_median"], pc["rank_p05"], pc["rank_p95"])]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=pc["rank_median"], y=labels, mode="markers", name="Hạng trung vị (khoảng 5–95 %)",
        marker=dict(size=9, color="#1f4e79"),
        error_x=dict(type="data", symmetric=False, array=pc["rank_p95"] - pc["rank_median"],
                     arrayminus=pc["rank_median"] - pc["rank_p05"], thickness=2, width=0, color="#1f4e79"),
        hovertext=hover, hoverinfo="text"))
    fig.add_trace(go.Scatter(
        x=pc["rank"], y=labels, mode="markers", name="Hạng công bố",
        marker=dict(symbol="diamond-open", size=10, color=INK), hovertext=hover, hoverinfo="text"))
    fig.update_layout(
        title="Độ vững của thứ hạng: hạng trung vị và khoảng 5–95 % qua các lần mô phỏng",
        xaxis_title="Thứ hạng (1 = cao nhất)", yaxis=dict(autorange="reversed", title=""),
        separators=SEPARATORS, height=max(350, 22 * len(pc) + 150), legend=dict(orientation="h", y=-0.12),
        margin=dict(l=10, r=10, t=60, b=60))
    return fig


def fig_outrank_heatmap(outrank: pd.DataFrame, per_commune: pd.DataFrame) -> go.Figure:
    """P(row commune ranks above column commune), communes ordered by the published rank."""
    pc = _ordered(per_commune)
    codes = [c for c in pc["commune_code"].astype(str) if c in outrank.index]
    labels = dict(zip(pc["commune_code"].astype(str), (html.escape(s) for s in _names(pc))))
    z = outrank.loc[codes, codes].to_numpy(dtype=float)
    lab = [labels[c] for c in codes]
    text = [[f"{lab[i]} xếp trên {lab[j]}: {fmt_pct(100 * z[i, j], 1)}" if i != j else ""
             for j in range(len(codes))] for i in range(len(codes))]
    # the diagonal (a commune against itself) is left blank
    zz = [[None if i == j else round(float(z[i, j]), 4) for j in range(len(codes))] for i in range(len(codes))]
    from .figures import PROBABILITY_SCALE
    fig = go.Figure(go.Heatmap(
        z=zz, x=lab, y=lab, zmin=0, zmax=1, colorscale=PROBABILITY_SCALE, text=text, hoverinfo="text",
        hoverongaps=False, xgap=1, ygap=1,
        colorbar=dict(title=dict(text="Xác suất"), tickvals=[0, 0.25, 0.5, 0.75, 1],
                      ticktext=["0 %", "25 %", "50 %", "75 %", "100 %"])))
    fig.update_layout(
        title="Xác suất xã ở hàng xếp trên xã ở cột", separators=SEPARATORS,
        yaxis=dict(autorange="reversed"), xaxis=dict(tickangle=-45),
        height=max(400, 18 * len(codes) + 200), margin=dict(l=10, r=10, t=60, b=10))
    return fig


def fig_sobol(sobol: pd.DataFrame) -> go.Figure:
    """First-order (S1) and total (ST) Sobol indices per source of uncertainty, with 95 % intervals."""
    fig = go.Figure()
    x = [UNCERTAINTY_SOURCE_LABELS.get(s, html.escape(str(s))) for s in sobol["source"]]
    for col, name, color in (("S1", "Chỉ số bậc nhất", "#0072B2"), ("ST", "Chỉ số tổng", "#E69F00")):
        fig.add_trace(go.Bar(
            x=x, y=sobol[col], name=name, marker_color=color,
            error_y=dict(type="data", array=sobol[f"{col}_conf"], visible=True),
            hovertext=[f"{name}: {fmt_num(v, 2)} ± {fmt_num(c, 2)}" for v, c in zip(sobol[col], sobol[f"{col}_conf"])],
            hoverinfo="text+x"))
    fig.update_layout(
        title="Nguồn bất định nào làm thứ hạng thay đổi? (chỉ số Sobol của mức thay đổi hạng bình quân)",
        barmode="group", yaxis=dict(title="Tỷ trọng phương sai", range=[0, 1.05]), separators=SEPARATORS,
        legend=dict(orientation="h", y=-0.15), margin=dict(l=10, r=10, t=60, b=60))
    if sobol.empty:
        fig.add_annotation(text="Không có nguồn bất định nào được bật", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
    return fig


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " và " + items[-1]


def plain_language(per_commune: pd.DataFrame, meth: Methodology, outrank: pd.DataFrame | None = None,
                   max_items: int = 3, min_swap: float = 0.05, rank_decimals: int = 2) -> str:
    """A short Vietnamese paragraph: whose rank and band are solid, whose are not, which neighbours
    may swap places (with the probability, when ``outrank`` is given). Without a ``band`` column the
    published band is that of ``index_pct`` rounded to ``rank_decimals``, as scoring publishes it."""
    pc = _ordered(per_commune)
    pc = pc.assign(disp=_names(pc).to_numpy())
    name = dict(zip(pc["commune_code"].astype(str), pc["disp"]))
    band_label = {b.code: b.label for b in meth.bands}
    band = (pc["band"].astype(str) if "band" in pc.columns
            else meth.band_of(pc["index_pct"].astype(float), rank_decimals))
    parts: list[str] = []

    fixed = pc[(pc["rank_p05"] == pc["rank_p95"]) & (pc["rank_p05"] == pc["rank"])]
    sure = fixed[fixed["mean_abs_shift"] == 0]
    almost = fixed[fixed["mean_abs_shift"] > 0]
    if len(sure):
        items = [f"{r.disp} chắc chắn giữ hạng {int(r.rank)}" for r in sure.head(max_items).itertuples()]
        more = f" (và {len(sure) - max_items} xã khác)" if len(sure) > max_items else ""
        parts.append(_join(items) + more + " trong mọi lần mô phỏng")
    if len(almost):
        items = [f"{r.disp} (hạng {int(r.rank)})" for r in almost.head(max_items).itertuples()]
        more = f" và {len(almost) - max_items} xã khác" if len(almost) > max_items else ""
        parts.append(f"{_join(items)}{more} gần như chắc chắn giữ hạng (ít nhất 90 % số lần)")

    swaps: list[str] = []
    codes = pc["commune_code"].astype(str).tolist()
    pairs = []
    for a, b in zip(codes[:-1], codes[1:]):
        if outrank is not None and a in outrank.index and b in outrank.index:
            p = float(outrank.loc[b, a])
            if p >= min_swap:
                pairs.append((p, a, b))
        else:
            ra, rb = pc.set_index("commune_code").loc[[a, b], ["rank_p05", "rank_p95"]].to_numpy()
            if rb[0] <= ra[1]:
                pairs.append((np.nan, a, b))
    pairs.sort(key=lambda t: -(0 if np.isnan(t[0]) else t[0]))
    for p, a, b in pairs[:max_items]:
        s = f"thứ hạng của {name[a]} và {name[b]} có thể đổi chỗ"
        swaps.append(s + (f" ({name[b]} xếp trên trong {fmt_pct(100 * p, 1)} số lần)" if not np.isnan(p) else ""))
    if swaps:
        parts.append("; ".join(swaps))

    wide = pc.assign(width=pc["rank_p95"] - pc["rank_p05"])
    wide = wide[wide["width"] > 0].sort_values(["width", "rank"], ascending=[False, True]).head(min(3, max_items))
    if len(wide):
        items = [f"{r.disp} (hạng công bố {int(r.rank)}, có thể từ hạng {rank_text(r.rank_p05)} đến "
                 f"{rank_text(r.rank_p95)})" for r in wide.itertuples()]
        parts.append("thứ hạng kém chắc chắn nhất: " + _join(items))

    cols = [f"p_band_{b.code}" for b in meth.bands]
    keep = np.array([pc.at[i, f"p_band_{band.iloc[i]}"] for i in range(len(pc))])
    solid = int((keep >= 0.95).sum())
    parts.append(f"xếp nhóm của {solid}/{len(pc)} xã là vững chắc (giữ nhóm đã công bố trong ít nhất 95 % số lần)")
    risky = []
    for i in np.argsort(keep, kind="stable"):
        if keep[i] >= 0.95 or len(risky) >= max_items:
            continue
        probs = pc.loc[i, cols].to_numpy(dtype=float)
        other = [(probs[k], meth.bands[k].code) for k in range(len(cols)) if meth.bands[k].code != band.iloc[i]]
        p, code = max(other)
        risky.append(f"{pc.at[i, 'disp']} có thể chuyển từ nhóm “{band_label.get(band.iloc[i], band.iloc[i])}” "
                     f"sang nhóm “{band_label[code]}” ({fmt_pct(100 * p, 1)} số lần)")
    if risky:
        parts.append("; ".join(risky))
    text = "Khi thay đổi trọng số, mẫu khảo sát và quy tắc tính điểm trong phạm vi hợp lý: " + "; ".join(parts) + "."
    return text


def reliability_notes(marks: pd.DataFrame, results: pd.DataFrame, meth: Methodology,
                      outrank: pd.DataFrame | None, max_names: int = 3) -> list[str]:
    """At most five short Vietnamese sentences for the card "Độ tin cậy của xếp hạng" (plain text, not
    escaped): how many ranks are certain; the neighbouring ranks that come out in the other order in more
    than half of the draws; the communes whose published band is not likely; the communes near a band
    threshold; the widest rank interval. ``marks`` is :func:`parindex.publish.figures.uncertainty_marks`."""
    from .labels import PP

    r = _ordered(results.assign(commune_code=results["commune_code"].astype(str)))
    name = dict(zip(r["commune_code"], _names(r)))
    band = {b.code: b for b in meth.bands}
    m = marks.set_index("commune_code").reindex(r["commune_code"])
    out: list[str] = []
    n = len(r)

    def names(items: list[str], unit: str = "xã") -> str:
        if len(items) <= max_names:
            return _join(items)
        return ", ".join(items[:max_names]) + f" và {len(items) - max_names} {unit} khác"

    if "rank_p05" in m.columns:
        sure = int(((m["rank_p05"] == m["rank_p95"]) & (m["rank_p05"] == m["rank"])).sum())
        out.append(f"{sure}/{n} xã, thị trấn giữ đúng hạng công bố trong ít nhất 90 % số lần mô phỏng "
                   "(khoảng 5–95 % chỉ gồm một hạng).")
        codes = r["commune_code"].tolist()
        swaps = []
        if outrank is not None:
            for a, b in zip(codes[:-1], codes[1:]):
                if a in outrank.index and b in outrank.columns:
                    p = float(outrank.loc[b, a])
                    if p > 0.5:
                        swaps.append(f"{name[b]} (hạng {int(m.loc[b, 'rank'])}) xếp trên {name[a]} "
                                     f"(hạng {int(m.loc[a, 'rank'])}) trong {pct_text(100 * p, 0)} số lần")
        if swaps:
            out.append("Hai xã liền hạng bị đảo thứ tự trong quá nửa số lần mô phỏng: " + names(swaps, "cặp") + ".")
        else:
            out.append("Không có hai xã liền hạng nào bị đảo thứ tự trong quá nửa số lần mô phỏng.")
        low = m[m["low"].astype(bool)].sort_values("p_keep")
        if len(low):
            items = [f"{name[c]} ({band[str(r.set_index('commune_code').loc[c, 'band'])].short} "
                     f"{pct_text(100 * x.p_keep, 0)}, dễ chuyển sang {band[x.other].short})"
                     for c, x in low.iterrows()]
            out.append(f"Xếp loại kém chắc chắn (xác suất giữ dưới {pct_text(100 * marks.attrs['band_prob_min'], 0)}"
                       "): " + names(items) + ".")
        else:
            out.append(f"Mọi xã giữ xếp loại công bố trong ít nhất "
                       f"{pct_text(100 * marks.attrs['band_prob_min'], 0)} số lần mô phỏng.")
    near = m[m["near"].astype(bool)]
    if len(near):
        idx = dict(zip(r["commune_code"], r["index_pct"]))
        items = [f"{name[c]} ({pct_text(idx[c])}, ngưỡng {band[x.threshold_band].short} {pct_text(x.threshold, 0)})"
                 for c, x in near.iterrows()]
        out.append(f"Sát ngưỡng xếp loại (cách ngưỡng không quá "
                   f"{fmt_num(marks.attrs['near_threshold'], 1).rstrip('0').rstrip(',')} {PP}): " + names(items) + ".")
    if "rank_p05" in m.columns:
        w = (m["rank_p95"] - m["rank_p05"])
        if (w > 0).any():
            c = w.idxmax()
            out.append(f"Khoảng hạng rộng nhất: {name[c]} (hạng công bố {int(m.loc[c, 'rank'])}, có thể từ hạng "
                       f"{rank_text(m.loc[c, 'rank_p05'])} đến {rank_text(m.loc[c, 'rank_p95'])}).")
    return out[:5]
