"""Located problems, the input error that lists them, and the rejection log of the cleaning stage."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: Rule codes of the rejection log, in the order they are checked (a ballot gets the first that applies).
BALLOT_RULES: dict[str, str] = {
    "duplicate_id": "Mã phiếu đã dùng cho một phiếu trước (ballot id already used by an earlier row)",
    "ambiguous_commune": "Tên xã khớp với nhiều xã, thị trấn (commune name matches several communes)",
    "unknown_commune": "Không xác định được xã, thị trấn (commune not recognised)",
    "unknown_group": "Không xác định được nhóm đối tượng (respondent group not recognised)",
    "unknown_field": "Không xác định được lĩnh vực TTHC (procedure field not recognised)",
    "out_of_range": "Câu trả lời ngoài thang đo (answer outside the scale)",
    "blank_majority": "Quá nửa số câu hỏi bỏ trống (more than half of the items blank)",
    "outside_period": "Ngày khảo sát ngoài thời gian khảo sát (date outside the survey period)",
    "duplicate": "Trùng với một phiếu trước (duplicates an earlier ballot)",
    "ignored_column": "Cột không thuộc mẫu, không sử dụng (column not in the form; ignored)",
}
# "duplicate_id" is logged under the rule code "duplicate" (the detail says which kind).



@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be used: where (file, sheet, row, column) and what (vi + en)."""

    file: str
    sheet: str
    row: int | None
    column: str | None  # "C 'Mã tiêu chí'" (letter and heading) or just the expected heading
    vi: str
    en: str

    def __str__(self) -> str:
        parts = [f"tệp '{self.file}'"]
        if self.sheet:
            parts.append(f"trang tính '{self.sheet}'")
        elif self.file.lower().endswith(".csv"):
            parts.append("trang tính — (tệp CSV không có trang tính)")
        # (no sheet named for a workbook: the problem concerns the whole file, e.g. its size)
        if self.row is not None:
            parts.append(f"dòng {self.row}")
        if self.column:
            parts.append(f"cột {self.column}")
        return f"{', '.join(parts)}: {self.vi} [{self.en}]"


#: Longest line of a problem in a message (input quoted in a message stays short).
MAX_LINE = 600


class InputError(ValueError):
    """A raw file that cannot be used. ``problems`` lists each place with file, sheet, row, column;
    ``rejections``: what the readers had logged before refusing (kept for the diagnosis of a refused run)."""

    def __init__(self, problems: list[Problem] | Problem, max_lines: int = 50, rejections: pd.DataFrame | None = None):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.rejections = rejections
        lines = [f"  - {_short(str(p))}" for p in self.problems[:max_lines]]
        if len(self.problems) > max_lines:
            lines.append(f"  … và {len(self.problems) - max_lines} lỗi khác (and {len(self.problems) - max_lines} more)")
        n = len(self.problems)
        super().__init__(
            f"Dữ liệu đầu vào không dùng được — {n} lỗi, cần sửa tệp rồi chạy lại "
            f"(input cannot be used — {n} problem(s); fix the file and run again):\n" + "\n".join(lines))



def _short(s: str) -> str:
    return s if len(s) <= MAX_LINE else s[:MAX_LINE] + " …"


REJECTION_COLUMNS = ["file", "sheet", "row", "rule", "detail"]


def rejections_frame(rows: list[tuple] | pd.DataFrame) -> pd.DataFrame:
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=REJECTION_COLUMNS)
    df = df[REJECTION_COLUMNS].astype({"file": "str", "sheet": "str", "row": "int64", "rule": "str",
                                       "detail": "str"})
    return df.reset_index(drop=True)


def combine_rejections(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return rejections_frame([])
    df = pd.concat(parts, ignore_index=True)
    return rejections_frame(df.sort_values(["file", "sheet", "row", "rule", "detail"], kind="stable"))


