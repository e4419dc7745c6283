"""Open a generated report in Debian's chromium (Playwright, offline) and report what happened.

Reusable by any test: ``check_report_in_browser(path)`` returns a dict; the caller asserts on it.
"""

from __future__ import annotations

import re
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

_JS_CHARTS = """() => Array.from(document.querySelectorAll('.chart')).map(el => ({
    id: el.id,
    plotly: el.classList.contains('js-plotly-plot'),
    svg: el.querySelectorAll('.main-svg').length,
    marks: el.querySelectorAll('.main-svg .trace, .main-svg .point, .main-svg .hm, .main-svg image').length,
    xticks: el.querySelectorAll('.xtick text').length,
    yticks: el.querySelectorAll('.ytick text').length,
    clipped: Array.from(el.querySelectorAll('.xtick text, .ytick text')).filter(t => {
        const r = t.getBoundingClientRect(), e = el.getBoundingClientRect();
        return r.width > 0 && (r.left < e.left - 1 || r.right > e.right + 1);
    }).map(t => t.textContent),
}))"""


_JS_SCORECARD = """() => {
  const t = id => { const el = document.getElementById(id); return el ? el.textContent : null; };
  return {
    name: t('sc-name'), rank: t('sc-rank'), index: t('sc-index'), rob_text: t('sc-rob-text'),
    sat_text: t('sc-sat-text'), yoy_text: t('sc-yoy-text'),
    rob_probs: Array.from(document.querySelectorAll('#sc-rob-probs tr')).map(tr => Array.from(tr.cells).map(td => td.textContent)),
    cuts: Array.from(document.querySelectorAll('#sc-cuts tr')).map(tr => Array.from(tr.cells).map(td => td.textContent)),
    trace_name: document.getElementById('fig-commune').data[0].name,
  };
}"""

_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def pdf_page_count(path: str | Path) -> int:
    """Number of page objects (``/Type /Page``, not ``/Pages``) in a PDF file (chromium writes them plainly)."""
    return len(_PAGE_OBJECT.findall(Path(path).read_bytes()))


def check_report_in_browser(path: str | Path, screenshot: str | Path | None = None,
                            viewport: tuple[int, int] = (1366, 768), select_commune: str | None = None,
                            timeout_ms: int = 30_000, pdf: str | Path | None = None) -> dict:
    """Load ``path`` via file:// in an offline context and collect:

    * ``requests``: every URL the page requested (the page itself included);
    * ``external_requests``: requests other than the file itself and data:/blob: URLs (should be empty);
    * ``console_errors`` / ``page_errors``: console messages of type error and uncaught exceptions;
    * ``timed_out``: True when some chart was still undrawn after ``timeout_ms``;
    * ``charts``: for every ``.chart`` div its id, whether plotly drew it, how many ``.main-svg`` and marks
      it holds, how many x / y tick labels, and ``clipped``: the tick labels reaching outside the chart;
    * ``pwned``: ``typeof window.__pwned`` (the fixtures try to set it through injected markup);
    * ``headings``: text of every h2; ``title``: the document title;
    * ``page_width``: the document's scroll width (wider than ``viewport_width`` = horizontal scrolling);
    * ``scorecard``: when ``select_commune`` is given, the scorecard (name, rank, index, cuts, rank
      interval text, satisfaction text, year-over-year text, plotly trace name) after choosing it, and
      ``scorecard_before`` the same texts before;
    * ``pdf_pages``: when ``pdf`` is given, the number of pages of the print view rendered to that PDF
      (A4, print stylesheet).

    A full-page screenshot is written to ``screenshot`` when given.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import sync_playwright

    path = Path(path).resolve()
    url = path.as_uri()
    requests: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []
    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(url, wait_until="load", timeout=timeout_ms)
            try:
                page.wait_for_function(
                    "() => Array.from(document.querySelectorAll('.chart'))"
                    ".every(el => el.querySelector('.main-svg'))", timeout=timeout_ms)
                out["timed_out"] = False
            except PlaywrightTimeoutError:  # some chart never drew: report it, the caller asserts
                out["timed_out"] = True
            out["charts"] = page.evaluate(_JS_CHARTS)
            out["pwned"] = page.evaluate("() => typeof window.__pwned")
            out["headings"] = page.evaluate("() => Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
            out["title"] = page.title()
            out["page_width"] = page.evaluate("() => document.documentElement.scrollWidth")
            out["viewport_width"] = viewport[0]
            if select_commune is not None:
                out["scorecard_before"] = page.evaluate(_JS_SCORECARD)
                page.select_option("#commune-select", select_commune)
                page.wait_for_timeout(300)
                out["scorecard"] = page.evaluate(_JS_SCORECARD)
                out["pwned"] = page.evaluate("() => typeof window.__pwned")
            if screenshot is not None:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                if select_commune is not None:  # back to the first commune for a stable picture
                    page.select_option("#commune-select", index=0)
                    page.wait_for_timeout(300)
                page.screenshot(path=str(screenshot), full_page=True)
            if pdf is not None:
                Path(pdf).parent.mkdir(parents=True, exist_ok=True)
                page.emulate_media(media="print")
                page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
                page.wait_for_timeout(300)
                page.pdf(path=str(pdf), format="A4", print_background=True)
                out["pdf_pages"] = pdf_page_count(pdf)
            context.close()
        finally:
            browser.close()
    out["requests"] = requests
    out["external_requests"] = [u for u in requests if u != url and not u.startswith(("data:", "blob:"))]
    out["console_errors"] = console_errors
    out["page_errors"] = page_errors
    return out
