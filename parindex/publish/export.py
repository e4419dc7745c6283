"""Tables for publication: ``results.csv`` (machine-readable) and ``results.xlsx`` (formatted, Vietnamese).

* ``results.csv`` keeps the English column names other tools read, UTF-8 with BOM (so Excel shows
  Vietnamese correctly), ``\\n`` line ends and floats rounded to 4 decimals; a text cell a spreadsheet would
  run as a formula starts with ``'`` (OWASP CSV injection; :mod:`parindex.csvsafe`), numbers stay numbers.
* ``results.xlsx`` has one formatted sheet per table with Vietnamese headers and words (rule codes, bands,
  statuses as names), a bold frozen header row repeated on every printed page, A4 landscape fitted to the
  page width, numbers as numbers (``0.00``), counts as integers, dates as dates (dd/mm/yyyy), and a
  year-over-year sheet when the earlier year's results are given; every text cell is stored as text, never
  as a formula (:func:`parindex.publish.xlsx.inert_text`). Its bytes are reproducible: the
  workbook's created/modified stamps and the zip entries' timestamps are fixed.

Both files are written atomically (temporary file in the same directory, then ``os.replace``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..csvsafe import write_csv
from ..methodology import Methodology
from .labels import (
    ADJUSTMENT_KIND_LABELS,
    DECISION_LABELS,
    ESTIMATOR_LABELS,
    ESTIMATOR_SHORT_LABELS,
    KIND_LABELS,
    PP,
    STATUS_LABELS,
    WHICH_LABELS,
    band_rule_text,
    detail_vi,
    rule_label,
)
from .xlsx import FIXED_TIME, save_workbook, write_bytes_atomic

DECIMALS = 4
#: survey columns of the results contract (parindex.survey), kept in results.csv when present
SURVEY_COLUMNS = ["sat_index_pct", "sat_ci_low", "sat_ci_high", "officials_points", "officials_ci_low",
                  "officials_ci_high", "ballots_received", "ballots_valid", "ballots_excluded"]
SURVEY_HEADERS = [("sat_index_pct", "Chỉ số hài lòng (%)", "num"),
                  ("sat_ci_low", "Hài lòng: cận dưới khoảng tin cậy 95 % (%)", "num"),
                  ("sat_ci_high", "Hài lòng: cận trên khoảng tin cậy 95 % (%)", "num"),
                  ("officials_points", "Điểm điều tra cán bộ, đại biểu", "num"),
                  ("officials_ci_low", "Điều tra cán bộ: cận dưới khoảng tin cậy 95 %", "num"),
                  ("officials_ci_high", "Điều tra cán bộ: cận trên khoảng tin cậy 95 %", "num"),
                  ("ballots_received", "Số phiếu hài lòng nhận được", "int"),
                  ("ballots_valid", "Số phiếu hợp lệ", "int"),
                  ("ballots_excluded", "Số phiếu bị loại", "int")]
HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")
FORMATS = {"num": "0.00", "int": "0", "text": "@", "date": "dd/mm/yyyy"}


# ------------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------------
#: the columns of results.csv: these, then one ``field_<code>_points`` per field, then the tail and survey
#: columns present (parindex.baseline checks an earlier year's results table against them)
RESULTS_FIRST = ["commune_code", "commune_name", "points", "max_points", "index_pct", "rank", "band"]
RESULTS_LABELS = ["band_label", "band_name"]
RESULTS_TAIL = ["appraisal_points", "officials_survey_points", "satisfaction_survey_points", "bonus", "deduction"]


def results_frame(results: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """The machine-readable results table: fixed English columns, rank order, floats rounded."""
    first = RESULTS_FIRST
    missing = [c for c in first if c not in results.columns]
    if missing:
        raise ValueError(f"results table lacks column(s) {missing}")
    fields = [f"field_{f.code}_points" for f in meth.fields]
    tail = RESULTS_TAIL
    cols = first + RESULTS_LABELS + fields + [c for c in tail + SURVEY_COLUMNS if c in results.columns]
    labels = {b.code: b.label for b in meth.bands}
    names = {b.code: b.short for b in meth.bands}
    df = results.assign(band_label=results["band"].map(labels).fillna("").astype("str"),
                        band_name=results["band"].map(names).fillna("").astype("str"))
    for c in fields:
        if c not in df.columns:
            raise ValueError(f"results table lacks column {c!r} (field of methodology {meth.meta.id})")
    df = df.sort_values(["rank", "commune_code"])[cols].reset_index(drop=True)
    num = df.select_dtypes(include="float").columns
    df[num] = df[num].round(DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    df["rank"] = df["rank"].astype(int)
    for c in ("ballots_received", "ballots_valid", "ballots_excluded"):
        if c in df.columns:
            df[c] = df[c].astype("Int64")
    return df


def write_results_csv(results: pd.DataFrame, meth: Methodology, path: Path) -> None:
    """results.csv: one row per commune, English header, UTF-8 with BOM, floats rounded to 4 decimals."""
    df = results_frame(results, meth)
    write_csv(df, Path(path), bom=True)   # text cells that would start a formula are neutralised (csvsafe)


# ------------------------------------------------------------------------------------------------
# XLSX
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Col:
    source: str       # column of the prepared frame
    header: str       # Vietnamese header
    kind: str = "text"  # text | num | int | date


def _cell(v):
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime().date() if v == v.normalize() else v.to_pydatetime()
    return v.item() if isinstance(v, np.generic) else v


def _sheet(wb: Workbook, title: str, df: pd.DataFrame, cols: list[Col]) -> None:
    ws = wb.create_sheet(title)
    ws.append([c.header for c in cols])
    data = df[[c.source for c in cols]].astype(object)
    data = data.where(pd.notna(data), None)
    for row in data.itertuples(index=False, name=None):
        ws.append([_cell(v) for v in row])
    n = len(df)
    for j, c in enumerate(cols, start=1):  # text from inputs stays text: never a formula ("=…")
        if c.kind == "text":
            for i in np.flatnonzero(df[c.source].astype("str").str.startswith("=").to_numpy()):
                ws.cell(row=int(i) + 2, column=j).data_type = "s"
    bold = Font(bold=True)
    for j, c in enumerate(cols, start=1):
        h = ws.cell(row=1, column=j)
        h.font = bold
        h.fill = HEADER_FILL
        h.alignment = Alignment(wrap_text=True, vertical="top")
        letter = get_column_letter(j)
        if c.kind in ("num", "int", "date") and n:
            for (cell,) in ws[f"{letter}2:{letter}{n + 1}"]:
                cell.number_format = FORMATS[c.kind]
        if c.kind == "num":
            lens = [len("0.00")] + [len(f"{v:.2f}") for v in df[c.source].dropna().astype(float)]
        elif c.kind == "date":
            lens = [len("dd/mm/yyyy")]
        else:
            lens = [0] + df[c.source].astype("str").str.len().tolist()
        width = max(max(lens), min(len(c.header), 28)) + 2
        ws.column_dimensions[letter].width = float(min(max(width, 6), 60))
    ws.freeze_panes = "A2"
    if n:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{n + 1}"
    # ready to print: A4 landscape, as wide as the page, the header row on every page
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_options.gridLines = True


def _names(results: pd.DataFrame) -> pd.Series:
    return pd.Series(results["commune_name"].to_numpy(), index=results["commune_code"].to_numpy())


def _add_names(df: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    return df.assign(commune_name=df["commune_code"].map(_names(results)).fillna("").astype("str"))


def _leaf_labels(meth: Methodology) -> pd.Series:
    lv = meth.leaves()
    return pd.Series(lv["label"].to_numpy(), index=lv["code"].to_numpy())


def build_workbook(tables: dict[str, pd.DataFrame], meth: Methodology, district: dict | None = None,
                   rank_decimals: int = 2) -> Workbook:
    """One formatted sheet per table present (results is required); ``district`` (name, province, code: what
    :meth:`parindex.district.DistrictInfo.public` gives) heads the sheet "Phương pháp"; ``rank_decimals`` is the
    run's published precision, stated there with the band rule."""
    if "results" not in tables:
        raise ValueError("write_results_xlsx: the table 'results' is required")
    res = results_frame(tables["results"], meth)
    wb = Workbook()
    wb.remove(wb.active)
    tail = [Col("appraisal_points", "Điểm thẩm định", "num"),
            Col("officials_survey_points", "Điểm điều tra xã hội học", "num"),
            Col("satisfaction_survey_points", "Điểm khảo sát sự hài lòng (SIPAS)", "num"),
            Col("bonus", meth.adjustments.bonus.label, "num"),
            Col("deduction", meth.adjustments.deduction.label, "num")]
    _sheet(wb, "Kết quả", res, [
        Col("rank", "Hạng", "int"), Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"),
        Col("points", "Điểm đạt", "num"), Col("max_points", "Điểm tối đa", "num"),
        Col("index_pct", "Chỉ số CCHC (%)", "num"), Col("band_name", "Xếp loại"),
    ] + [c for c in tail if c.source in res.columns]
      + [Col(c, h, k) for c, h, k in SURVEY_HEADERS if c in res.columns])

    fields = res.assign(total=res[[f"field_{f.code}_points" for f in meth.fields]].sum(axis=1))
    _sheet(wb, "Điểm theo lĩnh vực", fields, [
        Col("rank", "Hạng", "int"), Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"),
    ] + [Col(f"field_{f.code}_points", f"{f.code}. {f.label} (tối đa {f.points:g})", "num") for f in meth.fields]
      + [Col("total", "Tổng điểm các lĩnh vực", "num")])

    results = tables["results"]
    ls = tables.get("leaf_scores")
    if isinstance(ls, pd.DataFrame):
        d = _add_names(ls, results).assign(
            label=ls["code"].map(_leaf_labels(meth)).fillna("").astype("str"),
            source_label=ls["source"].map(meth.sources).fillna(ls["source"]).astype("str"),
            field_label=ls["field_code"].map({f.code: f"{f.code}. {f.label}" for f in meth.fields})
            .fillna(ls["field_code"]).astype("str"),
            applicable_label=np.where(ls["applicable"].astype(bool), "có", "không"),
            n_answers=ls["n_answers"].astype("Float64"))
        _sheet(wb, "Điểm tiêu chí", d, [
            Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"), Col("code", "Mã tiêu chí"),
            Col("label", "Tiêu chí"), Col("field_label", "Lĩnh vực"), Col("source_label", "Nguồn đánh giá"),
            Col("max_points", "Điểm tối đa", "num"), Col("points", "Điểm đạt", "num"),
            Col("self_points", "Điểm tự chấm", "num"), Col("applicable_label", "Áp dụng"),
            Col("n_answers", "Số câu trả lời hợp lệ", "int"), Col("note", "Ghi chú")])

    ch = tables.get("appraisal_changes")
    if isinstance(ch, pd.DataFrame):
        d = _add_names(ch, results).assign(kind_label=ch["kind"].map(KIND_LABELS).fillna(ch["kind"]).astype("str"))
        _sheet(wb, "Thẩm định", d, [
            Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"), Col("code", "Mã tiêu chí"),
            Col("label", "Tiêu chí"), Col("points", "Điểm tối đa", "num"), Col("self_points", "Điểm tự chấm", "num"),
            Col("appraised_points", "Điểm thẩm định", "num"), Col("change", "Chênh lệch", "num"),
            Col("kind_label", "Điều chỉnh"), Col("reason", "Lý do thẩm định"), Col("flag", "Cảnh báo")])

    r2 = tables.get("round2")
    if isinstance(r2, pd.DataFrame):  # the explanation round (parindex.rounds): both rounds of each contested item
        d = _add_names(r2, results).assign(
            decision_label=r2["decision"].map(DECISION_LABELS).fillna(r2["decision"]).astype("str"),
            changed_label=np.where(r2["changed"].astype(bool), "có", "không"),
            decision_row=r2["decision_row"].astype("Float64"))
        _sheet(wb, "Giải trình vòng 2", d, [
            Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"), Col("code", "Mã tiêu chí"),
            Col("label", "Tiêu chí"), Col("max_points", "Điểm tối đa", "num"), Col("self_points", "Điểm tự chấm", "num"),
            Col("round1_points", "Điểm thẩm định vòng 1", "num"), Col("requested_points", "Điểm xã đề nghị", "num"),
            Col("explanation", "Nội dung giải trình"), Col("evidence", "Tài liệu kiểm chứng"),
            Col("decision_label", "Kết quả xem xét"), Col("final_points", "Điểm sau giải trình", "num"),
            Col("changed_label", "Điểm thay đổi"), Col("decision_reason", "Lý do quyết định"),
            Col("reply_file", "Tệp giải trình"), Col("reply_row", "Dòng", "int"),
            Col("decision_file", "Tệp quyết định"), Col("decision_row", "Dòng", "int")])
    r1 = tables.get("round1_results")
    if isinstance(r1, pd.DataFrame):
        d = r1.sort_values(["rank", "commune_code"]).reset_index(drop=True)
        _sheet(wb, "Chỉ số trước, sau giải trình", d, [
            Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"),
            Col("points_round1", "Điểm vòng 1", "num"), Col("index_pct_round1", "Chỉ số vòng 1 (%)", "num"),
            Col("rank_round1", "Hạng vòng 1", "int"), Col("points", "Điểm sau giải trình", "num"),
            Col("index_pct", "Chỉ số sau giải trình (%)", "num"), Col("rank", "Hạng sau giải trình", "int"),
            Col("index_change", f"Chỉ số thay đổi ({PP})", "num"), Col("rank_change", "Hạng thay đổi (+ = tăng)", "int")])

    sf = tables.get("satisfaction_factors")
    if isinstance(sf, pd.DataFrame):
        flabels = {f.code: f.label for f in meth.satisfaction_survey.factors}
        d = _add_names(sf, results).assign(
            factor_label=sf["factor"].map(flabels).fillna("").astype("str"), pct=sf["index"] * 100.0)
        _sheet(wb, "Hài lòng", d, [
            Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"), Col("factor", "Mã yếu tố"),
            Col("factor_label", "Yếu tố"), Col("n_answers", "Số câu trả lời hợp lệ", "int"),
            Col("n_positive", "Số câu trả lời hài lòng (4–5)", "int"), Col("pct", "Tỷ lệ hài lòng (%)", "num")])

    miss = tables.get("missing")
    if isinstance(miss, pd.DataFrame) and len(miss):
        d = miss.assign(label=miss["code"].map(_leaf_labels(meth)).fillna("").astype("str"))
        _sheet(wb, "Thiếu dữ liệu", d, [
            Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"), Col("code", "Mã tiêu chí"),
            Col("label", "Tiêu chí (tính 0 điểm)")])

    ms = tables.get("missing_surveys")
    if isinstance(ms, pd.DataFrame) and len(ms):
        d = ms.assign(label=ms["code"].map(_leaf_labels(meth)).fillna("").astype("str"),
                      source_label=ms["source"].map(meth.sources).fillna(ms["source"]).astype("str"))
        _sheet(wb, "Thiếu khảo sát", d, [
            Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"), Col("code", "Mã tiêu chí"),
            Col("label", "Tiêu chí (không tính vào điểm tối đa)"), Col("source_label", "Nguồn đánh giá")])

    off = tables.get("off_step")
    if isinstance(off, pd.DataFrame) and len(off):
        d = _add_names(off, results).assign(
            which_label=off["which"].map(WHICH_LABELS).fillna(off["which"]).astype("str"))
        _sheet(wb, "Điểm không theo mức", d, [
            Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"), Col("code", "Mã tiêu chí"),
            Col("label", "Tiêu chí"), Col("which_label", "Loại điểm"), Col("value", "Điểm", "num"),
            Col("steps", "Các mức hợp lệ")])

    rej = tables.get("rejections")
    if isinstance(rej, pd.DataFrame):
        d = rej.assign(row=pd.to_numeric(rej["row"], errors="coerce").astype("Int64"),
                       rule_label=rej["rule"].map(rule_label).astype("str"),
                       detail_vi=rej["detail"].map(detail_vi).astype("str"))
        _sheet(wb, "Dòng bị loại", d, [
            Col("file", "Tệp"), Col("sheet", "Trang tính"), Col("row", "Dòng", "int"), Col("rule_label", "Lý do loại"),
            Col("detail_vi", "Chi tiết")])

    bal = tables.get("ballots")
    if isinstance(bal, pd.DataFrame):
        pf = {f.code: f.label for f in meth.satisfaction_survey.procedure_fields}
        d = bal.assign(status_label=bal["status"].map({"valid": "hợp lệ", "excluded": "bị loại"})
                       .fillna(bal["status"]).astype("str"),
                       date=pd.to_datetime(bal["date"], errors="coerce"),
                       field_label=bal["procedure_field"].map(pf).fillna(bal["procedure_field"]).astype("str"),
                       rule_label=bal["rule"].fillna("").map(lambda r: rule_label(r) if r else "").astype("str"))
        d = _add_names(d.assign(commune_code=d["commune_code"].fillna("").astype("str")), results)
        _sheet(wb, "Phiếu hài lòng", d, [
            Col("ballot_id", "Mã phiếu"), Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"),
            Col("field_label", "Lĩnh vực TTHC"), Col("date", "Ngày khảo sát", "date"),
            Col("status_label", "Tình trạng"), Col("rule_label", "Lý do loại")])

    rob = tables.get("robustness")
    if isinstance(rob, pd.DataFrame):
        d = rob.sort_values(["rank", "commune_code"]).reset_index(drop=True)
        bcols = [Col(f"p_band_{b.code}", f"Xác suất xếp loại {b.short} (%)", "num") for b in meth.bands
                 if f"p_band_{b.code}" in d.columns]
        d = d.assign(**{c.source: d[c.source] * 100.0 for c in bcols})
        extra = []
        if "p_top_k" in d.columns:
            d = d.assign(p_top_k=d["p_top_k"] * 100.0)
            extra.append(Col("p_top_k", "Xác suất thuộc nhóm dẫn đầu (%)", "num"))
        if "mean_abs_shift" in d.columns:
            extra.append(Col("mean_abs_shift", "Mức thay đổi hạng bình quân", "num"))
        if "commune_name" not in d.columns:
            d = _add_names(d, results)
        _sheet(wb, "Độ vững xếp hạng", d, [
            Col("rank", "Hạng công bố", "int"), Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"),
            Col("rank_median", "Hạng trung vị", "num"), Col("rank_p05", "Hạng: phân vị 5 %", "num"),
            Col("rank_p95", "Hạng: phân vị 95 %", "num")] + bcols + extra)

    _decision_sheets(wb, tables, results, meth)
    prev = tables.get("previous_results")
    if isinstance(prev, pd.DataFrame) and {"commune_code", "rank", "index_pct"} <= set(prev.columns):
        from .figures import year_over_year
        mv = year_over_year(tables["results"], prev)
        if mv["rank_prev"].notna().all():
            mv = mv.assign(rank_prev=mv["rank_prev"].astype(int), move=mv["move"].astype(int))
            _sheet(wb, "So với năm trước", mv, [
                Col("rank", "Hạng năm nay", "int"), Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"),
                Col("rank_prev", "Hạng năm trước", "int"), Col("move", "Thay đổi hạng (+ = tăng)", "int"),
                Col("index_prev", "Chỉ số năm trước (%)", "num"), Col("index_pct", "Chỉ số năm nay (%)", "num"),
                Col("index_change", f"Thay đổi chỉ số ({PP})", "num")])

    m = meth.meta
    d = district or {}
    adj = meth.adjustments
    place = [(k, str(d[f])) for k, f in (("Huyện", "name"), ("Tỉnh", "province"), ("Mã huyện (Tổng cục Thống kê)", "code"))
             if d.get(f)]
    rules = [("Cách tính chỉ số hài lòng", ESTIMATOR_LABELS[meth.satisfaction_survey.estimator]),
             ("Quy tắc xếp loại", band_rule_text(meth, rank_decimals)),
             (f"{adj.bonus.label}, {adj.deduction.label.lower()} nhiều dòng",
              f"Các dòng của một xã được cộng lại rồi mới áp mức tối đa ({adj.bonus.cap:g} / {adj.deduction.cap:g} "
              "điểm); từng dòng ở trang “Điều chỉnh và loại trừ”.")]
    base = [("Mã bộ tiêu chí", m.id), ("Phiên bản", m.version), ("Tên", m.title),
            ("Tình trạng", STATUS_LABELS.get(m.status, m.status)), ("Ghi chú", m.note), ("Chờ", m.pending or ""),
            ("Mã kiểm tra SHA-256 của tệp bộ tiêu chí", meth.sha256 or "")]
    bands = [(f"Xếp loại {b.short}", b.label) for b in meth.bands]
    rows = place + base + bands + rules
    info = pd.DataFrame({"key": [k for k, _ in rows], "value": [v for _, v in rows]})
    _sheet(wb, "Phương pháp", info, [Col("key", "Thông tin"), Col("value", "Giá trị")])

    wb.properties.creator = "parindex"
    wb.properties.lastModifiedBy = "parindex"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    return wb


def _decision_sheets(wb: Workbook, tables: dict[str, pd.DataFrame], results: pd.DataFrame,
                     meth: Methodology) -> None:
    """The score stage's ``adjustment_log`` (every exclusion, zero weight, rescaling and bonus/deduction row
    with the points it moved) and ``estimator_check`` (index and band under both satisfaction estimators)."""
    log = tables.get("adjustment_log")
    if isinstance(log, pd.DataFrame) and len(log):
        d = _add_names(log, results).assign(kind_label=log["kind"].map(ADJUSTMENT_KIND_LABELS).fillna(log["kind"])
                                            .astype("str"))
        _sheet(wb, "Điều chỉnh và loại trừ", d, [
            Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn"),
            Col("kind_label", "Loại"), Col("detail", "Nội dung"),
            Col("points_effect", "Thay đổi điểm đạt", "num"), Col("max_effect", "Thay đổi điểm tối đa", "num"),
            Col("index_effect", f"Thay đổi chỉ số ({PP})", "num")])
    chk = tables.get("estimator_check")
    if isinstance(chk, pd.DataFrame) and len(chk):
        est = meth.satisfaction_survey.estimator
        d = _add_names(chk, results).assign(
            differs=np.where(chk["band_differs"].astype(bool), "khác", ""))
        cols = [Col("commune_code", "Mã xã"), Col("commune_name", "Tên xã, thị trấn")]
        for e, lab in ESTIMATOR_SHORT_LABELS.items():
            tag = " — công bố" if e == est else ""
            cols += [Col(f"index_{e}", f"Chỉ số (%): {lab}{tag}", "num"), Col(f"rank_{e}", f"Hạng: {lab}{tag}", "int"),
                     Col(f"band_{e}", f"Xếp loại: {lab}{tag}")]
        _sheet(wb, "Kiểm tra cách tính hài lòng", d, cols + [Col("differs", "Xếp loại thay đổi")])


def write_results_xlsx(tables: dict[str, pd.DataFrame], meth: Methodology, path: Path,
                       district: dict | None = None, rank_decimals: int = 2) -> None:
    """results.xlsx: one formatted sheet per table, Vietnamese headers, reproducible bytes; ``district`` and
    ``rank_decimals`` as in :func:`build_workbook`."""
    save_workbook(build_workbook(tables, meth, district, rank_decimals), path)


def write_sheets(sheets: list[tuple[str, pd.DataFrame]], path: Path) -> None:
    """A workbook of plain formatted sheets (title, frame whose column names are the headers), reproducible."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, df in sheets:
        df = df.reset_index(drop=True)
        kinds = {c: ("int" if pd.api.types.is_integer_dtype(df[c]) else
                     "num" if pd.api.types.is_float_dtype(df[c]) else "text") for c in df.columns}
        _sheet(wb, title, df.astype({c: "str" for c, k in kinds.items() if k == "text"}),
               [Col(c, str(c), kinds[c]) for c in df.columns])
    wb.properties.creator = wb.properties.lastModifiedBy = "parindex"
    wb.properties.created = FIXED_TIME
    save_workbook(wb, path)


# ------------------------------------------------------------------------------------------------
# PNG images of charts
# ------------------------------------------------------------------------------------------------
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
IMAGE_WIDTH = 1200
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _browser_path() -> str | None:
    """The browser kaleido should drive: $BROWSER_PATH when set, else the first system chromium found.
    (kaleido.get_chrome would download one: never used.)"""
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env
    return next((p for p in CHROMIUM_PATHS if os.path.exists(p)), None)


#: seconds a headless Chromium job (the chart images, the profile PDFs) may take before it is abandoned and
#: started once more: rarely, a freshly started Chromium never answers, and a run must not wait forever
CHROMIUM_TIMEOUT_S = 180.0


def with_watchdog(fn, what: str, timeout: float | None = None, attempts: int = 2):
    """``fn()`` in a daemon thread, waited for at most ``timeout`` seconds (default
    :data:`CHROMIUM_TIMEOUT_S`); a call that has not finished by then is abandoned (its thread keeps nothing
    alive at exit) and ``fn`` is called again, up to ``attempts`` calls. Returns what ``fn`` returns; re-raises
    its exception; RuntimeError naming ``what`` when every attempt timed out. ``fn`` must write nothing an
    abandoned call could overwrite later (the chart images: a temporary folder per call)."""
    import threading

    timeout = CHROMIUM_TIMEOUT_S if timeout is None else timeout
    for _ in range(attempts):
        box: dict = {}

        def work():
            try:
                box["value"] = fn()
            except BaseException as e:  # handed to the caller
                box["error"] = e

        t = threading.Thread(target=work, daemon=True, name=f"parindex-{what}")
        t.start()
        t.join(timeout)
        if "error" in box:
            raise box["error"]
        if "value" in box:
            return box["value"]
    raise RuntimeError(f"{what}: Chromium không phản hồi sau {attempts} lần thử, mỗi lần {timeout:g} giây "
                       f"[headless Chromium did not answer in {attempts} attempts of {timeout:g} s]")


def write_chart_images(figs: dict, out_dir: str | Path, width: int = IMAGE_WIDTH, scale: float = 1.0
                       ) -> list[Path]:
    """Write each figure as ``<out_dir>/<name>.png`` with kaleido (one browser session for all) and return
    the paths in the order given. The figures are copied first, so the caller's figures (and any HTML
    built from them) are left untouched. kaleido draws into a temporary folder of its own (under
    :func:`with_watchdog`: a hung browser is abandoned and the drawing started again); each picture is then
    checked and written atomically."""
    import shutil
    import tempfile

    import plotly.graph_objects as go

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not figs:
        return []
    for name in figs:
        if not str(name) or "/" in str(name) or str(name).startswith("."):
            raise ValueError(f"write_chart_images: {name!r} is not a usable file name")
    names = list(figs)
    copies = []
    for n in names:
        f = go.Figure(figs[n])  # a deep copy: the caller's figure is not modified
        f.update_layout(width=width, autosize=False)
        copies.append(f)
    heights = [int(f.layout.height) if f.layout.height else 500 for f in copies]
    specs = [(f.to_dict(), h) for f, h in zip(copies, heights)]
    def draw() -> dict[str, bytes]:
        # kaleido directly rather than plotly.io.write_images: through plotly its page always loads MathJax from
        # a CDN (a request from the publishing machine for a script no chart uses); here without MathJax, and
        # plotly.js from the installed plotly package (kaleido's default), so rendering needs no network
        import kaleido

        tmp = Path(tempfile.mkdtemp(prefix="parindex-png-"))
        try:
            kaleido.write_fig_from_object_sync(
                [dict(fig=fd, path=str(tmp / f"{n}.png"), opts=dict(format="png", width=width, height=h, scale=scale))
                 for n, (fd, h) in zip(names, specs)],
                kopts=dict(mathjax=False))
            return {n: (tmp / f"{n}.png").read_bytes() for n in names}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    browser = _browser_path()
    before = os.environ.get("BROWSER_PATH")
    try:
        if browser and before is None:
            os.environ["BROWSER_PATH"] = browser   # kaleido's browser: the system's (never downloaded)
        pictures = with_watchdog(draw, "chart-images")
    finally:
        if before is None:
            os.environ.pop("BROWSER_PATH", None)
    final = [out / f"{n}.png" for n in names]
    for n, f in zip(names, final):
        if pictures[n][:8] != PNG_MAGIC:
            raise RuntimeError(f"write_chart_images: {f.name} is not a PNG image")
        write_bytes_atomic(pictures[n], f)
    return final
