"""The explanation round: the communes' replies (giải trình) and the secretariat's second look (vòng 2).

After the appraisal (round 1) each commune receives its appraisal notice (:mod:`parindex.documents`) with a
reply form, ``giai_trinh_<year>_<code>_<name>.xlsx`` (sheet ``GiaiTrinh``), listing the criteria whose
appraised score differs from its self-score. For each item it contests the commune fills in the score it
asks for (Điểm đề nghị; blank = its self-score), its explanation (Nội dung giải trình) and the evidence
(Tài liệu kiểm chứng); rows left blank are not contested. The returned forms go into ``data/raw/<year>/`` as
they are: any number of files whose names start with ``giai_trinh_`` (rows are matched by commune and
criterion, so one file per commune or one combined file both work).

The secretariat records its decision on every contested item in ``quyet_dinh_vong2_<year>.xlsx`` (sheet
``QuyetDinhVong2``; while replies wait for a decision, the run writes a pre-filled form into ``van_ban/``):
Chấp nhận (accept, with Điểm sau giải trình — blank = the score the commune asked for) or Giữ nguyên (keep
the appraised score), always with Lý do quyết định.

:func:`apply_round2` (called by :func:`parindex.pipeline.clean`) then returns

* ``assessment`` — the final assessment, scored: accepted items carry the new appraised score and the
  decision's reason;
* ``assessment_round1`` — the round-1 assessment exactly as read (never changed);
* ``round2`` — one row per contested item: both rounds' scores, the request, the decision, whether the
  score changed, and where the reply and the decision were read (file, row).

A bad reply or decision is refused like any other raw file (:class:`parindex.ingest.log.InputError`, every
problem located by file, sheet, row and column, Vietnamese first): unknown commune or criterion, a criterion
the appraisal did not change, a score that is not a number or lies outside 0..maximum, an explanation
missing, a duplicate, a decision that is neither accept nor keep, a decision without a reason, a decision
for an item nobody contested. A contested item without a decision waits ("pending": its round-1 score counts)
and the run writes the decisions form again (``van_ban/quyet_dinh_vong2_<year>_mau.xlsx``), with the decisions
already taken filled in, to replace the decisions file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.styles import Alignment

from .communes import CommuneMatcher
from .ingest.log import InputError, Problem
from .ingest.sheets import Col, Sheet, head_key, read_sheet
from .methodology import Methodology
from .text import nfc, strip_diacritics

REPLY_PREFIX = "giai_trinh_"
DECISION_PREFIX = "quyet_dinh_vong2_"
REPLY_SHEET = "GiaiTrinh"
DECISION_SHEET = "QuyetDinhVong2"

#: The forms' header rows (the importer finds them by these headings; see docs/ARCHITECTURE.md).
REPLY_HEADER = ["Mã xã", "Tên xã", "Mã tiêu chí", "Tên tiêu chí", "Điểm tối đa", "Điểm tự chấm", "Điểm thẩm định",
                "Lý do thẩm định", "Điểm đề nghị", "Nội dung giải trình", "Tài liệu kiểm chứng"]
DECISION_HEADER = ["Mã xã", "Tên xã", "Mã tiêu chí", "Tên tiêu chí", "Điểm tối đa", "Điểm tự chấm",
                   "Điểm thẩm định", "Điểm đề nghị", "Nội dung giải trình", "Tài liệu kiểm chứng", "Quyết định",
                   "Điểm sau giải trình", "Lý do quyết định"]
#: The two decisions as written in the form, and the words accepted for them (compared without diacritics).
ACCEPT, KEEP = "Chấp nhận", "Giữ nguyên"
ACCEPT_WORDS = {"chap nhan", "dong y", "accept", "accepted"}
KEEP_WORDS = {"giu nguyen", "khong chap nhan", "keep", "kept", "rejected", "tu choi"}

ROUND2_COLUMNS = {
    "commune_code": "str", "code": "str", "label": "str", "max_points": "float64", "self_points": "float64",
    "round1_points": "float64", "requested_points": "float64", "explanation": "str", "evidence": "str",
    "decision": "str", "final_points": "float64", "decision_reason": "str", "changed": "bool",
    "reply_file": "str", "reply_row": "int64", "decision_file": "str", "decision_row": "Int64",
}
TOL = 1e-9


@dataclass
class Round2:
    """The outcome of the explanation round (see the module docstring)."""

    assessment: pd.DataFrame      # final (scored)
    round1: pd.DataFrame          # as read, untouched
    items: pd.DataFrame           # one row per contested item (ROUND2_COLUMNS)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"assessment": self.assessment, "assessment_round1": self.round1, "round2": self.items}

    def summary(self) -> dict:
        return round2_counts(self.items)


def round2_counts(items: pd.DataFrame) -> dict:
    """How many contested items (``round2`` table), in how many communes, accepted / kept / pending, changed."""
    d = items["decision"]
    return {"contested": int(len(items)), "accepted": int((d == "accept").sum()), "kept": int((d == "keep").sum()),
            "pending": int((d == "pending").sum()), "changed": int(items["changed"].sum()),
            "communes": int(items["commune_code"].nunique())}


def moved_by_round2(round1_results: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``round1_results`` whose index or rank the explanation round changed."""
    r1 = round1_results
    return r1[(r1["index_change"].abs() > 1e-9) | (r1["rank_change"] != 0)]


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------
def _files(raw_dir: Path, prefix: str) -> list[Path]:
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        return []
    return sorted(p for p in raw_dir.glob(f"{prefix}*") if p.is_file() and p.suffix.lower() in (".xlsx", ".csv")
                  and not p.name.startswith("~$"))


def reply_files(raw_dir: Path) -> list[Path]:
    """The returned reply forms in a year's raw folder (``giai_trinh_*.xlsx`` / ``.csv``)."""
    return _files(raw_dir, REPLY_PREFIX)


def decision_file(raw_dir: Path) -> Path | None:
    """The secretariat's round-2 decisions workbook (``quyet_dinh_vong2_*``), None when absent; more than
    one is refused."""
    hits = _files(raw_dir, DECISION_PREFIX)
    if len(hits) > 1:
        raise InputError(Problem(", ".join(p.name for p in hits), DECISION_SHEET, None, None,
                                 f"có {len(hits)} tệp quyết định vòng 2, chỉ được để một tệp",
                                 f"{len(hits)} files match {DECISION_PREFIX}*; keep exactly one"))
    return hits[0] if hits else None


def slug(name: str) -> str:
    """File-name form of a commune name: "Xã Lê Hồng" → "xa_le_hong"."""
    s = strip_diacritics(nfc(str(name))).lower()
    return "_".join("".join(ch if ch.isalnum() else " " for ch in s).split())


def reply_filename(year: int, commune_code: str, commune_name: str) -> str:
    return f"{REPLY_PREFIX}{year}_{commune_code}_{slug(commune_name)}.xlsx"


def decision_form_filename(year: int) -> str:
    return f"{DECISION_PREFIX}{year}_mau.xlsx"


# ------------------------------------------------------------------------------------------------
# Round 1 as the replies see it
# ------------------------------------------------------------------------------------------------
def contestable(assessment: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """The round-1 items a commune may contest: applicable rows (criteria, bonus, deduction) whose appraised
    score differs from the self-score. Columns commune_code, code, label, max_points (the form's maximum when
    given, else the methodology's; the cap for bonus / deduction), self_points, round1_points, reason."""
    lv = meth.leaves()
    app = lv[lv["source"] == "appraisal"].set_index("code")
    adj = meth.adjustments
    labels = {**app["label"].to_dict(), adj.bonus.code: adj.bonus.label, adj.deduction.code: adj.deduction.label}
    maxima = {**app["points"].to_dict(), adj.bonus.code: adj.bonus.cap, adj.deduction.code: adj.deduction.cap}
    a = assessment[assessment["code"].isin(list(maxima))]
    eff = a["appraised_points"].astype(float).fillna(a["self_points"].astype(float))
    diff = (eff - a["self_points"].astype(float)).abs() > TOL
    a = a.assign(round1_points=eff)[diff & ~a["not_applicable"].astype(bool)]
    form_max = a["max_points_form"].astype(float) if "max_points_form" in a else pd.Series(np.nan, index=a.index)
    order = {c: i for i, c in enumerate(maxima)}
    out = pd.DataFrame({
        "commune_code": a["commune_code"].astype(str), "code": a["code"].astype(str),
        "label": a["code"].map(labels).astype(str),
        "max_points": form_max.fillna(a["code"].map(maxima).astype(float)).astype(float),
        "self_points": a["self_points"].astype(float), "round1_points": a["round1_points"].astype(float),
        "reason": a["reason"].astype(str)})
    out["_o"] = out["code"].map(order)
    return out.sort_values(["commune_code", "_o"]).drop(columns="_o").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------
def _numbers(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.str.replace(",", ".", regex=False).str.replace(r"\s", "", regex=True),
                         errors="coerce").astype(float)


class _Located:
    """Collects problems of one sheet."""

    def __init__(self, sh: Sheet):
        self.sh = sh
        self.probs: list[Problem] = []

    def add(self, mask: pd.Series, col: str | None, vi, en) -> None:
        for r in mask.index[mask.to_numpy()]:
            self.probs.append(self.sh.problem(int(r), col, vi(r) if callable(vi) else vi, en(r) if callable(en) else en))


def _key_columns(sh: Sheet, log: _Located, matcher: CommuneMatcher, items: pd.DataFrame,
                 meth: Methodology) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(commune code, criterion code, known item) of every row, with the problems of unknown ones logged."""
    d = sh.data
    name = d["commune_name"] if "commune_name" in d else pd.Series("", index=d.index, dtype="str")
    commune = matcher.match_series(d["commune_code"]).fillna(matcher.match_series(name))
    log.add(commune.isna(), "commune_code",
            lambda r: f"không xác định được xã (mã '{d.at[r, 'commune_code']}', tên '{name[r]}')",
            lambda r: f"unknown commune: code '{d.at[r, 'commune_code']}', name '{name[r]}'")
    adj = meth.adjustments
    code = d["code"].str.strip()
    code = code.mask(code.str.upper().isin([adj.bonus.code, adj.deduction.code]), code.str.upper())
    lv = meth.leaves()
    known_codes = set(lv.loc[lv["source"] == "appraisal", "code"]) | {adj.bonus.code, adj.deduction.code}
    log.add(commune.notna() & ~code.isin(known_codes), "code",
            lambda r: f"mã tiêu chí '{code[r]}' không thuộc các tiêu chí chấm điểm thẩm định",
            lambda r: f"unknown criterion code '{code[r]}': expected an appraised criterion of methodology "
                      f"{meth.meta.id} or {adj.bonus.code}/{adj.deduction.code}")
    keys = set(zip(items["commune_code"], items["code"]))
    pair = pd.Series(list(zip(commune.fillna(""), code)), index=d.index)
    known = pair.map(lambda k: k in keys).astype(bool)
    log.add(commune.notna() & code.isin(known_codes) & ~known, "code",
            lambda r: f"tiêu chí {code[r]} của xã {commune[r]} không bị thẩm định thay đổi điểm (hoặc không áp dụng), "
                      "không có nội dung để giải trình",
            lambda r: f"criterion {code[r]} of commune {commune[r]} was not changed by the appraisal (or is not "
                      "applicable): nothing to explain")
    return commune, code, known


def _check_round1(sh: Sheet, log: _Located, col: str, items: pd.DataFrame, commune: pd.Series, code: pd.Series,
                  known: pd.Series) -> None:
    """A pre-filled appraised score that differs from round 1: the form was made from another appraisal."""
    if col not in sh.data:
        return
    raw = sh.data[col]
    val = _numbers(raw)
    r1 = pd.Series(list(zip(commune.fillna(""), code)), index=raw.index).map(
        items.set_index(["commune_code", "code"])["round1_points"].to_dict())
    bad = known & (raw != "") & ~((val - r1.astype(float)).abs() <= 1e-6)
    log.add(bad, col, lambda r: f"điểm thẩm định ghi trên mẫu ({raw[r]}) khác điểm thẩm định vòng 1 ({r1[r]:g}): mẫu đã cũ, "
                                "hãy dùng mẫu của lần chạy mới nhất",
            lambda r: f"appraised score on the form ({raw[r]}) differs from round 1 ({r1[r]:g}): the form is out of date")


def _duplicates(log: _Located, commune: pd.Series, code: pd.Series, ok: pd.Series, seen: dict, file: str) -> None:
    for r in ok.index[ok.to_numpy()]:
        k = (commune[r], code[r])
        if k in seen:
            f, row = seen[k]
            where = f"dòng {row}" if f == file else f"tệp '{f}', dòng {row}"
            where_en = f"row {row}" if f == file else f"file '{f}', row {row}"
            log.probs.append(log.sh.problem(int(r), "code", f"xã {k[0]}, tiêu chí {k[1]} đã có ở {where}",
                                            f"duplicate: commune {k[0]} × criterion {k[1]} already in {where_en}"))
        else:
            seen[k] = (file, int(r))


def read_replies(paths: list[Path], items: pd.DataFrame, meth: Methodology, matcher: CommuneMatcher
                 ) -> pd.DataFrame:
    """The contested items of the reply forms: commune_code, code, requested_points, explanation, evidence,
    reply_file, reply_row. ``items`` = :func:`contestable`. Raises InputError listing every problem."""
    cols = [Col("commune_code", ("Mã xã",)), Col("commune_name", ("Tên xã", "Xã, thị trấn"), False),
            Col("code", ("Mã tiêu chí",)), Col("label", ("Tên tiêu chí",), False),
            Col("max", ("Điểm tối đa",), False), Col("self", ("Điểm tự chấm",), False),
            Col("appraised", ("Điểm thẩm định",), False), Col("reason", ("Lý do thẩm định",), False),
            Col("requested", ("Điểm đề nghị",)), Col("explanation", ("Nội dung giải trình", "Giải trình")),
            Col("evidence", ("Tài liệu kiểm chứng", "Minh chứng"))]
    probs: list[Problem] = []
    parts: list[pd.DataFrame] = []
    seen: dict = {}
    maxima = items.set_index(["commune_code", "code"])["max_points"].to_dict()
    selfs = items.set_index(["commune_code", "code"])["self_points"].to_dict()
    for path in paths:
        try:
            sh = read_sheet(path, REPLY_SHEET, cols)
        except InputError as e:
            probs.extend(e.problems)
            continue
        d = sh.data
        filled = (d["requested"] != "") | (d["explanation"] != "") | (d["evidence"] != "")
        d = d[filled]
        if d.empty:
            continue
        sh = Sheet(sh.file, sh.sheet, sh.header_row, d, sh.letters, sh.ignored)
        log = _Located(sh)
        commune, code, known = _key_columns(sh, log, matcher, items, meth)
        _check_round1(sh, log, "appraised", items, commune, code, known)
        key = pd.Series(list(zip(commune.fillna(""), code)), index=d.index)
        mx = key.map(maxima).astype(float)
        req_raw = d["requested"]
        req = _numbers(req_raw)
        log.add((req_raw != "") & req.isna(), "requested", lambda r: f"điểm đề nghị '{req_raw[r]}' không phải là số",
                lambda r: f"requested score '{req_raw[r]}' is not a number")
        log.add(known & req.notna() & ((req < -TOL) | (req > mx + TOL)), "requested",
                lambda r: f"điểm đề nghị {req_raw[r]} nằm ngoài khoảng 0–{mx[r]:g} (điểm tối đa của tiêu chí {code[r]})",
                lambda r: f"requested score {req_raw[r]} outside 0..{mx[r]:g}, the maximum of criterion {code[r]}")
        log.add(d["explanation"].str.strip() == "", "explanation",
                "thiếu nội dung giải trình (dòng có điểm đề nghị hoặc tài liệu kiểm chứng phải có nội dung giải trình)",
                "explanation is blank; a contested row needs one")
        _duplicates(log, commune, code, known, seen, sh.file)
        probs.extend(log.probs)
        if not log.probs:
            parts.append(pd.DataFrame({
                "commune_code": commune.astype(str), "code": code.astype(str),
                "requested_points": req.fillna(key.map(selfs).astype(float)).astype(float),
                "explanation": d["explanation"].astype(str), "evidence": d["evidence"].astype(str),
                "reply_file": sh.file, "reply_row": d.index.astype("int64")}))
    if probs:
        raise InputError(probs)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in [
            ("commune_code", "str"), ("code", "str"), ("requested_points", "float64"), ("explanation", "str"),
            ("evidence", "str"), ("reply_file", "str"), ("reply_row", "int64")]})
    return pd.concat(parts, ignore_index=True)


def read_decisions(path: Path, replies: pd.DataFrame, items: pd.DataFrame, meth: Methodology,
                   matcher: CommuneMatcher) -> pd.DataFrame:
    """The secretariat's decisions: commune_code, code, decision ("accept"/"keep"), final_points,
    decision_reason, decision_file, decision_row. Every contested item needs exactly one decision."""
    cols = [Col("commune_code", ("Mã xã",)), Col("commune_name", ("Tên xã", "Xã, thị trấn"), False),
            Col("code", ("Mã tiêu chí",)), Col("label", ("Tên tiêu chí",), False),
            Col("max", ("Điểm tối đa",), False), Col("self", ("Điểm tự chấm",), False),
            Col("appraised", ("Điểm thẩm định",), False), Col("requested", ("Điểm đề nghị",), False),
            Col("explanation", ("Nội dung giải trình",), False), Col("evidence", ("Tài liệu kiểm chứng",), False),
            Col("decision", ("Quyết định", "Kết quả xem xét")),
            Col("final", ("Điểm sau giải trình", "Điểm sau thẩm định lại")),
            Col("reason", ("Lý do quyết định", "Lý do"))]
    sh = read_sheet(path, DECISION_SHEET, cols)
    d = sh.data
    d = d[(d["decision"] != "") | (d["final"] != "") | (d["reason"] != "")]  # a blank row: not decided yet
    sh = Sheet(sh.file, sh.sheet, sh.header_row, d, sh.letters, sh.ignored)
    log = _Located(sh)
    commune, code, known = _key_columns(sh, log, matcher, items, meth)
    _check_round1(sh, log, "appraised", items, commune, code, known)
    key = pd.Series(list(zip(commune.fillna(""), code)), index=d.index)
    replied = set(zip(replies["commune_code"], replies["code"]))
    has_reply = key.map(lambda k: k in replied).astype(bool)
    log.add(known & ~has_reply, "code",
            lambda r: f"xã {commune[r]}, tiêu chí {code[r]} không có văn bản giải trình (không có dòng tương ứng trong "
                      f"các tệp {REPLY_PREFIX}*)",
            lambda r: f"no reply contests criterion {code[r]} of commune {commune[r]} (no row in the "
                      f"{REPLY_PREFIX}* files)")
    word = d["decision"].map(head_key)
    accept, keep = word.isin(ACCEPT_WORDS), word.isin(KEEP_WORDS)
    log.add(d["decision"] == "", "decision", f"thiếu quyết định, ghi '{ACCEPT}' hoặc '{KEEP}'",
            f"decision is blank: expected '{ACCEPT}' (accept) or '{KEEP}' (keep)")
    log.add(~(accept | keep) & (d["decision"] != ""), "decision",
            lambda r: f"quyết định '{d.at[r, 'decision']}' không hợp lệ, chỉ ghi '{ACCEPT}' hoặc '{KEEP}'",
            lambda r: f"decision '{d.at[r, 'decision']}' not understood: expected '{ACCEPT}' (accept) or '{KEEP}' (keep)")
    log.add(d["reason"].str.strip() == "", "reason", "thiếu lý do quyết định (mỗi quyết định phải ghi lý do)",
            "decision without a reason: every decision needs one")
    mx = key.map(items.set_index(["commune_code", "code"])["max_points"].to_dict()).astype(float)
    r1 = key.map(items.set_index(["commune_code", "code"])["round1_points"].to_dict()).astype(float)
    self_pts = key.map(items.set_index(["commune_code", "code"])["self_points"].to_dict()).astype(float)
    req = key.map(replies.set_index(["commune_code", "code"])["requested_points"].to_dict()).astype(float) \
        if len(replies) else pd.Series(np.nan, index=d.index)
    fin_raw = d["final"]
    fin = _numbers(fin_raw)
    log.add((fin_raw != "") & fin.isna(), "final", lambda r: f"điểm sau giải trình '{fin_raw[r]}' không phải là số",
            lambda r: f"score after the explanation '{fin_raw[r]}' is not a number")
    ok = known & has_reply
    log.add(ok & fin.notna() & ((fin < -TOL) | (fin > mx + TOL)), "final",
            lambda r: f"điểm sau giải trình {fin_raw[r]} nằm ngoài khoảng 0–{mx[r]:g} (điểm tối đa của tiêu chí {code[r]})",
            lambda r: f"score after the explanation {fin_raw[r]} outside 0..{mx[r]:g}, the maximum of criterion {code[r]}")
    final = fin.where(fin_raw != "", req).where(accept, r1)
    log.add(ok & accept & ((final - r1).abs() <= TOL), "final",
            lambda r: f"quyết định '{ACCEPT}' nhưng điểm sau giải trình ({final[r]:g}) bằng điểm thẩm định vòng 1; "
                      f"nếu không đổi điểm hãy ghi '{KEEP}'",
            lambda r: f"decision accept but the new score ({final[r]:g}) equals the round-1 score; write '{KEEP}'")
    log.add(ok & keep & fin.notna() & ((fin - r1).abs() > TOL), "final",
            lambda r: f"quyết định '{KEEP}' nhưng điểm sau giải trình ({fin_raw[r]}) khác điểm thẩm định vòng 1 "
                      f"({r1[r]:g})",
            lambda r: f"decision keep but the new score ({fin_raw[r]}) differs from the round-1 score ({r1[r]:g})")
    if meth.rules.appraisal_raise == "refuse":
        log.add(ok & accept & (final > self_pts + TOL), "final",
                lambda r: f"điểm sau giải trình {final[r]:g} cao hơn điểm tự chấm {self_pts[r]:g}",
                lambda r: f"score {final[r]:g} above the self-score {self_pts[r]:g}; the methodology refuses raises")
    _duplicates(log, commune, code, known & has_reply, {}, sh.file)
    if log.probs:
        raise InputError(sorted(log.probs, key=lambda p: (p.file, p.row or 0, p.column or "")))
    return pd.DataFrame({
        "commune_code": commune.astype(str), "code": code.astype(str),
        "decision": np.where(accept, "accept", "keep"), "final_points": final.astype(float),
        "decision_reason": d["reason"].astype(str), "decision_file": sh.file,
        "decision_row": d.index.astype("int64")}).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# Applying
# ------------------------------------------------------------------------------------------------
def apply_round2(raw_dir: Path, assessment: pd.DataFrame, meth: Methodology, communes: pd.DataFrame
                 ) -> Round2 | None:
    """The explanation round of a year's raw folder applied to its round-1 ``assessment`` (None when the
    folder holds no reply form and no decisions file). See the module docstring."""
    replies_p = reply_files(raw_dir)
    dec_p = decision_file(raw_dir)
    if not replies_p and dec_p is None:
        return None
    if not replies_p:
        raise InputError(Problem(dec_p.name, DECISION_SHEET, None, None,
                                 f"có tệp quyết định vòng 2 nhưng không có tệp giải trình nào ({REPLY_PREFIX}*.xlsx) "
                                 f"trong {raw_dir}",
                                 f"a round-2 decisions file but no reply file ({REPLY_PREFIX}*.xlsx) in {raw_dir}"))
    matcher = CommuneMatcher(communes)
    items = contestable(assessment, meth)
    replies = read_replies(replies_p, items, meth, matcher)
    if dec_p is not None:
        dec = read_decisions(dec_p, replies, items, meth, matcher)
    else:
        dec = pd.DataFrame({"commune_code": pd.Series(dtype="str"), "code": pd.Series(dtype="str")})
    t = replies.merge(items, on=["commune_code", "code"], how="left", validate="one_to_one")
    t = t.merge(dec, on=["commune_code", "code"], how="left", validate="one_to_one")
    pending = t["decision"].isna() if "decision" in t else pd.Series(True, index=t.index)
    t["decision"] = t["decision"].fillna("pending") if "decision" in t else "pending"
    t["final_points"] = t["final_points"].fillna(t["round1_points"]) if "final_points" in t else t["round1_points"]
    for c in ("decision_reason", "decision_file"):
        t[c] = t[c].fillna("") if c in t else ""
    t["decision_row"] = (t["decision_row"] if "decision_row" in t else pd.Series(pd.NA, index=t.index)).astype("Int64")
    t["changed"] = (t["final_points"] - t["round1_points"]).abs() > TOL
    t.loc[pending, "changed"] = False
    order = items.reset_index()[["commune_code", "code", "index"]]
    t = t.merge(order, on=["commune_code", "code"]).sort_values("index").drop(columns="index")
    t = t[list(ROUND2_COLUMNS)].astype(ROUND2_COLUMNS).reset_index(drop=True)

    final = assessment.copy()
    acc = t[t["decision"] == "accept"].set_index(["commune_code", "code"])
    key = pd.MultiIndex.from_frame(final[["commune_code", "code"]])
    hit = key.isin(acc.index)
    final.loc[hit, "appraised_points"] = acc.loc[key[hit], "final_points"].to_numpy()
    final.loc[hit, "reason"] = acc.loc[key[hit], "decision_reason"].to_numpy()
    return Round2(assessment=final, round1=assessment.copy(), items=t)


def round1_results(round1: pd.DataFrame, officials: pd.DataFrame, satisfaction: pd.DataFrame,
                   meth: Methodology, communes: pd.DataFrame, final_results: pd.DataFrame, **scoring) -> pd.DataFrame:
    """Index, rank and band of every commune after round 1 beside the final ones: commune_code,
    commune_name, points_round1, index_pct_round1, rank_round1, band_round1, points, index_pct, rank, band,
    index_change, rank_change (positive = moved up)."""
    from .scoring import score_all

    r1 = score_all(round1, officials, satisfaction, meth, communes, **scoring)["results"]
    r1 = r1[["commune_code", "points", "index_pct", "rank", "band"]].rename(
        columns={c: f"{c}_round1" for c in ("points", "index_pct", "rank", "band")})
    out = final_results[["commune_code", "commune_name", "points", "index_pct", "rank", "band"]].merge(
        r1, on="commune_code", how="left", validate="one_to_one")
    out["index_change"] = out["index_pct"] - out["index_pct_round1"]
    out["rank_change"] = out["rank_round1"] - out["rank"]
    cols = ["commune_code", "commune_name", "points_round1", "index_pct_round1", "rank_round1", "band_round1",
            "points", "index_pct", "rank", "band", "index_change", "rank_change"]
    return out[cols].sort_values(["rank", "commune_code"]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# Forms
# ------------------------------------------------------------------------------------------------
def _text_cell(cell, value) -> None:
    """Text from inputs stored as text, never as a formula."""
    cell.value = "" if value is None else str(value)
    cell.data_type = "s"


def _form(titles: list[str], sheet: str, header: list[str], rows: list[list], text_cols: set[int],
          entry_cols: list[int], widths: dict[str, float]):
    from .surveyplan.entry_templates import _protect, _unlock
    from .surveyplan.sampleplan import form_sheet

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    hr = form_sheet(ws, titles, header, widths=widths, freeze_col=5)
    ws.row_dimensions[hr - 1].height = 30
    for i, row in enumerate(rows, start=hr + 1):
        for j, v in enumerate(row, start=1):
            c = ws.cell(i, j)
            if j in text_cols:
                _text_cell(c, v)
            else:
                c.value = v
            c.alignment = Alignment(wrap_text=True, vertical="top")
    last = max(hr + 1, ws.max_row)
    _unlock(ws, hr + 1, last, entry_cols)
    _protect(ws)
    return wb, hr


def reply_form(items: pd.DataFrame, commune_name: str, titles: list[str]):
    """The reply form of one commune (sheet ``GiaiTrinh``): one row per contested-able item, pre-filled and
    locked, with the commune's three columns (Điểm đề nghị, Nội dung giải trình, Tài liệu kiểm chứng) open.
    ``items``: the commune's rows of :func:`contestable`."""
    from .surveyplan.entry_templates import _validation

    rows = [[x.commune_code, commune_name, x.code, x.label, x.max_points, x.self_points, x.round1_points, x.reason,
             None, None, None] for x in items.itertuples()]
    wb, hr = _form(titles, REPLY_SHEET, REPLY_HEADER, rows, {1, 2, 3, 4, 8, 10, 11}, [9, 10, 11],
                   {"A": 9, "B": 20, "C": 10, "D": 40, "E": 9, "F": 9, "G": 10, "H": 32, "I": 10, "J": 48, "K": 32})
    ws = wb.active
    for i, x in enumerate(items.itertuples(), start=hr + 1):
        ws.cell(i, 9).number_format = "0.00"
        _validation(ws, [f"I{i}"], type="decimal", operator="between", formula1="0", formula2=f"{x.max_points:g}",
                    error=f"Điểm đề nghị phải là số từ 0 đến {x.max_points:g}".replace(".", ","))
    return wb


def decision_form(items: pd.DataFrame, replies: pd.DataFrame, communes: pd.DataFrame, titles: list[str]):
    """The secretariat's decisions workbook (sheet ``QuyetDinhVong2``): one row per contested item with the
    reply pre-filled and locked; Quyết định (dropdown), Điểm sau giải trình and Lý do quyết định open — and
    already filled for the items ``replies`` gives a decision for (columns decision, final_points,
    decision_reason of the ``round2`` table), so that the form replaces the decisions file as a whole."""
    from .surveyplan.entry_templates import _validation

    names = dict(zip(communes["commune_code"], communes["commune_name"]))
    t = replies.merge(items, on=["commune_code", "code"], how="left", suffixes=("", "_item"))
    word = {"accept": ACCEPT, "keep": KEEP}

    def decided(x) -> list:
        d = getattr(x, "decision", "pending")
        if d not in word:
            return [None, None, None]
        return [word[d], x.final_points if d == "accept" else None, x.decision_reason]

    rows = [[x.commune_code, names.get(x.commune_code, ""), x.code, x.label, x.max_points, x.self_points,
             x.round1_points, x.requested_points, x.explanation, x.evidence, *decided(x)] for x in t.itertuples()]
    wb, hr = _form(titles, DECISION_SHEET, DECISION_HEADER, rows, {1, 2, 3, 4, 9, 10, 13}, [11, 12, 13],
                   {"A": 9, "B": 20, "C": 10, "D": 36, "E": 9, "F": 9, "G": 10, "H": 10, "I": 44, "J": 28,
                    "K": 13, "L": 12, "M": 40})
    ws = wb.active
    last = max(hr + 1, ws.max_row)
    _validation(ws, [f"K{hr + 1}:K{last}"], type="list", formula1=f'"{ACCEPT},{KEEP}"',
                error=f"Chỉ ghi '{ACCEPT}' hoặc '{KEEP}'")
    for i in range(hr + 1, last + 1):
        ws.cell(i, 12).number_format = "0.00"
    return wb
