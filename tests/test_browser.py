"""The fixture report opened in Debian's chromium, offline: charts drawn, no errors, no requests, no XSS.

``check_report_in_browser`` (tests/browser.py) is the reusable part; the end-to-end test calls it on
reports/<year>/index.html. The screenshot goes to tests/_artifacts/report.png for a human look.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import check_report_in_browser, exercise_page, open_profile, pdf_page_count
from report_fixture import BASELINE, HISTORY_FIGURES, IMG_INJECTION, SCRIPT_INJECTION, full_tables, history

from parindex.publish.page import write_report
from parindex.publish.report import ReportContext, render_report

# No skip: `make test` installs Debian's chromium; a missing browser must fail the suite, not hide it.
pytestmark = [pytest.mark.browser]
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"


@pytest.fixture(scope="module")
def report_path():
    tables, meth, summary = full_tables()
    html = render_report(tables, meth, ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương", run_label="fixture", params={"seed": 1},
                                                     robustness_summary=summary, previous_year=2022,
                                                     baseline=BASELINE, history=history()))
    path = ARTIFACTS / "report.html"
    write_report(html, path)
    return path


def _assert_clean(r: dict, path: Path) -> None:
    assert not r["timed_out"], r
    assert [c["id"] for c in r["charts"]] == HISTORY_FIGURES
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
    # the first commune's profile before choosing another one (robustness_tables(): 11239 always rank 1)
    before = r["scorecard_before"]
    assert before["shown"] == ["xa-11239"] and before["notes"][0] == "Hạng có thể (5–95 % số lần mô phỏng): 1 – 1; hạng trung vị 1."
    assert r["headings"][0] == "Tóm tắt" and r["headings"][-1] == "Phụ lục B. Chất lượng dữ liệu"
    assert r["page_width"] <= 1366
    # choosing the commune whose name carries <script>: shown as text, never run; the address follows the choice
    sc = r["scorecard"]
    assert sc["shown"] == ["xa-11248"] and sc["hash"] == "#xa-11248"
    assert sc["name"] == "Xã Ngô Quyền " + SCRIPT_INJECTION
    assert sc["facts"][:2] == ["3/4", "80,50\u00a0%"] and sc["facts"][3].startswith("Khá")
    # officials' answers D, B: 3.7 and 5.5 (3 points each) lose 3 × (1 − 0.3) = 2.1, then 8.1.1 (cut 2 → 0) loses 2
    assert [c[0].split(" ")[0] for c in sc["lost"]][:3] == ["3.7", "5.5", "8.1.1"]
    assert sc["lost"][2][3] == "Không đạt chỉ tiêu thu ngân sách " + IMG_INJECTION
    assert sc["notes"][0] == "Hạng có thể (5–95 % số lần mô phỏng): 2 – 4; hạng trung vị 3."
    assert sc["notes"][2].startswith("Sát ngưỡng xếp loại Khá (80\u00a0%)")
    assert sc["fields"] == 8
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


# ------------------------------------------------------------------------------------------------
# Nothing leaves the page: every control used, offline
# ------------------------------------------------------------------------------------------------
def _assert_nothing_left(r: dict, path: Path) -> None:
    from parindex.publish.labels import PLOTLY_LOCALE

    assert r["external_requests"] == [], r["external_requests"]
    assert r["new_pages"] == [] and r["navigations"] == [] and r["dialogs"] == []
    assert r["final_url"].split("#")[0] == path.resolve().as_uri()
    assert r["console_errors"] == [] and r["page_errors"] == []
    # the toolbar speaks Vietnamese and offers nothing that sends the chart anywhere
    vi = set(PLOTLY_LOCALE["dictionary"].values())
    assert r["toolbar_titles"] and all(t in vi for t in r["toolbar_titles"]), set(r["toolbar_titles"]) - vi
    assert not [t for t in r["toolbar_titles"] if "Chia sẻ" in t or "Plotly" in t]
    # plotly's notices (legend tip, picture being prepared / saved) in Vietnamese too
    notices = {re.sub(r" - \S+\.png$", "", n.lstrip("×")) for n in r["notices"]}
    assert notices and notices <= vi, notices - vi


def test_nothing_leaves_the_report(report_path):
    r = exercise_page(report_path)
    _assert_nothing_left(r, report_path)
    assert any("Bấm đúp vào chú giải" in n for n in r["notices"])
    c = r["clicked"]
    assert c["toolbar"] >= 5 * 14 and c["legend"] >= 20 and c["links"] >= 11 and c["options"] == 4
    # every "Tải dữ liệu (CSV)" gives a UTF-8 file with a byte-order mark and Vietnamese headers; the toolbar's
    # camera gives PNG pictures (saved in the browser, nothing sent)
    csv = [(n, b) for n, b in r["downloads"] if n.endswith(".csv")]
    assert len(csv) == c["buttons"] - 1 and c["buttons"] >= 20      # all but "In hồ sơ xã này"
    assert all(b.startswith(b"\xef\xbb\xbf") for _, b in csv)
    names = dict(csv)
    head = names["xep_hang_2023.csv"].decode("utf-8-sig").split("\n")[0]
    assert head.startswith("Hạng,Mã xã,Xã, thị trấn".replace("Xã, thị trấn", '"Xã, thị trấn"'))
    assert "Xã Ngô Quyền " + SCRIPT_INJECTION in names["xep_hang_2023.csv"].decode("utf-8-sig")
    png = [b for n, b in r["downloads"] if n.endswith(".png")]
    assert png and all(b[:8] == b"\x89PNG\r\n\x1a\n" for b in png)


def test_nothing_leaves_the_compare_page(compare_path):
    r = exercise_page(compare_path)
    _assert_nothing_left(r, compare_path)
    assert r["clicked"]["toolbar"] >= 5 and r["clicked"]["legend"] == 3 and r["clicked"]["links"] >= 5
    csv = dict((n, b) for n, b in r["downloads"] if n.endswith(".csv"))
    assert set(csv) == {"so_sanh_theo_xa.csv", "khac_biet_tham_so.csv", "khac_biet_bo_tieu_chi.csv"}
    assert all(b.startswith(b"\xef\xbb\xbf") for b in csv.values())


def test_deep_link_opens_the_profile_and_the_choice_writes_the_address(report_path):
    pdf = ARTIFACTS / "profile_print.pdf"
    r = open_profile(report_path, "11248", choose="11242", pdf=pdf)
    assert r["before"]["shown"] == ["xa-11248"] and r["before"]["selected"] == "11248"
    assert 0 <= r["before"]["top"] < 200   # scrolled to it
    assert r["after"]["shown"] == ["xa-11242"] and r["after"]["hash"] == "#xa-11242"
    # the report's print view of one commune: its profile alone, one A4 page
    assert r["pdf_pages"] == 1
    # an unknown commune: the first profile stays
    assert open_profile(report_path, "99999")["before"]["shown"] == ["xa-11239"]


# ------------------------------------------------------------------------------------------------
# One A4 page per commune, printed by the same headless Chromium
# ------------------------------------------------------------------------------------------------
def test_profile_pdfs_one_page_each(tmp_path):
    from parindex.publish.page import TEMPLATES
    from parindex.publish.profiles import COMBINED_PDF, write_profile_pdfs
    from parindex.publish.report import report_parts

    tables, meth, summary = full_tables()
    ctx = ReportContext(year=2023, district="Huyện Thanh Miện", province="Tỉnh Hải Dương", robustness_summary=summary, previous_year=2022)
    rows = report_parts(tables, meth, ctx)["profiles"]["rows"]
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    paths = write_profile_pdfs(rows, "Hồ sơ", css, "Nguồn: thử", tmp_path / "a")
    assert [p.name for p in paths] == [COMBINED_PDF, "11239.pdf", "11242.pdf", "11248.pdf", "11245.pdf"]
    assert pdf_page_count(paths[0]) == 4
    assert [pdf_page_count(p) for p in paths[1:]] == [1, 1, 1, 1]
    assert all(p.read_bytes()[:5] == b"%PDF-" for p in paths)
    # the same profiles give the same bytes (creation dates fixed)
    again = write_profile_pdfs(rows, "Hồ sơ", css, "Nguồn: thử", tmp_path / "b")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]
    assert b"/CreationDate (D:20000101000000" in paths[1].read_bytes()
