"""Seeded generator of SYNTHETIC demo raw files, in the formats of docs/ARCHITECTURE.md ("Raw files").

    python -m parindex.demo --year 2023 --seed 2023 --out data/raw/2023     # the district of params/2023.yaml
    python -m parindex.demo --year 2024 --district 042 --out /tmp/raw2024    # any district of the national list

For any district and any number of communes: the communes, the issuing body on the forms, the province
prefix of the ID numbers and the survey sizes (respondents per officials' group, satisfaction ballots per
commune) come from the district (:class:`parindex.district.DistrictInfo`), never from this module.

Every number, name, phone and ID number written here is invented. Communes get a latent quality that
is correlated across years (a shared ``base_seed``) but redrawn in part every year (``seed``), so ranks
move between years. Invalid survey ballots are mixed in on purpose so that the cleaning stage has
something to reject. Same arguments → byte-identical files (fixed workbook properties and zip times).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.styles import Alignment, Font

from .communes import CommuneMatcher, load_communes
from .district import DistrictInfo, find_district, resolve_district
from .methodology import Methodology, load_methodology
from .params import District, ParamsError, load_params, survey_period
from .publish import xlsx
from .text import name_key, strip_diacritics

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_METHODOLOGY = ROOT / "methodologies" / "reference-default-v1.yaml"
#: Seed of the part of commune quality shared by all years (years differ by their own ``seed``).
BASE_SEED = 3395
#: Names written on the one ballot from outside the district (an unknown commune for the cleaning stage): the
#: first that is not a commune of the district is used.
OUTSIDE_COMMUNES = ["Xã Thanh Lang", "Xã Tân Lập", "Xã Hòa Bình", "Xã Quang Trung"]

# ------------------------------------------------------------------------------------------------
# Invented vocabulary
# ------------------------------------------------------------------------------------------------
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ", "Bùi", "Đặng", "Ngô", "Dương", "Lương",
            "Đinh", "Phan", "Hà", "Mạc", "Nhữ", "Tăng"]
SURNAME_P = np.array([30, 10, 8, 8, 4, 6, 5, 5, 3, 3, 2, 2, 2, 3, 2, 2, 3, 2], float)
MIDDLE = {"m": ["Văn", "Đức", "Hữu", "Minh", "Quang", "Xuân", "Thế", "Công", "Duy"],
          "f": ["Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Hồng", "Phương", "Kim"]}
GIVEN = {"m": ["Hùng", "Dũng", "Nam", "Tuấn", "Long", "Hải", "Thắng", "Cường", "Sơn", "Quân", "Bình", "Toàn",
               "Khánh", "Hiếu", "Phong", "Trung", "Huy", "Thành"],
         "f": ["Lan", "Hương", "Hoa", "Mai", "Hằng", "Nga", "Thảo", "Trang", "Yến", "Linh", "Huyền", "Dung",
               "Oanh", "Nhung", "Hạnh", "Thủy", "Vân", "Liên"]}
PHONE_PREFIXES = ["09", "03", "08", "07"]

#: Evidence note templates per appraised leaf ({n} document number, {d} date).
EVIDENCE = {
    "1.1.1": "Kế hoạch số {n}/KH-UBND ngày {d}",
    "1.1.2": "Báo cáo số {n}/BC-UBND ngày {d} về kết quả thực hiện kế hoạch CCHC",
    "1.2": "Báo cáo CCHC quý, 6 tháng, năm (số {n}/BC-UBND ngày {d})",
    "1.3.1": "Kế hoạch tự kiểm tra số {n}/KH-UBND ngày {d}",
    "1.3.2": "Báo cáo khắc phục sau kiểm tra số {n}/BC-UBND ngày {d}",
    "1.4": "Tin bài trên Trang thông tin điện tử xã; loa truyền thanh",
    "1.5": "Báo cáo số {n}/BC-UBND ngày {d}",
    "2.1.1": "Sổ theo dõi văn bản; Nghị quyết số {n}/NQ-HĐND ngày {d}",
    "2.1.2": "Quyết định số {n}/QĐ-UBND ngày {d}",
    "2.2": "Quyết định công bố kết quả rà soát số {n}/QĐ-UBND ngày {d}",
    "2.3": "Kế hoạch tuyên truyền, phổ biến pháp luật số {n}/KH-UBND ngày {d}",
    "3.1": "Ảnh chụp bảng niêm yết TTHC tại Bộ phận một cửa",
    "3.2.1": "Số liệu trên Hệ thống thông tin giải quyết TTHC tỉnh đến ngày {d}",
    "3.2.2": "Số liệu trên Hệ thống thông tin giải quyết TTHC tỉnh",
    "3.3": "Văn bản xin lỗi số {n}/UBND ngày {d}",
    "3.4": "Quyết định thành lập Bộ phận một cửa số {n}/QĐ-UBND ngày {d}",
    "3.5": "Báo cáo số hóa hồ sơ số {n}/BC-UBND ngày {d}",
    "3.6": "Sổ tiếp nhận phản ánh, kiến nghị",
    "4.1": "Quyết định phân công nhiệm vụ số {n}/QĐ-UBND ngày {d}",
    "4.2": "Danh sách cán bộ, công chức xã",
    "5.1": "Quyết định phê duyệt vị trí việc làm số {n}/QĐ-UBND ngày {d}",
    "5.2": "Hồ sơ cán bộ, công chức; văn bằng, chứng chỉ",
    "5.3": "Danh sách cán bộ, công chức được cử đi đào tạo, bồi dưỡng",
    "5.4.1": "Báo cáo số {n}/BC-UBND ngày {d}",
    "5.4.2": "Biên bản kiểm tra ngày {d}",
    "6.1": "Báo cáo quyết toán ngân sách số {n}/BC-UBND ngày {d}",
    "6.2": "Sổ theo dõi tài sản công",
    "6.3": "Quyết định công khai số {n}/QĐ-UBND ngày {d}",
    "7.1": "Thống kê Hệ thống quản lý văn bản và điều hành",
    "7.2.1": "Số liệu trên Cổng dịch vụ công tỉnh",
    "7.2.2": "Số liệu trên Cổng dịch vụ công tỉnh",
    "7.3": "Số liệu thanh toán trực tuyến trên Cổng dịch vụ công quốc gia",
    "7.4": "Quy chế bảo đảm an toàn thông tin số {n}/QĐ-UBND ngày {d}",
    "7.5": "Danh sách chứng thư số đã cấp",
    "8.1.1": "Báo cáo kinh tế - xã hội năm số {n}/BC-UBND ngày {d}",
    "8.1.2": "Báo cáo kinh tế - xã hội năm số {n}/BC-UBND ngày {d}",
    "8.1.3": "Quyết định công nhận hộ nghèo số {n}/QĐ-UBND ngày {d}",
    "8.2": "Báo cáo kết quả xây dựng nông thôn mới số {n}/BC-UBND ngày {d}",
    "8.3": "Báo cáo số {n}/BC-UBND ngày {d}",
}
#: Reasons of an appraisal cut, per leaf where a specific one fits; GENERIC_REASONS otherwise.
REASONS = {
    "1.1.1": ["Ban hành kế hoạch chậm so với quy định"],
    "1.1.2": ["Hoàn thành 90 % nhiệm vụ trong kế hoạch, chưa đạt 100 %"],
    "1.2": ["Báo cáo quý III gửi chậm", "Báo cáo năm gửi chậm 5 ngày"],
    "1.3.1": ["Không có kế hoạch tự kiểm tra"],
    "2.1.1": ["Có văn bản ban hành chậm so với quy định"],
    "2.2": ["Chưa công bố kết quả rà soát văn bản"],
    "3.2.1": ["Tỷ lệ hồ sơ đúng hạn đạt 96 %, chưa đạt 100 %", "Có 7 hồ sơ giải quyết quá hạn"],
    "3.2.2": ["Còn hồ sơ chưa cập nhật lên Hệ thống thông tin giải quyết TTHC"],
    "3.3": ["Có hồ sơ quá hạn nhưng không có văn bản xin lỗi"],
    "3.5": ["Tỷ lệ số hóa hồ sơ đạt 65 %, chưa đạt chỉ tiêu"],
    "5.3": ["Chưa cử đủ công chức tham gia bồi dưỡng theo kế hoạch"],
    "6.1": ["Giải ngân vốn đầu tư công chưa đạt kế hoạch"],
    "7.2.1": ["Tỷ lệ hồ sơ trực tuyến đạt 42 %, chưa đạt chỉ tiêu 50 %"],
    "7.2.2": ["Tỷ lệ hồ sơ trực tuyến toàn trình chưa đạt chỉ tiêu"],
    "7.3": ["Tỷ lệ thanh toán trực tuyến thấp"],
    "8.1.1": ["Thu ngân sách đạt 92 % dự toán"],
    "8.2": ["Còn 2 tiêu chí nông thôn mới nâng cao chưa đạt"],
}
GENERIC_REASONS = ["Không có tài liệu kiểm chứng", "Tài liệu kiểm chứng không đầy đủ",
                   "Tài liệu kiểm chứng không đúng nội dung tiêu chí", "Thực hiện chậm so với quy định",
                   "Chưa đạt chỉ tiêu kế hoạch giao"]
RAISE_REASON = "Bổ sung tài liệu kiểm chứng trong quá trình thẩm định"
BONUS_REASONS = ["Có sáng kiến CCHC được UBND huyện công nhận", "Được UBND tỉnh tặng Bằng khen về CCHC",
                 "Mô hình một cửa thông minh được nhân rộng"]
DEDUCTION_REASONS = ["Để xảy ra khiếu nại vượt cấp về giải quyết TTHC", "Cán bộ bị kỷ luật trong năm"]

#: Mean dossiers per year of a commune of average size, per procedure-field code.
DOSSIER_MEANS = {"HT": 420.0, "CT": 650.0, "DD": 45.0, "BTXH": 60.0, "NCC": 12.0, "TDKT": 6.0, "VH": 1.2,
                 "NN": 4.0}


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def allocate(counts: pd.Series, total: int) -> pd.Series:
    """Ballots per procedure field of one commune, by the sample plan's rule (``sampleplan.allocate``)."""
    from .surveyplan.sampleplan import allocate as plan_allocate

    t = pd.DataFrame({"commune_code": "_", "procedure_field": [str(i) for i in counts.index],
                      "dossiers": counts.astype("int64").to_numpy()})
    out = plan_allocate(t, total, field_order=t["procedure_field"].tolist())
    return pd.Series(out["ballots"].to_numpy(dtype="int64"), index=counts.index)


def fake_names(rng: np.random.Generator, n: int) -> np.ndarray:
    sex = rng.random(n) < 0.5
    sur = rng.choice(SURNAMES, n, p=SURNAME_P / SURNAME_P.sum())
    mid = np.where(sex, rng.choice(MIDDLE["m"], n), rng.choice(MIDDLE["f"], n))
    giv = np.where(sex, rng.choice(GIVEN["m"], n), rng.choice(GIVEN["f"], n))
    return np.char.add(np.char.add(np.char.add(np.char.add(sur, " "), mid), " "), giv)


def _unique_ints(rng: np.random.Generator, n: int, high: int) -> np.ndarray:
    """n distinct integers in [0, high), in draw order."""
    draw = rng.integers(0, high, 2 * n + 10)
    _, first = np.unique(draw, return_index=True)
    return draw[np.sort(first)][:n]


def fake_phones(rng: np.random.Generator, n: int) -> np.ndarray:
    pre = rng.choice(PHONE_PREFIXES, n, p=[0.45, 0.3, 0.15, 0.1])
    body = pd.Series(_unique_ints(rng, n, 10**8)).astype(str).str.zfill(8).to_numpy()
    return np.char.add(pre.astype(str), body.astype(str))


def id_prefix(province_code: str | None) -> str:
    """The first three digits of a citizen ID number: the province's statistics-office code on three digits
    (the ID-number province codes are those codes); "000" when the province code is unknown."""
    code = str(province_code or "").strip()
    return code.zfill(3) if code.isdigit() else "000"


def fake_ids(rng: np.random.Generator, n: int, prefix: str) -> np.ndarray:
    """12-digit citizen ID numbers: province ``prefix`` (3 digits), sex/century digit, birth year, serial."""
    year = rng.integers(1950, 2005, n)
    female = rng.random(n) < 0.5
    century = np.where(year >= 2000, 2, 0) + female
    serial = pd.Series(_unique_ints(rng, n, 10**6)).astype(str).str.zfill(6)
    return (prefix + pd.Series(century).astype(str) + pd.Series(year % 100).astype(str).str.zfill(2)
            + serial).to_numpy().astype(str)


def commune_quality(year: int, seed: int, n: int, base_seed: int = BASE_SEED) -> np.ndarray:
    """Latent quality per commune (standard normal): 0.9 × shared part + 0.44 × this year's part."""
    shared = np.random.default_rng(base_seed).normal(size=n)
    own = np.random.default_rng([seed, year, 1]).normal(size=n)
    return 0.9 * shared + 0.44 * own


def save_workbook(wb: openpyxl.Workbook, path: Path, stamp: dt.datetime) -> Path:
    """Save with fixed document properties and zip entry times, so the bytes are reproducible."""
    wb.properties.creator = "parindex.demo (dữ liệu mô phỏng)"
    wb.properties.lastModifiedBy = "parindex.demo"
    return xlsx.save_workbook(wb, path, stamp=stamp, zip_time=None)


def _sheet(wb: openpyxl.Workbook, title: str, titles: list[str], header: list[str], rows: list[list],
           widths: dict[str, float] | None = None, date_cols: tuple[int, ...] = ()) -> None:
    """A district form: title lines, a blank line, the bold header, then the data rows."""
    ws = wb.active if wb.active.title == "Sheet" else wb.create_sheet()
    ws.title = title
    for t in titles:
        ws.append([t])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
    ws.append([])
    ws.append(header)
    hr = ws.max_row
    for c in range(1, len(header) + 1):
        ws.cell(hr, c).font = Font(bold=True)
        ws.cell(hr, c).alignment = Alignment(wrap_text=True, vertical="center")
    for r in rows:
        ws.append(r)
    for c in date_cols:
        for (cell,) in ws.iter_rows(min_row=hr + 1, min_col=c, max_col=c):
            cell.number_format = "DD/MM/YYYY"
    for letter, w in (widths or {}).items():
        ws.column_dimensions[letter].width = w
    ws.freeze_panes = ws.cell(hr + 1, 1)


def _written_name(rng: np.random.Generator, official: pd.Series, ctype: pd.Series) -> pd.Series:
    """How a commune is written on a ballot: mostly the bare name, sometimes "Xã …", "X. …", "TT …",
    or without diacritics — all of which the matcher resolves."""
    bare = official.str.replace(r"^(Xã|Thị trấn)\s+", "", regex=True)
    town = ctype == "Thị trấn"
    u = rng.random(len(official))
    out = bare.copy()
    out = out.mask(u < 0.25, official)
    out = out.mask((u >= 0.25) & (u < 0.30), np.where(town, "TT " + bare, "X. " + bare))
    out = out.mask((u >= 0.30) & (u < 0.34), bare.map(strip_diacritics))
    return out


# ------------------------------------------------------------------------------------------------
# The four files
# ------------------------------------------------------------------------------------------------
def _assessment(rng: np.random.Generator, year: int, meth: Methodology, communes: pd.DataFrame,
                z: np.ndarray) -> tuple[list[str], list[list]]:
    leaves = meth.leaves()
    leaves = leaves[leaves.source == "appraisal"].reset_index(drop=True)
    nc, nl = len(communes), len(leaves)
    ci = np.repeat(np.arange(nc), nl)
    li = np.tile(np.arange(nl), nc)
    steps = [sorted(s or (p, p / 2, 0.0), reverse=True) for s, p in zip(leaves["steps"], leaves["points"])]
    # Self-score: full, else one step down, rarely zero.
    p_full = np.clip(0.95 + 0.015 * z, 0.88, 0.99)[ci]
    u = rng.random(len(ci))
    self_step = np.where(u < p_full, 0, np.where(u < p_full + (1 - p_full) * 0.85, 1, 2))
    # Not applicable: apologies for late dossiers (3.3) in communes without late dossiers.
    na = np.zeros(len(ci), bool)
    if "3.3" in set(leaves["code"]):
        na_communes = rng.choice(nc, size=min(nc, int(rng.integers(2, 5))), replace=False)
        na = np.isin(ci, na_communes) & (leaves["code"].to_numpy()[li] == "3.3")
    # Appraisal cuts: one step (sometimes two) with a reason; weaker communes lose more.
    p_cut = np.clip(0.14 - 0.035 * z, 0.03, 0.25)[ci]
    nsteps = np.array([len(s) for s in steps])[li]
    can_cut = (self_step < nsteps - 1) & ~na
    cut = can_cut & (rng.random(len(ci)) < p_cut)
    two = cut & (self_step < nsteps - 2) & (rng.random(len(ci)) < 0.2)
    appr_step = self_step + cut + two
    # A raise or two (flagged by the scoring core): a partial self-score raised to full.
    partial = np.flatnonzero((self_step == 1) & ~cut & ~na)
    raised = rng.choice(partial, size=min(len(partial), int(rng.integers(1, 3))), replace=False)
    appr_step[raised] = 0
    width = max(len(x) for x in steps)
    step_mat = np.array([x + [x[-1]] * (width - len(x)) for x in steps])  # leaf × step, padded
    self_pts = step_mat[li, self_step]
    appr_pts = step_mat[li, appr_step]
    codes = leaves["code"].to_numpy()[li]
    # Reasons; one cut is left without a reason on purpose (the scoring core flags it).
    reason = np.full(len(ci), "", dtype=object)
    for i in np.flatnonzero(cut):
        opts = REASONS.get(codes[i], []) + GENERIC_REASONS[:2]
        reason[i] = opts[rng.integers(len(opts))]
    cut_idx = np.flatnonzero(cut)
    if len(cut_idx):
        reason[rng.choice(cut_idx)] = ""
    reason[raised] = RAISE_REASON
    # Evidence notes with invented document numbers and dates.
    days = rng.integers(0, 360, len(ci))
    nums = rng.integers(3, 260, len(ci))
    evid = np.full(len(ci), "", dtype=object)
    has_ev = rng.random(len(ci)) < 0.9
    for i in np.flatnonzero(has_ev & ~na):
        tmpl = EVIDENCE.get(codes[i], "Báo cáo số {n}/BC-UBND ngày {d}")
        # Plans are issued early in the year, reports at any time.
        d = dt.date(year, 1, 1) + dt.timedelta(days=int(days[i]) % 45 if "/KH-" in tmpl else int(days[i]))
        evid[i] = tmpl.format(n=int(nums[i]), d=f"{d:%d/%m/%Y}")
    # Half the secretaries leave the appraised cell blank when they accept the self-score.
    blank_style = rng.random(nc) < 0.5
    accept_blank = blank_style[ci] & (appr_step == self_step)

    header = ["Mã xã", "Tên xã", "Mã tiêu chí", "Tên tiêu chí", "Điểm tối đa", "Điểm tự chấm", "Điểm thẩm định",
              "Lý do thẩm định", "Ghi chú minh chứng", "Không áp dụng"]
    code_c = communes["commune_code"].to_numpy()
    name_c = communes["commune_name"].to_numpy()
    label = leaves["label"].to_numpy()
    pts = leaves["points"].to_numpy()
    rows = []
    for i in range(len(ci)):
        rows.append([code_c[ci[i]], name_c[ci[i]], codes[i], label[li[i]], float(pts[li[i]]),
                     None if na[i] else float(self_pts[i]),
                     None if (na[i] or accept_blank[i]) else float(appr_pts[i]),
                     reason[i] or None, evid[i] or None, "x" if na[i] else None])
    # Bonus for a few communes (better ones more likely), a deduction for one or two.
    adj = meth.adjustments
    pb = np.exp(z) / np.exp(z).sum()
    for c in sorted(rng.choice(nc, size=min(nc, int(rng.integers(2, 5))), replace=False, p=pb)):
        v = float(rng.choice([0.5, 1.0, 1.5]))
        rows.append([code_c[c], name_c[c], adj.bonus.code, adj.bonus.label, adj.bonus.cap, v,
                     v if rng.random() < 0.7 else v - 0.5, BONUS_REASONS[rng.integers(len(BONUS_REASONS))], None,
                     None])
    pd_ = np.exp(-z) / np.exp(-z).sum()
    for c in sorted(rng.choice(nc, size=min(nc, int(rng.integers(1, 3))), replace=False, p=pd_)):
        v = float(rng.choice([0.5, 1.0]))
        rows.append([code_c[c], name_c[c], adj.deduction.code, adj.deduction.label, adj.deduction.cap, v, None,
                     DEDUCTION_REASONS[rng.integers(len(DEDUCTION_REASONS))], None, None])
    return header, rows


def _officials(rng: np.random.Generator, meth: Methodology, communes: pd.DataFrame, z: np.ndarray,
               sizes: dict[str, int]) -> tuple[list[str], list[list]]:
    groups = meth.officials_survey.groups
    qs = meth.leaf_codes("officials_survey")
    g_label = np.concatenate([[g.label] * int(sizes.get(g.code, g.size)) for g in groups])
    nr, nc, nq = len(g_label), len(communes), len(qs)
    names = fake_names(rng, nr)
    lenient = rng.normal(0, 0.35, nr)
    item = rng.normal(0, 0.2, (nc, nq))
    ri = np.repeat(np.arange(nr), nc)
    ci = np.tile(np.arange(nc), nr)
    y = (0.95 + 0.25 * z[ci] + lenient[ri])[:, None] + item[ci] + rng.normal(0, 0.85, (nr * nc, nq))
    ans = np.select([y > 0.75, y > -0.85, y > -2.0], ["A", "B", "C"], "D").astype(object)
    ans[rng.random(ans.shape) < 0.05] = None
    header = ["Mã phiếu", "Nhóm đối tượng", "Họ và tên", "Xã, thị trấn"] + qs
    written = _written_name(rng, communes["commune_name"], communes["commune_type"]).to_numpy()
    rows = [[f"CB{ri[i] + 1:02d}", g_label[ri[i]], names[ri[i]], written[ci[i]], *ans[i]] for i in range(len(ri))]
    return header, rows


def _dossiers(rng: np.random.Generator, meth: Methodology, communes: pd.DataFrame) -> pd.DataFrame:
    size = rng.lognormal(0, 0.3, len(communes)) * np.where(communes["commune_type"] == "Thị trấn", 1.6, 1.0)
    codes = [p.code for p in meth.satisfaction_survey.procedure_fields]
    means = np.array([DOSSIER_MEANS.get(c, 5.0) for c in codes])
    counts = rng.poisson(size[:, None] * means[None, :])
    return pd.DataFrame(counts, columns=codes, index=communes["commune_code"].to_numpy())


def _outside_commune(communes: pd.DataFrame) -> str:
    m = CommuneMatcher(communes)
    return next(n for n in OUTSIDE_COMMUNES if m.match(n) is None and name_key(n) not in m.ambiguous)


def _satisfaction(rng: np.random.Generator, year: int, meth: Methodology, communes: pd.DataFrame, z: np.ndarray,
                  dossiers: pd.DataFrame, start: dt.date, end: dt.date, per: int, id_pre: str
                  ) -> tuple[list[str], list[list]]:
    sv = meth.satisfaction_survey
    qs = meth.satisfaction_questions()
    qcodes = qs["question"].tolist()
    labels = {p.code: p.label for p in sv.procedure_fields}
    alloc = dossiers.apply(lambda r: allocate(r, per), axis=1)
    stacked = alloc.stack()
    ci = np.repeat(np.arange(len(communes)), per)
    fields = np.repeat(stacked.index.get_level_values(1).to_numpy(), stacked.to_numpy())
    n = len(ci)
    # Answers: ballot propensity around the commune's (SIPAS ≈ 90 %, as published for a province in 2023).
    p_c = np.clip(0.91 + 0.025 * z, 0.8, 0.985)
    p_b = np.clip(p_c[ci] + rng.normal(0, 0.06, n), 0.3, 1.0)
    pos = rng.random((n, len(qcodes))) < p_b[:, None]
    five = rng.random((n, len(qcodes))) < 0.42
    neg = rng.choice([3, 2, 1], size=(n, len(qcodes)), p=[0.75, 0.2, 0.05])
    ans = np.where(pos, np.where(five, 5, 4), neg).astype(object)
    blank_p = np.where(qs["factor"].to_numpy() == "PA", 0.06, 0.015)
    ans[rng.random((n, len(qcodes))) < blank_p[None, :]] = None
    span = (end - start).days
    dates = (np.datetime64(start) + rng.integers(0, span + 1, n).astype("timedelta64[D]")).astype(object)
    names = fake_names(rng, n)
    phones = fake_phones(rng, n)
    ids = fake_ids(rng, n, id_pre)
    written = _written_name(rng, communes["commune_name"].iloc[ci].reset_index(drop=True),
                            communes["commune_type"].iloc[ci].reset_index(drop=True)).to_numpy()
    field_txt = np.where(rng.random(n) < 0.85, pd.Series(fields).map(labels).to_numpy(), fields)
    # Invalid ballots on purpose (each a distinct ballot).
    k = rng.choice(n, size=6, replace=False)
    half = len(qcodes) // 2 + 1
    ans[k[0], rng.choice(len(qcodes), size=half, replace=False)] = None          # blank_majority
    same = np.flatnonzero((ci == ci[k[1]]) & ~np.isin(np.arange(n), k))
    twin = same[rng.integers(len(same))]
    phones[k[1]], names[k[1]] = phones[twin], names[twin]                          # duplicate phone
    ans[k[2], rng.integers(len(qcodes))] = 6                                     # out_of_range
    ans[k[3], rng.integers(len(qcodes))] = 0                                     # out_of_range
    dates[k[4]] = end + dt.timedelta(days=3)                                     # outside_period
    ans[k[5], rng.integers(len(qcodes))] = "Tốt"                                 # text in an answer cell
    order = np.lexsort((np.arange(n), dates, ci))
    rows = [[None, dates[i], written[i], field_txt[i], names[i], phones[i], ids[i], *ans[i]] for i in order]
    # One extra ballot from outside the district (unknown commune), at a random place.
    extra_c = int(rng.integers(len(communes)))
    extra = [None, start + dt.timedelta(days=int(rng.integers(0, span + 1))), _outside_commune(communes),
             labels["HT"] if "HT" in labels else fields[0], str(fake_names(rng, 1)[0]), str(fake_phones(rng, 1)[0]),
             str(fake_ids(rng, 1, id_pre)[0]), *[int(v) for v in rng.choice([4, 5], len(qcodes))]]
    rows.insert(int(np.flatnonzero(ci[order] == extra_c)[-1]) + 1, extra)
    for i, r in enumerate(rows):
        r[0] = f"HL{year % 100:02d}-{i + 1:04d}"
    header = ["Mã phiếu", "Ngày khảo sát", "Xã, thị trấn", "Lĩnh vực", "Họ và tên", "Số điện thoại", "Số CCCD"] + qcodes
    return header, rows


def generate(year: int, out_dir: Path, seed: int, meth: Methodology, district: DistrictInfo, *,
             base_seed: int = BASE_SEED, survey_start: dt.date | None = None,
             survey_end: dt.date | None = None) -> list[Path]:
    """Write the four SYNTHETIC raw files of ``year`` for ``district`` into ``out_dir`` and return their paths.

    The district gives the communes, the issuing body of the forms, the province prefix of the ID numbers,
    the respondents per officials' group and the satisfaction ballots per commune. The satisfaction survey
    period defaults to the plan's (:func:`parindex.params.survey_period`, 01/10–15/12); one ballot is dated
    three days after its end on purpose."""
    communes = district.communes
    authority = district.authority
    out_dir = Path(out_dir)
    start = survey_start or survey_period(year)[0]
    end = survey_end or survey_period(year)[1]
    ss = np.random.SeedSequence([seed, year])
    r_ass, r_off, r_dos, r_sat = (np.random.default_rng(s) for s in ss.spawn(4))
    z = commune_quality(year, seed, len(communes), base_seed)
    stamp = dt.datetime(year + 1, 1, 10, 8, 0, 0)
    paths = []

    wb = openpyxl.Workbook()
    header, rows = _assessment(r_ass, year, meth, communes, z)
    _sheet(wb, "ChamDiem", [authority, f"BẢNG TỔNG HỢP KẾT QUẢ TỰ ĐÁNH GIÁ, THẨM ĐỊNH CHỈ SỐ CCHC CẤP XÃ NĂM {year}"],
           header, rows, {"B": 22, "D": 48, "H": 40, "I": 44})
    paths.append(save_workbook(wb, out_dir / f"tu_danh_gia_tham_dinh_{year}.xlsx", stamp))

    wb = openpyxl.Workbook()
    header, rows = _officials(r_off, meth, communes, z, district.officials_groups)
    _sheet(wb, "PhieuCanBo", [authority, f"TỔNG HỢP PHIẾU ĐIỀU TRA XÃ HỘI HỌC XÁC ĐỊNH CHỈ SỐ CCHC CẤP XÃ NĂM {year}"],
           header, rows, {"B": 36, "C": 24, "D": 20})
    paths.append(save_workbook(wb, out_dir / f"phieu_can_bo_{year}.xlsx", stamp))

    dos = _dossiers(r_dos, meth, communes)
    wb = openpyxl.Workbook()
    header, rows = _satisfaction(r_sat, year, meth, communes, z, dos, start, end, district.ballots_per_commune,
                                 id_prefix(district.province_code))
    _sheet(wb, "PhieuHaiLong", [authority, "TỔNG HỢP PHIẾU KHẢO SÁT SỰ HÀI LÒNG CỦA NGƯỜI DÂN, TỔ CHỨC ĐỐI VỚI "
                                          f"SỰ PHỤC VỤ CỦA UBND CẤP XÃ NĂM {year}"],
           header, rows, {"A": 12, "B": 13, "C": 18, "D": 20, "E": 24, "F": 13, "G": 15}, date_cols=(2,))
    paths.append(save_workbook(wb, out_dir / f"phieu_hai_long_{year}.xlsx", stamp))

    wb = openpyxl.Workbook()
    rows = [[c, n, *map(int, dos.loc[c])] for c, n in zip(communes["commune_code"], communes["commune_name"])]
    _sheet(wb, "HoSo", [authority, f"SỐ HỒ SƠ THỦ TỤC HÀNH CHÍNH TIẾP NHẬN TẠI UBND CẤP XÃ NĂM {year}"],
           ["Mã xã", "Tên xã", *dos.columns], rows, {"B": 22})
    paths.append(save_workbook(wb, out_dir / f"so_ho_so_{year}.xlsx", stamp))
    return paths


def demo_district(year: int, root: Path = ROOT, *, district: str | None = None, province: str | None = None,
                  params_file: Path | None = None, communes: Path | None = None,
                  meth: Methodology | None = None) -> DistrictInfo:
    """The district to invent data for: ``district`` (a statistics-office code or a name, ``province`` to choose
    between districts of the same name) looked up in the national list, else the district block of the
    year's parameters; ``communes`` (a commune list file) replaces its communes. The survey sizes are the
    parameters' (their district block) or the methodology's."""
    params = load_params(year, params_file, [], root=root)
    meth = meth or load_methodology(DEFAULT_METHODOLOGY)
    if district:
        code = find_district(district, province, root=root).code
        block = District(**{**params.district.model_dump(exclude={"code", "name", "province", "communes"}),
                            "code": code})
    else:
        block = params.district
    info = resolve_district(block, meth, root)
    if communes:
        info = dataclasses.replace(info, communes=load_communes(communes))
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m parindex.demo",
                                 description="Write SYNTHETIC demo raw files of one year (invented data).")
    ap.add_argument("--year", type=int, required=True)
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: the year)")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: data/raw/<year>)")
    ap.add_argument("--methodology", type=Path, default=DEFAULT_METHODOLOGY)
    ap.add_argument("--district", help="statistics-office code or name of the district (default: the district of "
                                       "params/<year>.yaml)")
    ap.add_argument("--province", help="province of --district, when its name is used in several provinces")
    ap.add_argument("--params", type=Path, default=None, help="parameters file (default: params/<year>.yaml)")
    ap.add_argument("--communes", type=Path, default=None, help="commune list file replacing the district's")
    ap.add_argument("--base-seed", type=int, default=BASE_SEED,
                    help="seed of the commune quality shared by all years")
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    meth = load_methodology(a.methodology)
    try:
        district = demo_district(a.year, a.root, district=a.district, province=a.province, params_file=a.params,
                                 communes=a.communes, meth=meth)
    except ParamsError as e:
        print(f"LỖI / ERROR: {e}", file=sys.stderr)
        return 2
    out = a.out or a.root / "data" / "raw" / str(a.year)
    seed = a.year if a.seed is None else a.seed
    for p in generate(a.year, out, seed, meth, district, base_seed=a.base_seed):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
