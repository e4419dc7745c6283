"""Charts that read at a glance: colours that colour-blind readers can tell apart, text on coloured marks with
WCAG AA contrast (computed from the colours the figures and the page use), the criterion heatmap grouped by
field, the multi-year trend and the named baseline of the comparison."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from report_fixture import BASELINE, HISTORY_FIGURES, full_tables, history, previous_results

from parindex.publish import figures as F
from parindex.publish.labels import PAPER, contrast_ratio, ink_on, luminance, scale_color
from parindex.publish.page import TEMPLATES
from parindex.publish.report import ReportContext, render_report

AA = 4.5          # WCAG 2 AA, normal text
NON_TEXT = 3.0    # WCAG 2 1.4.11, graphical objects (marks) against the page


@pytest.fixture(scope="module")
def page():
    tables, meth, summary = full_tables()
    ctx = ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương", robustness_summary=summary, previous_year=2022, baseline=BASELINE,
                        history=history())
    return render_report(tables, meth, ctx), meth


def _figs(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="figures-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def _z(t: dict) -> np.ndarray:
    z = t["z"]
    if isinstance(z, dict):  # plotly's typed arrays
        import base64
        z = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(z.get("shape", "0").split(","))
    return np.array([[np.nan if v is None else v for v in row] for row in z], dtype=float)


def test_contrast_of_text_on_coloured_marks(page):
    """Every text drawn inside a coloured mark (bar labels, heatmap cells) reaches 4.5:1 against it; text
    drawn on the page (value labels beside dots) reaches it against white. Heatmap cells are checked for
    every value they show and along the whole colour scale."""
    html, _ = page
    checked = 0
    for fid, fig in _figs(html).items():
        for t in fig["data"]:
            ink = (t.get("textfont") or {}).get("color")
            if t["type"] == "bar" and t.get("text") is not None and t.get("textposition") in ("inside", "auto", None):
                colors = t["marker"]["color"]
                colors = colors if isinstance(colors, list) else [colors]
                assert ink, (fid, t.get("name"))
                for c in colors:
                    assert contrast_ratio(ink, c) >= AA, (fid, t.get("name"), ink, c)
                    checked += 1
            elif t["type"] == "heatmap" and t.get("texttemplate"):
                assert ink, fid
                lo, hi = float(t["zmin"]), float(t["zmax"])
                z = _z(t)
                for v in list(z[np.isfinite(z)]) + list(np.linspace(lo, hi, 101)):
                    c = scale_color(t["colorscale"], (v - lo) / (hi - lo))
                    assert contrast_ratio(ink, c) >= AA, (fid, v, ink, c)
                    checked += 1
            elif t["type"] == "scatter" and "text" in (t.get("mode") or "") and ink:
                assert contrast_ratio(ink, PAPER) >= AA, (fid, ink)
                checked += 1
    assert checked > 200


def test_band_colours_are_marks_anyone_can_tell_apart(page):
    _, meth = page
    colors = [b.color for b in meth.bands]
    # each band's mark stands out from the page, and a text on it (a badge) has a colour reaching AA
    assert all(contrast_ratio(c, PAPER) >= NON_TEXT for c in colors), colors
    assert all(contrast_ratio(ink_on(c), c) >= AA for c in colors)
    # ordered bands differ in lightness (they stay apart in grey print and for every colour vision)
    lum = [luminance(c) for c in colors]
    assert min(abs(a - b) for i, a in enumerate(lum) for b in lum[i + 1:]) > 0.05
    # no red–green pair: the scales run blue → orange
    html, _ = page
    assert "RdYlGn" not in html and "#1a9850" not in html and "#d73027" not in html


def test_text_colours_of_the_page_reach_aa():
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    ink = re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})", css)
    ink += re.findall(r"--(?:ink|muted|accent):\s*(#[0-9a-fA-F]{6})", css)
    assert len(ink) >= 5
    for c in set(ink):
        assert contrast_ratio(c, PAPER) >= AA, c


def test_criteria_heatmap_grouped_by_field_and_ranking_scale():
    tables, meth, _ = full_tables()
    fig = F.fig_criteria_heatmap(tables["leaf_scores"], meth, tables["results"])
    # 8 fields → 8 labels above their criteria and 7 white gaps between them, at the first criterion of fields 2…8
    labels = [a for a in fig.layout.annotations if a.name == "field-label"]
    assert [a.text.split(".")[0] for a in labels] == [str(i) for i in range(1, 9)]
    crit = meth.criteria()["field_code"].tolist()
    starts = [j for j in range(1, len(crit)) if crit[j] != crit[j - 1]]
    assert [s.x0 for s in fig.layout.shapes] == [j - 0.5 for j in starts]
    # field 1 has criteria 1.1 … 1.6 (indices 0–5): its label is centred on 2.5
    assert labels[0].x == 2.5 and labels[0].text == "1. Công tác chỉ<br>đạo, điều hành<br>CCHC"   # wrapped to the group
    # hover names the field; a criterion that does not apply stays blank (no colour)
    assert "%{customdata[2]}" in fig.data[0].hovertemplate
    assert fig.data[0].customdata[3][1][2] == "Lĩnh vực 1. Công tác chỉ đạo, điều hành CCHC"
    assert fig.data[0].z[3][1] is None and fig.data[0].text[3][1] == "–"


def test_trend_over_three_years_and_the_named_baseline(page):
    html, meth = page
    figs = _figs(html)
    assert list(figs) == HISTORY_FIGURES
    trend = figs["fig-trend"]
    # history(): 2021, 2022 and this year; one line per commune in this year's rank order, the district mean
    # (2021: 84.5, 2022: 85.75, 2023: 86.4444) as the last trace
    assert [t["name"] for t in trend["data"]][-1] == "Bình quân huyện"
    assert trend["data"][0]["x"] == ["2021", "2022", "2023"]
    assert trend["data"][0]["y"] == [84.0, 88.0, 98.5]        # Thị trấn Thanh Miện
    assert trend["data"][-1]["y"] == pytest.approx([84.5, 85.75, 86.4444], abs=1e-4)
    sec = html[html.index('<section id="sec-yoy"'):]
    sec = sec[:sec.index("</section>")]
    assert "Chỉ số qua các năm 2021–2023" in sec
    # the comparison names its baseline (run, date, methodology) and warns: 2022 used another methodology
    assert ("Kết quả năm 2022 dùng để so sánh: lần tính 003-abcdef12 ngày 20/02/2023, bộ tiêu chí "
            "“Phương án thử: khảo sát 40 điểm”.") in sec
    assert 'id="yoy-warning"' in sec and "được tính theo bộ tiêu chí khác" in sec
    summary = html[html.index('id="sec-summary"'):html.index('id="sec-ranking"')]
    assert 'id="summary-baseline"' in summary and "lần tính 003-abcdef12" in summary
    assert "Năm 2022 được tính theo bộ tiêu chí khác" in summary   # the warning is also a note of the summary


def test_baseline_with_the_same_methodology_has_no_warning_and_two_years_no_trend():
    tables, meth, summary = full_tables()
    same = dict(BASELINE, methodology_id=meth.meta.id, methodology_title=meth.meta.title)
    h = history()
    html = render_report(tables, meth, ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương", previous_year=2022, baseline=same,
                                                     history=h[h["year"] == 2022]))
    assert 'id="yoy-baseline"' in html and 'id="yoy-warning"' not in html and "bộ tiêu chí khác" not in html
    assert "fig-trend" not in html     # only two published years
    # without a baseline the comparison is shown as before, without naming a run
    html = render_report(tables, meth, ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương", previous_year=2022))
    assert 'id="sec-yoy"' in html and 'id="yoy-baseline"' not in html


def test_trend_without_a_comparable_previous_year_gets_its_own_section():
    tables, meth, _ = full_tables()
    prev = previous_results()
    prev.loc[0, "commune_code"] = "99999"       # not comparable: no year-over-year section
    html = render_report({**tables, "previous_results": prev}, meth,
                         ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương", previous_year=2022, history=history()))
    assert "<h2>7. Kết quả qua các năm</h2>" in html and 'id="fig-trend"' in html and 'id="yoy-table"' not in html
