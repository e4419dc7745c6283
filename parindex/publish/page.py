"""Pieces of every published HTML page: templates, the inline plotly.js, safe JSON in <script>, atomic write."""

from __future__ import annotations

import json
from pathlib import Path

import plotly.io as pio
import plotly.offline
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .xlsx import write_bytes_atomic

TEMPLATES = Path(__file__).resolve().parent / "templates"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
                 "toImageButtonOptions": {"format": "png", "scale": 2}}


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
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)



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
