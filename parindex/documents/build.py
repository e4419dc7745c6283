"""Assembling the drafts: template wording + the run's numbers → .docx in the Decree 30/2020 layout.

:func:`write_documents` (called by :func:`parindex.pipeline.publish`) writes into ``<run>/van_ban/``:

* ``thong_bao_tham_dinh_<code>_<name>.docx`` — one appraisal notice per commune (round 1);
* ``giai_trinh_<year>_<code>_<name>.xlsx`` — the reply form of each commune whose scores the appraisal changed;
* ``quyet_dinh_vong2_<year>_mau.xlsx`` — the secretariat's decisions form, when replies wait for decisions
  (every contested item; those decided already filled in);
* ``bao_cao_chi_so_cchc_<year>.docx`` — the draft report on the index, with the main charts;
* ``quyet_dinh_cong_bo_chi_so_cchc_<year>.docx`` — the draft decision with its annex table.

Same run → same bytes (fixed core properties and zip times; see :func:`parindex.documents.layout.docx_bytes`).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd

from ..publish.xlsx import write_bytes_atomic
from ..rounds import (
    contestable,
    decision_form,
    decision_form_filename,
    reply_filename,
    reply_form,
    slug,
)
from ..text import nfc
from . import content as C
from .layout import AdminDoc, Format, FormatError, docx_bytes, set_run_font, xml_text
from .templates import Renderer, TemplateError, load

REPORT_NAME = "bao_cao_chi_so_cchc_{year}.docx"
DECISION_NAME = "quyet_dinh_cong_bo_chi_so_cchc_{year}.docx"
NOTICE_NAME = "thong_bao_tham_dinh_{code}_{slug}.docx"


class Templates:
    """The template files of a run (edited copies from ``documents.templates`` first)."""

    def __init__(self, custom: Path | None):
        self.custom = custom
        fmt, origin = load("dinh_dang.yaml", custom)
        self.format = Format.from_dict(fmt, origin)
        self.common, self.common_origin = load("chung.yaml", custom)
        self._files: dict[str, tuple[dict, str]] = {}

    def get(self, name: str) -> tuple[dict, str]:
        """(content, origin) of template file ``name``, read and parsed once per run (17 notices share one)."""
        if name not in self._files:
            self._files[name] = load(name, self.custom)
        data, origin = self._files[name]
        return copy.deepcopy(data), origin


# ------------------------------------------------------------------------------------------------
# Context shared by every document
# ------------------------------------------------------------------------------------------------
def base_context(run, tpl: Templates) -> dict:
    p = run.params.documents
    district = nfc(run.district.name)
    ctx = {"year": run.year, "issue_year": run.year + 1, "district": district, "district_lower": C.lower_first(district),
           "district_upper": district.upper(), "district_short": C.short_name(district),
           "province": nfc(run.district.province), "province_lower": C.lower_first(run.district.province)}
    r = Renderer(ctx, tpl.common_origin)
    issuer = [nfc(x) for x in p.issuer] or r.lines(tpl.common.get("issuer_default"), "issuer_default")
    place = nfc(p.place) if p.place else ctx["district_short"]
    ctx.update(issuer=issuer, place=place, labels={k: r.text(v, f"labels.{k}") for k, v in
                                                    (tpl.common.get("labels") or {}).items()})

    def cite(d: dict) -> str:
        return " ".join(r.text(tpl.common.get("citation"), "citation", {"d": d}).split())

    ctx["plan"] = C.legal_doc(p.plan, cite)
    ctx["basis"] = [C.legal_doc(d, cite) for d in p.basis]
    ctx["deadline"] = r.text(tpl.common.get("deadline"), "deadline",
                             {"date": C.date_parts(p.reply_deadline, run.year + 1)})
    ctx["signer"] = {"authority": nfc(p.signer.authority or ""), "position": nfc(p.signer.position or ""),
                     "name": nfc(p.signer.name) if p.signer.name else None}
    return ctx


# ------------------------------------------------------------------------------------------------
# One document from its template
# ------------------------------------------------------------------------------------------------
def render_document(tpl: Templates, name: str, ctx: dict, tables: dict[str, C.Table], images: dict[str, Path],
                    date, number: str | None = None) -> AdminDoc:
    """Lay out template file ``name`` with context ``ctx``: heading, title, body blocks, closing, annex."""
    data, origin = tpl.get(name)
    f = tpl.format
    common = Renderer(ctx, tpl.common_origin)
    symbol = str(data.get("symbol", ""))
    number = number or common.text(tpl.common.get("number_placeholder", C.PLACEHOLDER), "number_placeholder")
    dparts = C.date_parts(date, ctx["issue_year"])
    ctx = {**ctx, "symbol": symbol, "number": number, "date": dparts, "images": sorted(images),
           "tables": sorted(n for n, t in tables.items() if t.rows)}
    r = Renderer(ctx, origin)
    common = Renderer(ctx, tpl.common_origin)
    doc = AdminDoc(f, title=r.text(data.get("doc_type"), "doc_type") + " " + " ".join(r.lines(data.get("summary"),
                                                                                             "summary")))
    doc.heading(issuer=ctx["issuer"], number=common.text(tpl.common["number"], "number"),
                national_title=common.text(tpl.common["national_title"], "national_title"),
                motto=common.text(tpl.common["motto"], "motto"),
                date_line=common.text(tpl.common["date_line"], "date_line"),
                draft_mark=common.text(tpl.common["draft_mark"], "draft_mark") if data.get("draft") else None)
    doc.title(r.text(data.get("doc_type"), "doc_type"), r.lines(data.get("summary"), "summary"),
              authority=r.text(data.get("authority"), "authority") or None)
    _body(doc, r.blocks(data.get("body") or [], "body"), tables, images, origin)
    signer = ctx["signer"]
    doc.closing(recipients_label=common.text(tpl.common["recipients_label"], "recipients_label"),
                recipients=r.lines(data.get("recipients"), "recipients"),
                authority=[x for x in (signer["authority"], signer["position"]) if x], name=signer["name"])
    annex = data.get("annex")
    if annex:
        doc.annex(label=r.text(annex.get("label"), "annex.label"), title=r.lines(annex.get("title"), "annex.title"),
                  note=r.text(annex.get("note"), "annex.note"))
        _body(doc, r.blocks(annex.get("body") or [], "annex.body"), tables, images, origin)
    return doc


def _body(doc: AdminDoc, blocks, tables: dict[str, C.Table], images: dict[str, Path], origin: str) -> None:
    f = doc.f
    for b in blocks:
        o = b.options
        if b.kind == "p":
            doc.para(b.value, bold=bool(o.get("bold")), italic=bool(o.get("italic")), align=o.get("align", "justify"),
                     indent=o.get("indent", True), keep_next=bool(o.get("keep_next")))
        elif b.kind == "heading":
            doc.para(b.value, bold=True, align=o.get("align", "justify"), indent=o.get("indent", True), keep_next=True)
        elif b.kind == "article":
            p = doc.para(b.value, bold=True, align="justify", indent=True)
            rest = o.get("text", "")
            if rest:
                run = p.add_run(" " + xml_text(rest))
                set_run_font(run, f.font, f.sizes["body"])
        elif b.kind == "placeholder":
            doc.placeholder(b.value)
        elif b.kind == "page_break":
            doc.page_break()
        elif b.kind == "table":
            if b.value not in tables:
                raise TemplateError(f"{origin}: không có bảng '{b.value}' (no table {b.value!r}; available: "
                                    f"{', '.join(sorted(tables)) or 'none'})")
            t = tables[b.value]
            headers = o.get("headers") or []
            if len(headers) != len(t.align):
                raise TemplateError(f"{origin}: bảng '{b.value}' có {len(t.align)} cột, mẫu ghi {len(headers)} tiêu đề "
                                    f"(table {b.value!r} has {len(t.align)} columns; the template gives {len(headers)} "
                                    "headers)")
            widths = [float(w) for w in o.get("widths_mm") or t.widths_mm]
            if len(widths) != len(t.align) or sum(widths) > f.text_width_mm + 0.5:
                raise TemplateError(f"{origin}: bảng '{b.value}': widths_mm cần {len(t.align)} số, tổng không quá "
                                    f"{f.text_width_mm:g} mm (needs {len(t.align)} widths adding up to at most the "
                                    "text width)")
            if t.rows:
                doc.table(headers, t.rows, widths, t.align, size=o.get("size"))
        elif b.kind == "image":
            if b.value not in images:
                raise TemplateError(f"{origin}: không có biểu đồ '{b.value}' (no chart {b.value!r}; available: "
                                    f"{', '.join(sorted(images)) or 'none'})")
            doc.image(images[b.value], float(o.get("width_mm", f.text_width_mm)), float(o.get("max_height_mm", 190)),
                      caption=o.get("caption"))


# ------------------------------------------------------------------------------------------------
# The run's drafts
# ------------------------------------------------------------------------------------------------
def write_documents(run, tables: dict[str, pd.DataFrame], out_dir: Path, images: dict[str, Path] | None = None,
                    previous_year: int | None = None) -> list[Path]:
    """Write the notices, reply forms, report and decision of ``run`` into ``out_dir``; return the paths."""
    from ..params import project_path

    p = run.params.documents
    custom = project_path(run.root, p.templates) if p.templates else None
    if custom is not None and not custom.is_dir():
        raise TemplateError(f"documents.templates: không tìm thấy thư mục mẫu {custom} (template folder not found)")
    tpl = Templates(custom)
    images = dict(images or {})
    meth = run.methodology
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = base_context(run, tpl)
    labels = ctx["labels"]
    written: list[Path] = []

    # ---- appraisal notices and reply forms (round 1)
    round1 = tables.get("assessment_round1", tables["assessment"])
    r1 = C.appraisal_round1(round1, meth, run.communes)
    items = contestable(round1, meth)
    forms, forms_origin = tpl.get("bieu_mau.yaml")
    for code, name in zip(run.communes["commune_code"], run.communes["commune_name"]):
        commune = {"code": code, "name": nfc(name), "name_lower": C.lower_first(name), "slug": slug(name),
                   "ubnd": "UBND " + C.lower_first(name)}
        mine = items[items["commune_code"] == code]
        reply_file = reply_filename(run.year, code, name) if len(mine) else ""
        nctx, ntables = C.notice(code, name, r1, labels)
        c = {**ctx, "commune": commune, "totals": nctx, "reply_file": reply_file}
        doc = render_document(tpl, "thong_bao.yaml", c, ntables, images, p.notice_date)
        path = out / NOTICE_NAME.format(code=code, slug=slug(name))
        written.append(write_bytes_atomic(doc.to_bytes(), path))
        if len(mine):
            fr = Renderer(c, forms_origin)
            wb = reply_form(mine, nfc(name), fr.lines(forms.get("reply"), "reply"))
            written.append(_save_xlsx(wb, out / reply_file))

    # ---- decisions form while replies wait for the secretariat
    r2 = tables.get("round2")
    if isinstance(r2, pd.DataFrame) and (r2["decision"] == "pending").any():
        fr = Renderer(ctx, forms_origin)
        cols = ["commune_code", "code", "requested_points", "explanation", "evidence", "decision", "final_points",
                "decision_reason"]
        wb = decision_form(items, r2[cols], run.communes, fr.lines(forms.get("decision"), "decision"))
        written.append(_save_xlsx(wb, out / decision_form_filename(run.year)))

    # ---- report and decision (final round)
    results = tables["results"]
    rctx = dict(ctx)
    rtables: dict[str, C.Table] = {"ranking": C.ranking_table(results, meth),
                                   "fields": C.fields_table(results, tables["leaf_scores"], meth),
                                   "sources": C.sources_table(results, tables["leaf_scores"], meth),
                                   "annex": C.annex_table(results, meth)}
    rctx["results"] = C.results_summary(results, meth)
    rctx["method"] = C.method_context(meth, run.district, tables)
    rctx["appraisal"], rtables["appraisal"] = C.appraisal_context(tables["appraisal_changes"], tables["leaf_scores"],
                                                                  results)
    rctx["surveys"], t = C.surveys_context(results, meth)
    if t is not None:
        rtables["surveys"] = t
    rctx["robustness"], t = C.robustness_context(tables, meth, run.info.get("uncertainty"))
    if t is not None:
        rtables["robustness"] = t
    rctx["yoy"], t = C.yoy_context(results, tables.get("previous_results"), previous_year)
    if t is not None:
        rtables["yoy"] = t
    rctx["rounds"], t2 = C.rounds_context(tables, labels, run.info.get("clean"))
    rtables.update(t2)
    doc = render_document(tpl, "bao_cao.yaml", rctx, rtables, images, p.report_date)
    written.append(write_bytes_atomic(doc.to_bytes(), out / REPORT_NAME.format(year=run.year)))
    doc = render_document(tpl, "quyet_dinh.yaml", rctx, rtables, images, p.decision_date)
    written.append(write_bytes_atomic(doc.to_bytes(), out / DECISION_NAME.format(year=run.year)))
    return written


def _save_xlsx(wb, path: Path) -> Path:
    from ..publish.xlsx import save_workbook

    wb.properties.creator = wb.properties.lastModifiedBy = "parindex"
    return save_workbook(wb, path)


__all__ = ["write_documents", "render_document", "Templates", "FormatError", "TemplateError", "docx_bytes"]
