"""Pieces of every published HTML page: templates, the inline plotly.js, safe JSON in <script>, atomic write."""

from __future__ import annotations

import json
from pathlib import Path

import plotly.io as pio
import plotly.offline
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .xlsx import write_bytes_atomic

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: plotly's configuration on every published page: nothing that sends data or opens an outside address
#: (no "Share chart" / Plotly Cloud button, no plotly.com logo link, no server URL), the toolbar in Vietnamese.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showSendToCloud": False, "plotlyServerURL": "",
                 "watermark": False, "locale": "vi",
                 "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d", "sendChartToCloud",
                                            "sendDataToCloud", "editInChartStudio", "toggleSpikelines"],
                 "toImageButtonOptions": {"format": "png", "scale": 2}}
#: The content-security policy of every published page: inline code and styles only, no connection, frame,
#: worker, form target or base address; images and fonts only from data:/blob: (plotly's PNG export).
#: (Top-level navigation and new windows are not covered by any CSP directive browsers implement: the page's
#: script blocks them — see the guard at the top of report.js.)
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:; connect-src 'none'; frame-src 'none'; child-src 'none'; "
       "worker-src 'none'; object-src 'none'; manifest-src 'none'; media-src 'none'; form-action 'none'; "
       "base-uri 'none'")


def script_json(obj) -> str:
    """JSON safe to place inside a <script> element: <, >, & and U+2028/9 written as \\u escapes."""
    s = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
                                                    allow_nan=False)
    return (s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def figure_json(fig) -> str:
    """Plotly figure → JSON text (data + layout), deterministic (the standard json engine)."""
    return pio.to_json(fig, validate=False, engine="json", pretty=False)


def template_env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals["CSP"] = Markup(CSP)  # only quotes, letters and punctuation of our own
    return env


def page_scripts() -> dict[str, Markup]:
    """The pieces every page with charts embeds: plotly.js, its configuration and Vietnamese dictionary, the
    page script (report.js)."""
    from .labels import PLOTLY_LOCALE

    return dict(plotlyjs=Markup(plotlyjs()), plotly_config=Markup(script_json(PLOTLY_CONFIG)),
                plotly_locale=Markup(script_json(PLOTLY_LOCALE)),
                js=Markup((TEMPLATES / "report.js").read_text(encoding="utf-8")),
                css=Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")))



_PLOTLYJS: str | None = None


def plotlyjs() -> str:
    global _PLOTLYJS
    if _PLOTLYJS is None:
        js = plotly.offline.get_plotlyjs()
        if "</script" in js.lower() or "<!--" in js:
            raise RuntimeError("plotly.js contains a sequence that would break an inline <script>")
        _PLOTLYJS = js
    return _PLOTLYJS


def write_report(html: str, path: Path) -> None:
    """Write the page atomically: a temporary file in the same directory, then os.replace."""
    write_bytes_atomic(html.encode("utf-8"), path)
