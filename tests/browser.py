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
  const shown = Array.from(document.querySelectorAll('article.profile')).filter(a => !a.hidden);
  const a = shown[0];
  const q = s => a.querySelector(s);
  return {
    shown: shown.map(x => x.id), hash: window.location.hash,
    name: q('.pf-name').textContent, facts: Array.from(a.querySelectorAll('.pf-facts dd')).map(d => d.textContent),
    notes: Array.from(a.querySelectorAll('.pf-notes li')).map(li => li.textContent),
    lost: Array.from(a.querySelectorAll('.pf-lost tbody tr')).map(tr => Array.from(tr.cells).map(td => td.textContent)),
    fields: a.querySelectorAll('.pf-fields tbody tr').length,
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
    * ``scorecard``: when ``select_commune`` is given, the commune profile shown after choosing it (ids of the
      profiles shown, the address's #fragment, name, facts, notes, lost criteria, number of field rows), and
      ``scorecard_before`` the same before;
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


_JS_TITLES = """() => Array.from(document.querySelectorAll('.modebar-btn')).map(b => b.getAttribute('data-title'))"""


def exercise_page(path: str | Path, viewport: tuple[int, int] = (1366, 900), timeout_ms: int = 30_000,
                  hash_: str = "") -> dict:
    """Open ``path`` offline and use everything on it: every chart's toolbar button, every legend entry, every
    link, every button (the CSV downloads) and every option of every selector. Report what left the page:

    * ``external_requests``: requests other than the file itself and data:/blob: URLs;
    * ``new_pages``: windows or tabs opened (their URLs); ``navigations``: addresses the page itself went to
      (other than the file, whatever its #fragment);
    * ``downloads``: (suggested file name, first bytes) of every file the page offered;
    * ``toolbar_titles``: the tooltips of the toolbar buttons; ``notices``: plotly's notices shown;
    * ``clicked``: how many toolbar buttons, legend entries, links, buttons and options were used;
    * ``console_errors`` / ``page_errors``; ``final_url``.
    """
    from playwright.sync_api import sync_playwright

    path = Path(path).resolve()
    base = path.as_uri()
    requests: list[str] = []
    new_pages: list[str] = []
    navigations: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []
    downloads = []
    dialogs: list[str] = []
    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, accept_downloads=True,
                                          viewport={"width": viewport[0], "height": viewport[1]})
            context.on("request", lambda r: requests.append(r.url))
            page = context.new_page()
            context.on("page", lambda pg: new_pages.append(pg.url or "about:blank"))
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("download", lambda d: downloads.append(d))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("framenavigated", lambda fr: navigations.append(fr.url) if fr == page.main_frame else None)
            page.goto(base + hash_, wait_until="load", timeout=timeout_ms)
            page.wait_for_function("() => Array.from(document.querySelectorAll('.chart'))"
                                   ".every(el => el.querySelector('.main-svg'))", timeout=timeout_ms)
            clicked = dict(toolbar=0, legend=0, links=0, buttons=0, options=0)
            notices: list[str] = []
            for cid in page.evaluate("() => Array.from(document.querySelectorAll('.chart')).map(e => e.id)"):
                chart = page.locator(f"#{cid}")
                chart.scroll_into_view_if_needed()
                chart.hover(position={"x": 5, "y": 5})
                btns = page.locator(f"#{cid} .modebar-btn")
                for i in range(btns.count()):
                    btns.nth(i).dispatch_event("click")
                    clicked["toolbar"] += 1
                    page.wait_for_timeout(20)
                items = page.locator(f"#{cid} .legendtoggle")
                for i in range(items.count()):
                    items.nth(i).click(force=True)
                    clicked["legend"] += 1
                    page.wait_for_timeout(20)
                notices += page.evaluate("() => Array.from(document.querySelectorAll('.notifier-note'))"
                                         ".map(n => n.textContent)")
            out["toolbar_titles"] = page.evaluate(_JS_TITLES)
            links = page.locator("a[href]")
            for i in range(links.count()):
                links.nth(i).click(force=True)
                clicked["links"] += 1
            # plotly's notices (fixed in a corner) would lie over some buttons: read, then closed
            page.evaluate("() => document.querySelectorAll('.plotly-notifier').forEach(n => n.remove())")
            buttons = page.locator("button.csv-dl")
            for i in range(buttons.count()):
                with page.expect_download(timeout=timeout_ms):   # each button gives its file
                    buttons.nth(i).click()
                clicked["buttons"] += 1
                page.wait_for_timeout(400)   # (Chromium drops a download that follows another too closely)
            # the other buttons ("In hồ sơ xã này": the browser's own print, nothing sent)
            others = page.locator("button:not(.csv-dl):not(.modebar-btn)")
            for i in range(others.count()):
                others.nth(i).click(force=True)
                clicked["buttons"] += 1
            page.evaluate("() => window.dispatchEvent(new Event('afterprint'))")
            for sel in page.evaluate("() => Array.from(document.querySelectorAll('select')).map(s => s.id)"):
                for v in page.evaluate(f"() => Array.from(document.getElementById('{sel}').options).map(o => o.value)"):
                    page.select_option(f"#{sel}", v)
                    clicked["options"] += 1
            page.wait_for_timeout(1500)  # the chart images take a moment
            out["downloads"] = []
            for d in downloads:
                data = Path(d.path()).read_bytes() if d.path() else b""
                out["downloads"].append((d.suggested_filename, data))
            out["clicked"] = clicked
            out["notices"] = sorted(set(notices))
            out["final_url"] = page.url
            context.close()
        finally:
            browser.close()
    out["requests"] = requests
    out["external_requests"] = [u for u in requests if u.split("#")[0] != base and not u.startswith(("data:", "blob:"))]
    out["new_pages"] = new_pages
    out["navigations"] = [u for u in navigations if u.split("#")[0] != base]
    out["dialogs"] = dialogs
    out["console_errors"] = console_errors
    out["page_errors"] = page_errors
    return out


def open_profile(path: str | Path, code: str, choose: str | None = None, pdf: str | Path | None = None) -> dict:
    """Open ``path#xa-<code>`` offline: which profile is shown and what the selector says; then (``choose``)
    pick another commune and report the address and the shown profile again; then (``pdf``) print the report's
    view of the one profile shown (what "In hồ sơ xã này" prints) to that file: ``pdf_pages``."""
    from playwright.sync_api import sync_playwright

    path = Path(path).resolve()
    js = """() => ({shown: Array.from(document.querySelectorAll('article.profile')).filter(a => !a.hidden)
                    .map(a => a.id), selected: document.getElementById('commune-select').value,
                    hash: window.location.hash,
                    top: Math.round(document.querySelector('article.profile:not([hidden])').getBoundingClientRect().top)})"""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(offline=True, viewport={"width": 1366, "height": 900}).new_page()
            page.goto(path.as_uri() + f"#xa-{code}", wait_until="load")
            page.wait_for_timeout(300)
            out = {"before": page.evaluate(js)}
            if choose is not None:
                page.select_option("#commune-select", choose)
                page.wait_for_timeout(200)
                out["after"] = page.evaluate(js)
            if pdf is not None:
                page.evaluate("() => document.documentElement.classList.add('print-profile')")
                page.emulate_media(media="print")
                page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
                page.wait_for_timeout(300)
                page.pdf(path=str(pdf), format="A4", print_background=True)
                out["pdf_pages"] = pdf_page_count(pdf)
        finally:
            browser.close()
    return out
