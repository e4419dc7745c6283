"""The four readers: one raw file each → (clean table, rejection log)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from ..communes import CommuneMatcher
from ..methodology import Methodology
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
    label_map,
    out_of_range_detail,
    parse_dates,
    parse_numbers,
    quote_values,
)
from .sheets import Col, head_key, read_sheet

#: kind → (file-name prefix, sheet name)
RAW_FILES: dict[str, tuple[str, str]] = {
    "assessment": ("tu_danh_gia_tham_dinh_", "ChamDiem"),
    "officials": ("phieu_can_bo_", "PhieuCanBo"),
    "satisfaction": ("phieu_hai_long_", "PhieuHaiLong"),
    "dossiers": ("so_ho_so_", "HoSo"),
}


COMMUNE_HEADINGS = ("Xã, thị trấn", "Xã/thị trấn", "Tên xã", "Xã", "Đơn vị")


def read_assessment(path: Path, meth: Methodology, matcher: CommuneMatcher) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Self-assessment + appraisal scores → (assessment, rejections).

    ``max_points_form`` keeps the form's "Điểm tối đa" of each leaf (NaN when blank, and for T/TR): a form
    made for another methodology version is checked against its own maxima, and scoring rescales the
    scores to this methodology's maxima. Any problem row (unknown commune or criterion, score not a
    number or outside 0..maximum, missing self-score, maximum not a positive number, duplicate commune ×
    criterion, a raise when the rules refuse raises) is collected and all are raised as one InputError.
    A commune may have several bonus (T) or deduction (TR) rows, one per ground."""
    cols = [Col("commune_code", ("Mã xã",)), Col("commune_name", ("Tên xã", "Xã, thị trấn"), False),
            Col("code", ("Mã tiêu chí",)), Col("label", ("Tên tiêu chí",), False),
            Col("max", ("Điểm tối đa",), False), Col("self", ("Điểm tự chấm", "Điểm tự đánh giá")),
            Col("appraised", ("Điểm thẩm định",)), Col("reason", ("Lý do thẩm định", "Lý do")),
            Col("evidence", ("Ghi chú minh chứng", "Minh chứng", "Tài liệu kiểm chứng"), False),
            Col("na", ("Không áp dụng",))]
    sh = read_sheet(path, RAW_FILES["assessment"][1], cols)
    d = sh.data
    probs: list[Problem] = []

    def add(mask: pd.Series, col: str, vi, en) -> None:
        for r in d.index[mask.to_numpy()]:
            probs.append(sh.problem(int(r), col, vi(r) if callable(vi) else vi, en(r) if callable(en) else en))

    # Commune: by code, else by name; both given must agree.
    by_code = matcher.match_series(d["commune_code"])
    name = d["commune_name"] if "commune_name" in d else pd.Series("", index=d.index, dtype="str")
    by_name = matcher.match_series(name)
    commune = by_code.fillna(by_name)
    add(commune.isna(), "commune_code",
        lambda r: f"không xác định được xã (mã '{d.at[r, 'commune_code']}', tên '{name[r]}')",
        lambda r: f"unknown commune: code '{d.at[r, 'commune_code']}', name '{name[r]}'; expected a code or "
                  "name from the commune list")
    clash = by_code.notna() & by_name.notna() & (by_code != by_name)
    add(clash, "commune_name",
        lambda r: f"mã xã '{d.at[r, 'commune_code']}' và tên xã '{name[r]}' không khớp nhau",
        lambda r: f"commune code '{d.at[r, 'commune_code']}' and name '{name[r]}' name different communes")

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
        lambda r: (f"mã tiêu chí '{code[r]}' không thuộc các tiêu chí chấm điểm thẩm định"
                   + (f" (tiêu chí này chấm qua {meth.sources.get(other_source[code[r]], other_source[code[r]])})"
                      if code[r] in other_source.index else "")),
        lambda r: f"unknown criterion code '{code[r]}': expected an appraised leaf code of methodology "
                  f"{meth.meta.id} (e.g. {app.index[0]}) or {adj.bonus.code}/{adj.deduction.code}")
    # The maximum a score is checked against: the form's "Điểm tối đa" of a leaf when given (a form made
    # for another methodology version; scoring rescales by it), else the methodology's. T/TR: no cap here.
    is_leaf = code.isin(app.index)
    fmax_raw = d["max"] if "max" in d else pd.Series("", index=d.index, dtype="str")
    fmax = parse_numbers(fmax_raw).where(is_leaf)
    add(is_leaf & (fmax_raw != "") & ~(fmax > 0), "max",
        lambda r: f"điểm tối đa '{fmax_raw[r]}' không phải số dương",
        lambda r: f"maximum '{fmax_raw[r]}' is not a positive number")
    fmax = fmax.where(fmax > 0)
    mx = fmax.fillna(code.map(maxima).astype(float))

    # Not applicable.
    na_key = d["na"].map(head_key)
    na = na_key.isin(TRUE_WORDS)
    add(~(na | na_key.isin(FALSE_WORDS)), "na",
        lambda r: f"giá trị '{d.at[r, 'na']}' không hợp lệ, chỉ ghi 'x' khi tiêu chí không áp dụng",
        lambda r: f"'{d.at[r, 'na']}' is not understood: expected 'x' (not applicable) or blank")

    # Scores.
    def score(col: str, label_vi: str, label_en: str, blank_ok: pd.Series) -> pd.Series:
        raw = d[col]
        val = parse_numbers(raw)
        add((raw != "") & val.isna(), col, lambda r: f"{label_vi} '{raw[r]}' không phải là số",
            lambda r: f"{label_en} '{raw[r]}' is not a number")
        add((raw == "") & ~blank_ok, col, f"thiếu {label_vi}", f"{label_en} is blank; expected a number")
        out = val.notna() & known & ((val < -1e-9) | (val > mx + 1e-9))
        add(out, col, lambda r: f"{label_vi} {raw[r]} nằm ngoài khoảng 0–{mx[r]:g} (điểm tối đa của tiêu chí {code[r]})",
            lambda r: f"{label_en} {raw[r]} outside 0..{mx[r]:g}, the maximum of criterion {code[r]}")
        return val

    # A blank bonus (T) or deduction (TR) row means none (0); a blank self-score of a criterion is an error.
    is_adj = code.isin([adj.bonus.code, adj.deduction.code])
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


def read_officials(path: Path, meth: Methodology, matcher: CommuneMatcher) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Officials' survey → (officials, rejections). One ballot = one respondent × commune row.

    Rules in order: duplicate (the same Mã phiếu × commune as an earlier row), unknown_commune,
    unknown_group, out_of_range (not A–D), blank_majority. "Không biết"/"KB" counts as blank."""
    ov = meth.officials_survey
    qs = meth.leaf_codes("officials_survey")
    cols = [Col("ballot_id", ("Mã phiếu",)), Col("group", ("Nhóm đối tượng", "Nhóm")),
            Col("name", ("Họ và tên", "Họ tên"), False), Col("commune", COMMUNE_HEADINGS)]
    cols += [Col(f"q:{q}", (q,)) for q in qs]
    sh = read_sheet(path, RAW_FILES["officials"][1], cols)
    d = sh.data
    ids = ballot_ids(sh)
    v = Verdict(d.index)
    commune = matcher.match_series(d["commune"])
    check_reused_ids(v, ids, commune.fillna(d["commune"]))
    v.apply("unknown_commune", commune.isna(),
            "không xác định được xã " + quote_values(d["commune"]) + " (unknown commune " + quote_values(d["commune"]) + ")")
    groups = label_map([(g.code, g.label) for g in ov.groups])
    group = d["group"].map(head_key).map(groups)
    known_groups = "/".join(dict.fromkeys(groups.values()))
    v.apply("unknown_group", group.isna(),
            "nhóm đối tượng " + quote_values(d["group"]) + f" không thuộc {known_groups} (unknown respondent group "
            + quote_values(d["group"]) + f"; expected one of {known_groups} or their labels)")
    ans = pd.DataFrame({q: d[f"q:{q}"].str.strip() for q in qs}, index=d.index)
    keys = ans.map(head_key)
    ans = ans.mask(keys.isin(DONT_KNOW_WORDS), "").apply(lambda s: s.str.upper())
    allowed = list(ov.answer_weights)
    bad = (ans != "") & ~ans.isin(allowed)
    v.apply("out_of_range", bad.any(axis=1), out_of_range_detail(
        bad, d[[f"q:{q}" for q in qs]].set_axis(qs, axis=1), f"chỉ ghi {'/'.join(allowed)} hoặc để trống",
        f"expected one of {'/'.join(allowed)} or blank"))
    answers_blank_majority(v, ans == "")
    ok = v.valid
    long = (ans[ok].assign(ballot_id=ids[ok], group=group[ok], commune_code=commune[ok])
            .melt(id_vars=["ballot_id", "group", "commune_code"], value_vars=qs, var_name="question",
                  value_name="answer", ignore_index=False))
    qorder = {q: i for i, q in enumerate(qs)}
    long = long.assign(_q=long["question"].map(qorder)).reset_index().sort_values(["row", "_q"], kind="stable")
    out = long[["ballot_id", "group", "commune_code", "question", "answer"]].astype("str").reset_index(drop=True)
    return out, combine_rejections([sh.ignored_log(), v.log(sh, ids)])


def read_satisfaction(path: Path, meth: Methodology, matcher: CommuneMatcher, *,
                      survey_start: dt.date | None = None, survey_end: dt.date | None = None,
                      salt: str = "parindex") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Satisfaction (SIPAS) ballots → (satisfaction, ballots, rejections).

    Rules in order: duplicate (reused Mã phiếu), unknown_commune, unknown_field, out_of_range (not an
    integer of the scale, text included), blank_majority, outside_period (only when a period is given;
    a blank or unreadable date is then outside too), duplicate (the same salted hash of the normalised
    phone or ID number as an earlier otherwise-valid ballot; the first is kept)."""
    sv = meth.satisfaction_survey
    qs = meth.satisfaction_questions()["question"].tolist()
    cols = [Col("ballot_id", ("Mã phiếu",)), Col("date", ("Ngày khảo sát", "Ngày")),
            Col("commune", COMMUNE_HEADINGS), Col("field", ("Lĩnh vực", "Lĩnh vực TTHC")),
            Col("name", ("Họ và tên", "Họ tên"), False),
            Col("phone", ("Số điện thoại", "Điện thoại", "SĐT"), False),
            Col("idno", ("Số CCCD", "CCCD", "Số CCCD/CMND", "Số định danh", "CMND"), False)]
    cols += [Col(f"q:{q}", (q,)) for q in qs]
    sh = read_sheet(path, RAW_FILES["satisfaction"][1], cols)
    d = sh.data
    ids = ballot_ids(sh)
    v = Verdict(d.index)
    check_reused_ids(v, ids)
    commune = matcher.match_series(d["commune"])
    v.apply("unknown_commune", commune.isna(),
            "không xác định được xã " + quote_values(d["commune"]) + " (unknown commune " + quote_values(d["commune"]) + ")")
    fields = label_map([(p.code, p.label) for p in sv.procedure_fields])
    pfield = d["field"].map(head_key).map(fields)
    v.apply("unknown_field", pfield.isna(),
            "lĩnh vực " + quote_values(d["field"]) + " không có trong danh mục (unknown procedure field "
            + quote_values(d["field"]) + ")")
    raw = pd.DataFrame({q: d[f"q:{q}"] for q in qs}, index=d.index)
    num = raw.apply(parse_numbers)
    ok_val = num.notna() & (num == num.round()) & (num >= sv.scale.min) & (num <= sv.scale.max)
    bad = (raw != "") & ~ok_val
    v.apply("out_of_range", bad.any(axis=1), out_of_range_detail(
        bad, raw, f"chỉ ghi số nguyên {sv.scale.min}–{sv.scale.max} hoặc để trống",
        f"expected an integer {sv.scale.min}–{sv.scale.max} or blank"))
    answers_blank_majority(v, raw == "")
    date = parse_dates(d["date"])
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
    # Duplicates among the ballots still valid, in file order.
    rows = pd.Series(d.index.astype(str), index=d.index)
    for col, kind, vi in (("phone", "phone", "số điện thoại"), ("idno", "id", "số CCCD")):
        if col not in d:
            continue
        h = hash_key(d[col], kind, salt)
        cand = v.valid & (h != "")
        hk = h.where(cand, "")
        first_id = ids[cand].groupby(hk[cand]).transform("first").reindex(d.index).fillna("")
        first_row = rows[cand].groupby(hk[cand]).transform("first").reindex(d.index).fillna("")
        dup = cand & hk.duplicated(keep="first") & (hk != "")
        en = "phone number" if kind == "phone" else "ID number"
        v.apply("duplicate", dup, f"trùng {vi} với phiếu " + first_id + " (dòng " + first_row
                + f"), giữ phiếu trước (same {en} as ballot " + first_id + " in row " + first_row
                + "; the first is kept)")
    ok = v.valid
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
    return sat, ballots, combine_rejections([sh.ignored_log(), v.log(sh, ids)])


def read_dossiers(path: Path, meth: Methodology, matcher: CommuneMatcher) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dossiers per commune × procedure field → (dossiers, rejections). A blank count is 0; an
    unknown or repeated commune, or a count that is not a whole number ≥ 0, refuses the file."""
    pf = meth.satisfaction_survey.procedure_fields
    cols = [Col("commune_code", ("Mã xã",)), Col("commune_name", ("Tên xã", "Xã, thị trấn"), False)]
    cols += [Col(f"f:{p.code}", (p.code, p.label)) for p in pf]
    sh = read_sheet(path, RAW_FILES["dossiers"][1], cols)
    d = sh.data
    probs: list[Problem] = []
    name = d["commune_name"] if "commune_name" in d else pd.Series("", index=d.index, dtype="str")
    commune = matcher.match_series(d["commune_code"]).fillna(matcher.match_series(name))
    for r in d.index[commune.isna().to_numpy()]:
        probs.append(sh.problem(int(r), "commune_code",
                                f"không xác định được xã (mã '{d.at[r, 'commune_code']}', tên '{name[r]}')",
                                f"unknown commune: code '{d.at[r, 'commune_code']}', name '{name[r]}'"))
    rows = pd.Series(d.index.astype(str), index=d.index)
    first = rows.groupby(commune.fillna("")).transform("first")
    for r in d.index[(commune.notna() & commune.duplicated(keep="first")).to_numpy()]:
        probs.append(sh.problem(int(r), "commune_code", f"xã {commune[r]} đã có ở dòng {first[r]}",
                                f"duplicate commune {commune[r]}: already in row {first[r]}"))
    counts = {}
    for p in pf:
        raw = d[f"f:{p.code}"].str.replace(r"^\d{1,3}(?:\.\d{3})+$", lambda m: m.group(0).replace(".", ""),
                                            regex=True)
        val = parse_numbers(raw).where(raw != "", 0.0)
        bad = val.isna() | (val < 0) | (val != val.round())
        for r in d.index[bad.to_numpy()]:
            probs.append(sh.problem(int(r), f"f:{p.code}", f"số hồ sơ '{d.at[r, f'f:{p.code}']}' không phải số "
                                    "nguyên không âm", f"dossier count '{d.at[r, f'f:{p.code}']}' is not a whole "
                                    "number ≥ 0"))
        counts[p.code] = val
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


