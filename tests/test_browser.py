"""The fixture report opened in Debian's chromium, offline: charts drawn, no errors, no requests, no XSS.

``check_report_in_browser`` (tests/browser.py) is the reusable part; the end-to-end test calls it on
reports/<year>/index.html. The screenshot goes to tests/_artifacts/report.png for a human look.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import check_report_in_browser, pdf_page_count
from report_fixture import ALL_FIGURES, IMG_INJECTION, SCRIPT_INJECTION, full_tables

from parindex.publish.page import write_report
from parindex.publish.report import ReportContext, render_report

# No skip: `make test` installs Debian's chromium; a missing browser must fail the suite, not hide it.
pytestmark = [pytest.mark.browser]
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


@pytest.fixture(scope="module")
def report_path():
    tables, meth, summary = full_tables()
    html = render_report(tables, meth, ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương", run_label="fixture", params={"seed": 1},
                                                     robustness_summary=summary, previous_year=2022))
    path = ARTIFACTS / "report.html"
    write_report(html, path)
    return path


def _assert_clean(r: dict, path: Path) -> None:
    assert not r["timed_out"], r
    assert [c["id"] for c in r["charts"]] == ALL_FIGURES
    for c in r["charts"]:
        assert c["plotly"] and c["svg"] >= 1 and c["marks"] >= 1, c
        assert c["clipped"] == [], c  # no axis label (commune name, criterion code) cut off at the edge
    assert r["console_errors"] == [] and r["page_errors"] == []
    assert r["requests"] == [path.resolve().as_uri()]
    assert r["external_requests"] == []
    assert r["pwned"] == "undefined"


def test_report_in_chromium_desktop(report_path):
    shot = ARTIFACTS / "report.png"
    pdf = ARTIFACTS / "report_print.pdf"
    r = check_report_in_browser(report_path, screenshot=shot, viewport=(1366, 768), select_commune="11248",
                                pdf=pdf)
    _assert_clean(r, report_path)
    # the print view on A4: cover + sections broken onto their own pages → several pages
    assert r["pdf_pages"] >= 2 and pdf_page_count(pdf) == r["pdf_pages"]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    # the first commune before choosing another one (robustness_tables(): 11239 always rank 1)
    before = r["scorecard_before"]
    assert before["rob_text"] == "Hạng trung vị 1; khoảng 5–95 %: hạng 1 – 1 (hạng công bố 1)"
    assert r["headings"][0] == "Tóm tắt" and r["headings"][-1] == "Phụ lục B. Chất lượng dữ liệu"
    assert r["page_width"] <= 1366
    # choosing the commune whose name carries <script>: shown as text, never run
    sc = r["scorecard"]
    assert sc["name"] == "Xã Ngô Quyền " + SCRIPT_INJECTION
    assert sc["rank"] == "3" and sc["index"] == "80,50\u00a0%"
    assert [c[0] for c in sc["cuts"]] == ["3.1", "8.1.1"]
    assert sc["cuts"][1][5] == "Không đạt chỉ tiêu thu ngân sách " + IMG_INJECTION
    assert sc["trace_name"] == "Xã Ngô Quyền &lt;script&gt;window.__pwned=1&lt;/script&gt;"
    # the rank interval, band probabilities, satisfaction and year-over-year lines follow the choice
    assert sc["rob_text"] == "Hạng trung vị 3; khoảng 5–95 %: hạng 2 – 4 (hạng công bố 3)"
    assert sc["rob_probs"] == [["Từ 90 % trở lên", "0,0\u00a0%"], ["Từ 80 % đến dưới 90 %", "60,0\u00a0%"],
                               ["Dưới 80 %", "40,0\u00a0%"]]
    assert sc["sat_text"].startswith("Chỉ số hài lòng chung 100,0\u00a0%")
    assert sc["yoy_text"] == ("Năm 2022: hạng 3 (85,00\u00a0%) → năm 2023: hạng 3 (80,50\u00a0%): giữ nguyên hạng, "
                              "chỉ số -4,50 điểm %")
    assert sc["rob_text"] != before["rob_text"] and sc["yoy_text"] != before["yoy_text"]
    assert shot.stat().st_size > 50_000


def test_report_in_chromium_phone(report_path):
    r = check_report_in_browser(report_path, viewport=(390, 844))
    _assert_clean(r, report_path)
    assert r["page_width"] <= 390  # wide tables scroll inside their own box, the page does not
    # the commune × criterion heatmap is turned a quarter on a phone: the 4 communes label the columns
    # (x), the 40 criteria of the reference default the rows (y)
    crit = next(c for c in r["charts"] if c["id"] == "fig-criteria")
    assert (crit["xticks"], crit["yticks"]) == (4, 40), crit


def test_check_detects_requests_and_injection(tmp_path):
    """The checker itself must see a network request, a missing chart and an executed injection."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><div class="chart" id="c"></div>'
                   '<img src="https://example.invalid/x.png"><script>window.__pwned=1;</script></body></html>',
                   encoding="utf-8")
    r = check_report_in_browser(bad, timeout_ms=1500)
    assert r["timed_out"] and r["charts"] == [dict(id="c", plotly=False, svg=0, marks=0, xticks=0, yticks=0,
                                                   clipped=[])]
    # a tick label drawn left of its chart box (as plotly does when the left margin is too small) is seen
    cut = tmp_path / "cut.html"
    cut.write_text('<!DOCTYPE html><html><body style="margin:0"><div class="chart" id="k" '
                   'style="margin-left:100px;width:200px;height:100px;overflow:visible">'
                   '<svg class="main-svg" width="200" height="100" style="overflow:visible">'
                   '<g class="ytick"><text x="-60" y="20">Xã Chi Lăng Bắc</text></g>'
                   '<g class="ytick"><text x="10" y="50">1.1</text></g></svg></div></body></html>',
                   encoding="utf-8")
    r = check_report_in_browser(cut, timeout_ms=1500)
    assert r["charts"][0]["yticks"] == 2 and r["charts"][0]["clipped"] == ["Xã Chi Lăng Bắc"]
    ok = tmp_path / "bad2.html"
    ok.write_text('<!DOCTYPE html><html><body><img src="https://example.invalid/x.png">'
                  '<script>window.__pwned=1;</script></body></html>', encoding="utf-8")
    r = check_report_in_browser(ok, timeout_ms=5000)
    assert r["external_requests"] == ["https://example.invalid/x.png"]
    assert r["pwned"] == "number"



# ------------------------------------------------------------------------------------------------
# The comparison page of two runs (parindex compare)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compare_path(tmp_path_factory):
    from report_fixture import comparison_runs

    from parindex.publish.compare import write_comparison

    tmp = tmp_path_factory.mktemp("compare")
    a, b = comparison_runs(tmp / "runs")
    html, xlsx = write_comparison(a, b, tmp / "out")
    assert xlsx.exists()
    return html


COMPARE_HEADINGS = ["Tóm tắt", "1. Khác biệt về tham số", "2. Khác biệt về bộ tiêu chí", "3. Thay đổi thứ hạng",
                    "4. Kết quả từng xã, thị trấn"]


def _assert_compare_clean(r: dict, path: Path) -> None:
    assert not r["timed_out"], r
    assert [c["id"] for c in r["charts"]] == ["fig-slope"] and r["charts"][0]["plotly"]
    # the slope chart: line traces of the three kinds present in the fixture (up, down, same) + 2 label traces
    assert r["charts"][0]["svg"] >= 1 and r["charts"][0]["marks"] >= 3 and r["charts"][0]["clipped"] == []
    assert r["console_errors"] == [] and r["page_errors"] == []
    assert r["requests"] == [path.resolve().as_uri()] and r["external_requests"] == []
    assert r["pwned"] == "undefined"  # <script> in a commune name, <img onerror> in a parameter value
    assert r["headings"] == COMPARE_HEADINGS


def test_compare_page_in_chromium_desktop_and_print(compare_path):
    pdf = ARTIFACTS / "compare_print.pdf"
    r = check_report_in_browser(compare_path, screenshot=ARTIFACTS / "compare.png", viewport=(1366, 768), pdf=pdf)
    _assert_compare_clean(r, compare_path)
    assert r["page_width"] <= 1366
    assert r["title"] == "So sánh hai lần chạy Chỉ số CCHC năm 2023"
    assert r["pdf_pages"] >= 2 and pdf.read_bytes()[:5] == b"%PDF-"


def test_compare_page_in_chromium_phone(compare_path):
    r = check_report_in_browser(compare_path, viewport=(390, 844))
    _assert_compare_clean(r, compare_path)
    assert r["page_width"] <= 390  # the page itself never scrolls sideways on a phone
