"""The fixture report opened in Debian's chromium, offline: charts drawn, no errors, no requests, no XSS.

``check_report_in_browser`` (tests/browser.py) is the reusable part; the end-to-end test calls it on
reports/<year>/index.html. The screenshot goes to tests/_artifacts/report.png for a human look.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import CHROMIUM, check_report_in_browser
from report_fixture import SCRIPT_INJECTION, IMG_INJECTION, scored_tables

from parindex.report import ReportContext, render_report, write_report

# No skip: `make test` installs Debian's chromium; a missing browser must fail the suite, not hide it.
pytestmark = [pytest.mark.browser]
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
EXPECTED_CHARTS = ["fig-ranking", "fig-fields", "fig-sources", "fig-appraisal", "fig-satisfaction", "fig-commune"]


@pytest.fixture(scope="module")
def report_path():
    tables, meth = scored_tables()
    html = render_report(tables, meth, ReportContext(year=2023, run_label="fixture", params={"seed": 1}))
    path = ARTIFACTS / "report.html"
    write_report(html, path)
    return path


def _assert_clean(r: dict, path: Path) -> None:
    assert not r["timed_out"], r
    assert [c["id"] for c in r["charts"]] == EXPECTED_CHARTS
    for c in r["charts"]:
        assert c["plotly"] and c["svg"] >= 1 and c["marks"] >= 1, c
    assert r["console_errors"] == [] and r["page_errors"] == []
    assert r["requests"] == [path.resolve().as_uri()]
    assert r["external_requests"] == []
    assert r["pwned"] == "undefined"


def test_report_in_chromium_desktop(report_path):
    shot = ARTIFACTS / "report.png"
    r = check_report_in_browser(report_path, screenshot=shot, viewport=(1366, 768), select_commune="11248")
    _assert_clean(r, report_path)
    assert r["headings"][0] == "Tóm tắt" and r["headings"][-1] == "Phụ lục B. Chất lượng dữ liệu"
    assert r["page_width"] <= 1366
    # choosing the commune whose name carries <script>: shown as text, never run
    sc = r["scorecard"]
    assert sc["name"] == "Xã Ngô Quyền " + SCRIPT_INJECTION
    assert sc["rank"] == "3" and sc["index"] == "80,50\u00a0%"
    assert [c[0] for c in sc["cuts"]] == ["3.1", "8.1.1"]
    assert sc["cuts"][1][5] == "Không đạt chỉ tiêu thu ngân sách " + IMG_INJECTION
    assert sc["trace_name"] == "Xã Ngô Quyền &lt;script&gt;window.__pwned=1&lt;/script&gt;"
    assert shot.stat().st_size > 50_000


def test_report_in_chromium_phone(report_path):
    r = check_report_in_browser(report_path, viewport=(390, 844))
    _assert_clean(r, report_path)
    assert r["page_width"] <= 390  # wide tables scroll inside their own box, the page does not


def test_check_detects_requests_and_injection(tmp_path):
    """The checker itself must see a network request, a missing chart and an executed injection."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><div class="chart" id="c"></div>'
                   '<img src="https://example.invalid/x.png"><script>window.__pwned=1;</script></body></html>',
                   encoding="utf-8")
    r = check_report_in_browser(bad, timeout_ms=1500)
    assert r["timed_out"] and r["charts"] == [dict(id="c", plotly=False, svg=0, marks=0)]
    ok = tmp_path / "bad2.html"
    ok.write_text('<!DOCTYPE html><html><body><img src="https://example.invalid/x.png">'
                  '<script>window.__pwned=1;</script></body></html>', encoding="utf-8")
    r = check_report_in_browser(ok, timeout_ms=5000)
    assert r["external_requests"] == ["https://example.invalid/x.png"]
    assert r["pwned"] == "number"

