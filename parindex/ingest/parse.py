"""Small vectorised parsers and the per-ballot rule verdict shared by the readers."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

import pandas as pd

from .log import rejections_frame
from .sheets import Sheet

TRUE_WORDS = {"x", "co", "1", "true", "yes", "kad", "khong ap dung", "k ap dung"}
FALSE_WORDS = {"", "0", "false", "no", "khong"}
DONT_KNOW_WORDS = {"khong biet", "khong tra loi", "kb", "ktl", "khong biet khong tra loi"}



def on_distinct(fn):
    """An elementwise function of a text column (Series → Series or DataFrame with the same index) computed on
    the column's distinct values only, then spread back: survey columns of 500,000 ballots hold a few hundred
    distinct answers, communes or dates."""

    @functools.wraps(fn)
    def wrapper(s: pd.Series, *args, **kwargs):
        if len(s) < 2000:
            return fn(s, *args, **kwargs)
        codes, uniq = pd.factorize(s, use_na_sentinel=False)
        if 4 * len(uniq) > len(s):
            return fn(s, *args, **kwargs)
        out = fn(pd.Series(uniq, dtype=s.dtype), *args, **kwargs).take(codes)
        out.index = s.index
        return out

    return wrapper


@on_distinct
def parse_numbers(s: pd.Series) -> pd.Series:
    """Text → float; decimal comma accepted ("0,5"); blank or not a number → NaN."""
    return pd.to_numeric(s.str.replace(",", ".", regex=False).str.replace(r"\s", "", regex=True),
                         errors="coerce").astype(float)


@on_distinct
def _date_parts(s: pd.Series) -> pd.DataFrame:
    return s.str.extract(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:\s|T|$)")


@on_distinct
def parse_dates(s: pd.Series) -> pd.Series:
    """Text → datetime64: dd/mm/yyyy, yyyy-mm-dd, dd-mm-yyyy, dd.mm.yyyy, or an Excel serial number."""
    d = s.str.split(" ").str[0].str.split("T").str[0]
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y"):
        out = out.fillna(pd.to_datetime(d, format=fmt, errors="coerce").astype("datetime64[us]"))
    serial = pd.to_numeric(d.where(d.str.fullmatch(r"\d{5}"), None), errors="coerce")
    serial = serial.where((serial > 20000) & (serial < 80000))
    out = out.fillna((pd.Timestamp("1899-12-30") + pd.to_timedelta(serial, unit="D")).astype("datetime64[us]"))
    return out


def read_text_dates(s: pd.Series, start=None, end=None, min_count: int = 5
                    ) -> tuple[pd.Series, tuple[int, str, str] | None]:
    """Dates of a column (:func:`parse_dates`) and a refusal (row, vi, en) when the column's text dates only
    make sense as m/d/yyyy (English-locale exports), or when their d/m reading puts most of the dated
    ballots (at least ``min_count``) outside the survey period while the m/d reading does not. Both
    readings are shown."""
    dm = parse_dates(s)
    parts = _date_parts(s)
    a = pd.to_numeric(parts[0], errors="coerce")
    b = pd.to_numeric(parts[1], errors="coerce")
    is_text = a.notna() & b.notna()
    if not is_text.any():
        return dm, None
    y = parts[2].where(parts[2].str.len() != 2, "20" + parts[2])
    md_text = pd.to_datetime(y + "-" + parts[0].str.zfill(2) + "-" + parts[1].str.zfill(2), format="%Y-%m-%d",
                             errors="coerce").astype("datetime64[us]")
    md = dm.where(~is_text, md_text)
    only_md = is_text & (b > 12) & (a <= 12)
    only_dm = is_text & (a > 12) & (b <= 12)

    def shown(i) -> str:
        d1 = f"{dm[i]:%d/%m/%Y}" if pd.notna(dm[i]) else "không có ngày này"
        d2 = f"{md[i]:%d/%m/%Y}" if pd.notna(md[i]) else "không có ngày này"
        return f"'{s[i][:20]}' đọc ngày/tháng: {d1}, đọc tháng/ngày: {d2}"

    if only_md.any() and not only_dm.any():
        rows = s.index[only_md.to_numpy()]
        ex = "; ".join(shown(i) for i in rows[:3])
        return dm, (int(rows[0]), f"cột ngày chỉ đọc được theo kiểu tháng/ngày/năm (m/d/yyyy) — {int(only_md.sum())} "
                                  f"ô có \"ngày\" lớn hơn 12, ví dụ {ex}; hãy ghi ngày theo dd/mm/yyyy hoặc định dạng "
                                  "ô là ngày",
                    f"the date column only makes sense as m/d/yyyy ({int(only_md.sum())} cells with a 'day' above 12); "
                    "write dates as dd/mm/yyyy")
    if start is not None or end is not None:
        lo = pd.Timestamp(start) if start is not None else pd.Timestamp.min
        hi = pd.Timestamp(end) if end is not None else pd.Timestamp.max
        out_dm = dm.notna() & ((dm < lo) | (dm > hi))
        out_md = md.notna() & ((md < lo) | (md > hi))
        n = int(dm.notna().sum())
        k, k2 = int(out_dm.sum()), int(out_md.sum())
        if n and k > n / 2 and k >= min_count and k2 < k:
            rows = s.index[(out_dm & is_text & ~out_md).to_numpy()]
            ex = "; ".join(shown(i) for i in rows[:3])
            return dm, (int(rows[0]) if len(rows) else int(s.index[out_dm.to_numpy()][0]),
                        f"đọc theo ngày/tháng/năm, {k}/{n} phiếu nằm ngoài thời gian khảo sát; đọc theo tháng/ngày/năm "
                        f"thì {k2}/{n} — cột ngày có lẽ ghi theo kiểu m/d/yyyy, ví dụ {ex}; hãy ghi ngày theo "
                        "dd/mm/yyyy", f"read as d/m/yyyy, {k} of {n} ballots fall outside the survey period; read as "
                        f"m/d/yyyy, {k2} of {n}: the date column looks m/d/yyyy; write dates as dd/mm/yyyy")
    return dm, None


def hash_key(values: pd.Series, kind: str, salt: str) -> pd.Series:
    """Salted SHA-256 of a normalised phone number (kind "phone") or ID number (kind "id"); "" if blank.

    Phone: digits only, "+84"/"84" → national form, leading zeros dropped (Excel eats them anyway).
    ID: digits only, leading zeros dropped."""
    d = values.str.replace(r"\D", "", regex=True)
    if kind == "phone":
        d = d.where(~(d.str.startswith("84") & (d.str.len() == 11)), d.str[2:])
    d = d.str.lstrip("0")
    uniq = pd.unique(d[d != ""])
    table = {v: hashlib.sha256(f"{salt}\x1f{kind}\x1f{v}".encode()).hexdigest() for v in uniq}
    if not table:  # a column with no number at all: mapping would give float NaN, which "" cannot fill
        return pd.Series("", index=d.index, dtype="str")
    return d.map(table).fillna("").astype("str")


def show_value(v: str) -> str:
    """A cell value safe to quote in a log: short values only, so that no phone / ID number leaks."""
    if len(v) <= 8 and sum(ch.isdigit() for ch in v) <= 3:
        return f"'{v}'"
    return f"(văn bản {len(v)} ký tự)"


@on_distinct
def quote_values(values: pd.Series) -> pd.Series:
    """Cell values quoted for the log (at most 60 characters), except any holding five or more digits (a
    phone or ID number typed into the wrong column must not reach the log)."""
    many_digits = values.str.count(r"\d") >= 5
    long = values.str.len() > 60
    quoted = ("'" + values.str.slice(0, 60) + "'").mask(long, "'" + values.str.slice(0, 60) + "…'")
    return quoted.mask(many_digits, "(giá trị có nhiều chữ số, không ghi lại)")




@dataclass
class Verdict:
    """Rule assignment for a table of ballots: the first failing rule wins; details kept per row."""

    index: pd.Index
    rule: pd.Series = field(init=False)
    detail: pd.Series = field(init=False)

    def __post_init__(self):
        self.rule = pd.Series("", index=self.index, dtype="str")
        self.detail = pd.Series("", index=self.index, dtype="str")

    def apply(self, rule: str, mask: pd.Series, detail: pd.Series | str) -> None:
        new = mask & (self.rule == "")
        self.rule = self.rule.mask(new, rule)
        det = detail if isinstance(detail, pd.Series) else pd.Series(detail, index=self.index)
        self.detail = self.detail.mask(new, det)

    @property
    def valid(self) -> pd.Series:
        return self.rule == ""

    def log(self, sheet: Sheet, ids: pd.Series) -> pd.DataFrame:
        bad = ~self.valid
        rule = self.rule[bad].replace({"duplicate_id": "duplicate"})
        return rejections_frame(pd.DataFrame({
            "file": sheet.file, "sheet": sheet.sheet, "row": self.index[bad.to_numpy()],
            "rule": rule.to_numpy(), "detail": ("Phiếu " + ids[bad] + ": " + self.detail[bad]).to_numpy()}))


def ballot_ids(sheet: Sheet) -> pd.Series:
    """Mã phiếu as written; a blank id becomes "dòng <row>" so that every ballot can be named."""
    ids = sheet.data["ballot_id"]
    return ids.mask(ids == "", "dòng " + pd.Series(sheet.data.index.astype(str), index=ids.index))


def check_reused_ids(v: Verdict, ids: pd.Series, commune: pd.Series | None = None) -> None:
    """A ballot id already used by an earlier row (with ``commune``: for the same commune) → duplicate."""
    frame = pd.DataFrame({"id": ids} if commune is None else {"id": ids, "commune": commune})
    cols = list(frame.columns)
    rows = pd.Series(ids.index.astype(str), index=ids.index)
    first_row = rows.groupby([frame[c] for c in cols]).transform("first")
    dup = frame.duplicated(cols, keep="first")
    if commune is None:
        vi, en = "mã phiếu đã dùng ở dòng ", "ballot id already used in row "
    else:
        vi, en = "người trả lời này đã đánh giá xã này ở dòng ", "the same ballot id rated this commune in row "
    v.apply("duplicate_id", dup, vi + first_row + " (" + en + first_row + ")")


def answers_blank_majority(v: Verdict, blank: pd.DataFrame) -> None:
    n_q = blank.shape[1]
    nb = blank.sum(axis=1)
    v.apply("blank_majority", nb > n_q / 2,
            nb.astype(str) + f"/{n_q} câu bỏ trống, quá nửa (" + nb.astype(str) + f" of {n_q} items blank)")


def out_of_range_detail(bad: pd.DataFrame, answers: pd.DataFrame, expected_vi: str, expected_en: str
                         ) -> pd.Series:
    """For each row with a bad answer: "TC1 = '6'; TT2 = (văn bản 12 ký tự) (expected …)"."""
    flags = bad.stack()
    stacked = answers.stack()[flags.to_numpy()]
    text = stacked.map(show_value)
    parts = (pd.Series(stacked.index.get_level_values(1), index=stacked.index).astype(str) + " = " + text)
    joined = parts.groupby(level=0).agg("; ".join)
    return (joined + f" — {expected_vi} ({expected_en})").reindex(answers.index).fillna("").astype("str")

