"""Plan step 1: the survey sample plan of a year.

* Satisfaction survey (SIPAS): a fixed number of ballots per commune (50 in the plan) allocated across
  the procedure fields that had dossiers, in proportion to their dossiers, by largest remainder
  (Hamilton) with at least one ballot per active field (:func:`allocate`).
* The reference sample size of Yamane, n = N / (1 + N·e²) rounded up (:func:`reference_size`), per
  commune, with a warning where the fixed sample is smaller (:func:`reference_table`).
* Officials' survey: respondents per group (the district's sizes, ``district.officials_groups``; by default the
  methodology's, 33 / 1 / 12 in the reference default) and a numbered
  respondent list, each respondent rating every commune (:func:`officials_groups`,
  :func:`officials_respondents`).

:func:`write_sample_plan` writes all of it as one xlsx workbook with Vietnamese headings and
reproducible bytes. The dossier counts come from ``so_ho_so_<year>.xlsx`` through
:func:`parindex.ingest.read_dossiers` (see :func:`build_sample_plan_from_file`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..communes import CommuneMatcher
from ..methodology import Methodology
from ..publish import xlsx
from ..text import fmt_pct

DEFAULT_MARGIN = 0.05
RESPONDENT_PREFIX = "CB"

SHEET_ALLOCATION = "Phân bổ phiếu hài lòng"
SHEET_REFERENCE = "Cỡ mẫu tham chiếu"
SHEET_OFFICIALS = "Điều tra cán bộ"
SHEET_DETAIL = "Chi tiết phân bổ"


class SamplePlanError(ValueError):
    """A sample plan that cannot be made from the given counts or parameters (message in vi + en)."""


# ================================================================================================
# Satisfaction survey: allocation of the fixed sample across procedure fields
# ================================================================================================
def allocate(dossiers: pd.DataFrame, n_per_commune: int = 50, field_order: list[str] | None = None
             ) -> pd.DataFrame:
    """Allocate ``n_per_commune`` ballots of each commune across its procedure fields.

    ``dossiers`` has columns commune_code, procedure_field, dossiers (the clean ``dossiers`` table).
    Fields with no dossiers get no ballot. Among the active fields (dossiers > 0):

    1. a field whose proportional quota is below one ballot gets exactly one (the minimum); the other
       fields share the remaining ballots in proportion to their dossiers, and this is repeated until
       no remaining field's quota is below one;
    2. the remaining fields get the whole part of their quota, and the ballots left over go one each to
       the largest remainders (Hamilton); ties go to the larger dossier count, then to the field
       listed first (``field_order``, default the order of first appearance in ``dossiers``, which for
       the clean table is the methodology's order).

    Quotas and remainders are computed in integers, so ties are exact. Returns commune_code,
    procedure_field, dossiers, share (of the commune's dossiers), quota_exact (share × n, before the
    minimum and the rounding) and ballots, in the input's order.
    """
    need = ["commune_code", "procedure_field", "dossiers"]
    missing = [c for c in need if c not in dossiers.columns]
    if missing:
        raise SamplePlanError(f"bảng số hồ sơ thiếu cột {missing} (dossier table lacks column(s) {missing}; "
                              f"expected {need})")
    n = int(n_per_commune)
    if n != n_per_commune or n < 1:
        raise SamplePlanError(f"số phiếu mỗi xã phải là số nguyên ≥ 1, nhận được {n_per_commune!r} "
                              f"(ballots per commune must be a whole number ≥ 1)")
    d = dossiers[need].reset_index(drop=True)
    d = d.astype({"commune_code": "str", "procedure_field": "str"})
    counts = pd.to_numeric(d["dossiers"], errors="coerce")
    bad = counts.isna() | (counts < 0) | (counts != counts.round())
    if bad.any():
        r = d[bad.to_numpy()].iloc[0]
        raise SamplePlanError(f"xã {r.commune_code}, lĩnh vực {r.procedure_field}: số hồ sơ {r.dossiers!r} không "
                              f"phải số nguyên không âm (dossier count is not a whole number ≥ 0); "
                              f"{int(bad.sum())} dòng như vậy")
    counts = counts.astype("int64")
    dup = d.duplicated(["commune_code", "procedure_field"])
    if dup.any():
        r = d[dup.to_numpy()].iloc[0]
        raise SamplePlanError(f"xã {r.commune_code}, lĩnh vực {r.procedure_field} có hai dòng số hồ sơ "
                              f"(duplicate commune × procedure field)")
    fields = list(pd.unique(d["procedure_field"])) if field_order is None else list(field_order)
    unknown = sorted(set(d["procedure_field"]) - set(fields))
    if unknown:
        raise SamplePlanError(f"lĩnh vực {unknown} không có trong danh mục lĩnh vực {fields} "
                              f"(procedure field(s) not in the field order)")
    order = d["procedure_field"].map({f: i for i, f in enumerate(fields)}).astype("int64")
    commune = d["commune_code"]
    by = commune.to_numpy()

    active = counts > 0
    k = active.groupby(by).transform("sum")
    problems = []
    for c in pd.unique(commune[k.to_numpy() == 0]):
        problems.append(f"xã {c}: không có hồ sơ nào trong năm, không phân bổ được phiếu "
                        f"(commune {c} has no dossiers in any procedure field)")
    over = pd.unique(commune[(k > n).to_numpy()])
    for c in over:
        kc = int(k[commune == c].iloc[0])
        problems.append(f"xã {c}: {kc} lĩnh vực có hồ sơ nhưng chỉ có {n} phiếu, không thể bảo đảm mỗi lĩnh vực "
                        f"ít nhất 1 phiếu — cần tăng số phiếu mỗi xã lên ít nhất {kc} "
                        f"({kc} procedure fields had dossiers but only {n} ballots: cannot give each at least one)")
    if problems:
        raise SamplePlanError("không lập được phân bổ phiếu (cannot allocate the ballots):\n  - "
                              + "\n  - ".join(problems))

    # Step 1: fields whose quota is below one get the minimum; repeat on the others.
    fixed = pd.Series(False, index=d.index)
    for _ in range(len(fields) + 1):
        free = active & ~fixed
        m = fixed.groupby(by).transform("sum").astype("int64")
        dfree = counts.where(free, 0).groupby(by).transform("sum").astype("int64")
        num = (n - m) * counts  # quota of a free field = num / dfree
        below = free & (num < dfree)
        if not below.any():
            break
        fixed = fixed | below
    free = active & ~fixed
    den = dfree.where(dfree > 0, 1)
    base = pd.Series(np.where(fixed, 1, np.where(free, num // den, 0)), index=d.index).astype("int64")
    rem = pd.Series(np.where(free, num % den, 0), index=d.index).astype("int64")
    left = n - base.groupby(by).transform("sum")
    # Step 2: leftover ballots to the largest remainders (same denominator within a commune).
    cpos = commune.map({c: i for i, c in enumerate(pd.unique(commune))})
    ranked = pd.DataFrame({"c": cpos, "rem": rem, "cnt": counts, "ord": order, "free": free}).sort_values(
        ["c", "free", "rem", "cnt", "ord"], ascending=[True, False, False, False, True], kind="stable")
    pos = ranked.groupby("c").cumcount().reindex(d.index)
    extra = (free & (pos < left)).astype("int64")
    ballots = base + extra

    total = counts.groupby(by).transform("sum")
    share = counts / total
    return pd.DataFrame({
        "commune_code": commune.astype("str"),
        "procedure_field": d["procedure_field"].astype("str"),
        "dossiers": counts.astype("int64"),
        "share": share.astype(float),
        "quota_exact": (share * n).astype(float),
        "ballots": ballots.astype("int64"),
    })


# ================================================================================================
# Reference sample size (Yamane)
# ================================================================================================
def reference_size(N, e: float = DEFAULT_MARGIN):
    """Yamane's sample size n = N / (1 + N·e²), rounded up; N = dossiers of the year.

    Accepts a number (returns an int), an array or a Series (returns the same kind, int64)."""
    if not 0 < e < 1:
        raise SamplePlanError(f"sai số e = {e!r} phải nằm trong khoảng (0, 1) (margin must lie in (0, 1))")
    arr = np.asarray(N, dtype=float)
    if np.isnan(arr).any() or (arr < 0).any():
        raise SamplePlanError("số hồ sơ N phải là số không âm (N must be ≥ 0)")
    # The small tolerance keeps an exact integer (e.g. N = 400 → 200) from rounding up to the next one.
    n = np.ceil(arr / (1.0 + arr * e * e) - 1e-9).astype("int64")
    if isinstance(N, pd.Series):
        return pd.Series(n, index=N.index, name=N.name)
    if np.ndim(N) == 0:
        return int(n)
    return n


def margin_at(N, n):
    """The margin e that Yamane's formula gives for a sample n out of N: e = √((N − n) / (N·n)); 0 when n ≥ N."""
    N = np.asarray(N, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.sqrt(np.clip(N - n, 0, None) / (N * n))
    return np.where((N > 0) & (n > 0), e, np.nan)


def reference_table(dossiers: pd.DataFrame, n_fixed: int = 50, e: float = DEFAULT_MARGIN) -> pd.DataFrame:
    """Per commune: N (dossiers of the year), the Yamane reference size, the fixed size, the margin the
    fixed size gives, and a Vietnamese warning where the fixed size is below the reference (or above N).

    Columns: commune_code, dossiers_year, reference_n, fixed_n, margin_at_fixed, warning."""
    N = dossiers.groupby("commune_code", sort=False)["dossiers"].sum().astype("int64")
    ref = reference_size(N, e)
    fixed = pd.Series(int(n_fixed), index=N.index, dtype="int64")
    below = fixed < ref
    above = fixed > N
    warn = pd.Series("", index=N.index, dtype="str")
    warn = warn.mask(below, "Cỡ mẫu cố định " + fixed.astype(str) + " < cỡ mẫu tham chiếu " + ref.astype(str))
    warn = warn.mask(above, "Cỡ mẫu cố định " + fixed.astype(str) + " > số hồ sơ trong năm " + N.astype(str)
                     + ": khảo sát toàn bộ người có hồ sơ")
    return pd.DataFrame({
        "commune_code": N.index.astype("str"),
        "dossiers_year": N.to_numpy(),
        "reference_n": ref.to_numpy(),
        "fixed_n": fixed.to_numpy(),
        "margin_at_fixed": margin_at(N.to_numpy(), fixed.to_numpy()),
        "warning": warn.to_numpy(),
    }).astype({"commune_code": "str", "warning": "str"})


# ================================================================================================
# Officials' survey
# ================================================================================================
def officials_groups(meth: Methodology, groups: dict[str, int] | None = None) -> pd.DataFrame:
    """Respondent groups: group_code, group_label, respondents. Sizes from the methodology (33 / 1 / 12 in
    the reference default); ``groups`` overrides the size of named groups (codes of the methodology)."""
    table = pd.DataFrame([dict(group_code=g.code, group_label=g.label, respondents=g.size)
                          for g in meth.officials_survey.groups])
    if groups:
        known = set(table["group_code"])
        unknown = sorted(set(groups) - known)
        if unknown:
            raise SamplePlanError(f"nhóm đối tượng {unknown} không có trong bộ tiêu chí (các nhóm: "
                                  f"{', '.join(table['group_code'])}) (unknown respondent group(s); expected "
                                  f"codes of methodology {meth.meta.id})")
        bad = {k: v for k, v in groups.items() if int(v) != v or v < 0}
        if bad:
            raise SamplePlanError(f"số người trả lời phải là số nguyên ≥ 0: {bad} "
                                  f"(respondents per group must be whole numbers ≥ 0)")
        sizes = table["group_code"].map({k: int(v) for k, v in groups.items()})
        table["respondents"] = sizes.fillna(table["respondents"]).astype("int64")
    table = table.astype({"group_code": "str", "group_label": "str", "respondents": "int64"})
    if table["respondents"].sum() == 0:
        raise SamplePlanError("không có người trả lời nào trong điều tra cán bộ (no respondents in any group)")
    return table


def officials_respondents(groups: pd.DataFrame, n_communes: int) -> pd.DataFrame:
    """Numbered respondent list: ballot_id (``CB-HDND-01``), group_code, group_label, seq (within the
    group), communes (how many communes each respondent rates: all of them)."""
    size = groups["respondents"].to_numpy()
    idx = np.repeat(np.arange(len(groups)), size)
    seq = np.arange(len(idx)) - np.repeat(np.cumsum(size) - size, size) + 1
    width = np.repeat([max(2, len(str(s))) for s in size], size)
    code = groups["group_code"].to_numpy()[idx]
    num = pd.Series(seq).astype(str)
    num = pd.Series([s.zfill(w) for s, w in zip(num, width)], dtype="str")
    return pd.DataFrame({
        "ballot_id": (f"{RESPONDENT_PREFIX}-" + pd.Series(code, dtype="str") + "-" + num).astype("str"),
        "group_code": pd.Series(code, dtype="str"),
        "group_label": pd.Series(groups["group_label"].to_numpy()[idx], dtype="str"),
        "seq": seq.astype("int64"),
        "communes": np.full(len(idx), int(n_communes), dtype="int64"),
    })


# ================================================================================================
# The plan
# ================================================================================================
@dataclass
class SamplePlan:
    """The survey sample plan of one year (tables as documented in the functions that make them)."""

    year: int
    n_per_commune: int
    margin: float
    allocation: pd.DataFrame
    reference: pd.DataFrame
    groups: pd.DataFrame
    respondents: pd.DataFrame
    communes: pd.DataFrame
    field_labels: dict[str, str]

    def per_commune(self) -> pd.DataFrame:
        """Wide allocation: one row per commune, one column of ballots per procedure field, and total."""
        wide = self.allocation.pivot(index="commune_code", columns="procedure_field", values="ballots")
        wide = wide.reindex(index=self.communes["commune_code"], columns=list(self.field_labels)).fillna(0)
        wide = wide.astype("int64")
        wide["total"] = wide.sum(axis=1)
        return wide


def build_sample_plan(dossiers: pd.DataFrame, meth: Methodology, communes: pd.DataFrame, *, year: int,
                      n_per_commune: int | None = None, margin: float = DEFAULT_MARGIN,
                      groups: dict[str, int] | None = None) -> SamplePlan:
    """The whole plan from the clean ``dossiers`` table. ``n_per_commune`` defaults to the methodology's
    ballots per commune (50). Every commune of ``communes`` must appear in ``dossiers``."""
    sv = meth.satisfaction_survey
    n = sv.ballots_per_commune if n_per_commune is None else n_per_commune
    field_labels = {p.code: p.label for p in sv.procedure_fields}
    missing = sorted(set(communes["commune_code"]) - set(dossiers["commune_code"]))
    if missing:
        names = communes.set_index("commune_code").loc[missing, "commune_name"]
        raise SamplePlanError("bảng số hồ sơ thiếu xã: " + ", ".join(f"{c} ({nm})" for c, nm in names.items())
                              + " (dossier table lacks these communes; every commune needs its sample)")
    extra = sorted(set(dossiers["commune_code"]) - set(communes["commune_code"]))
    if extra:
        raise SamplePlanError(f"bảng số hồ sơ có mã xã không thuộc danh sách xã: {extra} (unknown communes)")
    pos = {c: i for i, c in enumerate(communes["commune_code"])}
    d = dossiers.assign(_c=dossiers["commune_code"].map(pos),
                        _f=dossiers["procedure_field"].map({f: i for i, f in enumerate(field_labels)}))
    d = d.sort_values(["_c", "_f"], kind="stable").drop(columns=["_c", "_f"])
    alloc = allocate(d, n, field_order=list(field_labels))
    ref = reference_table(d, n, margin)
    g = officials_groups(meth, groups)
    resp = officials_respondents(g, len(communes))
    return SamplePlan(year=year, n_per_commune=int(n), margin=float(margin), allocation=alloc, reference=ref,
                      groups=g, respondents=resp, communes=communes.reset_index(drop=True),
                      field_labels=field_labels)


def build_sample_plan_from_file(path: str | Path, meth: Methodology, communes: pd.DataFrame, *, year: int,
                                **kw) -> SamplePlan:
    """Read ``so_ho_so_<year>.xlsx`` (or .csv) with the ingest reader, then :func:`build_sample_plan`.
    A file that cannot be used raises :class:`parindex.ingest.InputError` (file, sheet, row, column)."""
    from ..ingest import read_dossiers

    dossiers, _ = read_dossiers(Path(path), meth, CommuneMatcher(communes))
    return build_sample_plan(dossiers, meth, communes, year=year, **kw)


# ================================================================================================
# xlsx output (shared with parindex.entry_templates)
# ================================================================================================
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
THIN = Side(style="thin", color="999999")
HEADER_BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def default_stamp(year: int) -> dt.datetime:
    """Fixed workbook time of the forms of ``year`` (1 December of the year, 08:00), for reproducible bytes."""
    return dt.datetime(year, 12, 1, 8, 0, 0)


def save_workbook(wb: openpyxl.Workbook, path: str | Path, stamp: dt.datetime, creator: str = "parindex") -> Path:
    """Save with fixed document properties and zip entry times, so the same content gives the same bytes."""
    wb.properties.creator = creator
    wb.properties.lastModifiedBy = creator
    return xlsx.save_workbook(wb, path, stamp=stamp, zip_time=None)


def form_sheet(ws: Worksheet, titles: list[str], header: list[str], *, notes: list[object] | None = None,
               widths: dict[str, float] | None = None, freeze_col: int = 1) -> int:
    """Write the district form head: title lines (the first two bold, further ones italic), a line of
    notes (or blank), then the header row (bold, wrapped, shaded, framed, frozen). Returns the header
    row number."""
    for i, t in enumerate(titles):
        ws.append([t])
        ws.cell(ws.max_row, 1).font = Font(bold=True) if i < 2 else Font(italic=True)
    ws.append(list(notes) if notes else [])
    hr = len(titles) + 2
    if notes:
        for c in range(1, len(notes) + 1):
            ws.cell(hr - 1, c).font = Font(italic=True, size=9)
            ws.cell(hr - 1, c).alignment = Alignment(wrap_text=True, vertical="bottom")
    for c, h in enumerate(header, start=1):
        cell = ws.cell(hr, c, h)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for letter, w in (widths or {}).items():
        ws.column_dimensions[letter].width = w
    ws.freeze_panes = f"{get_column_letter(freeze_col)}{hr + 1}"  # not ws.cell(): it would move append()
    return hr


def _append_rows(ws: Worksheet, rows: list[list], formats: dict[int, str] | None = None) -> None:
    start = ws.max_row + 1
    for r in rows:
        ws.append(r)
    for col, fmt in (formats or {}).items():
        for (cell,) in ws.iter_rows(min_row=start, max_row=ws.max_row, min_col=col, max_col=col):
            cell.number_format = fmt


def write_sample_plan(path: str | Path, plan: SamplePlan, *, district: str,
                      stamp: dt.datetime | None = None) -> Path:
    """Write the plan as an xlsx workbook (sheets "Phân bổ phiếu hài lòng", "Cỡ mẫu tham chiếu",
    "Điều tra cán bộ", "Chi tiết phân bổ"); same plan → same bytes. ``district`` is the issuing body written
    on the first line of each sheet (:attr:`parindex.district.DistrictInfo.authority`, "UBND HUYỆN …")."""
    year = plan.year
    names = plan.communes.set_index("commune_code")["commune_name"]
    codes = list(plan.field_labels)
    wb = openpyxl.Workbook()

    # 1. Ballots per commune × procedure field.
    ws = wb.active
    ws.title = SHEET_ALLOCATION
    wide = plan.per_commune()
    header = ["Mã xã", "Tên xã"] + [f"{plan.field_labels[c]} ({c})" for c in codes] + ["Tổng số phiếu"]
    hr = form_sheet(ws, [district, f"KẾ HOẠCH PHÂN BỔ PHIẾU KHẢO SÁT SỰ HÀI LÒNG CỦA NGƯỜI DÂN, TỔ CHỨC NĂM {year}",
                         f"Mỗi xã, thị trấn {plan.n_per_commune} phiếu, chia cho các lĩnh vực TTHC có hồ sơ trong năm "
                         "theo tỷ lệ số hồ sơ (phương pháp phần dư lớn nhất), mỗi lĩnh vực có hồ sơ ít nhất 1 phiếu."],
                    header, widths={"A": 9, "B": 22, **{get_column_letter(i): 12 for i in range(3, len(header) + 1)}},
                    freeze_col=3)
    ws.row_dimensions[hr].height = 45
    rows = [[c, names[c], *map(int, wide.loc[c, codes]), int(wide.loc[c, "total"])] for c in wide.index]
    rows.append(["Tổng cộng", None, *map(int, wide[codes].sum()), int(wide["total"].sum())])
    _append_rows(ws, rows)
    for c in range(1, len(header) + 1):
        ws.cell(ws.max_row, c).font = Font(bold=True)

    # 2. Reference size.
    ws = wb.create_sheet(SHEET_REFERENCE)
    e_txt = fmt_pct(plan.margin * 100, 0 if round(plan.margin * 100, 6).is_integer() else 1)
    header = ["Mã xã", "Tên xã", "Số hồ sơ trong năm (N)", f"Cỡ mẫu tham chiếu n = N/(1 + N·e²), e = {e_txt}",
              "Cỡ mẫu cố định", "Sai số tương ứng với cỡ mẫu cố định", "Cảnh báo"]
    form_sheet(ws, [district, f"CỠ MẪU THAM CHIẾU KHẢO SÁT SỰ HÀI LÒNG NĂM {year} (CÔNG THỨC YAMANE)",
                    "Cỡ mẫu tham chiếu làm tròn lên; kế hoạch cố định số phiếu mỗi xã. Cột cảnh báo ghi xã có cỡ mẫu "
                    "cố định nhỏ hơn cỡ mẫu tham chiếu."],
               header, widths={"A": 9, "B": 22, "C": 14, "D": 22, "E": 12, "F": 16, "G": 48}, freeze_col=3)
    ref = plan.reference
    rows = [[c, names[c], int(N), int(r), int(f), None if math.isnan(m) else float(m), w or None]
            for c, N, r, f, m, w in zip(ref["commune_code"], ref["dossiers_year"], ref["reference_n"], ref["fixed_n"],
                                        ref["margin_at_fixed"], ref["warning"])]
    _append_rows(ws, rows, {3: "#,##0", 6: "0.00%"})

    # 3. Officials' survey: respondent list (left) and groups (right), one header row.
    ws = wb.create_sheet(SHEET_OFFICIALS)
    nc = len(plan.communes)
    header = ["STT", "Mã phiếu", "Mã nhóm", "Nhóm đối tượng", "Số xã, thị trấn đánh giá", None,
              "Mã nhóm", "Nhóm đối tượng", "Số người trả lời"]
    hr = form_sheet(ws, [district, f"DANH SÁCH PHIẾU ĐIỀU TRA XÃ HỘI HỌC XÁC ĐỊNH CHỈ SỐ CCHC CẤP XÃ NĂM {year}",
                         f"Mỗi người trả lời đánh giá tất cả {nc} xã, thị trấn (một dòng cho mỗi xã trong phiếu nhập)."],
                    header, widths={"A": 6, "B": 14, "C": 9, "D": 40, "E": 14, "F": 3, "G": 9, "H": 40, "I": 12},
                    freeze_col=1)
    for c in ("F",):  # the gap column has no heading
        ws[f"{c}{hr}"].fill = PatternFill()
        ws[f"{c}{hr}"].border = Border()
    resp = plan.respondents
    g = plan.groups
    n_rows = max(len(resp), len(g) + 1)
    rows = []
    for i in range(n_rows):
        left = ([i + 1, resp["ballot_id"].iat[i], resp["group_code"].iat[i], resp["group_label"].iat[i],
                 int(resp["communes"].iat[i])] if i < len(resp) else [None] * 5)
        if i < len(g):
            right = [g["group_code"].iat[i], g["group_label"].iat[i], int(g["respondents"].iat[i])]
        elif i == len(g):
            right = ["Tổng", None, int(g["respondents"].sum())]
        else:
            right = []
        rows.append(left + [None] + right)
    _append_rows(ws, rows)
    ws.cell(hr + 1 + len(g), 7).font = Font(bold=True)
    ws.cell(hr + 1 + len(g), 9).font = Font(bold=True)

    # 4. Detail of the allocation.
    ws = wb.create_sheet(SHEET_DETAIL)
    header = ["Mã xã", "Tên xã", "Mã lĩnh vực", "Lĩnh vực", "Số hồ sơ", "Tỷ trọng hồ sơ", "Hạn ngạch chính xác",
              "Số phiếu"]
    form_sheet(ws, [district, f"CHI TIẾT PHÂN BỔ PHIẾU KHẢO SÁT SỰ HÀI LÒNG NĂM {year}",
                    "Hạn ngạch chính xác = tỷ trọng hồ sơ × số phiếu của xã; số phiếu sau khi bảo đảm tối thiểu "
                    "1 phiếu cho mỗi lĩnh vực có hồ sơ và làm tròn theo phần dư lớn nhất."],
               header, widths={"A": 9, "B": 22, "C": 10, "D": 24, "E": 11, "F": 12, "G": 12, "H": 10}, freeze_col=3)
    a = plan.allocation
    rows = [[c, names[c], f, plan.field_labels.get(f, f), int(dn), float(s), float(q), int(b)]
            for c, f, dn, s, q, b in zip(a["commune_code"], a["procedure_field"], a["dossiers"], a["share"],
                                         a["quota_exact"], a["ballots"])]
    _append_rows(ws, rows, {5: "#,##0", 6: "0.00%", 7: "0.00"})

    return save_workbook(wb, path, stamp or default_stamp(year), creator="parindex.sampleplan")
