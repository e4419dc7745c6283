"""The four readers: one raw file each → (clean table, rejection log).

Each takes an optional :class:`parindex.ingest.context.Ingest` (the ``ingest:`` parameters and the logs
of conversions, duplicates and coverage); without one the defaults apply.
"""

from __future__ import annotations

import datetime as dt
import weakref
from pathlib import Path

import numpy as np
import pandas as pd

from ..communes import CommuneMatcher
from ..methodology import Methodology
from . import vocab as V
from .context import Ingest, known_maxima
from .log import InputError, Problem, combine_rejections
from .parse import (
    DONT_KNOW_WORDS,
    FALSE_WORDS,
    TRUE_WORDS,
    Verdict,
    answers_blank_majority,
    ballot_ids,
    check_reused_ids,
    hash_key,
    out_of_range_detail,
    parse_numbers,
    quote_values,
    read_text_dates,
)
from .sheets import Col, Sheet, head_key, quote

#: kind → (file-name prefix, sheet name)
RAW_FILES: dict[str, tuple[str, str]] = {
    "assessment": ("tu_danh_gia_tham_dinh_", "ChamDiem"),
    "officials": ("phieu_can_bo_", "PhieuCanBo"),
    "satisfaction": ("phieu_hai_long_", "PhieuHaiLong"),
    "dossiers": ("so_ho_so_", "HoSo"),
}

#: Headings of the commune column of the survey files, most precise first: a respondent's unit column
#: ("Đơn vị") is taken for the commune only when no column is headed as the commune.
COMMUNE_HEADINGS = ("Xã, thị trấn", "Xã/thị trấn", "Xã, thị trấn được đánh giá", "Tên xã", "Xã", "Đơn vị")
NAME_HEADINGS = ("Tên xã", "Xã, thị trấn", "Xã/thị trấn", "Tên xã, thị trấn", "Tên đơn vị")


def _ing(ing: Ingest | None) -> Ingest:
    return ing if ing is not None else Ingest()


_VOCABULARIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _communes(matcher: CommuneMatcher, ing: Ingest) -> V.Vocabulary:
    """The commune vocabulary of ``matcher``'s list and ``ing``'s aliases, built once per matcher and alias set
    (the four readers share it: at national scale it holds 10,598 communes)."""
    per = _VOCABULARIES.setdefault(matcher, {})
    key = id(ing.aliases)
    if key not in per or per[key][0] is not ing.aliases:
        per[key] = (ing.aliases, V.communes(matcher, ing.aliases))
    return per[key][1]


def log_matches(sh: Sheet, col: str, values: pd.Series, m: V.Match, ing: Ingest, what: str) -> None:
    """Conversions log of a matched column: one line per alias used, one line for the values written
    differently from the official form (diacritics, case, prefixes, punctuation)."""
    ok = m.status == "ok"
    alias = ok & (m.how == "alias")
    if alias.any():
        pairs = pd.DataFrame({"v": values[alias], "c": m.code[alias]}).value_counts(sort=False)
        for (v, c), n in pairs.items():
            ing.convert(sh.file, sh.sheet, sh.heading(col), "alias", f"{quote(v)} → {c} ({what})", int(n))
    norm = ok & (m.how == "normalised")
    if norm.any():
        forms = pd.unique(values[norm])
        shown = ", ".join(quote(v, 30) for v in forms[:5]) + (f" … (+{len(forms) - 5})" if len(forms) > 5 else "")
        ing.convert(sh.file, sh.sheet, sh.heading(col), "normalised",
                    f"{len(forms)} cách viết khác của {what} được nhận ra: {shown}", int(norm.sum()))


def unmatched_problem(sh: Sheet, col: str, values: pd.Series, m: V.Match, ing: Ingest, what_vi: str, what_en: str
                      ) -> Problem | None:
    """A refusal when more than ``ing.unmatched_share`` of the non-blank values of a coded column (and
    at least ``ing.unmatched_min_count`` of them) match nothing, naming the values and their counts."""
    written = m.status != "blank"
    bad = m.unmatched
    n, k = int(written.sum()), int(bad.sum())
    if not n or k <= ing.unmatched_share * n or k < ing.unmatched_min_count:
        return None
    counts = values[bad].value_counts()
    shown = quote_values(pd.Series(counts.index.astype(str), dtype="str"))
    listed = "; ".join(f"{s} ({int(c)})" for s, c in zip(shown, counts.to_numpy()[:10]))
    more = f" … (+{len(counts) - 10} giá trị khác)" if len(counts) > 10 else ""
    pct = f"{100 * k / n:.1f}".replace(".", ",")
    return sh.problem(int(values.index[bad.to_numpy()][0]), col,
                      f"{k}/{n} giá trị ({pct} %) không khớp danh mục {what_vi}, vượt ngưỡng "
                      f"{100 * ing.unmatched_share:g} % (tham số ingest.unmatched_share): {listed}{more} — "
                      "hãy sửa tệp hoặc thêm tên gọi khác vào tệp aliases",
                      f"{k} of {n} values ({100 * k / n:.1f} %) match no {what_en}, above ingest.unmatched_share = "
                      f"{ing.unmatched_share:g}: fix the file or add the names to the alias file")


def _hint(m: V.Match) -> pd.Series:
    vi = pd.Series(np.where(m.status == "ambiguous", "; có thể là ", "; gần nhất: "), index=m.status.index)
    return (vi + m.hint).where(m.hint != "", "")


def read_assessment(path: Path, meth: Methodology, matcher: CommuneMatcher, ing: Ingest | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Self-assessment + appraisal scores → (assessment, rejections).

    ``max_points_form`` keeps the form's "Điểm tối đa" of each leaf (NaN when blank, and for T/TR): a form
    made for another methodology version is checked against its own maxima, and scoring rescales the
    scores to this methodology's maxima; a form maximum that matches no known methodology version (the
    methodology files beside the one in use) is refused. The commune is given by its code, or by its
    name alone when every name matches one commune. Any problem row (unknown commune or criterion, score
    not a number or outside 0..maximum, missing self-score, maximum not a positive number, a bonus or
    deduction above ``ingest.max_adjustment_points``, duplicate commune × criterion, a raise when the
    rules refuse raises) is collected and all are raised as one InputError. A commune may have several
    bonus (T) or deduction (TR) rows, one per ground."""
    ing = _ing(ing)
    cols = [Col("commune_code", ("Mã xã", "Mã đơn vị"), False), Col("commune_name", NAME_HEADINGS, False),
            Col("code", ("Mã tiêu chí", "Mã TC", "Mã số tiêu chí")), Col("label", ("Tên tiêu chí", "Tiêu chí"), False),
            Col("max", ("Điểm tối đa", "Điểm chuẩn", "Thang điểm"), False),
            Col("self", ("Điểm tự chấm", "Điểm tự đánh giá", "Tự chấm", "Tự đánh giá")),
            Col("appraised", ("Điểm thẩm định", "Thẩm định")), Col("reason", ("Lý do thẩm định", "Lý do")),
            Col("evidence", ("Ghi chú minh chứng", "Minh chứng", "Tài liệu kiểm chứng"), False),
            Col("na", ("Không áp dụng",))]
    sh = ing.sheet(path, RAW_FILES["assessment"][1], cols, one_of=(("commune_code", "commune_name"),))
    d = sh.data
    probs: list[Problem] = []

    def add(mask: pd.Series, col: str, vi, en) -> None:
        for r in d.index[mask.to_numpy()]:
            probs.append(sh.problem(int(r), col, vi(r) if callable(vi) else vi, en(r) if callable(en) else en))

    # Commune: by code, else by name; both given must agree.
    voc = _communes(matcher, ing)
    blank = pd.Series("", index=d.index, dtype="str")
    code_raw = d["commune_code"] if "commune_code" in d else blank
    name = d["commune_name"] if "commune_name" in d else blank
    m_code, m_name = voc.match(code_raw), voc.match(name)
    by_code, by_name = m_code.code, m_name.code
    commune = by_code.where(by_code.notna(), by_name)
    where = "commune_code" if "commune_code" in d else "commune_name"
    hint = _hint(m_name).where(m_name.hint != "", _hint(m_code))
    add(commune.isna(), where,
        lambda r: f"không xác định được xã (mã {quote(code_raw[r], 20)}, tên {quote(name[r], 40)}{hint[r]})",
        lambda r: f"unknown commune: code {quote(code_raw[r], 20)}, name {quote(name[r], 40)}; expected a code or "
                  "name from the commune list")
    clash = by_code.notna() & by_name.notna() & (by_code != by_name)
    add(clash, "commune_name",
        lambda r: f"mã xã {quote(code_raw[r], 20)} và tên xã {quote(name[r], 40)} không khớp nhau",
        lambda r: f"commune code {quote(code_raw[r], 20)} and name {quote(name[r], 40)} name different communes")
    if "commune_code" not in d:
        ing.convert(sh.file, sh.sheet, sh.heading("commune_name"), "commune_by_name",
                    "tệp không có cột mã xã: xã được xác định theo tên (mọi tên đều khớp đúng một xã)",
                    int(commune.notna().sum()))
    log_matches(sh, "commune_name", name, m_name, ing, "tên xã")

    # Criterion code.
    leaves = meth.leaves()
    app = leaves[leaves.source == "appraisal"].set_index("code")
    adj = meth.adjustments
    maxima = {**app["points"].to_dict(), adj.bonus.code: np.inf, adj.deduction.code: np.inf}
    code = d["code"].str.strip()
    upper = code.str.upper()
    code = code.mask(upper.isin([adj.bonus.code, adj.deduction.code]), upper)
    known = code.isin(list(maxima))
    other_source = leaves.set_index("code")["source"]
    add(~known, "code",
        lambda r: (f"mã tiêu chí {quote(code[r], 20)} không thuộc các tiêu chí chấm điểm thẩm định"
                   + (f" (tiêu chí này chấm qua {meth.sources.get(other_source[code[r]], other_source[code[r]])})"
                      if code[r] in other_source.index else "")),
        lambda r: f"unknown criterion code {quote(code[r], 20)}: expected an appraised leaf code of methodology "
                  f"{meth.meta.id} (e.g. {app.index[0]}) or {adj.bonus.code}/{adj.deduction.code}")
    # The maximum a score is checked against: the form's "Điểm tối đa" of a leaf when given (a form made
    # for another methodology version; scoring rescales by it), else the methodology's. T/TR: no cap here.
    is_leaf = code.isin(app.index)
    fmax_raw = d["max"] if "max" in d else pd.Series("", index=d.index, dtype="str")
    fmax = parse_numbers(fmax_raw).where(is_leaf)
    add(is_leaf & (fmax_raw != "") & ~(fmax > 0), "max",
        lambda r: f"điểm tối đa {quote(fmax_raw[r], 20)} không phải số dương",
        lambda r: f"maximum {quote(fmax_raw[r], 20)} is not a positive number")
    fmax = fmax.where(fmax > 0)
    versions = ing.known_maxima
    if versions is None and meth.path:
        versions = known_maxima(Path(meth.path).parent)
    if versions is not None:
        own = code.map(app["points"]).astype(float)
        other = fmax.notna() & ((fmax - own).abs() > 1e-9)      # usually none: only those rows are looked up
        in_version = pd.Series([any(abs(f - x) < 1e-9 for x in versions.get(c, ())) for f, c in
                                zip(fmax[other], code[other])], index=d.index[other.to_numpy()], dtype=bool)
        odd = other & ~in_version.reindex(d.index, fill_value=True)
        add(odd, "max",
            lambda r: f"điểm tối đa {fmax[r]:g} của tiêu chí {code[r]} khác bộ tiêu chí đang dùng ({own[r]:g}) và "
                      "không khớp phiên bản bộ tiêu chí nào đã biết — kiểm tra lại ô này",
            lambda r: f"maximum {fmax[r]:g} of criterion {code[r]} differs from the methodology ({own[r]:g}) and "
                      "matches no known methodology version")
    mx = fmax.fillna(code.map(maxima).astype(float))

    # Not applicable.
    na_key = d["na"].map(head_key)
    na = na_key.isin(TRUE_WORDS)
    add(~(na | na_key.isin(FALSE_WORDS)), "na",
        lambda r: f"giá trị {quote(d.at[r, 'na'], 20)} không hợp lệ, chỉ ghi 'x' khi tiêu chí không áp dụng",
        lambda r: f"{quote(d.at[r, 'na'], 20)} is not understood: expected 'x' (not applicable) or blank")

    # Scores.
    is_adj = code.isin([adj.bonus.code, adj.deduction.code])

    def score(col: str, label_vi: str, label_en: str, blank_ok: pd.Series) -> pd.Series:
        raw = d[col]
        val = parse_numbers(raw)
        add((raw != "") & val.isna(), col, lambda r: f"{label_vi} {quote(raw[r], 20)} không phải là số",
            lambda r: f"{label_en} {quote(raw[r], 20)} is not a number")
        add((raw == "") & ~blank_ok, col, f"thiếu {label_vi}", f"{label_en} is blank; expected a number")
        out = val.notna() & known & ((val < -1e-9) | (val > mx + 1e-9))
        add(out, col, lambda r: f"{label_vi} {raw[r]} nằm ngoài khoảng 0–{mx[r]:g} (điểm tối đa của tiêu chí {code[r]})",
            lambda r: f"{label_en} {raw[r]} outside 0..{mx[r]:g}, the maximum of criterion {code[r]}")
        big = val.notna() & is_adj & (val > ing.max_adjustment_points + 1e-9)
        add(big, col, lambda r: f"{label_vi} {raw[r]} của dòng {code[r]} lớn hơn mức hợp lý "
                                f"{ing.max_adjustment_points:g} điểm (tham số ingest.max_adjustment_points)",
            lambda r: f"{label_en} {raw[r]} of a {code[r]} row above ingest.max_adjustment_points = "
                      f"{ing.max_adjustment_points:g}")
        return val

    # A blank bonus (T) or deduction (TR) row means none (0); a blank self-score of a criterion is an error.
    self_pts = score("self", "điểm tự chấm", "self-score", na | is_adj)
    self_pts = self_pts.mask(is_adj & self_pts.isna(), 0.0)
    appr = score("appraised", "điểm thẩm định", "appraised score", pd.Series(True, index=d.index))

    # Duplicates of commune × criterion (bonus / deduction rows may repeat: one row per ground, summed
    # before the cap in scoring, each listed).
    keyed = commune.notna() & known & ~is_adj
    rows = pd.Series(d.index.astype(str), index=d.index)
    k = commune.fillna("") + "\x1f" + code
    first = rows.groupby(k).transform("first")
    dup = keyed & k.duplicated(keep="first") & keyed.groupby(k).transform("any")
    add(dup, "code", lambda r: f"xã {commune[r]}, tiêu chí {code[r]} đã có ở dòng {first[r]}",
        lambda r: f"duplicate row: commune {commune[r]} × criterion {code[r]} already in row {first[r]}")

    if meth.rules.appraisal_raise == "refuse":
        raise_ = appr.notna() & self_pts.notna() & (appr > self_pts + 1e-9) & ~na
        add(raise_, "appraised", lambda r: f"điểm thẩm định {appr[r]:g} cao hơn điểm tự chấm {self_pts[r]:g}",
            lambda r: f"appraised {appr[r]:g} above self-score {self_pts[r]:g}; the methodology refuses raises")

    if probs:
        raise InputError(sorted(probs, key=lambda p: (p.row or 0, p.column or "")))
    out = pd.DataFrame({
        "commune_code": commune.astype("str"),
        "code": code.astype("str"),
        "self_points": self_pts.astype(float),
        "appraised_points": appr.astype(float),
        "not_applicable": na.astype(bool),
        "reason": d["reason"].astype("str"),
        "evidence": (d["evidence"] if "evidence" in d else pd.Series("", index=d.index)).astype("str"),
        "max_points_form": fmax.astype(float),
    }).reset_index(drop=True)
    return out, sh.ignored_log()


def _commune_rules(v: Verdict, values: pd.Series, m: V.Match) -> None:
    amb = m.status == "ambiguous"
    hint = _hint(m)
    v.apply("ambiguous_commune", amb, "không rõ là xã nào: " + quote_values(values) + hint
            + " (ambiguous commune " + quote_values(values) + ")")
    v.apply("unknown_commune", m.code.isna(), "không xác định được xã " + quote_values(values) + hint
            + " (unknown commune " + quote_values(values) + ")")


def _coverage(ing: Ingest, survey: str, commune: pd.Series, m: V.Match, valid: pd.Series, units: pd.Series) -> None:
    """Rows read per commune (and, for rows whose commune was not recognised, per candidate commune)."""
    att = pd.DataFrame({"c": commune.fillna(""), "u": units, "ok": valid})
    miss = m.code.isna() & (m.status != "blank")
    extra = [(c, u) for cands, u in zip(m.cands[miss], units[miss]) for c in cands]
    if extra:
        att = pd.concat([att[att["c"] != ""], pd.DataFrame({"c": [c for c, _ in extra], "u": [u for _, u in extra],
                                                            "ok": False})], ignore_index=True)
    else:
        att = att[att["c"] != ""]
    g = att.groupby("c", sort=True)
    rows, units_all = g.size(), g["u"].nunique()
    units_ok = att[att["ok"]].groupby("c")["u"].nunique().reindex(rows.index, fill_value=0)
    for c, n, a, k in zip(rows.index, rows.to_numpy(), units_all.to_numpy(), units_ok.to_numpy()):
        ing.coverage.append((survey, str(c), int(n), int(k), int(a - k)))


def _ballot_sheet(ing: Ingest, path: Path, kind: str, cols: list[Col]):
    """The sheet of a survey file, read: (sheet, its data, ballot ids as written, ids screened for personal data
    — a masked id names its row —, a fresh Verdict). Names in a name column feed the personal-data screen."""
    sh = ing.sheet(path, RAW_FILES[kind][1], cols)
    d = sh.data
    if "name" in d:
        ing.screen.add_names(pd.unique(d["name"]))
    raw_ids = ballot_ids(sh)
    ids = ing.screen.series(raw_ids, sh.file, sh.heading("ballot_id"))
    ids = ids.mask(ids != raw_ids, ids + " (dòng " + pd.Series(d.index.astype(str), index=d.index) + ")")
    return sh, d, raw_ids, ids, Verdict(d.index)


def read_officials(path: Path, meth: Methodology, matcher: CommuneMatcher, ing: Ingest | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Officials' survey → (officials, rejections). One ballot = one respondent × commune row.

    Rules in order: duplicate (the same Mã phiếu × commune as an earlier row), ambiguous_commune,
    unknown_commune, unknown_group, out_of_range (not A–D nor an answer label), blank_majority.
    "Không biết"/"KB" counts as blank. A coded column with too many unmatched values refuses the file."""
    ing = _ing(ing)
    ov = meth.officials_survey
    qs = meth.leaf_codes("officials_survey")
    cols = [Col("ballot_id", ("Mã phiếu", "Số phiếu")), Col("group", ("Nhóm đối tượng", "Nhóm", "Đối tượng")),
            Col("name", ("Họ và tên", "Họ tên"), False), Col("commune", COMMUNE_HEADINGS)]
    cols += [Col(f"q:{q}", (q,)) for q in qs]
    sh, d, raw_ids, ids, v = _ballot_sheet(ing, path, "officials", cols)
    mc = _communes(matcher, ing).match(d["commune"])
    commune = mc.code
    check_reused_ids(v, raw_ids, commune.fillna(d["commune"]))
    _commune_rules(v, d["commune"], mc)
    log_matches(sh, "commune", d["commune"], mc, ing, "tên xã")
    mg = V.respondent_groups(meth, ing.aliases).match(d["group"])
    group = mg.code
    known_groups = "/".join(g.code for g in ov.groups)
    v.apply("unknown_group", group.isna(),
            "nhóm đối tượng " + quote_values(d["group"]) + f" không thuộc {known_groups}" + _hint(mg)
            + " (unknown respondent group " + quote_values(d["group"]) + f"; expected one of {known_groups} or "
            "their labels)")
    log_matches(sh, "group", d["group"], mg, ing, "nhóm đối tượng")
    voc_a = V.officials_answers(meth, ing.aliases)
    raw_ans = pd.DataFrame({q: d[f"q:{q}"].str.strip() for q in qs}, index=d.index)
    dk_values = [v for v in pd.unique(raw_ans.to_numpy().ravel()) if head_key(v) in DONT_KNOW_WORDS]
    dk = raw_ans.isin(dk_values)
    ans = pd.DataFrame(index=d.index)
    amatch = {}
    for q in qs:
        m = voc_a.match(raw_ans[q].mask(dk[q], ""))
        amatch[q] = m
        ans[q] = m.code.fillna("").astype("str")
        log_matches(sh, f"q:{q}", raw_ans[q], m, ing, "câu trả lời")
    allowed = list(ov.answer_weights)
    bad = pd.DataFrame({q: amatch[q].unmatched for q in qs}, index=d.index)
    v.apply("out_of_range", bad.any(axis=1), out_of_range_detail(
        bad, d[[f"q:{q}" for q in qs]].set_axis(qs, axis=1), f"chỉ ghi {'/'.join(allowed)} hoặc để trống",
        f"expected one of {'/'.join(allowed)} or blank"))
    answers_blank_majority(v, ans == "")
    probs = [p for p in [unmatched_problem(sh, "commune", d["commune"], mc, ing, "xã, thị trấn", "commune"),
                         unmatched_problem(sh, "group", d["group"], mg, ing, "nhóm đối tượng", "respondent group")]
             + [unmatched_problem(sh, f"q:{q}", raw_ans[q], amatch[q], ing, "câu trả lời", "answer") for q in qs]
             if p is not None]
    log = combine_rejections([sh.ignored_log(), v.log(sh, ids)])
    if probs:
        raise InputError(probs, rejections=log)
    ok = v.valid
    _coverage(ing, "officials", commune, mc, ok, raw_ids)
    ing.exclusions.append(("officials", sh.file, len(d), int(ok.sum()), int((~ok).sum())))
    long = (ans[ok].assign(ballot_id=ids[ok], group=group[ok], commune_code=commune[ok])
            .melt(id_vars=["ballot_id", "group", "commune_code"], value_vars=qs, var_name="question",
                  value_name="answer", ignore_index=False))
    qorder = {q: i for i, q in enumerate(qs)}
    long = long.assign(_q=long["question"].map(qorder)).reset_index().sort_values(["row", "_q"], kind="stable")
    out = long[["ballot_id", "group", "commune_code", "question", "answer"]].astype("str").reset_index(drop=True)
    return out, log


def read_satisfaction(path: Path, meth: Methodology, matcher: CommuneMatcher, *,
                      survey_start: dt.date | None = None, survey_end: dt.date | None = None,
                      salt: str, ing: Ingest | None = None
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Satisfaction (SIPAS) ballots → (satisfaction, ballots, rejections).

    Rules in order: duplicate (reused Mã phiếu), ambiguous_commune, unknown_commune, unknown_field,
    out_of_range (not an integer of the scale nor a label of it), blank_majority, outside_period (only when
    a period is given; a blank or unreadable date is then outside too), duplicate (the same salted hash of
    the normalised phone or ID number as an earlier otherwise-valid ballot — of the same commune, or of
    the district with ``ingest.duplicate_scope = district``; the first is kept and the pair is recorded).
    A date column written m/d/yyyy, or whose d/m reading puts most ballots outside the survey period,
    refuses the file with both readings shown."""
    ing = _ing(ing)
    sv = meth.satisfaction_survey
    qs = meth.satisfaction_questions()["question"].tolist()
    cols = [Col("ballot_id", ("Mã phiếu", "Số phiếu")), Col("date", ("Ngày khảo sát", "Ngày", "Ngày điền phiếu")),
            Col("commune", COMMUNE_HEADINGS), Col("field", ("Lĩnh vực", "Lĩnh vực TTHC", "Lĩnh vực thủ tục")),
            Col("name", ("Họ và tên", "Họ tên"), False),
            Col("phone", ("Số điện thoại", "Điện thoại", "SĐT"), False),
            Col("idno", ("Số CCCD", "CCCD", "Số CCCD/CMND", "Số định danh", "CMND"), False)]
    cols += [Col(f"q:{q}", (q,)) for q in qs]
    sh, d, raw_ids, ids, v = _ballot_sheet(ing, path, "satisfaction", cols)
    check_reused_ids(v, raw_ids)
    mc = _communes(matcher, ing).match(d["commune"])
    commune = mc.code
    _commune_rules(v, d["commune"], mc)
    log_matches(sh, "commune", d["commune"], mc, ing, "tên xã")
    mf = V.procedure_fields(meth, ing.aliases).match(d["field"])
    pfield = mf.code
    v.apply("unknown_field", pfield.isna(),
            "lĩnh vực " + quote_values(d["field"]) + " không có trong danh mục" + _hint(mf)
            + " (unknown procedure field " + quote_values(d["field"]) + ")")
    log_matches(sh, "field", d["field"], mf, ing, "lĩnh vực")
    raw = pd.DataFrame({q: d[f"q:{q}"] for q in qs}, index=d.index)
    num = raw.apply(parse_numbers)
    voc_s = V.satisfaction_answers(meth, ing.aliases)
    words = raw.where(num.isna() & (raw != ""), "")
    for q in qs:
        if (words[q] != "").any():
            m = voc_s.match(words[q])
            hit = m.code.notna()
            num[q] = num[q].mask(hit, pd.to_numeric(m.code[hit]))
            log_matches(sh, f"q:{q}", words[q], m, ing, "câu trả lời")
    ok_val = num.notna() & (num == num.round()) & (num >= sv.scale.min) & (num <= sv.scale.max)
    bad = (raw != "") & ~ok_val
    v.apply("out_of_range", bad.any(axis=1), out_of_range_detail(
        bad, raw, f"chỉ ghi số nguyên {sv.scale.min}–{sv.scale.max} hoặc để trống",
        f"expected an integer {sv.scale.min}–{sv.scale.max} or blank"))
    answers_blank_majority(v, raw == "")
    probs = [p for p in [unmatched_problem(sh, "commune", d["commune"], mc, ing, "xã, thị trấn", "commune"),
                         unmatched_problem(sh, "field", d["field"], mf, ing, "lĩnh vực TTHC", "procedure field")]
             if p is not None]
    for q in qs:
        written = raw[q] != ""
        k, n = int(bad[q].sum()), int(written.sum())
        if n and k > ing.unmatched_share * n and k >= ing.unmatched_min_count:
            probs.append(sh.problem(int(d.index[bad[q].to_numpy()][0]), f"q:{q}",
                                    f"{k}/{n} câu trả lời không thuộc thang {sv.scale.min}–{sv.scale.max}, vượt ngưỡng "
                                    f"{100 * ing.unmatched_share:g} % (tham số ingest.unmatched_share)",
                                    f"{k} of {n} answers outside the scale, above ingest.unmatched_share"))
    date, date_prob = read_text_dates(d["date"], survey_start, survey_end, ing.unmatched_min_count)
    if date_prob is not None:
        probs.append(sh.problem(date_prob[0], "date", date_prob[1], date_prob[2]))
    if survey_start is not None or survey_end is not None:
        lo = pd.Timestamp(survey_start) if survey_start is not None else pd.Timestamp.min
        hi = pd.Timestamp(survey_end) if survey_end is not None else pd.Timestamp.max
        period = (f"{lo:%d/%m/%Y}" if survey_start is not None else "…") + "–" + (
            f"{hi:%d/%m/%Y}" if survey_end is not None else "…")
        shown = date.dt.strftime("%d/%m/%Y").fillna("")
        outside = date.isna() | (date < lo) | (date > hi)
        v.apply("outside_period", outside, pd.Series(np.where(
            date.isna(), f"ngày khảo sát trống hoặc không đọc được, cần ngày trong {period} "
                         f"(date blank or unreadable; expected dd/mm/yyyy within {period})",
            "ngày khảo sát " + shown + f" ngoài thời gian khảo sát {period} (date outside the survey period)"),
            index=d.index, dtype="str"))
    # Duplicates among the ballots still valid, in file order, within a commune (or the district).
    rows = pd.Series(d.index.astype(str), index=d.index)
    scope = ing.duplicate_scope
    for col, kind, vi in (("phone", "phone", "số điện thoại"), ("idno", "id", "số CCCD")):
        if col not in d:
            continue
        h = hash_key(d[col], kind, salt)
        if scope == "commune":
            h = h.where(h == "", commune.fillna("") + "\x1f" + h)
        cand = v.valid & (h != "")
        hk = h.where(cand, "")
        first_id = ids[cand].groupby(hk[cand]).transform("first").reindex(d.index).fillna("")
        first_row = rows[cand].groupby(hk[cand]).transform("first").reindex(d.index).fillna("")
        dup = cand & hk.duplicated(keep="first") & (hk != "")
        en = "phone number" if kind == "phone" else "ID number"
        where_vi = " cùng xã" if scope == "commune" else " trong huyện"
        v.apply("duplicate", dup, f"trùng {vi}{where_vi} với phiếu " + first_id + " (dòng " + first_row
                + f"), giữ phiếu trước (same {en} as ballot " + first_id + " in row " + first_row
                + "; the first is kept)")
        for r in d.index[dup.to_numpy()]:
            ing.duplicates.append((sh.file, int(r), str(ids[r]), int(first_row[r]), str(first_id[r]),
                                   "phone" if kind == "phone" else "id_number", scope))
    log = combine_rejections([sh.ignored_log(), v.log(sh, ids)])
    if probs:
        raise InputError(probs, rejections=log)
    ok = v.valid
    _coverage(ing, "satisfaction", commune, mc, ok, pd.Series(d.index, index=d.index))
    ing.exclusions.append(("satisfaction", sh.file, len(d), int(ok.sum()), int((~ok).sum())))
    ballots = pd.DataFrame({
        "ballot_id": ids, "commune_code": commune.fillna(""), "procedure_field": pfield.fillna(""),
        "date": date, "status": np.where(ok, "valid", "excluded"),
        "rule": v.rule.replace({"duplicate_id": "duplicate"}),
    }).astype({"ballot_id": "str", "commune_code": "str", "procedure_field": "str", "status": "str",
               "rule": "str"}).reset_index(drop=True)
    answers = num[ok].astype("Int64")
    long = (answers.assign(ballot_id=ids[ok], commune_code=commune[ok], procedure_field=pfield[ok])
            .melt(id_vars=["ballot_id", "commune_code", "procedure_field"], value_vars=qs, var_name="question",
                  value_name="answer", ignore_index=False))
    qorder = {q: i for i, q in enumerate(qs)}
    long = long.assign(_q=long["question"].map(qorder)).reset_index().sort_values(["row", "_q"], kind="stable")
    sat = pd.DataFrame({
        "ballot_id": long["ballot_id"].astype("str"), "commune_code": long["commune_code"].astype("str"),
        "procedure_field": long["procedure_field"].astype("str"), "question": long["question"].astype("str"),
        "answer": long["answer"].astype("Int64"), "weight": 1.0,
    }).reset_index(drop=True)
    return sat, ballots, log


def read_dossiers(path: Path, meth: Methodology, matcher: CommuneMatcher, ing: Ingest | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dossiers per commune × procedure field → (dossiers, rejections). A blank count is 0; an
    unknown or repeated commune, or a count that is not a whole number between 0 and
    ``ingest.max_dossiers``, refuses the file. Fields are found under their code, label or aliases
    (also under a heading row such as "Số hồ sơ theo lĩnh vực"); communes by code, or by name alone when
    every name matches one commune."""
    ing = _ing(ing)
    pf = meth.satisfaction_survey.procedure_fields
    al = ing.aliases.of("procedure_fields")
    cols = [Col("commune_code", ("Mã xã", "Mã đơn vị"), False), Col("commune_name", NAME_HEADINGS, False)]
    cols += [Col(f"f:{p.code}", (p.code, p.label, *al.get(p.code, []))) for p in pf]
    sh = ing.sheet(path, RAW_FILES["dossiers"][1], cols, one_of=(("commune_code", "commune_name"),))
    d = sh.data
    probs: list[Problem] = []
    blank = pd.Series("", index=d.index, dtype="str")
    code_raw = d["commune_code"] if "commune_code" in d else blank
    name = d["commune_name"] if "commune_name" in d else blank
    voc = _communes(matcher, ing)
    m_code, m_name = voc.match(code_raw), voc.match(name)
    commune = m_code.code.where(m_code.code.notna(), m_name.code)
    hint = _hint(m_name).where(m_name.hint != "", _hint(m_code))
    where = "commune_code" if "commune_code" in d else "commune_name"
    for r in d.index[commune.isna().to_numpy()]:
        probs.append(sh.problem(int(r), where,
                                f"không xác định được xã (mã {quote(code_raw[r], 20)}, tên {quote(name[r], 40)}"
                                f"{hint[r]})",
                                f"unknown commune: code {quote(code_raw[r], 20)}, name {quote(name[r], 40)}"))
    if "commune_code" not in d:
        ing.convert(sh.file, sh.sheet, sh.heading("commune_name"), "commune_by_name",
                    "tệp không có cột mã xã: xã được xác định theo tên (mọi tên đều khớp đúng một xã)",
                    int(commune.notna().sum()))
    log_matches(sh, "commune_name", name, m_name, ing, "tên xã")
    rows = pd.Series(d.index.astype(str), index=d.index)
    first = rows.groupby(commune.fillna("")).transform("first")
    for r in d.index[(commune.notna() & commune.duplicated(keep="first")).to_numpy()]:
        probs.append(sh.problem(int(r), where, f"xã {commune[r]} đã có ở dòng {first[r]}",
                                f"duplicate commune {commune[r]}: already in row {first[r]}"))
    counts = {}
    cap = ing.max_dossiers
    for p in pf:
        col = f"f:{p.code}"
        raw = d[col].str.replace(r"^\d{1,3}(?:\.\d{3})+$", lambda m: m.group(0).replace(".", ""), regex=True)
        val = parse_numbers(raw).where(raw != "", 0.0)
        bad = val.isna() | (val < 0) | (val != val.round())
        for r in d.index[bad.to_numpy()]:
            probs.append(sh.problem(int(r), col, f"số hồ sơ {quote_values(d[col][[r]]).iloc[0]} không phải số "
                                    "nguyên không âm", f"dossier count {quote_values(d[col][[r]]).iloc[0]} is not a "
                                    "whole number ≥ 0"))
        big = ~bad & (val > cap)
        for r in d.index[big.to_numpy()]:
            probs.append(sh.problem(int(r), col, f"số hồ sơ {quote_values(d[col][[r]]).iloc[0]} lớn hơn mức hợp lý "
                                    f"{cap} hồ sơ một lĩnh vực một xã (tham số ingest.max_dossiers) — có phải mã xã "
                                    "hoặc số điện thoại nhập nhầm cột?",
                                    f"dossier count above ingest.max_dossiers = {cap}"))
        counts[p.code] = val
        h = sh.heading(col)
        if head_key(h.split(" ", 1)[1].strip("'")) not in {head_key(p.code), head_key(p.label)}:
            ing.convert(sh.file, sh.sheet, h, "heading", f"tiêu đề {h.split(' ', 1)[1]} đọc là lĩnh vực {p.code} "
                        f"({p.label})", 1)
    if probs:
        raise InputError(sorted(probs, key=lambda p: (p.row or 0, p.column or "")))
    wide = pd.DataFrame(counts, index=d.index).assign(commune_code=commune)
    long = wide.melt(id_vars="commune_code", var_name="procedure_field", value_name="dossiers")
    order = {p.code: i for i, p in enumerate(pf)}
    long = long.assign(_o=long["procedure_field"].map(order)).sort_values(["commune_code", "_o"], kind="stable")
    out = pd.DataFrame({"commune_code": long["commune_code"].astype("str"),
                        "procedure_field": long["procedure_field"].astype("str"),
                        "dossiers": long["dossiers"].astype("int64")}).reset_index(drop=True)
    return out, sh.ignored_log()
