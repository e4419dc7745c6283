"""The diagnosis a refused cleaning keeps: what was wrong, what was dropped, what was converted.

A run refused by the cleaning stage publishes nothing, but the user needs to know why: the problems
(file, sheet, row, column, message), the rejection log of the files that could be read, a short summary
(by file, sheet and column for problems; by file and rule for dropped rows) and the conversions made so
far are written into a folder the error message points to (``reports/<year>/diagnosis/`` for
``parindex run``). Everything in it is screened for personal data like the clean tables.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from ..csvsafe import write_csv
from .log import InputError, rejections_frame

README = """CHẨN ĐOÁN LẦN CHẠY BỊ DỪNG (diagnosis of a refused run)

Không có kết quả nào được công bố. Các tệp trong thư mục này cho biết vì sao:
(Nothing was published. The files in this folder say why:)

  summary.csv      tóm tắt: số lỗi theo tệp, trang tính, cột; số dòng bị loại theo tệp và lý do
                   (summary: problems by file, sheet, column; rows dropped by file and rule)
  problems.csv     từng lỗi phải sửa: tệp, trang tính, dòng, cột, nội dung
                   (each problem to fix: file, sheet, row, column, message)
  rejections.csv   các dòng, phiếu bị loại ở những tệp đã đọc được (rows and ballots dropped in the files read)
  conversions.csv  những gì đã được chuyển đổi hoặc nhận ra (bảng mã, tên gọi khác, dòng tổng cộng …)
                   (what was converted or recognised: encodings, aliases, total rows …)

Sửa các tệp trong data/raw/<năm>/ rồi chạy lại; thư mục này được thay ở lần chạy sau.
(Fix the files in data/raw/<year>/ and run again; this folder is replaced by the next run.)
Dữ liệu cá nhân (số điện thoại, số CCCD, họ tên) đã được che. (Personal data is masked.)
"""


def summary(err: InputError | None, rejections: pd.DataFrame) -> pd.DataFrame:
    """Problems counted by file, sheet and column; dropped rows by file, sheet and rule."""
    probs = pd.DataFrame([(p.file, p.sheet, p.column or "", "") for p in (err.problems if err else [])],
                         columns=["file", "sheet", "column", "rule"])
    a = probs.value_counts(sort=False).rename("count").reset_index().assign(kind="refused")
    rej = rejections[rejections["rule"] != "ignored_column"] if len(rejections) else rejections
    b = (rej.groupby(["file", "sheet", "rule"], sort=True).size().rename("count").reset_index()
         .assign(kind="excluded", column="") if len(rej) else a.iloc[0:0])
    out = pd.concat([a, b], ignore_index=True)[["kind", "file", "sheet", "column", "rule", "count"]]
    return out.astype({"kind": "str", "file": "str", "sheet": "str", "column": "str", "rule": "str",
                       "count": "int64"})


def write_diagnosis(folder: Path, err: InputError | None, ing=None, *, rejections: pd.DataFrame | None = None,
                    conversions: pd.DataFrame | None = None, message: str = "") -> Path:
    """Write the diagnosis of a refused run into ``folder`` (replaced whole); returns the folder. ``err``:
    the cleaning's refusal; or, for a run refused by a later stage, ``rejections`` and ``conversions`` of
    its clean stage and the error ``message``."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rej = rejections if rejections is not None else (
        err.rejections if err is not None and err.rejections is not None else rejections_frame([]))
    probs = pd.DataFrame([(p.file, p.sheet, "" if p.row is None else str(p.row), p.column or "", p.vi, p.en)
                          for p in (err.problems if err else [])], columns=["file", "sheet", "row", "column", "vi", "en"])
    if message:
        probs = pd.concat([probs, pd.DataFrame([("", "", "", "", message[:4000], "")], columns=probs.columns)])
    # text from the input files (cells, sheet names) is kept as text: formula triggers neutralised, as every CSV
    write_csv(summary(err, rej), tmp / "summary.csv")
    write_csv(probs, tmp / "problems.csv")
    write_csv(rej, tmp / "rejections.csv")
    if ing is not None:
        conversions = ing.screened_conversions()
    if conversions is not None:
        write_csv(conversions, tmp / "conversions.csv")
    (tmp / "README.txt").write_text(README, encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder
