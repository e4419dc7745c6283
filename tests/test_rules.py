"""No silent judgement calls (issue 12): the satisfaction estimator the methodology declares (the rule by
default), every exclusion / zero weight / rescaling / bonus row listed with the points it moved, one rule for
bands at the boundary, several bonus or deduction rows per commune. Hand-computed fixtures on conftest.MINI
(scale 20: appraised 1.1.1 (2), 1.1.2 (2), 1.2 (3), 2.1 (5); officials 1.3 (3); SIPAS 2.2 (5) with factors
F1 = Q1, Q2 and F2 = Q3; bonus T / deduction TR capped at 2; bands A ≥ 90, B ≥ 80, C)."""

from __future__ import annotations

import copy

import numpy as np
import openpyxl
import pandas as pd
import pytest
from bad_inputs import COMMUNES, write_xlsx
from conftest import MINI, REFERENCE_METHODOLOGY, ROOT, assessment_rows

from parindex import scoring, surveys
from parindex.communes import CommuneMatcher
from parindex.ingest import InputError, read_assessment
from parindex.methodology import load_methodology, parse_methodology, write_effective_methodology
from parindex.params import ParamsError, load_params
from parindex.publish.export import write_results_xlsx
from parindex.publish.labels import band_rule_text
from parindex.publish.report import ReportContext, render_report
from parindex.text import fmt_pct, round_half_up
from parindex.uncertainty.rules import band_index

NaN = float("nan")


def officials(rows):
    return pd.DataFrame(rows, columns=["ballot_id", "group", "commune_code", "question", "answer"])


def ballots(rows):
    """rows: (ballot, commune, procedure field, (Q1, Q2, Q3)); None = blank answer."""
    out = [(b, c, f, q, a) for b, c, f, ans in rows for q, a in zip(("Q1", "Q2", "Q3"), ans)]
    df = pd.DataFrame(out, columns=["ballot_id", "commune_code", "procedure_field", "question", "answer"])
    return df.assign(answer=df["answer"].astype("Int64"), weight=1.0)


def dossiers(rows):
    return pd.DataFrame(rows, columns=["commune_code", "procedure_field", "dossiers"]).astype({"dossiers": "int64"})


def full_assessment(codes=("1.1.1", "1.1.2", "1.2", "2.1"), extra=()):
    """Every commune at full marks on the appraised leaves given, plus extra rows
    (commune, code, self, appraised, not_applicable, reason)."""
    pts = {"1.1.1": 2, "1.1.2": 2, "1.2": 3, "2.1": 5}
    rows = [(c, k, pts[k], NaN, False, "") for c in ("X1", "X2", "X3") for k in codes]
    return assessment_rows(rows + list(extra))


def with_estimator(d: dict, estimator: str) -> dict:
    d = copy.deepcopy(d)
    d["satisfaction_survey"]["estimator"] = estimator
    return d


# ================================================================ 1. the estimator ====
def test_the_rule_is_the_default_estimator(mini):
    # The reference methodology and its variant declare the plain share; a file that says nothing gets it too.
    assert load_methodology(REFERENCE_METHODOLOGY).satisfaction_survey.estimator == "plain_share"
    assert load_methodology(ROOT / "methodologies" / "variant-survey40-v1.yaml"
                            ).satisfaction_survey.estimator == "plain_share"
    assert "estimator" not in MINI["satisfaction_survey"] and mini.satisfaction_survey.estimator == "plain_share"
    with pytest.raises(Exception, match="estimator"):
        parse_methodology(with_estimator(MINI, "weighted_somehow"), "mini")


@pytest.fixture
def estimator_case():
    """X1: HT ballots h1 (5,5,5), h2 (5,5,5), h3 (1,1,1); CT ballot c1 (1,1,1); dossiers HT 90, CT 10.
    Everything else at full marks: appraisal 12 + officials 3 (one A) = 15 of 15, SIPAS worth 5.

    plain share: F1 4 positive of 8 answers = 0.5, F2 2 of 4 = 0.5 → SIPAS 0.5 → 2.5 points
                 → 17.5 / 20 = 87.5 % → band B
    dossier weighted: weights HT (90/100) / (3/4) = 1.2, CT (10/100) / (1/4) = 0.4;
                 F1 positive 2·2·1.2 = 4.8 of 3·2·1.2 + 2·0.4 = 8 → 0.6, F2 2.4 of 4 → 0.6 → SIPAS 0.6
                 → 3 points → 18 / 20 = 90 % → band A
    X2, X3: one HT ballot all 5 (dossiers HT 20) → SIPAS 1 → 20 / 20 = 100 % under both."""
    a = full_assessment()
    o = officials([(f"o{c}", "G1", c, "1.3", "A") for c in ("X1", "X2", "X3")])
    s = ballots([("h1", "X1", "HT", (5, 5, 5)), ("h2", "X1", "HT", (5, 5, 5)), ("h3", "X1", "HT", (1, 1, 1)),
                 ("c1", "X1", "CT", (1, 1, 1)), ("p2", "X2", "HT", (5, 5, 5)), ("p3", "X3", "HT", (5, 5, 5))])
    d = dossiers([("X1", "HT", 90), ("X1", "CT", 10), ("X2", "HT", 20), ("X3", "HT", 20)])
    return a, o, s, d


def test_apply_estimator_weights(estimator_case):
    _, _, s, d = estimator_case
    plain, table = surveys.apply_estimator(s, d, "plain_share")
    assert (plain["weight"] == 1.0).all()
    weighted, _ = surveys.apply_estimator(s, d, "dossier_weighted")
    w = weighted.drop_duplicates("ballot_id").set_index("ballot_id")["weight"]
    assert w[["h1", "h2", "h3", "c1", "p2"]].tolist() == pytest.approx([1.2, 1.2, 1.2, 0.4, 1.0])
    # the dossier-weights table is kept either way (for the check of the other estimator)
    assert table.set_index(["commune_code", "procedure_field"]).loc[("X1", "CT"), "weight"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="plain_share, dossier_weighted"):
        surveys.apply_estimator(s, d, "poststratify")


def test_published_score_follows_the_declared_estimator_and_the_other_is_checked(estimator_case, mini,
                                                                                  mini_communes):
    a, o, s, d = estimator_case
    out = scoring.score_all(a, o, s, mini, mini_communes, dossiers=d)
    r = out["results"].set_index("commune_code")
    assert r.loc["X1", "index_pct"] == pytest.approx(87.5) and r.loc["X1", "band"] == "B"
    chk = out["estimator_check"].set_index("commune_code")
    assert chk.loc["X1", "index_plain_share"] == pytest.approx(87.5)
    assert chk.loc["X1", "index_dossier_weighted"] == pytest.approx(90.0)
    assert (chk.loc["X1", "band_plain_share"], chk.loc["X1", "band_dossier_weighted"]) == ("B", "A")
    assert chk["band_differs"].to_dict() == {"X2": False, "X3": False, "X1": True}  # results order (rank)
    assert chk.loc["X2", "index_dossier_weighted"] == pytest.approx(100.0)
    assert chk["rank_plain_share"].to_dict() == {"X2": 1, "X3": 1, "X1": 3}

    # The same data under a methodology that declares dossier weighting: published 90 % (band A).
    dw = parse_methodology(with_estimator(MINI, "dossier_weighted"), "mini-dw")
    sw, _ = surveys.apply_estimator(s, d, "dossier_weighted")
    out = scoring.score_all(a, o, sw, dw, mini_communes, dossiers=d)
    assert out["results"].set_index("commune_code").loc["X1", "band"] == "A"
    assert out["estimator_check"].set_index("commune_code").loc["X1", "index_dossier_weighted"] == pytest.approx(90.0)
    # One place decides: a satisfaction table weighted for the other estimator is refused.
    with pytest.raises(ValueError, match="weighs 1 but the methodology's estimator 'dossier_weighted' gives 1.2"):
        scoring.score_all(a, o, s, dw, mini_communes, dossiers=d)
    with pytest.raises(ValueError, match="'plain_share' gives 1"):
        scoring.score_all(a, o, sw, mini, mini_communes, dossiers=d)


def test_estimator_override_writes_a_variant_methodology(tmp_path):
    m = write_effective_methodology(REFERENCE_METHODOLOGY, tmp_path / "a.yaml", satisfaction_estimator="plain_share")
    assert (tmp_path / "a.yaml").read_bytes() == REFERENCE_METHODOLOGY.read_bytes()  # as declared: a byte copy
    m = write_effective_methodology(REFERENCE_METHODOLOGY, tmp_path / "b.yaml",
                                    satisfaction_estimator="dossier_weighted")
    assert m.satisfaction_survey.estimator == "dossier_weighted"
    assert m.meta.id == "reference-default-v1+dossier_weighted" and m.meta.status == "variant"
    assert "satisfaction.estimator=dossier_weighted" in m.meta.note


def test_one_switch_for_the_estimator(tmp_path):
    p = load_params(2023, None, ["satisfaction.estimator=dossier_weighted"])
    assert p.satisfaction.estimator == "dossier_weighted"
    assert load_params(2023).satisfaction.estimator is None  # unset: the methodology decides
    with pytest.raises(ParamsError, match="survey.poststratify' was removed.*satisfaction.estimator"):
        load_params(2023, None, ["survey.poststratify=true"])
    f = tmp_path / "p.yaml"
    f.write_text("year: 2023\ninputs: {raw_dir: x}\nsurvey: {poststratify: false}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="survey.poststratify was removed"):
        load_params(2023, f)
    with pytest.raises(ParamsError, match="satisfaction.estimator"):
        load_params(2023, None, ["satisfaction.estimator=weighted"])


# ================================================================ 2. the adjustment log ====
def _two_questions(d: dict) -> dict:
    """MINI with 1.2 scored by the officials' survey too: officials 1.2 (3) + 1.3 (3); appraised 1.1.1 (2),
    1.1.2 (2), 2.1 (5) = 9; SIPAS 2.2 (5)."""
    d = copy.deepcopy(d)
    d["fields"][0]["criteria"][1]["source"] = "officials_survey"
    return d


@pytest.fixture
def log_case():
    """X1: 1.1.1 entered 2 of 4 on a form made for another maximum → 1 of 2 (−1 point); two bonus rows
        1.5 + 1 = 2.5, capped at 2 (−0.5); officials 1.2 A, 1.3 A = 6; ballots HT h1 (5,5,5), HT h2 (1,1,1),
        CT c1 (5,5,5); dossiers HT 10, CT 0, DD 5 (no ballot).
    X2: full appraisal 9; two deduction rows 0.5 + 0.5 = 1 (under the cap); officials 1.2 A, 1.3 blank only
        (1.3 leaves points and maximum); one ballot all 5; not in the dossier file.
    X3: full appraisal 9; officials 6; one ballot (5, 5, blank): factor F2 has no answer → SIPAS = F1 = 1."""
    a = full_assessment(("1.1.1", "1.1.2", "2.1"), extra=[
        ("X1", "T", 1.5, NaN, False, ""), ("X1", "T", 1.0, NaN, False, "Bằng khen của tỉnh"),
        ("X2", "TR", 0.5, NaN, False, ""), ("X2", "TR", 0.5, NaN, False, "")])
    a["evidence"] = ["", "", "", "", "", "", "", "", "", "Sáng kiến một cửa", "", "Chậm báo cáo", "Vi phạm kỷ luật"]
    a["max_points_form"] = NaN
    x1 = (a["commune_code"] == "X1") & (a["code"] == "1.1.1")
    a.loc[x1, ["self_points", "appraised_points", "max_points_form", "reason"]] = [4.0, 2.0, 4.0, "Chưa đạt"]
    o = officials([("o1", "G1", "X1", "1.2", "A"), ("o1", "G1", "X1", "1.3", "A"),
                   ("o2", "G1", "X2", "1.2", "A"), ("o2", "G1", "X2", "1.3", ""),
                   ("o3", "G1", "X3", "1.2", "A"), ("o3", "G1", "X3", "1.3", "A")])
    s = ballots([("h1", "X1", "HT", (5, 5, 5)), ("h2", "X1", "HT", (1, 1, 1)), ("c1", "X1", "CT", (5, 5, 5)),
                 ("p2", "X2", "HT", (5, 5, 5)), ("p3", "X3", "HT", (5, 5, None))])
    d = dossiers([("X1", "HT", 10), ("X1", "CT", 0), ("X1", "DD", 5), ("X3", "HT", 7)])
    return a, o, s, d


def _log(out) -> list[tuple]:
    g = out["adjustment_log"]
    return [(r.commune_code, r.kind, round(r.points_effect, 4), round(r.max_effect, 4), round(r.index_effect, 4))
            for r in g.itertuples()]


def test_adjustment_log_by_hand_plain_share(log_case, mini_dict, mini_communes):
    a, o, s, d = log_case
    meth = parse_methodology(_two_questions(mini_dict), "mini2")
    out = scoring.score_all(a, o, s, meth, mini_communes, dossiers=d)
    r = out["results"].set_index("commune_code")
    # X1: appraisal 1 + 2 + 5 = 8; officials 6; SIPAS plain: F1 4 of 6, F2 2 of 3 → 2/3 → 10/3; bonus 2
    #     → 8 + 6 + 10/3 + 2 = 19.333… of 20 → 96.667 %
    # X2: 9 + 3 + 5 − 1 = 16 of 17 (1.3 left out) → 94.118 %;  X3: 9 + 6 + 5 = 20 of 20 → 100 %
    assert r.loc["X1", "points"] == pytest.approx(8 + 6 + 10 / 3 + 2)
    assert (r.loc["X2", "points"], r.loc["X2", "max_points"]) == pytest.approx((16.0, 17.0))
    assert r.loc["X3", "index_pct"] == pytest.approx(100.0)
    assert _log(out) == [
        # X3 (rank 1): F2 counted 0 would give SIPAS 0.5 → 2.5 points: +2.5 points; 100 − 17.5/20 = +12.5
        ("X3", "factor_without_answers", 2.5, 0.0, 12.5),
        # X1 (rank 2, max 20): the rescaling took 1 point (2 of 4 → 1 of 2): −1/20 = −5 %
        ("X1", "rescaled_form_maximum", -1.0, 0.0, -5.0),
        ("X1", "field_without_dossiers", 0.0, 0.0, 0.0),   # plain share: CT ballot counted like the others
        ("X1", "field_without_ballots", 0.0, 0.0, 0.0),    # DD: 5 dossiers, no ballot
        ("X1", "bonus", 1.5, 0.0, 7.5), ("X1", "bonus", 1.0, 0.0, 5.0),   # each row / 20
        ("X1", "bonus_cap", -0.5, 0.0, -2.5),              # 2.5 capped at 2
        # X2 (rank 3): 1.3 counted 0 would give 16 / 20 = 80 %: +14.118 %; maximum −3
        ("X2", "question_without_answers", 0.0, -3.0, round(16 / 17 * 100 - 80, 4)),
        ("X2", "commune_without_dossiers", 0.0, 0.0, 0.0),
        ("X2", "deduction", -0.5, 0.0, round(-0.5 / 17 * 100, 4)), ("X2", "deduction", -0.5, 0.0, round(-0.5 / 17 * 100, 4)),
    ]
    det = out["adjustment_log"].set_index(["commune_code", "kind"])["detail"]
    assert det[("X1", "rescaled_form_maximum")] == ("Tiêu chí 1.1.1: 2/4 điểm theo điểm tối đa trên biểu mẫu, quy đổi "
                                                    "thành 1/2 điểm theo bộ tiêu chí (cùng tỷ lệ)")
    assert "Bằng khen của tỉnh" in det[("X1", "bonus")].iloc[1] and "Sáng kiến một cửa" in det[("X1", "bonus")].iloc[0]
    assert "Tổng điểm thưởng 2,5 điểm (2 dòng) vượt mức tối đa 2 điểm" in det[("X1", "bonus_cap")]
    assert "vẫn tính như mọi phiếu" in det[("X1", "field_without_dossiers")]
    assert "không có trong tệp số hồ sơ" in det[("X2", "commune_without_dossiers")]
    assert "F2 (Yếu tố 2)" in det[("X3", "factor_without_answers")]
    assert "Chứng thực" in det[("X1", "field_without_dossiers")] and "có 5 hồ sơ" in det[("X1", "field_without_ballots")]


def test_adjustment_log_zero_weight_ballots_under_dossier_weighting(log_case, mini_dict, mini_communes):
    a, o, s, d = log_case
    meth = parse_methodology(with_estimator(_two_questions(mini_dict), "dossier_weighted"), "mini2-dw")
    sw, _ = surveys.apply_estimator(s, d, "dossier_weighted")
    out = scoring.score_all(a, o, sw, meth, mini_communes, dossiers=d)
    # X1: dossier shares over the fields with ballots HT 10/10 = 1, CT 0; ballot shares 2/3, 1/3
    #     → HT weight 1.5, CT 0. Published F1 3 of 6 = 0.5, F2 1.5 of 3 = 0.5 → 2.5 points.
    #     CT at weight 1 instead: F1 (3 + 2) / (6 + 2) = 0.625, F2 2.5 / 4 = 0.625 → 3.125 points.
    #     The zero weight moved −0.625 points: −0.625 / 20 = −3.125 %.
    row = out["adjustment_log"].query("commune_code == 'X1' and kind == 'field_without_dossiers'").iloc[0]
    assert (row.points_effect, row.index_effect) == pytest.approx((-0.625, -3.125))
    assert "trọng số 0" in row.detail
    r = out["results"].set_index("commune_code")
    assert r.loc["X1", "points"] == pytest.approx(8 + 6 + 2.5 + 2)
    x2 = out["adjustment_log"].query("commune_code == 'X2' and kind == 'commune_without_dossiers'").iloc[0]
    assert "giữ trọng số 1" in x2.detail and x2.points_effect == 0.0


def test_whole_survey_without_answers_is_logged_when_allowed(mini, mini_communes):
    # X3 has no officials' answer at all: with allow_missing_as_zero its 1.3 (3 points) leaves the maximum.
    a = full_assessment()
    o = officials([("o1", "G1", "X1", "1.3", "A"), ("o2", "G1", "X2", "1.3", "A")])
    s = ballots([(f"p{c}", c, "HT", (5, 5, 5)) for c in ("X1", "X2", "X3")])
    out = scoring.score_all(a, o, s, mini, mini_communes, allow_missing_as_zero=True)
    # X3: 12 + 5 = 17 of 17 = 100 %; 1.3 counted 0 → 17 / 20 = 85 %: +15
    assert _log(out) == [("X3", "survey_without_answers", 0.0, -3.0, 15.0)]
    # without the dossiers there is no estimator check (nothing to weight by)
    assert out["estimator_check"].empty and list(out["estimator_check"].columns) == [
        "commune_code", "index_plain_share", "index_dossier_weighted", "rank_plain_share", "rank_dossier_weighted",
        "band_plain_share", "band_dossier_weighted", "band_differs"]


def test_log_and_check_in_the_report_and_the_xlsx(log_case, estimator_case, mini, mini_dict, mini_communes,
                                                  tmp_path):
    a, o, s, d = estimator_case
    t = scoring.score_all(a, o, s, mini, mini_communes, dossiers=d)
    html = render_report(t, mini, ReportContext(year=2023, district="Huyện Thử", province="Tỉnh Thử",
                                                params={"scoring": {"rank_decimals": 2}}))
    # the estimator used, and the commune whose band the other would change, in the summary and the appendix
    assert "Chỉ số hài lòng tính theo tỷ lệ đơn giản (mỗi phiếu như nhau, theo quy định)" in html
    assert "Xã Một (87,50\u00a0%, 80–90; theo cách kia 90,00\u00a0%, ≥ 90)" in html
    assert 'id="estimator-used"' in html and 'id="estimator-changes"' in html
    assert "89,995 % được công bố là 90,00 %" in html   # the band rule in the method appendix
    a2, o2, s2, d2 = log_case
    meth = parse_methodology(_two_questions(mini_dict), "mini2")
    t2 = scoring.score_all(a2, o2, s2, meth, mini_communes, dossiers=d2)
    html = render_report(t2, meth, ReportContext(year=2023, district="Huyện Thử", province="Tỉnh Thử"))
    assert 'id="adjustment-log"' in html and "Điểm thưởng vượt mức tối đa" in html and "+14,12" in html
    write_results_xlsx(t2, meth, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    rows = [[c.value for c in r] for r in wb["Điều chỉnh và loại trừ"].iter_rows()]
    # the council reads words, not codes (the codes stay in the score table adjustment_log)
    assert rows[0] == ["Mã xã", "Tên xã, thị trấn", "Loại", "Nội dung", "Thay đổi điểm đạt",
                       "Thay đổi điểm tối đa", "Thay đổi chỉ số (điểm phần trăm)"]
    from parindex.publish.labels import ADJUSTMENT_KIND_LABELS
    assert [r[2] for r in rows[1:]] == [ADJUSTMENT_KIND_LABELS[k] for k in out_kinds(t2)]
    assert rows[1][:3] == ["X3", "Xã Ba", "Yếu tố hài lòng không có câu trả lời"]
    chk = [[c.value for c in r] for r in wb["Kiểm tra cách tính hài lòng"].iter_rows()]
    assert chk[0][2] == "Chỉ số (%): tỷ lệ đơn giản — công bố" and len(chk) == 4
    info = {r[0].value: r[1].value for r in wb["Phương pháp"].iter_rows(min_row=2)}
    assert info["Quy tắc xếp loại"] == band_rule_text(meth, 2)
    assert info["Cách tính chỉ số hài lòng"].startswith("tỷ lệ đơn giản")


def out_kinds(t) -> list[str]:
    return t["adjustment_log"]["kind"].tolist()


# ================================================================ 3. bands at the boundary ====
def test_band_rule_at_89_995_and_89_9949(mini, mini_communes):
    """The published index is rounded half up to 2 decimals, then banded and ranked: 17.999 of 20 is
    89.995 % (float: 89.99499999999999) → published 90,00 % → band A, tied with 18 of 20 = 90 %;
    17.99898 of 20 = 89.9949 % → published 89,99 % → band B."""
    ls = pd.DataFrame({"commune_code": ["X1", "X2", "X3"], "code": "1.2", "field_code": "1", "source": "appraisal",
                       "max_points": 20.0, "points": [17.999, 18.0, 17.99898]})
    adj = pd.DataFrame({"commune_code": ["X1", "X2", "X3"], "bonus": 0.0, "deduction": 0.0})
    r = scoring.aggregate(ls, adj, mini, mini_communes).set_index("commune_code")
    assert r.loc["X1", "index_pct"] < 89.995  # binary noise below the half …
    assert r["band"].to_dict() == {"X1": "A", "X2": "A", "X3": "B"}  # … still published and banded as 90,00
    assert r["rank"].to_dict() == {"X1": 1, "X2": 1, "X3": 3}
    assert [fmt_pct(v) for v in r["index_pct"]] == ["90,00\u00a0%", "90,00\u00a0%", "89,99\u00a0%"]
    # the same rule in the methodology and in the robustness stage's array version
    assert mini.band_of(pd.Series([89.995, 89.9949, 79.995, 79.9949])).tolist() == ["A", "B", "B", "C"]
    assert band_index(np.array([[89.995, 89.9949], [17.999 / 20 * 100, 79.995]]), mini, 2).tolist() == [[0, 1], [0, 1]]
    assert round_half_up(89.995) == 90.0 and round_half_up(89.9949) == 89.99 and round_half_up(-0.125) == -0.13
    # with one decimal published, 89.95 is 90,0 and 89.9449 is 89,9
    assert mini.band_of(pd.Series([89.95, 89.9449]), decimals=1).tolist() == ["A", "B"]
    assert band_index(np.array([89.95, 89.9449]), mini, 1).tolist() == [0, 1]


def test_band_rule_text_states_the_examples(mini):
    assert band_rule_text(mini, 2) == (
        "Xếp loại và xếp hạng theo chỉ số công bố: chỉ số làm tròn đến 2 chữ số thập phân (từ 5 trở lên làm tròn lên) "
        "rồi so với ngưỡng, ví dụ 89,995 % được công bố là 90,00 % và thuộc loại “≥ 90”; 89,9949 % được công bố là "
        "89,99 % và không thuộc loại đó.")


# ================================================================ 4. several bonus / deduction rows ====
def test_several_bonus_rows_are_summed_before_the_cap(mini, mini_communes):
    # X1: bonus rows 1.5 and 1 → 2.5, capped at 2; deduction rows 0.5 and 1 → 1.5 (under the cap 2).
    # X2: one bonus row 3 → capped at 2. Everything else full: 20 of 20.
    # X1: 20 + 2 − 1.5 = 20.5 → 102.5 %; X2: 22 → 110 %; X3: 20 → 100 %
    a = full_assessment(extra=[("X1", "T", 1.5, NaN, False, ""), ("X1", "T", 1.0, NaN, False, ""),
                               ("X1", "TR", 0.5, NaN, False, ""), ("X1", "TR", 1.0, NaN, False, ""),
                               ("X2", "T", 3.0, NaN, False, "")])
    o = officials([(f"o{c}", "G1", c, "1.3", "A") for c in ("X1", "X2", "X3")])
    s = ballots([(f"p{c}", c, "HT", (5, 5, 5)) for c in ("X1", "X2", "X3")])
    out = scoring.score_all(a, o, s, mini, mini_communes)
    r = out["results"].set_index("commune_code")
    assert r[["bonus", "deduction"]].loc["X1"].tolist() == [2.0, 1.5]
    assert r.loc["X1", "index_pct"] == pytest.approx(102.5) and r.loc["X2", "index_pct"] == pytest.approx(110.0)
    kinds = out["adjustment_log"][["commune_code", "kind", "points_effect"]].values.tolist()
    assert kinds == [["X2", "bonus", 3.0], ["X2", "bonus_cap", -1.0],
                     ["X1", "bonus", 1.5], ["X1", "bonus", 1.0], ["X1", "bonus_cap", -0.5],
                     ["X1", "deduction", -0.5], ["X1", "deduction", -1.0]]
    # a repeated criterion row is still refused (only T / TR may repeat)
    dup = pd.concat([a, a.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="X1, criterion 1.1.1 has more than one row"):
        scoring.score_all(dup, o, s, mini, mini_communes)


ASS_HEADER = ["Mã xã", "Tên xã", "Mã tiêu chí", "Tên tiêu chí", "Điểm tối đa", "Điểm tự chấm", "Điểm thẩm định",
              "Lý do thẩm định", "Ghi chú minh chứng", "Không áp dụng"]


def test_reader_keeps_several_bonus_rows_and_refuses_repeated_criteria(tmp_path, mini):
    rows = [ASS_HEADER,
            ["11251", "", "1.2", "", 3, 3, None, None, None, None],
            ["11251", "", "T", "", 2, 1.5, None, None, "Sáng kiến", None],
            ["11251", "", "T", "", 2, 1, 0.5, "Chỉ cấp huyện", "Giấy khen", None],
            ["11251", "", "TR", "", 2, 0.5, None, None, "Chậm báo cáo", None],
            ["11251", "", "tr", "", 2, 0.5, None, None, "Vi phạm", None]]
    a, rej = read_assessment(write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem"), mini,
                             CommuneMatcher(COMMUNES))
    assert a[["code", "self_points", "evidence"]].values.tolist() == [
        ["1.2", 3.0, ""], ["T", 1.5, "Sáng kiến"], ["T", 1.0, "Giấy khen"], ["TR", 0.5, "Chậm báo cáo"],
        ["TR", 0.5, "Vi phạm"]]
    from parindex.ingest.clean import SCHEMAS
    SCHEMAS["assessment"].validate(a)   # the clean schema accepts repeated T / TR rows
    rows.append(["11251", "", "1.2", "", 3, 2, None, None, None, None])
    with pytest.raises(InputError, match="đã có ở dòng 2"):
        read_assessment(write_xlsx(tmp_path / "tu_danh_gia_tham_dinh_2023.xlsx", rows, "ChamDiem"), mini,
                        CommuneMatcher(COMMUNES))


def test_entry_form_says_how_several_grounds_are_entered(mini, mini_communes):
    from parindex.surveyplan.entry_templates import assessment_template
    ws = assessment_template(mini, mini_communes, year=2023, district="UBND HUYỆN THỬ").active
    text = " ".join(str(c.value) for row in ws.iter_rows(max_row=5) for c in row if c.value)
    assert "nhiều dòng cùng mã của một xã được cộng lại" in text and "liệt kê từng nội dung" in text



def test_a_whole_form_of_rescaled_scores_is_one_line_in_the_page(mini, mini_communes):
    # X1 entered all four appraised leaves on a form with other maxima: 1.1.1 2/4, 1.1.2 2/4, 1.2 3/6, 2.1 5/10
    # → each counted as the same share: 1/2, 1/2, 1.5/3, 2.5/5 — points moved −1, −1, −1.5, −2.5 = −6 of 20
    # → −30 % in one line of the page; the table (and the xlsx) keep the four lines.
    a = full_assessment()
    a["max_points_form"] = NaN
    x1 = a["commune_code"] == "X1"
    a.loc[x1, "max_points_form"] = a.loc[x1, "self_points"] * 2
    o = officials([(f"o{c}", "G1", c, "1.3", "A") for c in ("X1", "X2", "X3")])
    s = ballots([(f"p{c}", c, "HT", (5, 5, 5)) for c in ("X1", "X2", "X3")])
    t = scoring.score_all(a, o, s, mini, mini_communes)
    assert t["adjustment_log"]["points_effect"].tolist() == [-1.0, -1.0, -1.5, -2.5]
    html = render_report(t, mini, ReportContext(year=2023, district="Huyện Thử", province="Tỉnh Thử"))
    assert "4 tiêu chí chấm theo điểm tối đa trên biểu mẫu khác bộ tiêu chí" in html
    assert ">−6,00<" in html and ">−30,00<" in html   # one minus sign: U+2212
