"""The administrative layout of Decree 30/2020/NĐ-CP, Appendix I, Part I, built with python-docx.

:class:`AdminDoc` lays out one document: A4 portrait, the prescribed margins, Times New Roman throughout;
the heading (issuing body, short rule, number and symbol "Số: …/BC-UBND" on the left; national title,
motto, rule, place and date in italics on the right); the document type and its summary with a short rule;
the body (justified, first-line indent, ≥ 6 pt between paragraphs); tables; images; the "Nơi nhận" list
bottom left and the signer block bottom right; page numbers centred in the top margin from page 2 on;
an annex on its own pages with its own page numbering. Sizes, margins and rule lengths come from the
editable format file (``templates/dinh_dang.yaml``), checked against the Decree's ranges
(:data:`DECREE_RANGES`) when loaded.

:func:`docx_bytes` serialises a document with fixed core properties and zip entry times: the same content
always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION_START
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from ..publish.xlsx import FIXED_TIME, fixed_zip

#: What Appendix I prescribes (min, max): page in mm, margins in mm, font sizes in pt. The format file
#: may choose within these ranges; a value outside is refused.
DECREE_RANGES: dict[str, tuple[float, float]] = {
    "page.width_mm": (210, 210), "page.height_mm": (297, 297),
    "margins_mm.top": (20, 25), "margins_mm.bottom": (20, 25),
    "margins_mm.left": (30, 35), "margins_mm.right": (15, 20),
    "sizes.national_title": (12, 13), "sizes.motto": (13, 14), "sizes.issuer": (12, 13),
    "sizes.number": (13, 13), "sizes.place_date": (13, 14), "sizes.doc_type": (13, 14),
    "sizes.summary": (13, 14), "sizes.body": (13, 14), "sizes.signer": (13, 14),
    "sizes.recipients_label": (12, 12), "sizes.recipients": (11, 11), "sizes.page_number": (13, 14),
    "sizes.draft_mark": (13, 14), "sizes.annex_label": (14, 14), "sizes.annex_title": (13, 14),
    "body.first_line_indent_cm": (1.0, 1.27), "body.space_before_pt": (6, 12), "body.line_spacing": (1.0, 1.5),
}
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT,
         "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}


class FormatError(ValueError):
    """A format file outside what Decree 30/2020 prescribes (the message names the setting)."""


@dataclass(frozen=True)
class Format:
    """The layout settings of ``dinh_dang.yaml`` (see there for each value's rule)."""

    font: str
    page: dict
    margins_mm: dict
    sizes: dict
    body: dict
    table: dict
    heading_columns_mm: tuple[float, float]
    closing_columns_mm: tuple[float, float]
    motto_rule_mm: float
    signature_space_pt: float

    @property
    def text_width_mm(self) -> float:
        return self.page["width_mm"] - self.margins_mm["left"] - self.margins_mm["right"]

    @classmethod
    def from_dict(cls, d: dict, origin: str) -> "Format":
        problems = []
        for key, (lo, hi) in DECREE_RANGES.items():
            group, name = key.split(".")
            v = (d.get(group) or {}).get(name)
            if not isinstance(v, (int, float)):
                problems.append(f"{key}: thiếu hoặc không phải số (missing or not a number)")
            elif not lo - 1e-9 <= v <= hi + 1e-9:
                problems.append(f"{key} = {v:g}: ngoài khoảng Nghị định 30/2020 quy định {lo:g}–{hi:g} "
                                f"(outside the Decree's range)")
        if d.get("font") != "Times New Roman":
            problems.append(f"font = {d.get('font')!r}: Nghị định 30/2020 quy định phông Times New Roman")
        try:
            f = cls(font=d["font"], page=d["page"], margins_mm=d["margins_mm"], sizes=d["sizes"], body=d["body"],
                    table=d["table"], heading_columns_mm=tuple(d["heading_columns_mm"]),
                    closing_columns_mm=tuple(d["closing_columns_mm"]), motto_rule_mm=float(d["motto_rule_mm"]),
                    signature_space_pt=float(d["signature_space_pt"]))
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(f"{origin}: tệp định dạng thiếu mục {e} (format file lacks {e})") from None
        for name, cols in (("heading_columns_mm", f.heading_columns_mm), ("closing_columns_mm", f.closing_columns_mm)):
            if len(cols) != 2 or abs(sum(cols) - f.text_width_mm) > 0.5:
                problems.append(f"{name} = {list(cols)}: hai cột phải cộng lại bằng bề rộng vùng trình bày "
                                f"{f.text_width_mm:g} mm (two columns adding up to the text width)")
        if problems:
            raise FormatError(f"{origin}: định dạng không đúng Nghị định 30/2020/NĐ-CP (format outside Decree 30):\n  - "
                              + "\n  - ".join(problems))
        return f


# ------------------------------------------------------------------------------------------------
# Low-level helpers
# ------------------------------------------------------------------------------------------------
# Child order the schema requires (Word refuses a file whose elements are out of order).
PPR_ORDER = ["pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
             "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
             "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid",
             "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection",
             "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange"]
TBLPR_ORDER = ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize", "tblW",
               "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook"]
TRPR_ORDER = ["cnfStyle", "divId", "gridBefore", "gridAfter", "wBefore", "wAfter", "cantSplit", "trHeight",
              "tblHeader", "tblCellSpacing", "jc", "hidden"]
SECTPR_ORDER = ["headerReference", "footerReference", "footnotePr", "endnotePr", "type", "pgSz", "pgMar", "paperSrc",
                "pgBorders", "lnNumType", "pgNumType", "cols", "formProt", "vAlign", "noEndnote", "titlePg",
                "textDirection", "bidi", "rtlGutter", "docGrid", "printerSettings"]


def _put(parent, el, order: list[str]) -> None:
    """Insert ``el`` into ``parent`` at its place in the schema order, replacing an element of the same tag."""
    name = el.tag.split("}")[1]
    for old in parent.findall(qn(f"w:{name}")):
        parent.remove(old)
    later = set(order[order.index(name) + 1:])
    for i, child in enumerate(parent):
        if child.tag.split("}")[1] in later:
            parent.insert(i, el)
            return
    parent.append(el)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(s: object) -> str:
    """Text a .docx can hold: control characters a spreadsheet cell may carry (vertical tab…) removed."""
    return _NOT_XML.sub(" ", str(s))


def set_run_font(run, name: str, size: float, bold: bool = False, italic: bool = False) -> None:
    """Font of one run, every script slot set (so no theme font can win)."""
    run.font.name = name
    rpr = run._r.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic


def _border(p, sides: dict[str, str]) -> None:
    """Paragraph borders, e.g. {"top": "single"}."""
    ppr = p._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    for side in ("top", "left", "bottom", "right"):
        if side in sides:
            el = OxmlElement(f"w:{side}")
            el.set(qn("w:val"), sides[side])
            el.set(qn("w:sz"), "6")
            el.set(qn("w:space"), "1")
            el.set(qn("w:color"), "000000")
            bdr.append(el)
    _put(ppr, bdr, PPR_ORDER)


def _table_borders(table, val: str, **attrs: str) -> None:
    """Every border of ``table`` (outer and inner lines) set to ``val`` with the given w:sz/w:space/w:color."""
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), val)
        for k, v in attrs.items():
            el.set(qn(f"w:{k}"), v)
        borders.append(el)
    _put(table._tbl.tblPr, borders, TBLPR_ORDER)


def _no_borders(table) -> None:
    _table_borders(table, "nil")


def _grid_borders(table) -> None:
    _table_borders(table, "single", sz="4", space="0", color="000000")


def _fixed_widths(table, widths_mm: list[float]) -> None:
    table.autofit = False
    tblpr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    _put(tblpr, layout, TBLPR_ORDER)
    w = OxmlElement("w:tblW")
    w.set(qn("w:w"), str(int(round(sum(widths_mm) / 25.4 * 1440))))
    w.set(qn("w:type"), "dxa")
    _put(tblpr, w, TBLPR_ORDER)
    grid = table._tbl.tblGrid
    for i, gc in enumerate(grid.gridCol_lst):
        gc.w = Mm(widths_mm[i])
    for tr in table._tbl.tr_lst:
        for i, tc in enumerate(tr.tc_lst):
            tc.width = Mm(widths_mm[i])


def _cell_margins(table, mm: float) -> None:
    tblpr = table._tbl.tblPr
    mar = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(int(round(mm / 25.4 * 1440))))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    _put(tblpr, mar, TBLPR_ORDER)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    _put(trpr, el, TRPR_ORDER)


def _cant_split(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    _put(trpr, OxmlElement("w:cantSplit"), TRPR_ORDER)


def _page_field(p) -> None:
    """A PAGE field in paragraph ``p`` (its runs get the paragraph's font afterwards)."""
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
        r = p.add_run()
        if kind:
            fc = OxmlElement("w:fldChar")
            fc.set(qn("w:fldCharType"), kind)
            r._r.append(fc)
        elif text == " PAGE ":
            it = OxmlElement("w:instrText")
            it.set(qn("xml:space"), "preserve")
            it.text = text
            r._r.append(it)
        else:
            r.text = text


def text_width_mm(text: str, size: float, caps: bool) -> float:
    """A rough width of bold text (Times New Roman): for the length of the short rules only."""
    return len(text) * size * (0.20 if caps else 0.155)


# ------------------------------------------------------------------------------------------------
# The document
# ------------------------------------------------------------------------------------------------
class AdminDoc:
    """One administrative document in the Decree 30/2020 layout (see the module docstring)."""

    def __init__(self, fmt: Format, title: str = ""):
        self.f = fmt
        self.doc = Document()
        self._strip_template()
        self._styles()
        self._page_setup(self.doc.sections[0])
        self.doc.core_properties.title = title

    # ---------------------------------------------------------------- set-up
    def _strip_template(self) -> None:
        """No thumbnail of python-docx's own template; the body emptied."""
        pkg = self.doc.part.package
        for rid, rel in list(pkg.rels.items()):
            if rel.reltype == RT.THUMBNAIL:
                pkg.rels.pop(rid)
        body = self.doc.element.body
        for child in list(body):
            if child.tag != qn("w:sectPr"):
                body.remove(child)

    def _styles(self) -> None:
        f = self.f
        styles = self.doc.styles.element
        rpr_default = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
        fonts = rpr_default.find(qn("w:rFonts"))
        for attr in list(fonts.attrib):
            del fonts.attrib[attr]
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attr), f.font)
        for el in rpr_default.iter(qn("w:lang")):
            el.set(qn("w:val"), "vi-VN")
        ppr_default = styles.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
        sp = ppr_default.find(qn("w:spacing"))
        sp.set(qn("w:after"), "0")
        sp.set(qn("w:line"), "240")
        normal = self.doc.styles["Normal"]
        normal.font.name = f.font
        normal.font.size = Pt(f.sizes["body"])
        nf = normal.element.get_or_add_rPr().find(qn("w:rFonts"))
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            nf.set(qn(attr), f.font)

    def _page_setup(self, s, restart: bool = False) -> None:
        f = self.f
        s.orientation = WD_ORIENT.PORTRAIT
        s.page_width, s.page_height = Mm(f.page["width_mm"]), Mm(f.page["height_mm"])
        s.top_margin, s.bottom_margin = Mm(f.margins_mm["top"]), Mm(f.margins_mm["bottom"])
        s.left_margin, s.right_margin = Mm(f.margins_mm["left"]), Mm(f.margins_mm["right"])
        s.header_distance = Mm(10)
        s.footer_distance = Mm(10)
        s.gutter = Mm(0)
        # page numbers: centred in the top margin, none on the first page
        s.different_first_page_header_footer = True
        s.header.is_linked_to_previous = False
        s.first_page_header.is_linked_to_previous = False
        hp = s.header.paragraphs[0]
        for r in list(hp.runs):
            r._r.getparent().remove(r._r)
        hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _page_field(hp)
        for r in hp.runs:
            set_run_font(r, f.font, f.sizes["page_number"])
        fp = s.first_page_header.paragraphs[0]
        fp.text = ""
        for p in (s.footer.paragraphs[0], s.first_page_footer.paragraphs[0]):
            p.text = ""
        if restart:
            pg = OxmlElement("w:pgNumType")
            pg.set(qn("w:start"), "1")
            _put(s._sectPr, pg, SECTPR_ORDER)

    # ---------------------------------------------------------------- paragraphs
    def para(self, text: str = "", *, container=None, size: float | None = None, bold: bool = False,
             italic: bool = False, align: str = "justify", indent: bool = True, before: float | None = None,
             after: float = 0, keep_next: bool = False, highlight: bool = False, line: float | None = None):
        """A paragraph of one run (``text`` may hold "\\n" for line breaks)."""
        f = self.f
        where = container if container is not None else self.doc
        p = where.add_paragraph()
        pf = p.paragraph_format
        pf.alignment = ALIGN[align]
        pf.first_line_indent = Mm(10 * f.body["first_line_indent_cm"]) if indent else Mm(0)
        pf.space_before = Pt(f.body["space_before_pt"] if before is None else before)
        pf.space_after = Pt(after)
        pf.line_spacing_rule = WD_LINE_SPACING.MULTIPLE
        pf.line_spacing = f.body["line_spacing"] if line is None else line
        pf.widow_control = True
        if keep_next:
            pf.keep_with_next = True
        if text:
            parts = xml_text(text).split("\n")
            for i, part in enumerate(parts):
                r = p.add_run(part)
                set_run_font(r, f.font, size or f.sizes["body"], bold, italic)
                if highlight:
                    r.font.highlight_color = WD_COLOR_INDEX.YELLOW
                if i < len(parts) - 1:
                    r.add_break()
        self._mark_font(p, size or f.sizes["body"], bold, italic)
        return p

    def _mark_font(self, p, size: float, bold: bool = False, italic: bool = False) -> None:
        """The paragraph mark's font (sets the height of an empty line)."""
        ppr = p._p.get_or_add_pPr()
        rpr = ppr.find(qn("w:rPr"))
        if rpr is None:
            rpr = OxmlElement("w:rPr")
            _put(ppr, rpr, PPR_ORDER)
        fonts = OxmlElement("w:rFonts")
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attr), self.f.font)
        rpr.append(fonts)
        if bold:
            rpr.append(OxmlElement("w:b"))
        if italic:
            rpr.append(OxmlElement("w:i"))
        sz = OxmlElement("w:sz")
        sz.set(qn("w:val"), str(int(round(size * 2))))
        rpr.append(sz)

    def rule(self, width_mm: float, column_mm: float, container=None, before: float = 0):
        """A short horizontal line (a top border of an empty paragraph), centred in a column."""
        p = (container if container is not None else self.doc).add_paragraph()
        side = max(0.0, (column_mm - width_mm) / 2)
        pf = p.paragraph_format
        pf.left_indent, pf.right_indent = Mm(side), Mm(side)
        pf.space_before, pf.space_after = Pt(before), Pt(0)
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(6)
        pf.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _border(p, {"top": "single"})
        self._mark_font(p, 6)
        return p

    # ---------------------------------------------------------------- the parts of the layout
    def heading(self, *, issuer: list[str], number: str, national_title: str, motto: str, date_line: str,
                draft_mark: str | None = None) -> None:
        """Boxes 1–4 of the layout: issuing body, rule and number (left); national title, motto, rule, place and
        date (right); the draft mark boxed under the number when given."""
        f = self.f
        lw, rw = f.heading_columns_mm
        t = self.doc.add_table(rows=1, cols=2)
        _no_borders(t)
        _fixed_widths(t, [lw, rw])
        _cell_margins(t, 0)
        left, right = t.rows[0].cells
        left.paragraphs[0]._p.getparent().remove(left.paragraphs[0]._p)
        right.paragraphs[0]._p.getparent().remove(right.paragraphs[0]._p)
        for line in issuer:
            self.para(line, container=left, size=f.sizes["issuer"], bold=True, align="center", indent=False, before=0)
        longest = max((text_width_mm(x, f.sizes["issuer"], True) for x in issuer), default=20)
        self.rule(min(lw, longest) * 0.4, lw, container=left, before=3)
        self.para(number, container=left, size=f.sizes["number"], align="center", indent=False, before=4)
        if draft_mark:
            p = self.para(draft_mark, container=left, size=f.sizes["draft_mark"], bold=True, align="center",
                          indent=False, before=6)
            w = text_width_mm(draft_mark, f.sizes["draft_mark"], True) + 6
            side = max(0.0, (lw - w) / 2)
            p.paragraph_format.left_indent = p.paragraph_format.right_indent = Mm(side)
            _border(p, {"top": "single", "left": "single", "bottom": "single", "right": "single"})
        self.para(national_title, container=right, size=f.sizes["national_title"], bold=True, align="center",
                  indent=False, before=0)
        self.para(motto, container=right, size=f.sizes["motto"], bold=True, align="center", indent=False, before=0)
        self.rule(f.motto_rule_mm, rw, container=right, before=3)
        self.para(date_line, container=right, size=f.sizes["place_date"], italic=True, align="center", indent=False,
                  before=4)

    def title(self, doc_type: str, summary: list[str], authority: str | None = None) -> None:
        """Box 5a: the document type (capitals, bold) and its summary (bold) with a short rule; for a decision
        the deciding authority follows on its own line."""
        f = self.f
        self.para(doc_type, size=f.sizes["doc_type"], bold=True, align="center", indent=False, before=18,
                  keep_next=True)
        for i, line in enumerate(summary):
            self.para(line, size=f.sizes["summary"], bold=True, align="center", indent=False, before=0, keep_next=True)
        longest = max((min(text_width_mm(x, f.sizes["summary"], False), f.text_width_mm) for x in summary), default=60)
        self.rule(longest * 0.4, f.text_width_mm, before=4)
        if authority:
            self.para(authority, size=f.sizes["doc_type"], bold=True, align="center", indent=False, before=6,
                      keep_next=True)

    def placeholder(self, text: str) -> None:
        self.para(text, italic=True, highlight=True)

    def table(self, headers: list[str], rows: list[list[str]], widths_mm: list[float], align: list[str],
              size: float | None = None):
        """A bordered table: bold header row repeated on each page, cells in the table font size."""
        f = self.f
        size = size or f.table["size"]
        t = self.doc.add_table(rows=1 + len(rows), cols=len(headers))
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        _grid_borders(t)
        _fixed_widths(t, widths_mm)
        _cell_margins(t, f.table["cell_margin_mm"])
        trs = list(t.rows)
        for j, c in enumerate(trs[0].cells):
            c.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            self._cell_text(c, headers[j], size, bold=True, align="center")
        _repeat_header(trs[0])
        for row, tr in zip(rows, trs[1:]):
            _cant_split(tr)
            for j, c in enumerate(tr.cells):
                c.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
                self._cell_text(c, row[j], size, align=align[j])
        self.para("", before=0, size=6, indent=False)  # a line after the table (Word needs one between tables)
        return t

    def _cell_text(self, cell, text: str, size: float, bold: bool = False, align: str = "left") -> None:
        p = cell.paragraphs[0]
        pf = p.paragraph_format
        pf.alignment = ALIGN[align]
        pf.space_before, pf.space_after = Pt(1), Pt(1)
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
        pf.first_line_indent = Mm(0)
        r = p.add_run(xml_text(text))
        set_run_font(r, self.f.font, size, bold)
        self._mark_font(p, size, bold)

    def image(self, path: Path, width_mm: float, max_height_mm: float, caption: str | None = None) -> None:
        from docx.image.image import Image

        img = Image.from_file(str(path))
        w = min(width_mm, self.f.text_width_mm)
        h = w * img.px_height / img.px_width
        if h > max_height_mm:
            w, h = w * max_height_mm / h, max_height_mm
        p = self.para("", align="center", indent=False, keep_next=bool(caption))
        r = p.add_run()
        set_run_font(r, self.f.font, self.f.sizes["body"])
        r.add_picture(str(path), width=Mm(w))
        if caption:
            self.para(caption, size=self.f.table["size"], italic=True, align="center", indent=False, before=2)

    def closing(self, *, recipients_label: str, recipients: list[str], authority: list[str], name: str | None) -> None:
        """Boxes 9a/9b (Nơi nhận, bottom left) and 7a–7c (signer, bottom right) side by side."""
        f = self.f
        lw, rw = f.closing_columns_mm
        t = self.doc.add_table(rows=1, cols=2)
        _no_borders(t)
        _fixed_widths(t, [lw, rw])
        _cell_margins(t, 0)
        _cant_split(t.rows[0])
        left, right = t.rows[0].cells
        left.paragraphs[0]._p.getparent().remove(left.paragraphs[0]._p)
        right.paragraphs[0]._p.getparent().remove(right.paragraphs[0]._p)
        self.para(recipients_label, container=left, size=f.sizes["recipients_label"], bold=True, italic=True,
                  align="left", indent=False, before=6)
        for i, item in enumerate(recipients):
            end = "." if i == len(recipients) - 1 else ";"
            self.para(f"- {item.rstrip(';.')}{end}", container=left, size=f.sizes["recipients"], align="left",
                      indent=False, before=0, line=1.0)
        for i, line in enumerate(authority):
            self.para(line, container=right, size=f.sizes["signer"], bold=True, align="center", indent=False,
                      before=6 if i == 0 else 0)
        self.para(name or "", container=right, size=f.sizes["signer"], bold=True, align="center", indent=False,
                  before=f.signature_space_pt)

    def annex(self, *, label: str, title: list[str], note: str) -> None:
        """A new section (new page, page numbers from 1 again) with the annex heading."""
        f = self.f
        s = self.doc.add_section(WD_SECTION_START.NEW_PAGE)
        self._page_setup(s, restart=True)
        self.para(label, size=f.sizes["annex_label"], bold=True, align="center", indent=False, before=0)
        for line in title:
            self.para(line, size=f.sizes["annex_title"], bold=True, align="center", indent=False, before=0)
        self.para(note, size=f.sizes["annex_label"], italic=True, align="center", indent=False, before=0)
        longest = max((min(text_width_mm(x, f.sizes["annex_title"], True), f.text_width_mm) for x in title),
                      default=60)
        self.rule(longest * 0.4, f.text_width_mm, before=4)

    def page_break(self) -> None:
        from docx.enum.text import WD_BREAK

        p = self.para("", before=0, indent=False)
        r = p.add_run()
        set_run_font(r, self.f.font, self.f.sizes["body"])
        r.add_break(WD_BREAK.PAGE)

    # ---------------------------------------------------------------- output
    def to_bytes(self) -> bytes:
        return docx_bytes(self.doc)


def docx_bytes(doc, stamp: dt.datetime = FIXED_TIME, author: str = "parindex") -> bytes:
    """Serialise ``doc`` reproducibly: core properties fixed (author, created/modified = ``stamp``, revision 1),
    every zip entry dated 1980-01-01, DEFLATE, mode 0644, in the order python-docx writes them."""
    cp = doc.core_properties
    cp.author = author
    cp.last_modified_by = author
    cp.comments = ""
    cp.created = stamp
    cp.modified = stamp
    cp.last_printed = stamp
    cp.revision = 1
    buf = io.BytesIO()
    doc.save(buf)
    return fixed_zip(buf.getvalue())
