"""A worked explanation round on the 2023 demo data (shared by test_rounds and test_documents).

Commune 11239 (Thị trấn Thanh Miện) had three criteria cut at appraisal (round 1, as the demo files hold):

    criterion  max  self  appraised
    3.2.1       3   1.5   0
    7.1         3   3     1.5
    7.4         2   2     1

It contests all three on the reply form the project generates (giai_trinh_2023_11239_…xlsx):
3.2.1 with the requested score left blank (= its self-score 1.5), 7.1 asking 3, 7.4 asking 2. The
secretariat (quyet_dinh_vong2_2023.xlsx) accepts 3.2.1 with the score left blank (= the 1.5 asked for),
accepts 7.1 with 3, and keeps 7.4 (refused). Two scores change: the commune's appraisal points go from
60 to 60 + (1.5 − 0) + (3 − 1.5) = 63.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd

from parindex.communes import CommuneMatcher
from parindex.ingest.clean import find_raw_file
from parindex.ingest.readers import read_assessment
from parindex.rounds import (
    DECISION_HEADER,
    REPLY_HEADER,
    contestable,
    decision_form,
    read_replies,
    reply_filename,
    reply_form,
)

COMMUNE, NAME = "11239", "Thị trấn Thanh Miện"
ROUND1 = {"3.2.1": (3.0, 1.5, 0.0), "7.1": (3.0, 3.0, 1.5), "7.4": (2.0, 2.0, 1.0)}  # max, self, appraised
REPLIES = {  # criterion → (requested, explanation, evidence)
    "3.2.1": ("", "Tỷ lệ hồ sơ giải quyết đúng hạn đạt 98 %, đã có báo cáo của Bộ phận một cửa",
              "Báo cáo số 12/BC-UBND ngày 05/01/2024"),
    "7.1": ("3", "Văn bản điện tử được trao đổi trên môi trường mạng đúng quy định", "Sổ theo dõi văn bản điện tử"),
    "7.4": ("2", "=HYPERLINK(\"http://example.invalid\",\"Xem\")", "Quy chế bảo đảm an toàn thông tin"),
}
DECISIONS = {  # criterion → (decision, score after the explanation, reason)
    "3.2.1": ("Chấp nhận", "", "Tài liệu kiểm chứng bổ sung đầy đủ"),
    "7.1": ("Chấp nhận", "3", "Đã kiểm tra trên hệ thống quản lý văn bản"),
    "7.4": ("Giữ nguyên", "", "Quy chế chưa được ban hành trong năm đánh giá"),
}
# round 1: the sum over the commune's 39 rows of the demo workbook of the appraised score, else the self-score
# (checked from the raw cells in test_rounds); final: 60 + (1.5 − 0) + (3 − 1.5), see the module docstring
APPRAISAL_ROUND1, APPRAISAL_FINAL = 60.0, 63.0
TITLES = ["UBND HUYỆN THANH MIỆN", "MẪU THỬ", "Dòng hướng dẫn"]


def round1_assessment(raw: Path, meth, communes) -> pd.DataFrame:
    return read_assessment(find_raw_file(raw, "assessment"), meth, CommuneMatcher(communes))[0]


def fill(path: Path, sheet: str, header: list[str], values: dict[str, dict[str, object]]) -> None:
    """Write ``values`` (criterion → {heading: value}) into the rows of a generated form."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    hr = next(r for r in range(1, 10) if ws.cell(r, 1).value == header[0])
    col = {ws.cell(hr, c).value: c for c in range(1, ws.max_column + 1)}
    for r in range(hr + 1, ws.max_row + 1):
        code = ws.cell(r, col["Mã tiêu chí"]).value
        for head, v in values.get(code, {}).items():
            cell = ws.cell(r, col[head])
            cell.value = v if v != "" else None
            if isinstance(v, str) and v.startswith("="):
                cell.data_type = "s"
    wb.save(path)


def write_replies(raw: Path, meth, communes, year: int = 2023, replies: dict | None = None) -> Path:
    a = round1_assessment(raw, meth, communes)
    items = contestable(a, meth)
    mine = items[items["commune_code"] == COMMUNE]
    got = {x.code: (x.max_points, x.self_points, x.round1_points) for x in mine.itertuples()}
    assert got == ROUND1, f"the demo data changed: round-1 items of {COMMUNE} are {got}"
    path = raw / reply_filename(year, COMMUNE, NAME)
    reply_form(mine, NAME, TITLES).save(path)
    fill(path, "GiaiTrinh", REPLY_HEADER,
         {c: {"Điểm đề nghị": float(q) if q else "", "Nội dung giải trình": e, "Tài liệu kiểm chứng": ev}
          for c, (q, e, ev) in (replies or REPLIES).items()})
    return path


def write_decisions(raw: Path, meth, communes, year: int = 2023, decisions: dict | None = None) -> Path:
    a = round1_assessment(raw, meth, communes)
    items = contestable(a, meth)
    replies = read_replies(sorted(raw.glob("giai_trinh_*")), items, meth, CommuneMatcher(communes))
    path = raw / f"quyet_dinh_vong2_{year}.xlsx"
    decision_form(items, replies, communes, TITLES).save(path)
    fill(path, "QuyetDinhVong2", DECISION_HEADER,
         {c: {"Quyết định": d, "Điểm sau giải trình": float(s) if s else "", "Lý do quyết định": why}
          for c, (d, s, why) in (decisions or DECISIONS).items()})
    return path


def raw_with_round2(src: Path, dst: Path, meth, communes, decisions: bool = True) -> Path:
    """A copy of the year's raw folder with the worked round: the reply, and the decisions when asked."""
    shutil.copytree(src, dst)
    write_replies(dst, meth, communes)
    if decisions:
        write_decisions(dst, meth, communes)
    return dst
