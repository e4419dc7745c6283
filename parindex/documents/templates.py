"""Editable wording: YAML template files whose strings are Jinja2 templates, rendered in a sandbox.

A district edits the shipped files (``parindex/documents/templates/``) or puts edited copies of some of them
into a folder named by the parameter ``documents.templates``: a file found there replaces the shipped one of
the same name. Every string is rendered with :class:`jinja2.sandbox.SandboxedEnvironment` and
``StrictUndefined`` (a misspelt name is an error naming the file, not a blank in a signed document).

The body of a document is a list of blocks, each a mapping with one kind key (see templates/README.md):
``p`` (paragraph; options ``bold``, ``italic``, ``align``, ``indent``), ``heading``, ``article`` + ``text``,
``placeholder``, ``table`` (+ ``headers``, ``widths_mm``), ``image`` (+ ``caption``, ``width_mm``),
``page_break``; any block may carry ``if: <expression>`` and ``for: "<name> in <expression>"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined
from jinja2 import TemplateError as JinjaError
from jinja2.sandbox import SandboxedEnvironment

from ..publish.labels import num_text, pct_text, points_text
from ..text import nfc

SHIPPED = Path(__file__).resolve().parent / "templates"
BLOCK_KINDS = ("p", "heading", "article", "placeholder", "table", "image", "page_break")
_FOR = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s+in\s+(.+)$")


class TemplateError(ValueError):
    """A template file that cannot be used (the message names the file and the place)."""


def load(name: str, custom: Path | None = None) -> tuple[dict, str]:
    """(content, origin) of template file ``name``: the edited copy in ``custom`` when there is one, else the
    shipped file. NFC-normalised."""
    path = custom / name if custom is not None and (custom / name).is_file() else SHIPPED / name
    try:
        data = yaml.safe_load(nfc(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise TemplateError(f"{path}: không đọc được mẫu văn bản (cannot read the template: {e})") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: mẫu văn bản phải là một bảng khóa: giá trị (expected a YAML mapping)")
    return data, str(path)


@dataclass
class Block:
    """One rendered body block: its kind, its rendered text (or name), and its options (rendered)."""

    kind: str
    value: Any
    options: dict


_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(num=num_text, pct=pct_text, pts=points_text)


@lru_cache(maxsize=4096)
def _compiled(source: str):
    return _ENV.from_string(source)


@lru_cache(maxsize=1024)
def _expression(source: str):
    return _ENV.compile_expression(source, undefined_to_none=False)


class Renderer:
    """Renders the strings of one template file with a context."""

    def __init__(self, context: dict, origin: str):
        self.origin = origin
        self.context = context

    def text(self, s: Any, where: str, extra: dict | None = None) -> str:
        if s is None:
            return ""
        if not isinstance(s, str):
            s = str(s)
        try:
            return nfc(_compiled(s).render({**self.context, **(extra or {})})).strip()
        except JinjaError as e:
            raise TemplateError(f"{self.origin}, {where}: lỗi mẫu văn bản — {e} (template error in {s!r})") from None

    def value(self, expr: str, where: str, extra: dict | None = None) -> Any:
        try:
            return _expression(str(expr))(**{**self.context, **(extra or {})})
        except JinjaError as e:
            raise TemplateError(f"{self.origin}, {where}: biểu thức '{expr}' không tính được — {e}") from None

    def lines(self, items: Any, where: str) -> list[str]:
        if items is None:
            return []
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            raise TemplateError(f"{self.origin}, {where}: cần một danh sách các dòng (expected a list of lines)")
        return [t for i, x in enumerate(items) if (t := self.text(x, f"{where}[{i}]"))]

    def blocks(self, items: Any, where: str = "body") -> list[Block]:
        """The blocks of a body, with ``for`` expanded and ``if`` applied."""
        if not isinstance(items, list):
            raise TemplateError(f"{self.origin}, {where}: cần một danh sách khối (expected a list of blocks)")
        out: list[Block] = []
        for i, raw in enumerate(items):
            here = f"{where}[{i}]"
            if not isinstance(raw, dict):
                raise TemplateError(f"{self.origin}, {here}: mỗi khối là một bảng khóa như {{p: '…'}} "
                                    f"(each block is a mapping such as {{p: '…'}})")
            kinds = [k for k in BLOCK_KINDS if k in raw]
            if len(kinds) != 1:
                raise TemplateError(f"{self.origin}, {here}: khối cần đúng một loại trong {', '.join(BLOCK_KINDS)} "
                                    f"(a block needs exactly one kind; got {sorted(raw)})")
            kind = kinds[0]
            loops: list[dict] = [{}]
            if "for" in raw:
                m = _FOR.match(str(raw["for"]))
                if not m:
                    raise TemplateError(f"{self.origin}, {here}: 'for' phải có dạng 'tên in danh_sách' "
                                        f"(expected 'name in expression')")
                seq = list(self.value(m.group(2), here) or [])
                loops = [{m.group(1): x, "loop": {"index": j + 1, "first": j == 0, "last": j == len(seq) - 1}}
                         for j, x in enumerate(seq)]
            for extra in loops:
                if "if" in raw and not self.value(raw["if"], here, extra):
                    continue
                opts = {k: v for k, v in raw.items() if k not in (kind, "if", "for")}
                if kind in ("table", "image"):
                    value = str(raw[kind])
                    for k in ("caption",):
                        if k in opts:
                            opts[k] = self.text(opts[k], f"{here}.{k}", extra)
                    if "headers" in opts:
                        opts["headers"] = [self.text(h, f"{here}.headers", extra) for h in opts["headers"]]
                elif kind == "page_break":
                    value = None
                else:
                    value = self.text(raw[kind], here, extra)
                    if "text" in opts:
                        opts["text"] = self.text(opts["text"], f"{here}.text", extra)
                out.append(Block(kind, value, opts))
        return out
