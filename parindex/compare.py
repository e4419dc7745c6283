"""``parindex compare RUN_A RUN_B``: an HTML page and an xlsx with the parameter and methodology
differences of two runs, then per commune both scores and ranks and the change, with a slope chart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup

from . import figures as F
from .export import write_sheets
from .report import TEMPLATES, _env, _plotlyjs, figure_json, script_json, write_report
from .runs import Run, compare_results, methodology_differences, param_differences
from .text import fmt_num, fmt_pct, nfc


def fig_slope(cmp: pd.DataFrame, a_name: str = "Lần chạy A", b_name: str = "Lần chạy B") -> go.Figure:
    """One line per commune from its rank in run A to its rank in run B (rank 1 on top)."""
    fig = go.Figure()
    n = len(cmp)
    for r in cmp.itertuples():
        color = "#1a7f37" if r.rank_change > 0 else "#c0392b" if r.rank_change < 0 else "#999999"
        name = F.esc(r.commune_name)
        fig.add_trace(go.Scatter(
            x=[a_name, b_name], y=[r.rank_a, r.rank_b], mode="lines+markers+text", line=dict(color=color, width=2),
            text=[f"{name} ({r.rank_a})", f"{name} ({r.rank_b})"], textposition=["middle left", "middle right"],
            hovertemplate=f"{name}<br>%{{x}}: hạng %{{y}}<extra></extra>", showlegend=False))
    fig.update_layout(**F.base_layout(height=max(360, 28 * n + 120), margin=dict(l=170, r=170, t=30, b=30)))
    fig.update_yaxes(autorange="reversed", title="Hạng", dtick=1)
    return fig


def comparison_tables(a: Run, b: Run) -> dict[str, pd.DataFrame]:
    return {"params": param_differences(a, b), "methodology": methodology_differences(a, b),
            "communes": compare_results(a, b)}


def write_comparison(a: Run, b: Run, out_dir: Path) -> list[Path]:
    """Write compare.html and compare.xlsx into out_dir; refuse different commune sets (CompareError)."""
    t = comparison_tables(a, b)
    cmp = t["communes"]
    rows = [[r.commune_code, r.commune_name, fmt_pct(r.index_pct_a), str(r.rank_a), fmt_pct(r.index_pct_b),
             str(r.rank_b), fmt_num(r.index_change), f"{r.rank_change:+d}" if r.rank_change else "0"]
            for r in cmp.itertuples()]
    html = _env().get_template("compare.html.j2").render(
        a_label=a.label, b_label=b.label,
        params=t["params"].values.tolist(), meth=t["methodology"].values.tolist(), rows=rows,
        css=Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        plotlyjs=Markup(_plotlyjs()), fig=Markup(script_json(figure_json(fig_slope(cmp)))))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_report(nfc(html), out_dir / "compare.html")
    headers = {
        "communes": ("So sánh theo xã", {
            "commune_code": "Mã xã", "commune_name": "Tên xã", "points_a": "Điểm A", "index_pct_a": "Chỉ số A (%)",
            "rank_a": "Hạng A", "band_a": "Xếp loại A", "points_b": "Điểm B", "index_pct_b": "Chỉ số B (%)",
            "rank_b": "Hạng B", "band_b": "Xếp loại B", "index_change": "Thay đổi chỉ số (điểm %)",
            "rank_change": "Thay đổi hạng (+ = tăng)"}),
        "params": ("Khác biệt tham số", {"parameter": "Tham số", "run_a": "Lần chạy A", "run_b": "Lần chạy B"}),
        "methodology": ("Khác biệt phương pháp", {"item": "Mục", "run_a": "Lần chạy A", "run_b": "Lần chạy B"}),
    }
    write_sheets([(title, t[k].rename(columns=cols)) for k, (title, cols) in headers.items()],
                 out_dir / "compare.xlsx")
    return [out_dir / "compare.html", out_dir / "compare.xlsx"]
