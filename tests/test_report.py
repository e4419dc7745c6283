"""The offline HTML report, checked on the synthetic fixture of tests/report_fixture.py (numbers by hand there)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from report_fixture import IMG_INJECTION, SCRIPT_INJECTION, scored_tables

from parindex import figures as F
from parindex.report import ReportContext, render_report, script_json, write_report

NBSP = "\u00a0"
HEADINGS = ["Tóm tắt", "1. Xếp hạng Chỉ số CCHC", "2. Điểm theo lĩnh vực", "3. Tự đánh giá và thẩm định",
            "4. Sự hài lòng của người dân, tổ chức theo yếu tố", "5. Bảng kết quả",
            "6. Phiếu điểm từng xã, thị trấn", "Phụ lục A. Phương pháp tính", "Phụ lục B. Chất lượng dữ liệu"]


@pytest.fixture(scope="module")
def scored():
    return scored_tables()


@pytest.fixture(scope="module")
def context():
    return ReportContext(year=2023, run_label="reference-default-v1 · seed 7", params={"seed": 7},
                         notes=["Ghi chú kiểm thử: 1 tiêu chí thiếu dữ liệu"])


@pytest.fixture(scope="module")
def page(scored, context):
    tables, meth = scored
    return render_report(tables, meth, context)


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
    h2 = [re.sub(r"\s+", " ", h).strip() for h in re.findall(r"<h2>(.*?)</h2>", page, re.S)]
    assert h2 == HEADINGS


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
    assert [a.get("type") for a in scripts] == ["application/json", "application/json", "application/json",
                                                None, None]
    rest = _without_plotlyjs(page)
    assert "@import" not in rest and "url(" not in rest
    assert "mathjax" not in rest.lower() and "require.js" not in rest.lower()
    # plotly.js embedded exactly once
    assert page.count("plotly.js v") == 1 or page.count("* plotly.js") == 1
    # every <script> opened is closed by its own </script> (nothing closed one early)
    assert len(re.findall(r"<script\b", rest)) == page.count("</script>") == 5


def test_injected_markup_only_escaped(page):
    assert SCRIPT_INJECTION not in page
    assert IMG_INJECTION not in page
    assert not re.search(r"<img\b", _without_plotlyjs(page))
    # HTML tables: Jinja autoescape
    assert "Xã Ngô Quyền &lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;" in page
    # scorecard JSON: raw text (written by textContent) with <, >, & escaped for the script element
    assert "Xã Ngô Quyền \\u003cscript\\u003ewindow.__pwned=1\\u003c/script\\u003e" in page
    assert "\\u003cimg src=x onerror=\\\"window.__pwned=2\\\"\\u003e" in page
    # plotly labels: HTML-escaped first, then JSON-escaped
    assert "Xã Ngô Quyền \\u0026lt;script\\u0026gt;window.__pwned=1\\u0026lt;/script\\u0026gt;" in page


def test_scorecard_and_figure_json_decode_to_the_data(page):
    cards = {c["code"]: c for c in _json_block(page, "scorecard-data")}
    assert [c["code"] for c in _json_block(page, "scorecard-data")] == ["11239", "11242", "11248", "11245"]
    assert cards["11248"]["name"] == "Xã Ngô Quyền " + SCRIPT_INJECTION
    assert cards["11248"]["name_plotly"] == "Xã Ngô Quyền &lt;script&gt;window.__pwned=1&lt;/script&gt;"
    # 11245 lost all officials'-survey points (answers D): 3.7 and 5.5 lose 3, then 1.6, 2.4, 4.3, 6.4 lose 2
    assert [row[0] for row in cards["11245"]["lost"]] == ["3.7", "5.5", "1.6", "2.4", "4.3", "6.4"]
    assert cards["11245"]["lost"][0][3:] == ["0,00", "3,00", "3,00"]
    # field 1 of 11245: 8 − 1 (1.2 not applicable) = 7 of 10 − 1 = 9 → 77.78 %
    assert cards["11245"]["y"][0] == pytest.approx(77.7778)
    assert cards["11245"]["text"][0] == f"77,8{NBSP}%"
    # 11248's cuts: 3.1 raised 1 → 2 (flagged), 8.1.1 cut 2 → 0 with the injected reason
    cuts = cards["11248"]["cuts"]
    assert [c[0] for c in cuts] == ["3.1", "8.1.1"]
    assert cuts[0][2:5] == ["1,00", "2,00", "1,00"] and cuts[0][6] == "nâng điểm"
    assert cuts[1][5].endswith(IMG_INJECTION)
    figs = _json_block(page, "figures-data")
    assert set(figs) == {"fig-ranking", "fig-fields", "fig-sources", "fig-appraisal", "fig-satisfaction",
                         "fig-commune"}
    assert all(f["layout"]["separators"] == ",." for f in figs.values())


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
    assert cells[3][3:7] == ["77,00", "99,00", f"77,78{NBSP}%", "Dưới 80 %"]
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
    assert "<td><code>seed</code></td><td>7</td>" in page
    assert "reference-default-v1 · seed 7" in page


def test_quality_appendix(page):
    part = page[page.index('id="sec-quality"'):]
    assert "8 phiếu hợp lệ, 2 phiếu bị loại." in part
    # 11242: 2 valid, 1 excluded (blank_majority); columns: valid, excluded, blank_majority, duplicate
    assert re.search(r'<td>11242</td><td>Xã Thanh Tùng</td><td class="num">2</td><td class="num">1</td>\s*'
                     r'<td class="num">1</td><td class="num">0</td>', part)
    assert "3 dòng bị loại." in part
    assert "<td>11248</td>" in part and "<td>6.3</td><td>Công khai tài chính, ngân sách</td>" in part


def test_absent_tables_leave_their_sections_out(scored, context):
    tables, meth = scored
    html = render_report({"results": tables["results"]}, meth, context)
    h2 = [re.sub(r"\s+", " ", h).strip() for h in re.findall(r"<h2>(.*?)</h2>", html, re.S)]
    assert h2 == ["Tóm tắt", "1. Xếp hạng Chỉ số CCHC", "2. Điểm theo lĩnh vực", "3. Bảng kết quả",
                  "Phụ lục A. Phương pháp tính"]
    assert 'id="fig-satisfaction"' not in html and 'id="scorecard-data"' not in html
    assert set(_json_block(html, "figures-data")) == {"fig-ranking", "fig-fields", "fig-sources"}


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
    bars = [t for t in fig.data if t.type == "bar"]
    # one trace per band present: A (11239), B (11242, 11248 in rank order), C (11245)
    assert [t.marker.color for t in bars] == ["#1a7f37", "#d4a017", "#c0392b"]
    # names are broken into lines of 24 characters ("Xã Ngô Quyền <script>win" | "dow.__pwned=1</script>"),
    # each line escaped on its own so that no entity is cut
    assert list(bars[1].y) == ["Xã Thanh Tùng", "Xã Ngô Quyền &lt;script&gt;win<br>dow.__pwned=1&lt;/script&gt;"]
    assert list(bars[1].x) == [89.0, 80.5]
    assert list(bars[2].text) == [f"77,78{NBSP}%"]
    assert list(fig.layout.yaxis.categoryarray)[0] == "Thị trấn Thanh Miện"
    # dashed district mean at 86.4444
    assert fig.layout.shapes[0].x0 == pytest.approx(86.4444, abs=1e-4)


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
