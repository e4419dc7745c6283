"""``parindex compare RUN_A RUN_B``: an HTML page and an xlsx with the parameter and methodology
differences of two runs, then per commune both scores and ranks and the change, with a slope chart.

The page opens with a short summary (how many communes changed rank, the largest moves, the top
commune of each run, band changes); the methodology differences are summarised per field and per
source, the leaf-by-leaf detail of each field folded in a ``<details>`` element. Everything a person
reads is Vietnamese, numbers in Vietnamese format; all input text is escaped (Jinja2 autoescape, and
:func:`parindex.publish.figures.esc` for plotly); the page makes no network request.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup

from ..methodology import Methodology, load_methodology
from ..params import flatten_params
from ..runs import Run, compare_results, param_differences
from ..text import nfc
from . import figures as F
from .export import write_sheets
from .labels import (
    MINUS,
    PP,
    STATUS_LABELS,
    datetime_text,
    param_label,
    param_value,
    pct_text,
    points_text,
    signed_text,
    text_cell,
)
from .page import figure_json, page_scripts, script_json, template_env, write_report

RUN_NAMES = ("Lần chạy A", "Lần chạy B")


def moves_between(a: Run, b: Run) -> pd.DataFrame:
    """Rank moves from run A to run B in the layout of :func:`parindex.publish.figures.year_over_year`
    (rank_prev = rank in A, rank = rank in B, move = rank_prev − rank: positive = moved up), rank order of B."""
    return F.year_over_year(b.results, a.results)


def fig_slope(a: Run, b: Run) -> go.Figure:
    """One line per commune from its rank in run A (left) to its rank in run B (right), rank 1 on top;
    green = moved up, red = moved down, grey = same rank."""
    return F.fig_rank_slope(moves_between(a, b), 0, 0, axis_labels=RUN_NAMES)


def comparison_tables(a: Run, b: Run) -> dict[str, pd.DataFrame]:
    """The per-commune comparison (``communes``: :func:`parindex.runs.compare_results`); refuses different
    commune sets."""
    return {"communes": compare_results(a, b)}


def _methodologies(a: Run, b: Run) -> tuple[Methodology, Methodology]:
    return load_methodology(a.path / "methodology.yaml"), load_methodology(b.path / "methodology.yaml")


# ------------------------------------------------------------------------------------------------
# Page sections
# ------------------------------------------------------------------------------------------------
def _band_labels(meth: Methodology) -> dict[str, str]:
    return {b.code: b.short for b in meth.bands}


def _run_info(run: Run, meth: Methodology, name: str) -> dict:
    m = run.manifest
    return dict(name=name, run_id=text_cell(m.get("run_id")), year=text_cell(m.get("year")), seed=text_cell(m.get("seed", "")),
                started=datetime_text(m.get("started") or ""), meth_title=text_cell(meth.meta.title),
                meth_id=text_cell(meth.meta.id), meth_status=STATUS_LABELS.get(meth.meta.status, text_cell(meth.meta.status)),
                path=text_cell(run.path.name))


def _name_list(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 3 else ", ".join(names[:3]) + f" và {len(names) - 3} xã khác"


def compare_summary(cmp: pd.DataFrame, ma: Methodology, mb: Methodology, k: int = 3) -> dict:
    """Plain-language facts of the comparison: rank changes, largest moves, top commune, bands, means."""
    n = len(cmp)
    up = cmp[cmp["rank_change"] > 0].sort_values(["rank_change", "rank_b", "commune_code"],
                                                 ascending=[False, True, True])
    down = cmp[cmp["rank_change"] < 0].sort_values(["rank_change", "rank_b", "commune_code"])

    def moves(df: pd.DataFrame) -> list[dict]:
        return [dict(name=text_cell(x.commune_name), move=signed_text(x.rank_change, 0), a=int(x.rank_a), b=int(x.rank_b),
                     change=signed_text(x.index_change)) for x in df.head(k).itertuples()]

    def top(rank_col: str, idx_col: str) -> tuple[str, str]:
        t = cmp[cmp[rank_col] == cmp[rank_col].min()].sort_values("commune_code")
        return _name_list(t["commune_name"].map(text_cell).tolist()), pct_text(t[idx_col].iloc[0])

    la, lb = _band_labels(ma), _band_labels(mb)
    bands = cmp[cmp["band_a"].astype(str) != cmp["band_b"].astype(str)].sort_values(["rank_b", "commune_code"])
    band_rows = [dict(name=text_cell(x.commune_name), a=la.get(str(x.band_a), text_cell(x.band_a)),
                      b=lb.get(str(x.band_b), text_cell(x.band_b))) for x in bands.itertuples()]
    mean_a, mean_b = float(cmp["index_pct_a"].mean()), float(cmp["index_pct_b"].mean())
    n_changed = int((cmp["rank_change"] != 0).sum())
    (top_a, top_a_index), (top_b, top_b_index) = top("rank_a", "index_pct_a"), top("rank_b", "index_pct_b")
    same_top = (set(cmp.loc[cmp["rank_a"] == cmp["rank_a"].min(), "commune_code"])
                == set(cmp.loc[cmp["rank_b"] == cmp["rank_b"].min(), "commune_code"]))
    return dict(n=n, n_changed=n_changed, n_up=len(up), n_down=len(down), n_same=n - n_changed,
                max_move=int(cmp["rank_change"].abs().max()) if n else 0,
                up=moves(up), down=moves(down), top_a=top_a, top_b=top_b, top_a_index=top_a_index,
                top_b_index=top_b_index, same_top=same_top,
                bands=band_rows, mean_a=pct_text(mean_a), mean_b=pct_text(mean_b), mean_change=signed_text(mean_b - mean_a),
                max_index_change=_num_abs_max(cmp["index_change"]))


def _num_abs_max(s: pd.Series) -> str:
    if not len(s):
        return "0"
    i = int(np.argmax(np.abs(s.to_numpy(dtype=float))))
    return signed_text(float(s.iloc[i]))


def _signed_points(x: float) -> str:
    """+1, -3, +0,25: a difference of methodology points (no trailing zeros); "0" when equal."""
    return "0" if x == 0 else ("+" if x > 0 else MINUS) + points_text(abs(float(x)))


def _bands_text(meth: Methodology) -> str:
    return "; ".join(f"{b.short} (từ {pct_text(b.min_pct, 0)})" for b in meth.bands)


def _weights_text(meth: Methodology) -> str:
    w = meth.officials_survey.answer_weights
    return ", ".join(f"{k}: {pct_text(100.0 * v, 0)}" for k, v in w.items())


def methodology_changes(ma: Methodology, mb: Methodology) -> dict:
    """The methodology differences for a person: general items (criteria set, scale, bands, answer
    weights), the maximum points per source and per field, and per field the changed leaves (code,
    name, points and source in A and B). Leaves are matched by code."""
    general = []
    for label, va, vb in (
            ("Bộ tiêu chí", f"{ma.meta.title} ({ma.meta.id})", f"{mb.meta.title} ({mb.meta.id})"),
            ("Thang điểm", f"{points_text(ma.scale)} điểm", f"{points_text(mb.scale)} điểm"),
            ("Mức xếp loại", _bands_text(ma), _bands_text(mb)),
            ("Trọng số câu trả lời (điều tra cán bộ, đại biểu)", _weights_text(ma), _weights_text(mb))):
        if va != vb:
            general.append(dict(item=label, a=text_cell(va), b=text_cell(vb)))
    cols = ["code", "field_code", "label", "points", "source"]
    la, lb = ma.leaves()[cols], mb.leaves()[cols]
    m = la.merge(lb, on="code", how="outer", suffixes=("_a", "_b"), indicator=True, sort=False)
    order = {c: i for i, c in enumerate(list(la["code"]) + [c for c in lb["code"] if c not in set(la["code"])])}
    m = m.assign(_o=m["code"].map(order)).sort_values("_o").drop(columns="_o")
    m["field_code"] = m["field_code_a"].fillna(m["field_code_b"])
    m["label"] = m["label_b"].fillna(m["label_a"])
    changed = ((m["_merge"] != "both") | (m["points_a"] != m["points_b"]) | (m["source_a"] != m["source_b"]))
    m = m[changed].rename(columns={"_merge": "side"})
    src_a, src_b = ma.sources, mb.sources
    fa = {f.code: f for f in ma.fields}
    fb = {f.code: f for f in mb.fields}
    fields = []
    for code in list(dict.fromkeys([f.code for f in ma.fields] + [f.code for f in mb.fields])):
        x, y = fa.get(code), fb.get(code)
        rows = m[m["field_code"] == code]
        leaves = []
        for r in rows.itertuples():
            pa = "—" if pd.isna(r.points_a) else points_text(float(r.points_a))
            pb = "—" if pd.isna(r.points_b) else points_text(float(r.points_b))
            sa = "" if pd.isna(r.source_a) else src_a.get(r.source_a, text_cell(r.source_a))
            sb = "" if pd.isna(r.source_b) else src_b.get(r.source_b, text_cell(r.source_b))
            diff = (_signed_points(float(r.points_b) - float(r.points_a)) if r.side == "both"
                    else "mới" if pd.isna(r.points_a) else "bỏ")
            leaves.append(dict(code=text_cell(r.code), label=text_cell(r.label), a=pa, b=pb, diff=diff,
                               source=sb if sa == sb else f"{sa or '—'} → {sb or '—'}"))
        pa = float(x.points) if x else 0.0
        pb = float(y.points) if y else 0.0
        fields.append(dict(code=text_cell(code), label=text_cell((y or x).label), a=points_text(pa) if x else "—",
                           b=points_text(pb) if y else "—", diff=_signed_points(pb - pa),
                           n=len(leaves), n_total=int((ma.leaves()["field_code"] == code).sum()), leaves=leaves))
    by_a = la.groupby("source")["points"].sum()
    by_b = lb.groupby("source")["points"].sum()
    sources = []
    for s in dict.fromkeys(list(by_a.index) + list(by_b.index)):
        va, vb = float(by_a.get(s, 0.0)), float(by_b.get(s, 0.0))
        sources.append(dict(label=src_b.get(s, src_a.get(s, text_cell(s))), a=points_text(va), b=points_text(vb),
                            diff=_signed_points(vb - va)))
    return dict(general=general, fields=fields, sources=sources, n_leaves=len(m),
                n_fields=sum(1 for f in fields if f["n"]), same=not general and not len(m))


def _param_rows(a: Run, b: Run) -> list[dict]:
    fa, fb = flatten_params(a.params), flatten_params(b.params)
    return [dict(key=k, label=param_label(k), a=param_value(fa.get(k)), b=param_value(fb.get(k)))
            for k in param_differences(a, b)["parameter"]]


def _commune_rows(cmp: pd.DataFrame, ma: Methodology, mb: Methodology) -> list[dict]:
    la, lb = _band_labels(ma), _band_labels(mb)
    rows = []
    for r in cmp.itertuples():
        band_a, band_b = la.get(str(r.band_a), text_cell(r.band_a)), lb.get(str(r.band_b), text_cell(r.band_b))
        rows.append(dict(
            code=text_cell(r.commune_code), name=text_cell(r.commune_name), rank_a=str(int(r.rank_a)), rank_b=str(int(r.rank_b)),
            move=signed_text(r.rank_change, 0), mcls="up" if r.rank_change > 0 else "down" if r.rank_change < 0 else "",
            index_a=pct_text(r.index_pct_a), index_b=pct_text(r.index_pct_b), change=signed_text(r.index_change),
            ccls="up" if r.index_change > 0 else "down" if r.index_change < 0 else "",
            band=band_b if band_a == band_b else f"{band_a} → {band_b}", band_changed=band_a != band_b))
    return rows


def comparison_sheets(a: Run, b: Run, t: dict[str, pd.DataFrame] | None = None,
                      meths: tuple[Methodology, Methodology] | None = None) -> list[tuple[str, pd.DataFrame]]:
    """The sheets of compare.xlsx (also the page's CSV files): Vietnamese headers and words — band names,
    parameter names and values in words, the methodology differences as the page shows them."""
    t = t if t is not None else comparison_tables(a, b)
    ma, mb = meths if meths is not None else _methodologies(a, b)
    la, lb = _band_labels(ma), _band_labels(mb)
    c = t["communes"]
    communes = pd.DataFrame({
        "Mã xã": c["commune_code"].astype(str), "Tên xã, thị trấn": c["commune_name"].map(text_cell),
        "Điểm A": c["points_a"].astype(float), "Chỉ số A (%)": c["index_pct_a"].astype(float),
        "Hạng A": c["rank_a"].astype(int), "Xếp loại A": c["band_a"].astype(str).map(lambda x: la.get(x, x)),
        "Điểm B": c["points_b"].astype(float), "Chỉ số B (%)": c["index_pct_b"].astype(float),
        "Hạng B": c["rank_b"].astype(int), "Xếp loại B": c["band_b"].astype(str).map(lambda x: lb.get(x, x)),
        f"Thay đổi chỉ số ({PP})": c["index_change"].astype(float),
        "Thay đổi hạng (+ = tăng)": c["rank_change"].astype(int)})
    pr = _param_rows(a, b)
    params = pd.DataFrame({"Tham số": [r["label"] for r in pr], "Lần chạy A": [r["a"] for r in pr],
                           "Lần chạy B": [r["b"] for r in pr]})
    m = methodology_changes(ma, mb)
    rows = [(r["item"], "", r["a"], r["b"], "") for r in m["general"]]
    rows += [(f"Nguồn: {r['label']}", "", r["a"], r["b"], r["diff"]) for r in m["sources"]]
    for f in m["fields"]:
        rows.append((f"Lĩnh vực {f['code']}. {f['label']}", "", f["a"], f["b"], f["diff"]))
        rows += [(f"Tiêu chí {x['code']}. {x['label']}", x["source"], x["a"], x["b"], x["diff"]) for x in f["leaves"]]
    meth = pd.DataFrame(rows, columns=["Nội dung", "Nguồn đánh giá", "Lần chạy A", "Lần chạy B", "Chênh lệch"])
    return [("So sánh theo xã", communes), ("Khác biệt tham số", params), ("Khác biệt bộ tiêu chí", meth)]


def render_comparison(a: Run, b: Run, tables: dict[str, pd.DataFrame] | None = None,
                      sheets: list[tuple[str, pd.DataFrame]] | None = None,
                      meths: tuple[Methodology, Methodology] | None = None) -> str:
    """The comparison page as one self-contained HTML string (same runs → same bytes); ``sheets``: those of
    :func:`comparison_sheets` when already built (its CSV files are the same tables)."""
    t = tables if tables is not None else comparison_tables(a, b)
    ma, mb = meths if meths is not None else _methodologies(a, b)
    cmp = t["communes"]
    years = sorted({text_cell(a.manifest.get("year")), text_cell(b.manifest.get("year"))})
    sheets = dict(sheets if sheets is not None else comparison_sheets(a, b, t, (ma, mb)))
    communes_csv = _csv(sheets["So sánh theo xã"])
    csv = {"compare-table": dict(name="so_sanh_theo_xa.csv", csv=communes_csv),
           "fig-slope": dict(name="so_sanh_theo_xa.csv", csv=communes_csv),
           "compare-params": dict(name="khac_biet_tham_so.csv", csv=_csv(sheets["Khác biệt tham số"])),
           "compare-methodology": dict(name="khac_biet_bo_tieu_chi.csv", csv=_csv(sheets["Khác biệt bộ tiêu chí"]))}
    html = template_env().get_template("compare.html.j2").render(
        title=f"So sánh hai lần chạy Chỉ số CCHC năm {' và '.join(years)}",
        runs=[_run_info(a, ma, RUN_NAMES[0]), _run_info(b, mb, RUN_NAMES[1])],
        summary=compare_summary(cmp, ma, mb), params=_param_rows(a, b), meth=methodology_changes(ma, mb),
        rows=_commune_rows(cmp, ma, mb), fig=Markup(script_json(figure_json(fig_slope(a, b)))),
        district=_district(a),
        csv_data=Markup(script_json(csv)), **page_scripts())
    return nfc(html)


def _district(run: Run) -> str:
    """"Tỉnh … · Huyện …" from the run folder's district.json ('' when the folder has none)."""

    p = run.path / "district.json"
    if not p.exists():
        return ""
    d = json.loads(p.read_text(encoding="utf-8"))
    return " · ".join(text_cell(x) for x in (d.get("province"), d.get("name")) if x)


def _csv(df: pd.DataFrame) -> str:
    from .report import Downloads
    d = Downloads(0)
    d.add("x", "x", df)
    return d.files["x"]["csv"]


def write_comparison(a: Run, b: Run, out_dir: Path) -> list[Path]:
    """Write compare.html and compare.xlsx into out_dir; refuse different commune sets (CompareError)."""
    t = comparison_tables(a, b)
    meths = _methodologies(a, b)
    sheets = comparison_sheets(a, b, t, meths)
    html = render_comparison(a, b, t, sheets, meths)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_report(html, out_dir / "compare.html")
    write_sheets(sheets, out_dir / "compare.xlsx")
    return [out_dir / "compare.html", out_dir / "compare.xlsx"]


__all__ = [
    "RUN_NAMES",
    "compare_summary",
    "comparison_sheets",
    "comparison_tables",
    "fig_slope",
    "methodology_changes",
    "moves_between",
    "render_comparison",
    "write_comparison",
]
