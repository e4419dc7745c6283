"""The offline HTML report, checked on the synthetic fixture of tests/report_fixture.py (numbers by hand there)."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from report_fixture import (ALL_FIGURES, IMG_INJECTION, LABEL_INJECTION, PREVIOUS_INJECTION, SCRIPT_INJECTION,
                            full_tables, off_step, previous_results, robustness_tables, scored_tables)

from parindex.publish import figures as F
from parindex.ingest import BALLOT_RULES
from parindex.publish.labels import RULE_LABELS, rule_label
from parindex.publish.page import script_json, write_report
from parindex.publish.report import ReportContext, previous_results_check, render_report

NBSP = "\u00a0"
MINUS = "\u2212"
HEADINGS = ["Tóm tắt", "1. Xếp hạng Chỉ số CCHC", "2. Điểm theo lĩnh vực và tiêu chí",
            "3. Hồ sơ từng xã, thị trấn", "4. Tự đánh giá và thẩm định",
            "5. Điều tra xã hội học và khảo sát sự hài lòng", "6. Độ vững của xếp hạng", "7. So sánh với năm 2022",
            "8. Bảng kết quả", "Phụ lục A. Phương pháp tính", "Phụ lục B. Chất lượng dữ liệu"]


@pytest.fixture(scope="module")
def scored():
    tables, meth, _ = full_tables()
    return tables, meth


@pytest.fixture(scope="module")
def context():
    _, summary = robustness_tables()
    return ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương", run_label="reference-default-v1 · seed 7", params={"seed": 7},
                         notes=["Ghi chú kiểm thử: 1 tiêu chí thiếu dữ liệu"], robustness_summary=summary,
                         previous_year=2022)


@pytest.fixture(scope="module")
def page(scored, context):
    tables, meth = scored
    return render_report(tables, meth, context)


def _h2(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", h).strip() for h in re.findall(r"<h2>(.*?)</h2>", html, re.S)]


def _section(html: str, sec_id: str) -> str:
    start = html.index(f'<section id="{sec_id}"')
    return html[start:html.index("</section>", start)]


def _table_rows(html: str, table_id: str) -> list[list[str]]:
    start = html.index(f'id="{table_id}"')
    body = html[start:html.index("</table>", start)]
    body = body[body.index("<tbody>"):body.index("</tbody>")]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


def _without_plotlyjs(html: str) -> str:
    """The page minus the embedded plotly.js bundle (its source mentions URLs and MathJax by name)."""
    start = html.index("<script>\n", html.index('id="figures-data"'))
    end = html.index("</script>", start)
    return html[:start] + html[end:]


def _json_block(html: str, element_id: str):
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert m, element_id
    return json.loads(m.group(1))


def test_every_section_heading_in_order(page):
    assert _h2(page) == HEADINGS
    # the table of contents links every numbered section in the same order
    toc = page[page.index('<nav class="toc"'):page.index("</nav>")]
    assert re.findall(r'href="#(sec-[a-z]+)"', toc) == [
        "sec-summary", "sec-ranking", "sec-fields", "sec-profiles", "sec-appraisal", "sec-surveys",
        "sec-robustness", "sec-yoy", "sec-results", "sec-methodology", "sec-quality"]


class _Tags(HTMLParser):
    """Every start tag with its attributes (script and style contents are not parsed as markup)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_zero_network_references(page):
    p = _Tags()
    p.feed(page)
    tags = p.tags
    assert len(tags) > 100
    # no src/href/action/poster/data attribute pointing at the network, no <script src>, <link>, <iframe>
    urls = [(t, k, v) for t, a in tags for k, v in a.items()
            if k in ("src", "href", "action", "poster", "data", "srcset") and v]
    assert not [u for u in urls if re.match(r"\s*(?:https?:)?//", u[2], re.I)], urls
    assert all(v.startswith("#") for _, k, v in urls if k == "href")  # only in-page links
    assert not [a for t, a in tags if t == "script" and "src" in a]
    assert not [t for t, _ in tags if t in ("link", "iframe", "img", "object", "embed")]
    scripts = [a for t, a in tags if t == "script"]
    assert [a.get("id") for a in scripts] == ["plotly-config", "plotly-locale", "csv-data", "figures-data", None, None]
    assert [a.get("type") for a in scripts] == ["application/json"] * 4 + [None, None]
    rest = _without_plotlyjs(page)
    assert "@import" not in rest and "url(" not in rest
    assert "mathjax" not in rest.lower() and "require.js" not in rest.lower()
    # plotly.js embedded exactly once
    assert page.count("plotly.js v") == 1 or page.count("* plotly.js") == 1
    # every <script> opened is closed by its own </script> (nothing closed one early)
    assert len(re.findall(r"<script\b", rest)) == page.count("</script>") == 6
    # the policy: no connection, frame, form target or base address; plotly's cloud button and logo link off
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    for d in ("default-src 'none'", "connect-src 'none'", "form-action 'none'", "base-uri 'none'", "frame-src 'none'"):
        assert d in csp
    config = _json_block(page, "plotly-config")
    assert config["showSendToCloud"] is False and config["displaylogo"] is False and config["plotlyServerURL"] == ""
    assert {"sendChartToCloud", "sendDataToCloud", "editInChartStudio"} <= set(config["modeBarButtonsToRemove"])
    assert config["locale"] == "vi" and _json_block(page, "plotly-locale")["name"] == "vi"


def test_injected_markup_only_escaped(page):
    assert SCRIPT_INJECTION not in page
    assert IMG_INJECTION not in page
    assert not re.search(r"<img\b", _without_plotlyjs(page))
    # HTML tables: Jinja autoescape
    assert "Xã Ngô Quyền &lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;" in page
    # the embedded CSV files (JSON): raw text with <, >, & escaped for the script element
    assert "Xã Ngô Quyền \\u003cscript\\u003ewindow.__pwned=1\\u003c/script\\u003e" in page
    csv = _json_block(page, "csv-data")
    assert "Xã Ngô Quyền " + SCRIPT_INJECTION in csv["fig-ranking"]["csv"]
    assert IMG_INJECTION.replace('"', '""') in csv["appraisal-table"]["csv"]
    # plotly labels: HTML-escaped first, then JSON-escaped (plotly writes non-ASCII and "/" as \\u escapes)
    assert "Quy\\u1ec1n \\u0026lt;script\\u0026gt;win\\u003cbr\\u003edow.__pwned=1\\u0026lt;\\u002fscript" in page
    ranking = _json_block(page, "figures-data")["fig-ranking"]
    assert "Xã Ngô Quyền &lt;script&gt;win<br>dow.__pwned=1&lt;/script&gt;" in ranking["layout"]["yaxis"]["categoryarray"]


def _profile(html: str, code: str) -> str:
    start = html.index(f'<article class="profile" id="xa-{code}"')
    return html[start:html.index("</article>", start)]


def _text(fragment: str) -> str:
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def test_profiles_one_per_commune_by_hand(page):
    # one profile per commune in rank order; only the first is shown before any script runs
    arts = re.findall(r'<article class="profile" id="xa-(\d+)" data-code="(\d+)"( hidden)?>', page)
    assert [(a, b) for a, b, _ in arts] == [(c, c) for c in ["11239", "11242", "11248", "11245"]]
    assert [h for _, _, h in arts] == ["", " hidden", " hidden", " hidden"]
    assert re.findall(r'<option value="(\d+)">', page) == ["11239", "11242", "11248", "11245"]
    p = _profile(page, "11245")
    # field 1 of 11245: 8 − 1 (1.2 not applicable) = 7 of 10 − 1 = 9 → 77.8 %; district mean of field 1
    # (100 + 96 + 86 + 77.78) / 4 = 89.9 %; best: Thị trấn Thanh Miện 100 % (field names written, not codes)
    row = _text(re.findall(r"<tr><td class=\"pf-field\">.*?</tr>", p, re.S)[0])
    assert row == (f"1. Công tác chỉ đạo, điều hành CCHC 7,00 / 9,00 * 77,8{NBSP}% 89,9{NBSP}% "
                   f"100,0{NBSP}% Thị trấn Thanh Miện")
    assert 'style="width: 77.8%"' in p and 'style="left: 89.9%"' in p
    # where points were lost: the officials' survey answers D → 3.7 and 5.5 lose 3, then 1.6, 2.4, 4.3, 6.4 lose 2
    lost = re.findall(r'<span class="pf-code">([\d.]+)</span>', p)
    assert lost == ["3.7", "5.5", "1.6", "2.4", "4.3", "6.4"]
    # rank interval 3–4 (median 4), band kept in 80 % of the draws, moves since 2022, reduced maximum
    notes = re.findall(r"<li>(.*?)</li>", p[:p.index("</header>")])
    assert notes == [
        "Hạng có thể (5–95 % số lần mô phỏng): 3 – 4; hạng trung vị 4.",
        f"Xác suất giữ xếp loại Trung bình: 80{NBSP}%.",
        f"So với năm 2022: hạng 1 → 4 (giảm 3 bậc); chỉ số 90,00{NBSP}% → 77,78{NBSP}% ({MINUS}12,22 điểm phần trăm).",
        "* Điểm tối đa 99,00 thay vì 100,00: tiêu chí không áp dụng — 1.2 (Báo cáo CCHC định kỳ đầy đủ, đúng hạn)."]
    # both surveys with intervals, each satisfaction factor included: TC 2 of 4 answers 4–5 (50 %); resampling its
    # two ballots gives 0, 50 or 100 % → interval 0–100 %
    sat = _text(p[p.index("Kết quả khảo sát"):])
    assert f"Chỉ số hài lòng chung: 90,0{NBSP}%" in sat
    assert f"Tiếp cận dịch vụ 50,0{NBSP}% 0,0{NBSP}% – 100,0{NBSP}% 4" in sat
    assert "Điểm điều tra xã hội học (cán bộ, đại biểu): 0,00 / 20,00 (khoảng tin cậy 95 %: 0,00 – 0,00)" in sat
    assert "Phiếu khảo sát sự hài lòng: 2 phiếu nhận, 2 hợp lệ, 0 bị loại." in sat
    # 11248: the injected name and reason are text; 8.1.1 lost 2 with the appraisers' reason
    q = _profile(page, "11248")
    assert "Xã Ngô Quyền &lt;script&gt;window.__pwned=1&lt;/script&gt;" in q
    assert "Không đạt chỉ tiêu thu ngân sách &lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;" in q
    # 11248 is near the threshold of Khá (80.50 %) and keeps Khá in only 60 % of the draws
    assert '<span class="pf-mark">sát ngưỡng</span>' in q and '<span class="pf-mark">chưa chắc chắn</span>' in q
    assert (f"Xác suất giữ xếp loại Khá: 60{NBSP}%; dễ chuyển sang Trung bình (40{NBSP}%).") in q


def test_figure_json_decodes_to_the_data(page):
    figs = _json_block(page, "figures-data")
    assert list(figs) == ALL_FIGURES
    assert all(f["layout"]["separators"] == ",." for f in figs.values())
    # every figure has a place in the page, in the order of the figures
    assert re.findall(r'<div id="(fig-[a-z-]+)" class="chart"', page) == ALL_FIGURES


def test_vietnamese_numbers_and_headline(page):
    # district mean (98.5 + 89 + 80.5 + 77.7778) / 4 = 86.4444; 11245: 77 / 99 = 77.78 %
    assert f"86,44{NBSP}%" in page
    assert f"77,78{NBSP}%" in page and f"80,50{NBSP}%" in page and f"98,50{NBSP}%" in page
    assert "98.50" not in _without_plotlyjs(page)
    # highest / lowest communes, and 1 / 2 / 1 communes in bands A / B / C
    assert re.search(r"Cao nhất</div><div class=\"card-value\">98,50\xa0%</div><div class=\"card-foot\">"
                     r"Thị trấn Thanh Miện<", page)
    assert re.search(r"Thấp nhất</div><div class=\"card-value\">77,78\xa0%</div><div class=\"card-foot\">"
                     r"Xã Phạm Kha<", page)
    assert re.findall(r'<span class="band-n">(\d+)</span>', page) == ["1", "2", "1"]
    # the context note and the automatic missing-data note are shown
    assert "Ghi chú kiểm thử: 1 tiêu chí thiếu dữ liệu" in page
    assert "1 tiêu chí thiếu dữ liệu (ở 1 xã, thị trấn) được tính 0 điểm" in page


def test_results_table_rows(page):
    body = page[page.index('<table class="data results">'):]
    body = body[:body.index("</table>")]
    rows = re.findall(r"<tr>\s*(.*?)</tr>", body, re.S)[1:]
    cells = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]
    # rank, code, points, max, index, band; fields of 11242: 9.6, 7.6, 15.4, 5.6, 11.4, 7.6, 11.6, 19.2; bonus 1
    assert [c[:2] for c in cells] == [["1", "11239"], ["2", "11242"], ["3", "11248"], ["4", "11245"]]
    # 11245's maximum is 99 (1.2 does not apply): marked *; bands by their short names
    assert cells[3][3:7] == ["77,00", "99,00 *", f"77,78{NBSP}%", "Trung bình"]
    assert cells[0][6] == "Tốt" and cells[1][6] == "Khá"
    assert cells[1][7:] == ["9,60", "7,60", "15,40", "5,60", "11,40", "7,60", "11,60", "19,20", "1,00", "0,00"]


def test_largest_cuts_table_order(page):
    part = page[page.index("Các trường hợp giảm điểm nhiều nhất"):]
    part = part[:part.index("</table>")]
    codes = re.findall(r"<td>(\d+(?:\.\d+)+)</td>", part)
    # −2 (7.2.2 of rank 2, 8.1.1 of rank 3), −1.5 (3.2.1), −1 (7.2.1 of rank 2, 5.4.1 of rank 4)
    assert codes == ["7.2.2", "8.1.1", "3.2.1", "7.2.1", "5.4.1"]
    assert "(không ghi lý do)" in part
    assert "Thẩm định đã giảm điểm 5 tiêu chí ở 4 xã, thị trấn (tổng cộng 7,50 điểm) và nâng điểm 1 tiêu chí." in page


def test_methodology_appendix(page):
    assert "<code>reference-default-v1</code> · phiên bản 1.0" in page
    assert "chờ: Phụ lục Quyết định 3395/QĐ-UBND" in page
    assert re.search(r'<tr class="lvl2"><td>3\.2\.1</td><td class="label">Tỷ lệ hồ sơ giải quyết đúng hạn</td>'
                     r'<td class="num">3</td><td>Thẩm định \(Tổ thư ký\)</td><td>3 / 1,5 / 0</td></tr>', page)
    assert re.search(r'<tr class="lvl1"><td>8\.5</td><td class="label">Sự hài lòng của người dân, tổ chức \(SIPAS\)'
                     r'</td><td class="num">10</td><td>Khảo sát sự hài lòng \(SIPAS\)</td>', page)
    # parameters by their Vietnamese name only (no internal keys)
    assert '<li><span class="p-label">Hạt giống ngẫu nhiên</span><span class="wrap">7</span></li>' in page
    assert '<code class="small">seed</code>' not in page
    # bands by name and threshold
    assert re.search(r'<tr><td><span class="chip" style="background: #08519c"></span>Tốt</td><td>Từ 90 % trở lên</td>'
                     r'<td class="num">90\xa0%</td></tr>', page)
    assert "reference-default-v1 · seed 7" in page


def test_quality_appendix(page):
    part = page[page.index('id="sec-quality"'):]
    assert "10 phiếu nhận, 8 phiếu hợp lệ, 2 phiếu bị loại (cách đếm như mục 5.)." in part
    # 11242: 3 received, 2 valid, 1 excluded (blank_majority); columns: received, valid, excluded, blank_majority,
    # duplicate
    assert re.search(r'<td>11242</td><td class="name">Xã Thanh Tùng</td><td class="num">3</td><td class="num">2</td>'
                     r'<td class="num">1</td>\s*<td class="num">1</td><td class="num">0</td>', part)
    assert "3 dòng bị loại." in part
    assert "<td>11248</td>" in part and "<td>6.3</td><td>Công khai tài chính, ngân sách</td>" in part


def test_absent_tables_leave_their_sections_out(context):
    tables, meth = scored_tables(with_quality=False, with_surveys=False)
    html = render_report({"results": tables["results"]}, meth, context)
    assert _h2(html) == ["Tóm tắt", "1. Xếp hạng Chỉ số CCHC", "2. Điểm theo lĩnh vực và tiêu chí",
                         "3. Bảng kết quả", "Phụ lục A. Phương pháp tính"]
    for absent in ('id="fig-satisfaction"', 'id="scorecard-data"', 'id="sec-surveys"', 'id="sec-robustness"',
                   'id="sec-yoy"', 'id="summary-movers"', 'id="fig-criteria"', 'id="sec-quality"'):
        assert absent not in html, absent
    assert list(_json_block(html, "figures-data")) == ["fig-ranking", "fig-fields", "fig-sources"]


@pytest.mark.parametrize("key, sections, figure", [
    ("leaf_scores", {"sec-profiles", "sec-appraisal"}, "fig-criteria"),
    ("robustness", {"sec-robustness"}, None),
    ("previous_results", {"sec-yoy"}, "fig-yoy"),
    ("satisfaction", {"sec-surveys"}, "fig-sat-answers"),
    ("officials", {"sec-surveys"}, "fig-off-answers"),
    ("satisfaction_factors", {"sec-surveys"}, "fig-satisfaction"),
    ("ballots", {"sec-quality", "sec-surveys"}, None),   # the ballot count belongs to the survey section
    ("rejections", {"sec-quality"}, None),
])
def test_each_table_brings_its_section(scored, key, sections, figure):
    """results (without survey columns) plus one table: that table's section (and figure) appears."""
    tables, meth = scored
    bare = scored_tables(with_quality=False, with_surveys=False)[0]["results"]
    html = render_report({"results": bare, key: tables[key]}, meth, ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương", previous_year=2022))
    for section in sections:
        assert f'<section id="{section}"' in html
    if figure:
        assert f'<div id="{figure}" class="chart"' in html
    others = {"sec-profiles", "sec-appraisal", "sec-robustness", "sec-yoy", "sec-surveys", "sec-quality"} - sections
    assert not [o for o in others if f'<section id="{o}"' in html]


def test_render_is_deterministic_and_write_is_atomic(scored, context, page, tmp_path):
    tables, meth = scored
    assert render_report(tables, meth, context) == page
    out = tmp_path / "reports" / "index.html"
    write_report(page, out)
    write_report(page, out)  # replacing an existing file
    assert out.read_text(encoding="utf-8") == page
    assert [p.name for p in out.parent.iterdir()] == ["index.html"]


def test_missing_results_is_refused(scored, context):
    tables, meth = scored
    with pytest.raises(ValueError, match="'results' is required"):
        render_report({"leaf_scores": tables["leaf_scores"]}, meth, context)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['band'\]"):
        render_report({"results": tables["results"].drop(columns="band")}, meth, context)


def test_script_json_escapes_everything_that_could_close_a_script():
    s = script_json({"a": "</script><!-- & \u2028"})
    assert "<" not in s and ">" not in s and "&" not in s and "\u2028" not in s
    assert json.loads(s) == {"a": "</script><!-- & \u2028"}


# ---------------------------------------------------------------- figures -------
def test_fig_ranking_order_colours_and_escaping(scored):
    tables, meth = scored
    fig = F.fig_ranking(tables["results"], meth)
    assert fig.layout.separators == ",."
    dots = [t for t in fig.data if t.mode == "markers+text"]
    # one trace per band present, named by the band: Tốt (11239), Khá (11242, 11248 in rank order), Trung bình (11245)
    assert [t.name for t in dots] == ["Tốt (từ 90 % trở lên)", "Khá (từ 80 % đến dưới 90 %)", "Trung bình (dưới 80 %)"]
    assert [t.marker.color for t in dots] == ["#08519c", "#4a90c8", "#b35806"]
    # names are broken into lines of 24 characters ("Xã Ngô Quyền <script>win" | "dow.__pwned=1</script>"),
    # each line escaped on its own so that no entity is cut; 11245's maximum is 99 (a criterion does not apply): *
    assert list(dots[1].y) == ["Xã Thanh Tùng", "Xã Ngô Quyền &lt;script&gt;win<br>dow.__pwned=1&lt;/script&gt;"]
    assert list(dots[2].y) == ["Xã Phạm Kha *"]
    assert list(dots[1].x) == [89.0, 80.5]
    assert list(dots[2].text) == [f"77,78{NBSP}%"]
    assert list(fig.layout.yaxis.categoryarray)[0] == "Thị trấn Thanh Miện"
    # the cut axis: lowest 77.7778, highest 98.5, span 20.7222 → from floor(77.7778 − 0.15 × 20.7222) = 74 to
    # 98.5 + 0.32 × 20.7222 = 105.1311; ticks every 5 points, none above 100 %
    assert fig.layout.xaxis.range == pytest.approx((74.0, 105.1311), abs=1e-4)
    assert list(fig.layout.xaxis.tickvals) == [75.0, 80.0, 85.0, 90.0, 95.0, 100.0]
    assert fig.layout.xaxis.ticktext[0] == f"75{NBSP}%"
    # dashed district mean at 86.4444, dotted thresholds at 80 and 90, labelled with the band names
    assert fig.layout.shapes[0].x0 == pytest.approx(86.4444, abs=1e-4)
    assert [s_.x0 for s_ in fig.layout.shapes[1:]] == [80, 90]
    assert [a.text for a in fig.layout.annotations] == [f"Ngưỡng Khá: 80{NBSP}%", f"Ngưỡng Tốt: 90{NBSP}%"]
    # without robustness results: one panel, no second axis
    assert "xaxis2" not in fig.layout.to_plotly_json() and not any(t.xaxis == "x2" for t in fig.data)


def test_fig_ranking_marks_uncertainty(scored):
    tables, meth = scored
    rob, _ = robustness_tables()
    marks = F.uncertainty_marks(tables["results"], meth, rob["robustness"], near_threshold=1.0, band_prob_min=0.8)
    # near a threshold (|index − threshold| ≤ 1): 11242 89.00 (Tốt at 90) and 11248 80.50 (Khá at 80)
    assert marks["near"].tolist() == [False, True, True, False]
    assert marks["threshold"].tolist()[1:3] == [90.0, 80.0]
    # published band kept in 100, 90, 60, 80 % of the draws → only 11248 below 0.8 (0.8 itself is not below)
    assert marks["p_keep"].tolist() == [1.0, 0.9, 0.6, 0.8] and marks["low"].tolist() == [False, False, True, False]
    assert marks.loc[2, "other"] == "C" and marks.loc[2, "p_other"] == pytest.approx(0.4)
    assert marks["reduced"].tolist() == [False, False, False, True]
    # stricter parameters mark more: within 2.5 points, band probability below 0.95
    m2 = F.uncertainty_marks(tables["results"], meth, rob["robustness"], near_threshold=2.5, band_prob_min=0.95)
    assert m2["near"].tolist() == [False, True, True, True] and m2["low"].tolist() == [False, True, True, True]
    fig = F.fig_ranking(tables["results"], meth, marks)
    ring = next(t for t in fig.data if t.marker.symbol == "circle-open")
    assert list(ring.x) == [89.0, 80.5] and ring.name == "Sát ngưỡng (± 1 điểm phần trăm)"
    near = next(t for t in fig.data if t.name == "Khá (từ 80 % đến dưới 90 %)")
    assert [x.strip("\u2007") for x in near.text] == [f"89,00{NBSP}% · sát ngưỡng", f"80,50{NBSP}% · sát ngưỡng"]
    # the second panel: 5–95 % rank intervals (2–3, 2–4 …) around the median, the published rank, the low probability
    med = next(t for t in fig.data if t.name == "Hạng trung vị, khoảng 5–95 %")
    assert med.xaxis == "x2" and list(med.x) == [1.0, 2.0, 3.0, 4.0]
    assert list(med.error_x.array) == [0.0, 1.0, 1.0, 0.0] and list(med.error_x.arrayminus) == [0.0, 0.0, 1.0, 1.0]
    low = next(t for t in fig.data if t.name and t.name.startswith("Xác suất giữ xếp loại <"))
    assert list(low.text) == [f"giữ Khá: 60{NBSP}%"] and list(low.x) == [4.35]
    # the hover of a dot gives the median rank, the interval and the band probability
    hover = near.customdata[1][6]
    assert "Hạng trung vị 3; khoảng 5–95 %: hạng 2 – 4" in hover and f"Xác suất giữ xếp loại Khá: 60{NBSP}%" in hover
    assert "Sát ngưỡng Khá (80" in hover


def test_fig_fields_and_self_vs_appraised_values(scored):
    tables, meth = scored
    fields = F.fig_fields(tables["results"], meth)
    assert len(fields.data) == 8
    # field 6 in rank order: 8, 7.6, 5.1 (6.3 missing → 0), 6
    assert list(fields.data[5].x) == [8.0, 7.6, 5.1, 6.0]
    sva = F.fig_self_vs_appraised(tables["leaf_scores"], tables["results"])
    # self-assessed (applicable appraised leaves): 70, 70, 67.5 (3.1 self 1, 6.3 missing 0), 69 (1.2 n/a)
    assert list(sva.data[0].x) == [70.0, 70.0, 67.5, 69.0]
    # appraised: 68.5, 67, 66.5, 68
    assert list(sva.data[1].x) == [68.5, 67.0, 66.5, 68.0]


def test_fig_satisfaction_matrix(scored):
    tables, meth = scored
    fig = F.fig_satisfaction(tables["satisfaction_factors"], meth, tables["results"])
    z = fig.data[0].z
    # rows in rank order; columns TC, TT, CC, KQ, PA, SIPAS mean
    assert list(z[1]) == [50.0] * 6                                  # 11242: every factor 3 of 6 … 0.5
    assert list(z[3]) == [50.0, 100.0, 100.0, 100.0, 100.0, 90.0]   # 11245: TC 2/4, mean 0.9
    assert fig.data[0].text[3][5] == f"90,0{NBSP}%"


# ---------------------------------------------------------------- new sections (issue 5) -------
def test_summary_biggest_movers(page):
    # previous_results(): 11239 2 → 1 (+1), 11242 4 → 2 (+2), 11248 3 → 3, 11245 1 → 4 (−3)
    part = page[page.index('id="summary-movers"'):]
    part = part[:part.index("</section>")]
    up, down = part.split("Giảm hạng nhiều nhất")
    up_items = [re.sub(r"<[^>]+>", "", li).split("(")[0].split() for li in re.findall(r"<li>(.*?)</li>", up, re.S)]
    assert [" ".join(x) for x in up_items] == ["Xã Thanh Tùng +2 bậc", "Thị trấn Thanh Miện +1 bậc"]
    assert ("(hạng 4 → 2; chỉ số +9,00 điểm phần trăm)" in up
            and "(hạng 2 → 1; chỉ số +10,50 điểm phần trăm)" in up)
    # 11245: 90 → 77.7778 = −12.22 percentage points (one minus sign: U+2212)
    assert re.findall(r'<span class="name">(.*?)</span>', down) == ["Xã Phạm Kha"]
    assert f"{MINUS}3 bậc" in down and f"(hạng 1 → 4; chỉ số {MINUS}12,22 điểm phần trăm)" in down
    assert "Tăng hạng nhiều nhất so với năm 2022" in part


def test_year_over_year_moves_by_hand(page):
    rows = _table_rows(page, "yoy-table")
    # rank 2023, name, rank 2022, move, index 2022, index 2023, change (see previous_results())
    assert rows == [
        ["1", "Thị trấn Thanh Miện", "2", "+1", f"88,00{NBSP}%", f"98,50{NBSP}%", "+10,50"],
        ["2", "Xã Thanh Tùng", "4", "+2", f"80,00{NBSP}%", f"89,00{NBSP}%", "+9,00"],
        ["3", "Xã Ngô Quyền " + SCRIPT_INJECTION.replace("<", "&lt;").replace(">", "&gt;"), "3", "0",
         f"85,00{NBSP}%", f"80,50{NBSP}%", f"{MINUS}4,50"],
        ["4", "Xã Phạm Kha", "1", f"{MINUS}3", f"90,00{NBSP}%", f"77,78{NBSP}%", f"{MINUS}12,22"],
    ]
    sec = _section(page, "sec-yoy")
    # district mean 2022: (90 + 88 + 85 + 80) / 4 = 85.75; 2023: 86.4444 → +0.69
    assert (f"2 xã, thị trấn tăng hạng, 1 giảm hạng, 1 giữ nguyên; chỉ số bình quân của huyện năm 2022 là "
            f"85,75{NBSP}%, năm 2023 là 86,44{NBSP}% (+0,69 điểm phần trăm)") in sec
    slope = _json_block(page, "figures-data")["fig-yoy"]
    lines = {t["name"]: t for t in slope["data"] if t.get("mode") == "lines+markers"}
    assert set(lines) == {"Tăng hạng", "Giảm hạng", "Giữ nguyên"}
    assert lines["Giảm hạng"]["y"] == [1, 4, None] and lines["Giữ nguyên"]["y"] == [3, 3, None]
    assert lines["Tăng hạng"]["y"] == [2, 1, None, 4, 2, None]


def test_year_over_year_moves_function():
    tables, _ = scored_tables(with_quality=False, with_surveys=False)
    m = F.year_over_year(tables["results"], previous_results())
    assert m["commune_code"].tolist() == ["11239", "11242", "11248", "11245"]
    assert m["move"].tolist() == [1, 2, 0, -3]
    assert m["index_change"].round(4).tolist() == [10.5, 9.0, -4.5, -12.2222]


def test_previous_year_with_other_communes_gives_a_note_not_a_section(scored, context):
    tables, meth = scored
    prev = previous_results()
    prev.loc[prev["commune_code"] == "11242", "commune_code"] = "11299"
    ok, note = previous_results_check(prev, tables["results"], 2022)
    assert not ok
    assert note == ("Không so sánh với năm 2022: danh sách xã, thị trấn hai năm khác nhau (chỉ có trong năm nay: "
                    "11242; chỉ có trong năm 2022: 11299).")
    html = render_report({**tables, "previous_results": prev}, meth, context)
    assert 'id="sec-yoy"' not in html and 'id="summary-movers"' not in html and "fig-yoy" not in html
    assert note in html
    assert previous_results_check(previous_results(), tables["results"], 2022) == (True, None)


def test_robustness_band_probability_table(page):
    rows = _table_rows(page, "band-prob-table")
    esc_name = "Xã Ngô Quyền " + SCRIPT_INJECTION.replace("<", "&lt;").replace(">", "&gt;")
    # rank, name, band, median, 5–95 %, P(A), P(B), P(C), P(top 3), mean |shift| — robustness_tables()
    assert rows == [
        ["1", "Thị trấn Thanh Miện", "Tốt", "1", "1 – 1", f"100,0{NBSP}%", f"0,0{NBSP}%",
         f"0,0{NBSP}%", f"100,0{NBSP}%", "0,00"],
        ["2", "Xã Thanh Tùng", "Khá", "2", "2 – 3", f"10,0{NBSP}%", f"90,0{NBSP}%",
         f"0,0{NBSP}%", f"100,0{NBSP}%", "0,25"],
        ["3", esc_name, "Khá", "3", "2 – 4", f"0,0{NBSP}%", f"60,0{NBSP}%", f"40,0{NBSP}%",
         f"75,0{NBSP}%", "0,50"],
        ["4", "Xã Phạm Kha", "Trung bình", "4", "3 – 4", f"0,0{NBSP}%", f"20,0{NBSP}%", f"80,0{NBSP}%",
         f"25,0{NBSP}%", "0,25"],
    ]
    sec = _section(page, "sec-robustness")
    assert "Trong nhóm 3 xã dẫn đầu" in sec
    # the long plain-language sentence is gone: the summary card says it in short bullets
    assert 'id="robustness-text"' not in sec and "Độ tin cậy của xếp hạng" in sec
    assert "".join(re.findall(r"<th[^>]*>(?:<span[^>]*></span>)?(Tốt|Khá|Trung bình)</th>", sec)) == "TốtKháTrung bình"
    # convergence: 0.25 → 0.26, width 1 → 1.25, largest probability change |0.43 − 0.40| = 3 points of %
    assert ("Kiểm tra hội tụ: so sánh 500 và 1.000 lần mô phỏng: mức thay đổi hạng bình quân 0,25 và 0,26; "
            "độ rộng bình quân của khoảng 5–95 % là 1,00 và 1,25 hạng; xác suất xếp loại / nhóm dẫn đầu thay đổi "
            "nhiều nhất 3,0 điểm phần trăm.") in sec
    figs = _json_block(page, "figures-data")
    assert figs["fig-outrank"]["data"][0]["text"][1][2] == f"Xã Thanh Tùng xếp trên {esc_name}: 80,0{NBSP}%"
    # plotly writes numpy arrays as typed arrays (base64 "bdata")
    ys = [np.frombuffer(base64.b64decode(t["y"]["bdata"]), dtype=t["y"]["dtype"]).tolist()
          for t in figs["fig-sobol"]["data"]]
    assert ys == [[0.2, 0.1, 0.5], [0.4, 0.3, 0.6]]
    # the outranking matrix: the diagonal (a commune against itself) is blank
    z = figs["fig-outrank"]["data"][0]["z"]
    assert [z[i][i] for i in range(4)] == [None] * 4 and z[1][2] == 0.8


def test_robustness_leave_one_field_out_table(page):
    rows = _table_rows(page, "loo-table")
    # rank, name, rank without fields 1..8, range; without field 2: 11248 → 4, 11245 → 3; without 8: swap 2/3
    assert rows[1][2:] == ["2", "2", "2", "2", "2", "2", "2", "3", "2 – 3"]
    assert rows[2][2:] == ["3", "4", "3", "3", "3", "3", "3", "2", "2 – 4"]
    assert rows[3][2:] == ["4", "3", "4", "4", "4", "4", "4", "4", "3 – 4"]
    part = page[page.index('id="loo-table"'):]
    assert '<td class="num up">3</td>' in part and '<td class="num down">4</td>' in part


def test_reliability_card_short_bullets(page, scored, context):
    card = page[page.index('id="reliability-card"'):]
    card = card[:card.index("</div>")]
    items = [re.sub(r"<[^>]+>", "", x) for x in re.findall(r"<li>(.*?)</li>", card, re.S)]
    esc_name = "Xã Ngô Quyền " + SCRIPT_INJECTION.replace("<", "&lt;").replace(">", "&gt;")
    # robustness_tables(): only 11239 has a one-rank interval; no neighbours reversed in more than half of the draws
    # (11242 over 11248 0.8, 11248 over 11245 0.75); 11248 keeps Khá in 60 % < 80 %; 11242 (89.00) and 11248 (80.50)
    # lie within 1 point of a threshold; the widest interval is 11248's (2–4)
    assert items == [
        "1/4 xã, thị trấn giữ đúng hạng công bố trong ít nhất 90 % số lần mô phỏng (khoảng 5–95 % chỉ gồm một hạng).",
        "Không có hai xã liền hạng nào bị đảo thứ tự trong quá nửa số lần mô phỏng.",
        f"Xếp loại kém chắc chắn (xác suất giữ dưới 80{NBSP}%): {esc_name} (Khá 60{NBSP}%, dễ chuyển sang Trung bình).",
        f"Sát ngưỡng xếp loại (cách ngưỡng không quá 1 điểm phần trăm): Xã Thanh Tùng (89,00{NBSP}%, ngưỡng Tốt "
        f"90{NBSP}%) và {esc_name} (80,50{NBSP}%, ngưỡng Khá 80{NBSP}%).",
        f"Khoảng hạng rộng nhất: {esc_name} (hạng công bố 3, có thể từ hạng 2 đến 4).",
    ]
    # neighbours reversed in more than half of the draws are named: 11248 above 11242 in 55 % of the draws
    tables, meth = scored
    o = tables["outrank"].copy()
    o.loc["11248", "11242"], o.loc["11242", "11248"] = 0.55, 0.45
    html = render_report({**tables, "outrank": o}, meth, context)
    card = html[html.index('id="reliability-card"'):]
    card = card[:card.index("</div>")]
    assert (f"Hai xã liền hạng bị đảo thứ tự trong quá nửa số lần mô phỏng: {esc_name} (hạng 3) xếp trên "
            f"Xã Thanh Tùng (hạng 2) trong 55{NBSP}% số lần.") in card
    assert len(re.findall(r"<li>", card)) <= 5


def test_surveys_section_tables_and_answer_shares(page, scored):
    tables, meth = scored
    rows = _table_rows(page, "survey-table")
    # name, received, valid, excluded, sat index, its interval, officials points, its interval
    assert [r[:5] for r in rows] == [["Thị trấn Thanh Miện", "2", "2", "0", f"100,0{NBSP}%"],
                                     ["Xã Thanh Tùng", "3", "2", "1", f"50,0{NBSP}%"],
                                     ["Xã Ngô Quyền " + SCRIPT_INJECTION.replace("<", "&lt;").replace(">", "&gt;"),
                                      "3", "2", "1", f"100,0{NBSP}%"],
                                     ["Xã Phạm Kha", "2", "2", "0", f"90,0{NBSP}%"]]
    assert rows[3][6:] == ["0,00", "0,00 – 0,00"]   # answers D and blank: 0 points in every replicate
    sec = _section(page, "sec-surveys")
    assert "10 phiếu nhận, 8 phiếu hợp lệ, 2 phiếu bị loại" in sec
    sh = F.satisfaction_answer_shares(tables["satisfaction"], meth).set_index("factor")
    # TC (2 questions × 8 ballots = 16 answers): 5 ×6 (11239 ×4, 11242 b0 ×2), 4 ×6 (11245 b0, 11248 ×2),
    # 3 ×2 (11242 b1), 2 ×2 (11245 b1) → 0 / 12.5 / 12.5 / 37.5 / 37.5 %
    assert sh.loc["TC", ["1", "2", "3", "4", "5"]].tolist() == [0.0, 12.5, 12.5, 37.5, 37.5]
    assert sh.loc["TC", "n_valid"] == 16 and sh.loc["TC", "n_blank"] == 0
    # TT (3 questions × 8 ballots = 24): 5 ×12 (11239 ×2, 11242 b0, 11245 b1), 4 ×9 (11245 b0, 11248 ×2), 3 ×3
    assert sh.loc["TT", ["3", "4", "5"]].tolist() == [12.5, 37.5, 50.0]
    oh = F.officials_answer_shares(tables["officials"], meth).set_index("question")
    # every question: A, A | A, B | D, blank | D, B → A 3, B 2, C 0, D 2, blank 1 of 8
    assert oh.loc["3.7", ["A", "B", "C", "D", "blank"]].tolist() == [37.5, 25.0, 0.0, 25.0, 12.5]
    assert oh["n"].tolist() == [8] * 9
    figs = _json_block(page, "figures-data")
    assert [t["name"] for t in figs["fig-off-answers"]["data"]] == [
        "A – Rất tốt", "B – Tốt", "C – Chưa tốt", "D – Kém", "Không biết / không trả lời"]
    assert figs["fig-sat-ci"]["data"][0]["x"] == [100.0, 50.0, 100.0, 90.0]


def test_criteria_heatmap_by_hand(scored):
    tables, meth = scored
    pct, pts, mx = F.criteria_matrix(tables["leaf_scores"], meth, tables["results"])
    assert list(pct.columns) == meth.criteria()["code"].tolist() and len(pct.columns) == 40
    assert pct.loc["11239", "3.2"] == pytest.approx(62.5)    # (3.2.1: 1.5 + 3.2.2: 1) / (3 + 1)
    assert pct.loc["11242", "7.2"] == pytest.approx(25.0)    # (1 + 0) / (2 + 2)
    assert pct.loc["11248", "8.1"] == pytest.approx(60.0)    # (0 + 2 + 1) / (2 + 2 + 1)
    assert pct.loc["11248", "6.3"] == 0.0                    # missing, scored 0 of 1.5
    assert np.isnan(pct.loc["11245", "1.2"])                 # not applicable
    fig = F.fig_criteria_heatmap(tables["leaf_scores"], meth, tables["results"])
    assert fig.data[0].text[3][1] == "–" and fig.data[0].text[0][11] == "63"   # 62.5 → 63 (half up)


def test_ranking_hover_breaks_down_by_field_and_source(scored):
    tables, meth = scored
    fig = F.fig_ranking(tables["results"], meth)
    b = next(t for t in fig.data if t.name == "Khá (từ 80 % đến dưới 90 %)")  # band B: 11242, 11248
    hover = b.customdata[0][5]
    assert "<br>LV1: 9,60 / 10,00" in hover and "<br>LV8: 19,20 / 25,00" in hover
    assert "<br>Thẩm định: 67,00 / 70,00" in hover and "<br>Khảo sát hài lòng: 5,00 / 10,00" in hover
    assert "<br>Điểm thưởng: +1,00" in hover and "Điểm trừ" not in hover
    assert f"<br>Điểm trừ: {MINUS}2,00" in b.customdata[1][5]
    assert "%{customdata[5]}" in b.hovertemplate


def test_quality_counts_by_rule_and_commune_with_vietnamese_labels(page):
    part = page[page.index('id="sec-quality"'):]
    head = part[part.index("Phiếu khảo sát sự hài lòng bị loại"):]
    head = head[:head.index("</thead>")]
    # rule names in Vietnamese only (the codes stay in the logs)
    assert re.findall(r'<th class="num rule">(.*?)</th>', head) == ["Quá nửa số câu bỏ trống", "Phiếu trùng"]
    assert "blank_majority" not in part and "<code>duplicate</code>" not in part
    # 11248: 3 received, 2 valid, 1 excluded (duplicate); totals 10 received, 8 valid, 2 excluded, 1 + 1 by rule
    assert re.search(r'<td>11248</td><td class="name">Xã Ngô Quyền [^<]*</td><td class="num">3</td><td class="num">2</td>'
                     r'<td class="num">1</td>\s*<td class="num">0</td><td class="num">1</td>', part)
    assert re.search(r'<th>Toàn huyện</th><th class="num">10</th><th class="num">8</th><th class="num">2</th>\s*'
                     r'<th class="num">1</th><th class="num">1</th>', part)
    # rejections by file and rule: labels
    assert ('<tr><td>phieu_can_bo_2023.xlsx</td><td>Câu trả lời ngoài thang đo</td><td class="num">1</td></tr>') in part
    assert ('<tr><td>phieu_hai_long_2023.xlsx</td><td>Phiếu trùng</td><td class="num">1</td></tr>') in part


def test_every_rule_code_has_a_vietnamese_label():
    assert set(BALLOT_RULES) <= set(RULE_LABELS)
    assert rule_label("blank_majority") == "Quá nửa số câu bỏ trống"
    assert rule_label("unknown_commune") == "Không xác định được xã"
    assert rule_label("unknown_field") == "Không xác định được lĩnh vực"
    assert rule_label("unknown_group") == "Không xác định được nhóm đối tượng"
    assert rule_label("out_of_range") == "Câu trả lời ngoài thang đo"
    assert rule_label("outside_period") == "Ngoài thời gian khảo sát"
    assert rule_label("duplicate") == "Phiếu trùng"
    assert rule_label("ignored_column") == "Cột không dùng (bỏ qua)"
    assert rule_label("something_new") == "something_new"


def test_injection_in_previous_results_and_rejection_detail_stays_text(page):
    assert PREVIOUS_INJECTION not in page and "__pwned=3" not in page  # the 2022 name is never shown
    rest = _without_plotlyjs(page)
    assert len(re.findall(r"<script\b", rest)) == 6
    # the rejection detail with <img onerror>: escaped in the detail table (quotes written “…”)
    det = page[page.index("Chi tiết từng dòng bị loại"):]
    assert "Câu 2.4: “E” &lt;img src=x onerror=“window.__pwned=2”&gt;" in det


# ------------------------------------------------------------------------------------------------
# Run parameters shown to people
# ------------------------------------------------------------------------------------------------
def test_parameter_names_and_values_in_words():
    from parindex.params import valid_keys
    from parindex.params import flatten_params
    from parindex.publish.labels import PARAM_LABELS, param_label, param_value

    # every parameter a run can have has a Vietnamese name
    assert sorted(valid_keys()) == sorted(PARAM_LABELS)
    assert flatten_params({"seed": 7, "survey": {"group_weighting": "equal", "ci_draws": 500}}) == {
        "seed": 7, "survey.group_weighting": "equal", "survey.ci_draws": 500}
    assert param_label("survey.group_weighting") == "Cách gộp các nhóm đối tượng (điều tra cán bộ, đại biểu)"
    assert param_label("unknown.key") == "unknown.key"
    assert [param_value(v) for v in (True, False, "False", None, "None", "equal", 0.25, 1000, 20000, "a/b.yaml")] == [
        "có", "không", "không", "(không đặt)", "(không đặt)", "các nhóm có trọng số bằng nhau", "0,25", "1000",
        "20.000", "a/b.yaml"]


# ------------------------------------------------------------------------------------------------
# Comparison of two runs (parindex compare): summary, methodology differences, page
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    from report_fixture import comparison_runs
    return comparison_runs(tmp_path_factory.mktemp("cmp"))


def test_compare_summary_by_hand(two_runs):
    from parindex.publish.compare import compare_summary
    from parindex.methodology import load_methodology
    from parindex.runs import compare_results

    a, b = two_runs
    s = compare_summary(compare_results(a, b), load_methodology(a.path / "methodology.yaml"),
                        load_methodology(b.path / "methodology.yaml"))
    # report_fixture.comparison_runs: 11239 1 → 2 (−1), 11242 2 → 4 (−2), 11248 3 → 3, 11245 4 → 1 (+3)
    assert (s["n"], s["n_changed"], s["n_up"], s["n_down"], s["n_same"], s["max_move"]) == (4, 3, 1, 2, 1, 3)
    assert s["up"] == [dict(name="Xã Phạm Kha", move="+3", a=4, b=1, change="+12,22")]
    assert s["down"] == [dict(name="Xã Thanh Tùng", move=f"{MINUS}2", a=2, b=4, change=f"{MINUS}9,00"),
                         dict(name="Thị trấn Thanh Miện", move=f"{MINUS}1", a=1, b=2, change=f"{MINUS}10,50")]
    assert (s["top_a"], s["top_a_index"], s["top_b"], s["top_b_index"], s["same_top"]) == (
        "Thị trấn Thanh Miện", f"98,50{NBSP}%", "Xã Phạm Kha", f"90,00{NBSP}%", False)
    # bands: 11245 C → A (rank 1 in B first), 11239 A → B
    assert s["bands"] == [dict(name="Xã Phạm Kha", a="Trung bình", b="Tốt"),
                          dict(name="Thị trấn Thanh Miện", a="Tốt", b="Khá")]
    # means: (98.5 + 89 + 80.5 + 77.7778) / 4 = 86.4444; (90 + 88 + 85 + 80) / 4 = 85.75 → −0.69;
    # largest change of one commune: 11245 +12.22
    assert (s["mean_a"], s["mean_b"], s["mean_change"], s["max_index_change"]) == (
        f"86,44{NBSP}%", f"85,75{NBSP}%", f"{MINUS}0,69", "+12,22")


def test_methodology_changes_grouped_by_field(two_runs):
    from parindex.publish.compare import methodology_changes
    from parindex.methodology import load_methodology

    a, b = two_runs
    ma, mb = load_methodology(a.path / "methodology.yaml"), load_methodology(b.path / "methodology.yaml")
    m = methodology_changes(ma, mb)
    # reference default → variant-survey40: appraisal 70 → 60, officials' survey 20 → 25, SIPAS 10 → 15
    assert m["sources"] == [dict(label="Thẩm định (Tổ thư ký)", a="70", b="60", diff=f"{MINUS}10"),
                            dict(label="Điều tra xã hội học (cán bộ, đại biểu)", a="20", b="25", diff="+5"),
                            dict(label="Khảo sát sự hài lòng (SIPAS)", a="10", b="15", diff="+5")]
    assert [r["item"] for r in m["general"]] == ["Bộ tiêu chí"]
    assert not m["same"]
    f = {x["code"]: x for x in m["fields"]}
    assert [x["code"] for x in m["fields"]] == ["1", "2", "3", "4", "5", "6", "7", "8"]
    # field totals from the two files; the changed leaves add up to the field's change
    for x in m["fields"]:
        fa = next(y for y in ma.fields if y.code == x["code"])
        fb = next(y for y in mb.fields if y.code == x["code"])
        assert (x["a"], x["b"]) == (f"{fa.points:g}".replace(".", ","), f"{fb.points:g}".replace(".", ","))
        la = ma.leaves().set_index("code")
        lb = mb.leaves().set_index("code")
        changed = [c for c in la.index[la["field_code"] == x["code"]]
                   if la.loc[c, "points"] != lb.loc[c, "points"] or la.loc[c, "source"] != lb.loc[c, "source"]]
        assert [l["code"] for l in x["leaves"]] == changed and x["n"] == len(changed)
    assert m["n_leaves"] == sum(x["n"] for x in m["fields"])
    # one leaf by hand: 8.5 SIPAS 10 → 15 points, same source
    leaf = next(l for l in f["8"]["leaves"] if l["code"] == "8.5")
    assert leaf == dict(code="8.5", label="Sự hài lòng của người dân, tổ chức (SIPAS)", a="10", b="15", diff="+5",
                        source="Khảo sát sự hài lòng (SIPAS)")
    # the same methodology on both sides: nothing to list
    same = methodology_changes(ma, ma)
    assert same["same"] and same["n_leaves"] == 0 and same["general"] == []


def test_compare_page_markup(two_runs, tmp_path):
    from markupsafe import escape
    from report_fixture import PARAM_INJECTION

    from parindex.publish.compare import write_comparison

    a, b = two_runs
    html_path, _ = write_comparison(a, b, tmp_path)
    page = html_path.read_text(encoding="utf-8")
    again = tmp_path / "again"
    assert write_comparison(a, b, again)[0].read_bytes() == html_path.read_bytes()  # deterministic
    assert _h2(page) == ["Tóm tắt", "1. Khác biệt về tham số", "2. Khác biệt về bộ tiêu chí", "3. Thay đổi thứ hạng",
                         "4. Kết quả từng xã, thị trấn"]
    assert "3/4 xã, thị trấn đổi hạng (1 tăng, 2 giảm), 1 giữ nguyên; thay đổi lớn nhất 3 bậc." in page
    # parameters in words (no internal keys); the injected parameter value is text, not markup
    assert "<td>Cách gộp các nhóm đối tượng (điều tra cán bộ, đại biểu)</td>" in page
    assert "survey.group_weighting" not in page
    assert "gộp chung mọi phiếu</td>" in page and "các nhóm có trọng số bằng nhau</td>" in page
    assert PARAM_INJECTION not in page and str(escape(PARAM_INJECTION)) in page
    assert SCRIPT_INJECTION not in page and PREVIOUS_INJECTION not in page  # commune names of A and B
    # the leaf detail is folded per field, the diff uses Vietnamese decimals (no "1.25 (appraisal)")
    assert page.count('<details class="leaf-diff">') == sum(
        1 for _ in re.finditer(r"<summary>Lĩnh vực \d\. [^<]+ — \d+ tiêu chí thay đổi</summary>", page))
    assert "(appraisal)" not in page and "officials_survey)" not in page
    # the commune table: + = moved up, Vietnamese numbers, band change shown as A → B
    assert re.search(r'<td>11245</td><td class="name">Xã Phạm Kha</td><td class="num">4</td><td class="num">1</td>'
                     r'<td class="num up">\+3</td><td class="num">77,78\xa0%</td><td class="num">90,00\xa0%</td>'
                     r'<td class="num up">\+12,22</td><td class="band flag">Trung bình → Tốt</td>', page)
    # zero network: no external src/href in the markup
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", markup)


def test_commune_absent_from_a_survey_is_said_in_the_summary_and_xlsx(scored, context, tmp_path):
    import openpyxl

    from parindex.publish.export import write_results_xlsx
    tables, meth = scored
    t = dict(tables)
    t["missing_surveys"] = pd.DataFrame({"commune_code": ["11245", "11245"], "code": ["1.6", "8.5"],
                                         "commune_name": ["Xã Phạm Kha", "Xã Phạm Kha"],
                                         "source": ["officials_survey", "satisfaction_survey"]})
    html = render_report(t, meth, context)
    assert "2 tiêu chí khảo sát không có phiếu hợp lệ ở Xã Phạm Kha: không tính vào điểm đạt và điểm tối đa" in html
    assert "tiêu chí khảo sát không có phiếu hợp lệ" not in render_report(tables, meth, context)
    write_results_xlsx(t, meth, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["Thiếu khảo sát"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][3] == "Tiêu chí (không tính vào điểm tối đa)"
    assert [r[2] for r in rows[1:]] == ["1.6", "8.5"]
    assert rows[2][4] == "Khảo sát sự hài lòng (SIPAS)"


def test_off_step_scores_table_in_the_quality_appendix(scored, context):
    tables, meth = scored
    html = render_report({**tables, "off_step": off_step()}, meth, context)
    part = _section(html, "sec-quality")
    assert "<h3>Điểm không đúng các mức của tiêu chí</h3>" in part
    assert "2 điểm tự chấm hoặc thẩm định không trùng với mức nào của tiêu chí" in part
    head = part[part.index('id="off-step"'):]
    assert re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", head[:head.index("</thead>")]) == [
        "Mã xã", "Tên xã", "Mã tiêu chí", "Tiêu chí", "Loại điểm", "Điểm", "Các mức hợp lệ"]
    # values in Vietnamese format (1.25 → 1,25; 0.7 → 0,7); name and label escaped, never markup
    assert _table_rows(part, "off-step") == [
        ["11242", "Xã Thanh Tùng", "7.2.1", "Tỷ lệ hồ sơ trực tuyến", "tự chấm", "1,25", "2 / 1 / 0"],
        ["11248", "Xã Ngô Quyền &lt;script&gt;window.__pwned=1&lt;/script&gt;", "3.2.1",
         "Tỷ lệ hồ sơ giải quyết đúng hạn &lt;script&gt;window.__pwned=5&lt;/script&gt;", "thẩm định", "0,7",
         "3 / 1,5 / 0"]]
    assert LABEL_INJECTION not in html and SCRIPT_INJECTION not in html


def test_off_step_table_absent_when_empty(scored, context, page):
    tables, meth = scored
    assert tables["off_step"].empty  # every score of the fixture is one of its leaf's steps
    assert "Điểm không đúng các mức của tiêu chí" not in page and 'id="off-step"' not in page
    # alone, an empty table brings no appendix; a non-empty one brings the data-quality appendix
    bare = scored_tables(with_quality=False, with_surveys=False)[0]["results"]
    assert 'id="sec-quality"' not in render_report({"results": bare, "off_step": tables["off_step"]}, meth, context)
    html = render_report({"results": bare, "off_step": off_step()}, meth, context)
    assert _h2(html)[-1] == "Phụ lục B. Chất lượng dữ liệu"
    assert 'id="off-step"' in html and "Không có tiêu chí nào thiếu dữ liệu." in html


def test_one_count_of_ballots_everywhere(scored, context, tmp_path):
    """A ballot naming no commune of the district (rejected as unknown_commune) counts in the district's total
    only; the summary, the survey section, the appendix and the xlsx give the same numbers, and the definition
    is stated once. ballots(): 10 received, 8 valid, 2 excluded; + 1 unknown → 11 / 8 / 3."""
    import openpyxl

    from parindex.publish.export import write_results_xlsx

    tables, meth = scored
    extra = pd.DataFrame({"ballot_id": ["HL-9999-1"], "commune_code": [""], "procedure_field": ["HT"],
                          "date": ["2023-11-23"], "status": ["excluded"], "rule": ["unknown_commune"]})
    bal = pd.concat([tables["ballots"], extra], ignore_index=True)
    html = render_report({**tables, "ballots": bal}, meth, context)
    text = "11 phiếu nhận, 8 phiếu hợp lệ, 3 phiếu bị loại"
    summary = html[html.index('id="summary-ballots"'):]
    assert summary[:summary.index("</p>")].count(text) == 1
    survey = _section(html, "sec-surveys")
    assert text in survey
    rows = _table_rows(html, "survey-table")
    assert rows[-1][:4] == ["(không xác định được xã)", "1", "0", "1"]
    # the rows add up to the district's total (10 + 1 received, 8 valid, 2 + 1 excluded)
    assert [sum(int(r[i]) for r in rows) for i in (1, 2, 3)] == [11, 8, 3]
    assert re.search(r"<th>Toàn huyện</th><th class=\"num\">11</th><th class=\"num\">8</th><th class=\"num\">3</th>",
                     survey)
    appendix = _section(html, "sec-quality")
    assert "11 phiếu nhận, 8 phiếu hợp lệ, 3 phiếu bị loại (cách đếm như mục 5.)" in appendix
    q = _table_rows(html, "quality-ballots")
    assert q[-1][:5] == ["", "(không xác định được xã)", "1", "0", "1"]
    # the definition once, in the survey section
    assert html.count("chỉ được tính trong tổng số của huyện") == 1 and 'id="ballot-definition"' in survey
    # the profiles carry each commune's own count: 11242 3 received, 2 valid, 1 excluded
    assert "Phiếu khảo sát sự hài lòng: 3 phiếu nhận, 2 hợp lệ, 1 bị loại." in _profile(html, "11242")
    # the xlsx: the per-commune columns and the ballots sheet add up to the same total
    write_results_xlsx({**tables, "ballots": bal}, meth, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    res = [[c.value for c in r] for r in wb["Kết quả"].iter_rows()]
    col = {h: i for i, h in enumerate(res[0])}
    assert sum(r[col["Số phiếu hài lòng nhận được"]] for r in res[1:]) == 10
    sheet = [[c.value for c in r] for r in wb["Phiếu hài lòng"].iter_rows(min_row=2)]
    assert len(sheet) == 11 and sum(1 for r in sheet if r[5] == "bị loại") == 3
    assert [r[6] for r in sheet if not r[1]] == ["Không xác định được xã"]


def test_csv_behind_every_chart_and_table(page):
    """Every chart and table of the page has its "Tải dữ liệu (CSV)" and the file is embedded; numbers are
    numbers (dot decimal), text that would start a spreadsheet formula is kept as text."""
    from parindex.publish.report import Downloads

    csv = _json_block(page, "csv-data")
    buttons = re.findall(r'<button type="button" class="csv-dl" data-csv="([a-z-]+)">Tải dữ liệu \(CSV\)</button>', page)
    assert set(buttons) == set(csv)
    # one per chart (every chart of the page) and per data table
    for fid in ALL_FIGURES:
        block = page[page.index(f'<div id="{fid}" class="chart"'):][:400]
        assert 'class="csv-dl"' in block, fid
    for table in ("band-prob-table", "loo-table", "yoy-table", "survey-table", "results-table", "method-tree",
                  "quality-ballots", "quality-rejections", "appraisal-table", "profiles"):
        assert table in csv, table
    ranking = csv["fig-ranking"]["csv"].split("\n")
    assert ranking[0].startswith('Hạng,Mã xã,"Xã, thị trấn",Điểm đạt,Điểm tối đa,Chỉ số CCHC (%),Xếp loại')
    assert ranking[4].startswith("4,11245,Xã Phạm Kha,77.0,99.0,77.7778,Trung bình,")
    d = Downloads(2023)
    d.add("x", "x", pd.DataFrame({"a": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@a", "bình thường"],
                                   "b": [-1.5, 2.0, 0.0, 1.23456, 3.0]}))
    lines = d.files["x"]["csv"].split("\n")
    assert d.files["x"]["name"] == "x_2023.csv"
    assert lines[1:6] == ['"\'=HYPERLINK(""http://x"")",-1.5', "'+1,2.0", "'-2,0.0", "'@a,1.2346", "bình thường,3.0"]
