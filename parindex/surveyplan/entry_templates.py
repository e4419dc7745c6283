"""Blank xlsx entry forms whose filled-in content is exactly what :mod:`parindex.ingest` reads.

Three forms per year (sheet names, header texts and column order as in docs/ARCHITECTURE.md, "Raw files"):

* ``tu_danh_gia_tham_dinh_<year>.xlsx`` (sheet ``ChamDiem``): one row per commune × appraised leaf,
  pre-filled from the methodology, plus one bonus (T) and one deduction (TR) row per commune;
* ``phieu_can_bo_<year>.xlsx`` (sheet ``PhieuCanBo``): one row per respondent × commune, pre-filled from
  the respondent list of the sample plan (:func:`parindex.surveyplan.sampleplan.officials_respondents`);
* ``phieu_hai_long_<year>.xlsx`` (sheet ``PhieuHaiLong``): blank ballot rows.

Each form has the district's title lines, a frozen header row, data validation (score ranges,
dropdowns, dates within the survey period), and sheet protection with only the entry cells unlocked
(no password: the protection guards against accidental edits of headings and pre-filled cells). Lists
too long for an inline dropdown (communes, procedure fields) live in a hidden sheet ``DanhMuc``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ..ingest import RAW_FILES
from ..methodology import Methodology
from .sampleplan import (
    default_stamp,
    form_sheet,
    officials_groups,
    officials_respondents,
    save_workbook,
)

ASSESSMENT_HEADER = ["Mã xã", "Tên xã", "Mã tiêu chí", "Tên tiêu chí", "Điểm tối đa", "Điểm tự chấm",
                     "Điểm thẩm định", "Lý do thẩm định", "Ghi chú minh chứng", "Không áp dụng"]
OFFICIALS_FIXED = ["Mã phiếu", "Nhóm đối tượng", "Họ và tên", "Xã, thị trấn"]
SATISFACTION_FIXED = ["Mã phiếu", "Ngày khảo sát", "Xã, thị trấn", "Lĩnh vực", "Họ và tên", "Số điện thoại",
                      "Số CCCD"]
LIST_SHEET = "DanhMuc"
NOT_APPLICABLE_MARK = "x"
UNLOCKED = Protection(locked=False)
ENTRY_FILL = PatternFill("solid", fgColor="FFF9E5")


def template_filename(kind: str, year: int, commune_code: str | None = None) -> str:
    """Raw-file name of a form: ``tu_danh_gia_tham_dinh_2023.xlsx``; a one-commune self-assessment form
    gets the commune code as suffix (``tu_danh_gia_tham_dinh_2023_11251.xlsx``)."""
    prefix = RAW_FILES[kind][0]
    return f"{prefix}{year}" + (f"_{commune_code}" if commune_code else "") + ".xlsx"


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def _protect(ws: Worksheet) -> None:
    """Sheet protection on (no password); column widths and row heights stay adjustable."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def _unlock(ws: Worksheet, first_row: int, last_row: int, cols: list[int], number_format: dict[int, str] | None = None
            ) -> None:
    """Unlock (and shade) the entry cells of ``cols`` in rows first_row..last_row."""
    fmt = number_format or {}
    for c in cols:
        for (cell,) in ws.iter_rows(min_row=first_row, max_row=last_row, min_col=c, max_col=c):
            cell.protection = UNLOCKED
            cell.fill = ENTRY_FILL
            if c in fmt:
                cell.number_format = fmt[c]


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers → runs of consecutive rows (first, last)."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _col_range(col: int, first_row: int, last_row: int) -> str:
    letter = get_column_letter(col)
    return f"{letter}{first_row}:{letter}{last_row}"


def _validation(ws: Worksheet, ranges: list[str], *, error: str, prompt: str | None = None, **kw) -> DataValidation:
    dv = DataValidation(allow_blank=True, showErrorMessage=True, errorStyle="stop",
                        errorTitle="Giá trị không hợp lệ", error=error,
                        showInputMessage=prompt is not None, prompt=prompt, **kw)
    for r in ranges:
        dv.add(r)
    ws.add_data_validation(dv)
    return dv


def _list_sheet(wb: openpyxl.Workbook, columns: dict[str, list[str]]) -> dict[str, str]:
    """A hidden, protected sheet of dropdown lists; returns heading → absolute range formula."""
    ws = wb.create_sheet(LIST_SHEET)
    out = {}
    for j, (head, values) in enumerate(columns.items(), start=1):
        ws.cell(1, j, head).font = Font(bold=True)
        for i, v in enumerate(values, start=2):
            ws.cell(i, j, v)
        letter = get_column_letter(j)
        out[head] = f"{LIST_SHEET}!${letter}$2:${letter}${len(values) + 1}"
        ws.column_dimensions[letter].width = max(12, max((len(v) for v in values), default=0) + 2)
    ws.sheet_state = "hidden"
    _protect(ws)
    return out


def _label_row(ws: Worksheet, row: int, labels: dict[int, str]) -> None:
    """Criterion / question labels above the header row (small, wrapped)."""
    for c, text in labels.items():
        cell = ws.cell(row, c, text)
        cell.font = Font(italic=True, size=8)
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    ws.row_dimensions[row].height = 60


def _select_communes(communes: pd.DataFrame, commune_code: str | None) -> pd.DataFrame:
    if commune_code is None:
        return communes.reset_index(drop=True)
    sel = communes[communes["commune_code"] == str(commune_code)]
    if sel.empty:
        raise ValueError(f"mã xã '{commune_code}' không có trong danh sách xã ({len(communes)} xã) "
                         f"(unknown commune code; expected one of {', '.join(communes['commune_code'])})")
    return sel.reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# 1. Self-assessment and appraisal
# ------------------------------------------------------------------------------------------------
def assessment_template(meth: Methodology, communes: pd.DataFrame, *, year: int, district: str,
                        commune_code: str | None = None) -> openpyxl.Workbook:
    """Self-assessment / appraisal form (sheet ``ChamDiem``): for each commune (or only ``commune_code``)
    one row per appraised leaf (Mã xã, Tên xã, Mã tiêu chí, Tên tiêu chí, Điểm tối đa pre-filled and
    locked) and one bonus (T) and one deduction (TR) row whose self-score is pre-set to 0 (the importer
    requires a self-score on every row; an officer overwrites the 0 when the commune claims points). Several
    grounds of bonus (deduction): the instructions ask for their total in the row and each ground in the
    evidence note; a file with several T (TR) rows per commune is read too (scoring sums them, then caps).
    Scores are validated as decimals between 0 and the row's maximum; Không áp dụng is a dropdown "x"."""
    sel = _select_communes(communes, commune_code)
    lv = meth.leaves()
    lv = lv[lv.source == "appraisal"]
    adj = meth.adjustments
    items = [(c, lab, float(p), None) for c, lab, p in zip(lv["code"], lv["label"], lv["points"])]
    items += [(adj.bonus.code, adj.bonus.label, float(adj.bonus.cap), 0.0),
              (adj.deduction.code, adj.deduction.label, float(adj.deduction.cap), 0.0)]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = RAW_FILES["assessment"][1]
    who = "" if commune_code is None else f" — {sel['commune_name'].iat[0].upper()}"
    hr = form_sheet(ws, [district, f"BẢNG TỰ ĐÁNH GIÁ, THẨM ĐỊNH CHỈ SỐ CCHC CẤP XÃ NĂM {year}{who}",
                         "Xã ghi Điểm tự chấm và Ghi chú minh chứng; ghi \"x\" ở cột Không áp dụng nếu tiêu chí không "
                         "áp dụng. Tổ thư ký ghi Điểm thẩm định (để trống = giữ điểm tự chấm) và Lý do thẩm định. "
                         f"Dòng {adj.bonus.code} = {adj.bonus.label.lower()}, dòng {adj.deduction.code} = "
                         f"{adj.deduction.label.lower()}: có nhiều nội dung thì ghi tổng điểm và liệt kê từng nội "
                         "dung ở cột Ghi chú minh chứng (nhiều dòng cùng mã của một xã được cộng lại); tổng chỉ được "
                         "tính tối đa theo cột Điểm tối đa."],
                    ASSESSMENT_HEADER,
                    widths={"A": 9, "B": 22, "C": 11, "D": 52, "E": 10, "F": 11, "G": 11, "H": 40, "I": 44, "J": 11},
                    freeze_col=5)
    ws.row_dimensions[hr - 1].height = 48
    first = hr + 1
    for code, name in zip(sel["commune_code"], sel["commune_name"]):
        for c, lab, mx, self_default in items:
            ws.append([code, name, c, lab, mx, self_default, None, None, None, None])
    last = ws.max_row
    _unlock(ws, first, last, [6, 7, 8, 9, 10], {6: "0.00", 7: "0.00", 8: "@", 9: "@", 10: "@"})
    for (cell,) in ws.iter_rows(min_row=first, max_row=last, min_col=4, max_col=4):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    # One decimal validation per distinct maximum, over the self and appraised cells of its rows.
    per_item = len(items)
    by_max: dict[float, list[int]] = {}
    for j, (_, _, mx, _) in enumerate(items):
        by_max.setdefault(mx, []).append(j)
    for mx in sorted(by_max):
        rows = sorted(first + i * per_item + j for i in range(len(sel)) for j in by_max[mx])
        ranges = [f"F{a}:G{b}" for a, b in _runs(rows)]
        _validation(ws, ranges, type="decimal", operator="between", formula1="0", formula2=f"{mx:g}",
                    error=f"Điểm phải là số từ 0 đến {mx:g} (điểm tối đa của tiêu chí)".replace(".", ","),
                    promptTitle="Điểm", prompt=f"Số từ 0 đến {mx:g}".replace(".", ","))
    _validation(ws, [_col_range(10, first, last)], type="list", formula1=f'"{NOT_APPLICABLE_MARK}"',
                error=f"Chỉ ghi \"{NOT_APPLICABLE_MARK}\" khi tiêu chí không áp dụng, hoặc để trống")
    _protect(ws)
    return wb


# ------------------------------------------------------------------------------------------------
# 2. Officials' survey
# ------------------------------------------------------------------------------------------------
def officials_template(meth: Methodology, communes: pd.DataFrame, *, year: int, district: str,
                       groups: dict[str, int] | None = None) -> openpyxl.Workbook:
    """Officials' ballots (sheet ``PhieuCanBo``): one row per respondent × commune, pre-filled with the
    respondent's ballot id (``CB-HDND-01``), group label and commune name (locked); Họ và tên and one
    answer column per officials-survey leaf are unlocked, answers a dropdown of the answer codes."""
    g = officials_groups(meth, groups)
    resp = officials_respondents(g, len(communes))
    qs = meth.leaf_codes("officials_survey")
    lv = meth.leaves().set_index("code")
    answers = list(meth.officials_survey.answer_weights)
    labels = meth.officials_survey.answer_labels
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = RAW_FILES["officials"][1]
    header = OFFICIALS_FIXED + qs
    scale = ", ".join(f"{a} = {labels[a]}" if a in labels else a for a in answers)
    widths = {"A": 13, "B": 34, "C": 24, "D": 20, **{get_column_letter(5 + i): 9 for i in range(len(qs))}}
    hr = form_sheet(ws, [district, f"PHIẾU ĐIỀU TRA XÃ HỘI HỌC XÁC ĐỊNH CHỈ SỐ CCHC CẤP XÃ NĂM {year}",
                         f"Mỗi người trả lời đánh giá tất cả {len(communes)} xã, thị trấn. Ghi {'/'.join(answers)} "
                         f"({scale}); để trống nếu không biết / không trả lời."],
                    header, widths=widths, freeze_col=5)
    _label_row(ws, hr - 1, {5 + i: f"{q}. {lv.at[q, 'label']}" for i, q in enumerate(qs)})
    first = hr + 1
    n_c = len(communes)
    ids = resp["ballot_id"].repeat(n_c).to_numpy()
    grp = resp["group_label"].repeat(n_c).to_numpy()
    names = list(communes["commune_name"]) * len(resp)
    for i in range(len(ids)):
        ws.append([ids[i], grp[i], None, names[i]])
    last = max(ws.max_row, first)
    _unlock(ws, first, last, [3] + list(range(5, 5 + len(qs))), {3: "@"})
    if qs:
        _validation(ws, [f"{get_column_letter(5)}{first}:{get_column_letter(4 + len(qs))}{last}"], type="list",
                    formula1='"' + ",".join(answers) + '"',
                    error=f"Chỉ ghi một trong {'/'.join(answers)} hoặc để trống (không biết / không trả lời)")
    _protect(ws)
    return wb


# ------------------------------------------------------------------------------------------------
# 3. Satisfaction survey
# ------------------------------------------------------------------------------------------------
def satisfaction_template(meth: Methodology, communes: pd.DataFrame, *, year: int, district: str,
                          n_rows: int | None = None, ballots_per_commune: int | None = None,
                          survey_start: dt.date | None = None, survey_end: dt.date | None = None
                          ) -> openpyxl.Workbook:
    """Satisfaction ballots (sheet ``PhieuHaiLong``): ``n_rows`` blank ballot rows (default ballots per
    commune × communes, the ballots per commune being the district's, ``ballots_per_commune``, else the
    methodology's), all unlocked; dropdowns of commune names and procedure-field labels (from the
    hidden ``DanhMuc`` sheet), answers whole numbers of the scale, dates within the survey period
    (default the whole year)."""
    sv = meth.satisfaction_survey
    qs = meth.satisfaction_questions()
    qcodes = qs["question"].tolist()
    per = sv.ballots_per_commune if ballots_per_commune is None else int(ballots_per_commune)
    n = per * len(communes) if n_rows is None else int(n_rows)
    if n < 1:
        raise ValueError(f"số dòng phiếu phải ≥ 1, nhận được {n_rows!r} (number of ballot rows must be ≥ 1)")
    start = survey_start or dt.date(year, 1, 1)
    end = survey_end or dt.date(year, 12, 31)
    if end < start:
        raise ValueError(f"thời gian khảo sát {start:%d/%m/%Y}–{end:%d/%m/%Y}: ngày kết thúc trước ngày bắt đầu "
                         "(survey end before start)")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = RAW_FILES["satisfaction"][1]
    header = SATISFACTION_FIXED + qcodes
    nf = len(SATISFACTION_FIXED)
    widths = {"A": 12, "B": 13, "C": 20, "D": 22, "E": 24, "F": 13, "G": 15,
              **{get_column_letter(nf + 1 + i): 7 for i in range(len(qcodes))}}
    hr = form_sheet(ws, [district, "PHIẾU KHẢO SÁT SỰ HÀI LÒNG CỦA NGƯỜI DÂN, TỔ CHỨC ĐỐI VỚI SỰ PHỤC VỤ CỦA UBND "
                                   f"CẤP XÃ NĂM {year}",
                         f"Thời gian khảo sát {start:%d/%m/%Y}–{end:%d/%m/%Y}. Mỗi câu ghi số nguyên "
                         f"{sv.scale.min}–{sv.scale.max} ({sv.scale.min} = rất không hài lòng, {sv.scale.max} = rất "
                         "hài lòng) hoặc để trống. Họ tên, số điện thoại, số CCCD chỉ dùng để phát hiện phiếu trùng."],
                    header, widths=widths, freeze_col=nf + 1)
    _label_row(ws, hr - 1, {nf + 1 + i: f"{q}. {lab}" for i, (q, lab) in enumerate(zip(qs["question"], qs["label"]))})
    first, last = hr + 1, hr + n
    _unlock(ws, first, last, list(range(1, len(header) + 1)),
            {1: "@", 2: "DD/MM/YYYY", 3: "@", 4: "@", 5: "@", 6: "@", 7: "@"})
    lists = _list_sheet(wb, {"Xã, thị trấn": list(communes["commune_name"]),
                             "Lĩnh vực": [p.label for p in sv.procedure_fields]})
    _validation(ws, [_col_range(3, first, last)], type="list", formula1=lists["Xã, thị trấn"],
                error="Chọn xã, thị trấn trong danh sách")
    _validation(ws, [_col_range(4, first, last)], type="list", formula1=lists["Lĩnh vực"],
                error="Chọn lĩnh vực thủ tục hành chính trong danh sách")
    _validation(ws, [_col_range(2, first, last)], type="date", operator="between",
                formula1=f"DATE({start.year},{start.month},{start.day})",
                formula2=f"DATE({end.year},{end.month},{end.day})",
                error=f"Ngày khảo sát phải trong thời gian khảo sát {start:%d/%m/%Y}–{end:%d/%m/%Y} (dd/mm/yyyy)")
    _validation(ws, [f"{get_column_letter(nf + 1)}{first}:{get_column_letter(nf + len(qcodes))}{last}"],
                type="whole", operator="between", formula1=str(sv.scale.min), formula2=str(sv.scale.max),
                error=f"Chỉ ghi số nguyên từ {sv.scale.min} đến {sv.scale.max}, hoặc để trống")
    _protect(ws)
    return wb


# ------------------------------------------------------------------------------------------------
# All three
# ------------------------------------------------------------------------------------------------
def write_templates(out_dir: str | Path, meth: Methodology, communes: pd.DataFrame, *, year: int, district: str,
                    commune_code: str | None = None, groups: dict[str, int] | None = None,
                    n_rows: int | None = None, ballots_per_commune: int | None = None,
                    survey_start: dt.date | None = None, survey_end: dt.date | None = None,
                    stamp: dt.datetime | None = None) -> list[Path]:
    """Write the three blank forms of ``year`` into ``out_dir`` and return their paths. ``district`` is the
    issuing body on the first line of each form (:attr:`parindex.district.DistrictInfo.authority`); ``groups``
    and ``ballots_per_commune`` the district's survey sizes (default: the methodology's). With
    ``commune_code`` the self-assessment form covers that commune only (file name suffixed with the code);
    the two survey forms are district-wide either way. Same arguments → same bytes."""
    out = Path(out_dir)
    stamp = stamp or default_stamp(year)
    creator = "parindex.entry_templates"
    return [
        save_workbook(assessment_template(meth, communes, year=year, commune_code=commune_code, district=district),
                      out / template_filename("assessment", year, commune_code), stamp, creator),
        save_workbook(officials_template(meth, communes, year=year, groups=groups, district=district),
                      out / template_filename("officials", year), stamp, creator),
        save_workbook(satisfaction_template(meth, communes, year=year, n_rows=n_rows,
                                            ballots_per_commune=ballots_per_commune, survey_start=survey_start,
                                            survey_end=survey_end, district=district),
                      out / template_filename("satisfaction", year), stamp, creator),
    ]


def write_district_templates(out_dir: str | Path, meth: Methodology, district, *, year: int,
                             commune_code: str | None = None, n_rows: int | None = None,
                             survey_start: dt.date | None = None, survey_end: dt.date | None = None,
                             stamp: dt.datetime | None = None) -> list[Path]:
    """:func:`write_templates` for a :class:`parindex.district.DistrictInfo`: its issuing body, its communes and
    its survey sizes (respondents per officials' group, satisfaction ballots per commune)."""
    return write_templates(out_dir, meth, district.communes, year=year, district=district.authority,
                           commune_code=commune_code, groups=district.officials_groups, n_rows=n_rows,
                           ballots_per_commune=district.ballots_per_commune, survey_start=survey_start,
                           survey_end=survey_end, stamp=stamp)
