"""Scoring rules against hand-computed fixtures (the tiny methodology of conftest.MINI, scale 20)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import assessment_rows

from parindex import scoring
from parindex.methodology import parse_methodology

NaN = float("nan")


def full_assessment(overrides=None):
    """Every commune gets every appraised leaf at full marks unless overridden.

    Leaves: 1.1.1 (2), 1.1.2 (2), 1.2 (3), 2.1 (5) → 12 appraised points."""
    base = {(c, code): (pts, NaN, False, "") for c in ("X1", "X2", "X3")
            for code, pts in (("1.1.1", 2), ("1.1.2", 2), ("1.2", 3), ("2.1", 5))}
    base.update(overrides or {})
    return assessment_rows([(c, code, *v) for (c, code), v in base.items()])


# ---------------------------------------------------------------- appraisal ----
def test_appraised_points_cut_blank_accepts_self(mini):
    a = full_assessment({
        ("X1", "1.1.1"): (2, 1, False, "Thiếu tài liệu kiểm chứng"),  # cut 2 → 1
        ("X1", "1.1.2"): (2, NaN, False, ""),                          # blank appraised = self (2)
        ("X1", "2.1"): (5, 4, False, "Chậm"),                          # cut 5 → 4
    })
    s = scoring.score_appraisal(a, mini)
    x1 = s[s.commune_code == "X1"].set_index("code")
    # 1 + 2 + 3 + 4 = 10 of 2 + 2 + 3 + 5 = 12
    assert x1["points"].to_dict() == {"1.1.1": 1.0, "1.1.2": 2.0, "1.2": 3.0, "2.1": 4.0}
    assert x1["points"].sum() == 10.0
    assert x1["max_points"].sum() == 12.0
    assert x1["self_points"].sum() == 12.0


def test_not_applicable_leaves_numerator_and_maximum(mini):
    a = full_assessment({("X2", "1.2"): (0, 0, True, "")})
    s = scoring.score_appraisal(a, mini)
    x2 = s[s.commune_code == "X2"]
    # 1.2 (3 points) is not applicable: 2 + 2 + 5 = 9 of 9
    assert x2["points"].sum() == 9.0
    assert x2["max_points"].sum() == 9.0
    assert not x2.set_index("code").loc["1.2", "applicable"]


def test_appraised_above_maximum_is_refused(mini):
    a = full_assessment({("X3", "1.2"): (3, 3.5, False, "")})
    with pytest.raises(ValueError, match=r"X3.*1\.2.*0–3"):
        scoring.score_appraisal(a, mini)


def test_appraisal_changes_flags_raise_and_cut_without_reason(mini):
    a = full_assessment({
        ("X1", "1.1.1"): (2, 1, False, "Thiếu tài liệu"),  # cut with reason: no flag
        ("X2", "1.1.2"): (1, 2, False, "Bổ sung minh chứng"),  # raise: flagged
        ("X3", "2.1"): (5, 2.5, False, ""),  # cut without reason: flagged
    })
    ch = scoring.appraisal_changes(a, mini).set_index(["commune_code", "code"])
    assert len(ch) == 3
    assert ch.loc[("X1", "1.1.1"), "change"] == -1.0 and ch.loc[("X1", "1.1.1"), "flag"] == ""
    assert ch.loc[("X2", "1.1.2"), "kind"] == "raise" and ch.loc[("X2", "1.1.2"), "flag"] == "nâng điểm"
    assert ch.loc[("X3", "2.1"), "change"] == -2.5
    assert ch.loc[("X3", "2.1"), "flag"] == "giảm điểm không có lý do"


def test_bonus_and_deduction_are_capped(mini):
    a = pd.concat([full_assessment(), assessment_rows([
        ("X1", "T", 3, NaN, False, ""),      # bonus 3 → capped at 2
        ("X2", "T", 1, 0.5, False, "Chưa đủ căn cứ"),  # appraised 0.5
        ("X2", "TR", 1, NaN, False, ""),     # deduction 1
        ("X3", "TR", 2.5, NaN, False, ""),   # deduction 2.5 → capped at 2
    ])], ignore_index=True)
    adj = scoring.adjustments(a, mini, pd.Series(["X1", "X2", "X3"])).set_index("commune_code")
    assert adj.loc["X1"].tolist() == [2.0, 0.0]
    assert adj.loc["X2"].tolist() == [0.5, 1.0]
    assert adj.loc["X3"].tolist() == [0.0, 2.0]


# ---------------------------------------------------------- officials survey ----
def officials(rows):
    return pd.DataFrame(rows, columns=["ballot_id", "group", "commune_code", "question", "answer"])


def test_officials_answer_weights_blank_excluded(mini):
    o = officials([
        ("b1", "G1", "X1", "1.3", "A"), ("b2", "G1", "X1", "1.3", "B"), ("b3", "G2", "X1", "1.3", "C"),
        ("b4", "G2", "X1", "1.3", "D"), ("b5", "G2", "X1", "1.3", ""),
    ])
    s = scoring.score_officials(o, mini, pd.Series(["X1"])).iloc[0]
    # (1 + 0.6 + 0.2 + 0) / 4 = 0.45 (the blank counts nowhere); 3 points × 0.45 = 1.35
    assert s["points"] == pytest.approx(1.35)
    assert s["max_points"] == 3.0
    assert s["n_answers"] == 4


def test_officials_pooled_vs_equal_group_weighting(mini):
    o = officials([
        ("b1", "G1", "X1", "1.3", "A"), ("b2", "G1", "X1", "1.3", "B"), ("b3", "G2", "X1", "1.3", "D"),
    ])
    pooled = scoring.score_officials(o, mini, pd.Series(["X1"]), "pooled").iloc[0]["points"]
    equal = scoring.score_officials(o, mini, pd.Series(["X1"]), "equal").iloc[0]["points"]
    # pooled: (1 + 0.6 + 0) / 3 = 0.5333… → 1.6 points; equal: mean(G1 0.8, G2 0.0) = 0.4 → 1.2 points
    assert pooled == pytest.approx(1.6)
    assert equal == pytest.approx(1.2)


def test_officials_no_valid_answer_leaves_maximum(mini):
    o = officials([("b1", "G1", "X1", "1.3", ""), ("b2", "G1", "X2", "1.3", "A")])
    s = scoring.score_officials(o, mini, pd.Series(["X1", "X2"])).set_index("commune_code")
    assert s.loc["X1", "max_points"] == 0.0 and not s.loc["X1", "applicable"]
    assert s.loc["X2", "points"] == 3.0


# -------------------------------------------------------- satisfaction survey ----
def satisfaction(rows):
    df = pd.DataFrame(rows, columns=["ballot_id", "commune_code", "question", "answer"])
    df["answer"] = df["answer"].astype("Int64")
    return df.assign(procedure_field="HT")


def test_satisfaction_share_of_4_5_per_factor_mean_over_factors(mini):
    s = satisfaction([
        ("p1", "X1", "Q1", 5), ("p1", "X1", "Q2", 2), ("p1", "X1", "Q3", 4),
        ("p2", "X1", "Q1", 4), ("p2", "X1", "Q2", 5), ("p2", "X1", "Q3", 1),
        ("p3", "X1", "Q1", 3), ("p3", "X1", "Q2", None), ("p3", "X1", "Q3", None),
    ])
    f = scoring.satisfaction_factors(s, mini).set_index("factor")
    # F1: answers 5, 2, 4, 5, 3 (one blank) → 3 of 5 positive = 0.6; F2: 4, 1 → 1 of 2 = 0.5
    assert f.loc["F1", "index"] == pytest.approx(0.6)
    assert f.loc["F1", "n_answers"] == 5
    assert f.loc["F2", "index"] == pytest.approx(0.5)
    leaf = scoring.score_satisfaction(f.reset_index(), mini, pd.Series(["X1"])).iloc[0]
    # SIPAS = (0.6 + 0.5) / 2 = 0.55; 5 points × 0.55 = 2.75
    assert leaf["points"] == pytest.approx(2.75)
    assert leaf["code"] == "2.2"


def test_satisfaction_weights(mini):
    s = satisfaction([("p1", "X1", "Q3", 5), ("p2", "X1", "Q3", 1), ("p3", "X1", "Q3", 1)])
    s["weight"] = [2.0, 1.0, 1.0]
    f = scoring.satisfaction_factors(s, mini)
    # weighted share positive: 2 / (2 + 1 + 1) = 0.5 (unweighted would be 1/3)
    assert f.iloc[0]["index"] == pytest.approx(0.5)


# ---------------------------------------------------- totals, rank and band ----
def test_score_all_totals_index_rank_band(mini, mini_communes):
    a = pd.concat([full_assessment({
        ("X1", "1.1.1"): (2, 1, False, "Thiếu tài liệu"),
        ("X3", "2.1"): (5, 0, False, "Không thực hiện"),
        ("X2", "1.2"): (0, 0, True, ""),
    }), assessment_rows([("X1", "T", 1, NaN, False, "")])], ignore_index=True)
    o = officials([(f"b{i}", "G1", c, "1.3", ans) for i, (c, ans) in enumerate(
        [("X1", "A"), ("X1", "B"), ("X2", "A"), ("X2", "A"), ("X3", "C"), ("X3", "")])])
    s = satisfaction([(f"p{c}{i}", c, q, v) for c, vals in
                      (("X1", (5, 4, 4)), ("X2", (5, 5, 2)), ("X3", (3, 4, 5)))
                      for i, (q, v) in enumerate(zip(("Q1", "Q2", "Q3"), vals))])
    out = scoring.score_all(a, o, s, mini, mini_communes)
    r = out["results"].set_index("commune_code")
    # X1: appraisal 1+2+3+5 = 11; officials (1+0.6)/2 × 3 = 2.4; SIPAS F1 2/2, F2 1/1 → 1.0 × 5 = 5; bonus 1
    #     points 11 + 2.4 + 5 + 1 = 19.4 of 20 → 97 %
    # X2: appraisal 2+2+5 = 9 (1.2 n/a, max 17); officials 3; SIPAS F1 1.0, F2 0 → 0.5 × 5 = 2.5
    #     points 14.5 of 17 → 85.294…%
    # X3: appraisal 2+2+3+0 = 7; officials 0.2 × 3 = 0.6; SIPAS F1 1/2, F2 1 → 0.75 × 5 = 3.75
    #     points 11.35 of 20 → 56.75 %
    assert r.loc["X1", "points"] == pytest.approx(19.4)
    assert r.loc["X1", "max_points"] == 20.0
    assert r.loc["X1", "index_pct"] == pytest.approx(97.0)
    assert r.loc["X2", "points"] == pytest.approx(14.5)
    assert r.loc["X2", "max_points"] == 17.0
    assert r.loc["X2", "index_pct"] == pytest.approx(14.5 / 17 * 100)
    assert r.loc["X3", "index_pct"] == pytest.approx(56.75)
    assert r["rank"].to_dict() == {"X1": 1, "X2": 2, "X3": 3}
    assert r["band"].to_dict() == {"X1": "A", "X2": "B", "X3": "C"}
    # field columns: X1 field 1 = 1 + 2 + 3 + 2.4 = 8.4, field 2 = 5 + 5 = 10
    assert r.loc["X1", "field_1_points"] == pytest.approx(8.4)
    assert r.loc["X1", "field_2_points"] == pytest.approx(10.0)
    assert list(out["results"]["commune_code"]) == ["X1", "X2", "X3"]


def test_equal_indices_share_a_rank():
    idx = pd.Series([90.004, 89.996, 91.0, 85.0])
    # at 2 decimals: 90.00, 90.00, 91.00, 85.00 → ranks 2, 2, 1, 4
    assert scoring.rank_desc(idx).tolist() == [2, 2, 1, 4]


def test_band_boundaries(mini):
    pct = pd.Series([100.0, 90.0, 89.99, 80.0, 79.99, 0.0])
    assert mini.band_of(pct).tolist() == ["A", "A", "B", "B", "C", "C"]


# ------------------------------------------------------------- completeness ----
def test_missing_rows_refuse_the_run_and_are_listed(mini, mini_communes):
    a = full_assessment()
    a = a[~((a.commune_code == "X2") & (a.code == "1.2")) & ~((a.commune_code == "X3") & (a.code == "2.1"))]
    with pytest.raises(scoring.IncompleteDataError) as e:
        scoring.complete_assessment(a, mini, mini_communes)
    assert e.value.missing[["commune_code", "code"]].values.tolist() == [["X2", "1.2"], ["X3", "2.1"]]
    assert "X2 Xã Hai: 1.2" in str(e.value)


def test_missing_rows_scored_as_zero_when_allowed(mini, mini_communes):
    a = full_assessment()
    a = a[~((a.commune_code == "X3") & (a.code == "2.1"))]
    done, missing = scoring.complete_assessment(a, mini, mini_communes, allow_missing_as_zero=True)
    assert missing[["commune_code", "code"]].values.tolist() == [["X3", "2.1"]]
    s = scoring.score_appraisal(done, mini)
    x3 = s[s.commune_code == "X3"]
    # 2.1 (5 points) counted as 0 of 5: 2 + 2 + 3 + 0 = 7 of 12
    assert x3["points"].sum() == 7.0 and x3["max_points"].sum() == 12.0
    assert not math.isnan(x3.set_index("code").loc["2.1", "points"])


def test_scores_entered_against_another_maximum_are_rescaled(mini):
    # The form said 1.2 was worth 4 points (another methodology version); this one gives it 3.
    a = full_assessment({("X1", "1.2"): (4, 2, False, "Chưa đạt")})
    a["max_points_form"] = [4.0 if (c, k) == ("X1", "1.2") else float("nan")
                            for c, k in zip(a.commune_code, a.code)]
    s = scoring.score_appraisal(a, mini).set_index(["commune_code", "code"])
    # appraised 2 of 4 = half → 1.5 of 3; self 4 of 4 → 3 of 3
    assert s.loc[("X1", "1.2"), "points"] == 1.5
    assert s.loc[("X1", "1.2"), "self_points"] == 3.0
    assert s.loc[("X2", "1.2"), "points"] == 3.0
    a.loc[(a.commune_code == "X1") & (a.code == "1.2"), "appraised_points"] = 4.5
    with pytest.raises(ValueError, match="outside 0–4"):
        scoring.score_appraisal(a, mini)


# ------------------------------------------------------- edge cases (review) ----
def _surveys_full(communes=("X1", "X2", "X3")):
    """Every listed commune: one officials' answer A on 1.3 and one satisfaction ballot all 5."""
    o = officials([(f"b{c}", "G1", c, "1.3", "A") for c in communes])
    s = satisfaction([(f"p{c}", c, q, 5) for c in communes for q in ("Q1", "Q2", "Q3")])
    return o, s


def test_commune_missing_from_a_survey_refuses_the_run(mini, mini_communes):
    # X3 has no officials' answer and no satisfaction ballot at all; X2 lacks the appraisal row 2.1.
    a = full_assessment()
    a = a[~((a.commune_code == "X2") & (a.code == "2.1"))]
    o, s = _surveys_full(("X1", "X2"))
    with pytest.raises(scoring.IncompleteDataError) as e:
        scoring.score_all(a, o, s, mini, mini_communes)
    # one refusal lists both kinds of gap
    assert e.value.missing[["commune_code", "code"]].values.tolist() == [["X2", "2.1"]]
    assert e.value.missing_surveys[["commune_code", "code", "source"]].values.tolist() == [
        ["X3", "1.3", "officials_survey"], ["X3", "2.2", "satisfaction_survey"]]
    msg = str(e.value)
    assert "X2 Xã Hai: 2.1" in msg
    assert "X3 Xã Ba — khảo sát cán bộ: 1.3" in msg and "X3 Xã Ba — khảo sát sự hài lòng: 2.2" in msg


def test_commune_missing_from_a_survey_when_allowed_leaves_the_maximum(mini, mini_communes):
    o, s = _surveys_full(("X1", "X2"))
    out = scoring.score_all(full_assessment(), o, s, mini, mini_communes, allow_missing_as_zero=True)
    r = out["results"].set_index("commune_code")
    # X1, X2: 12 appraisal + 3 officials + 5 SIPAS = 20 of 20. X3: 12 appraisal of 12 (1.3 and 2.2 left out
    # of points and maximum; scoring them 0 would give 12 of 20 = 60 %)
    assert r["max_points"].to_dict() == {"X1": 20.0, "X2": 20.0, "X3": 12.0}
    assert r.loc["X3", "points"] == 12.0
    assert out["missing"].empty
    assert out["missing_surveys"][["commune_code", "code"]].values.tolist() == [["X3", "1.3"], ["X3", "2.2"]]


def test_one_question_without_answers_is_not_a_missing_survey(mini, mini_communes):
    # X1 appears in the satisfaction survey but every F2 (Q3) answer is blank: F2 has no index, SIPAS = F1
    o, s = _surveys_full()
    s.loc[(s.commune_code == "X1") & (s.question == "Q3"), "answer"] = pd.NA
    out = scoring.score_all(full_assessment(), o, s, mini, mini_communes)
    assert out["missing_surveys"].empty
    assert out["results"].set_index("commune_code").loc["X1", "points"] == 20.0  # F1 1.0 → 5 of 5


def test_leaf_without_any_score_is_refused(mini):
    # neither self nor appraised score, not marked not applicable: would otherwise count 0 of 3 silently
    a = full_assessment({("X2", "1.2"): (NaN, NaN, False, "")})
    with pytest.raises(ValueError, match=r"commune X2, criterion 1\.2 has neither an appraised nor a self score"):
        scoring.score_appraisal(a, mini)


def test_all_appraised_leaves_of_a_field_not_applicable(mini, mini_communes):
    # X2: 1.1.1, 1.1.2 and 1.2 not applicable → field 1 keeps only the officials' survey leaf 1.3
    a = full_assessment({("X2", c): (0, NaN, True, "") for c in ("1.1.1", "1.1.2", "1.2")})
    o, s = _surveys_full()
    r = scoring.score_all(a, o, s, mini, mini_communes)["results"].set_index("commune_code")
    # X2: field 1 = 1.3: 3 of 3; field 2 = 5 + 5; points 13 of 20 − 7 = 13 → 100 %
    assert r.loc["X2", "field_1_points"] == 3.0
    assert (r.loc["X2", "points"], r.loc["X2", "max_points"], r.loc["X2", "index_pct"]) == (13.0, 13.0, 100.0)


def test_no_satisfaction_leaf_keeps_the_leaf_score_dtypes(mini_dict, mini_communes):
    mini_dict["fields"][1]["criteria"][1]["source"] = "appraisal"  # 2.2 appraised: no SIPAS leaf
    meth = parse_methodology(mini_dict, "no-sipas")
    a = full_assessment()
    a = pd.concat([a, assessment_rows([(c, "2.2", 5, NaN, False, "") for c in ("X1", "X2", "X3")])],
                  ignore_index=True)
    o, _ = _surveys_full()
    s = satisfaction([]).astype({"ballot_id": "str", "commune_code": "str", "question": "str"})
    ls = scoring.score_all(a, o, s, meth, mini_communes)["leaf_scores"]
    assert ls["points"].dtype == "float64" and ls["max_points"].dtype == "float64"
    assert ls["applicable"].dtype == bool
    assert ls["points"].sum() == 3 * 20.0  # every leaf full: 12 + 5 appraised + 3 officials per commune


def test_commune_without_any_applicable_criterion_is_refused(mini, mini_communes):
    ls = pd.DataFrame({"commune_code": ["X1", "X2", "X3"], "code": "1.2", "field_code": "1",
                       "source": "appraisal", "max_points": [3.0, 3.0, 0.0], "points": [3.0, 2.0, 0.0]})
    adj = pd.DataFrame({"commune_code": ["X1", "X2", "X3"], "bonus": 0.0, "deduction": 0.0})
    with pytest.raises(ValueError, match=r"\['X3'\] have no applicable criterion"):
        scoring.aggregate(ls, adj, mini, mini_communes)


def test_band_and_rank_use_the_published_precision(mini, mini_communes):
    # indices 90.004 %, 89.996 % and 79.996 %: shown as 90,00 %, 90,00 % and 80,00 % → bands A, A, B,
    # ranks 1, 1, 3 (banding the unrounded 89.996 as B would contradict the "90,00 %" printed beside it)
    ls = pd.DataFrame({"commune_code": ["X1", "X2", "X3"], "code": "1.2", "field_code": "1",
                       "source": "appraisal", "max_points": 100.0, "points": [90.004, 89.996, 79.996]})
    adj = pd.DataFrame({"commune_code": ["X1", "X2", "X3"], "bonus": 0.0, "deduction": 0.0})
    r = scoring.aggregate(ls, adj, mini, mini_communes).set_index("commune_code")
    assert r["band"].to_dict() == {"X1": "A", "X2": "A", "X3": "B"}
    assert r["rank"].to_dict() == {"X1": 1, "X2": 1, "X3": 3}


def test_bonus_can_take_the_index_above_100(mini, mini_communes):
    # full marks 20 of 20 plus a bonus of 1.5 (under the cap 2): 21.5 / 20 = 107.5 %, band A
    a = pd.concat([full_assessment(), assessment_rows([("X1", "T", 1.5, NaN, False, "")])], ignore_index=True)
    o, s = _surveys_full()
    r = scoring.score_all(a, o, s, mini, mini_communes)["results"].set_index("commune_code")
    assert r.loc["X1", "index_pct"] == pytest.approx(107.5)
    assert r.loc["X1", "band"] == "A" and r.loc["X1", "rank"] == 1


# ------------------------------------------------------- off-step scores ----
def test_steps_text_is_vietnamese():
    assert scoring.steps_text((1.0, 0.5, 0.0)) == "1 / 0,5 / 0"
    assert scoring.steps_text((10.0, 2.25, 0.0)) == "10 / 2,25 / 0"
    assert scoring.steps_text(None) == ""


def test_off_step_scores_are_flagged(mini):
    # 1.1.1 and 1.1.2 have steps [2, 1, 0]; 1.2 and 2.1 have none
    a = pd.concat([full_assessment({
        ("X1", "1.1.1"): (1.5, NaN, False, ""),          # self 1.5 off; blank appraised not checked
        ("X1", "1.1.2"): (2, 0.7, False, "Thiếu"),       # self 2 on a step; appraised 0.7 off
        ("X1", "1.2"): (2.2, 1.1, False, ""),            # no steps: never flagged
        ("X2", "1.1.1"): (0.5, 0.5, True, ""),           # not applicable: not flagged
        ("X2", "1.1.2"): (1 + 1e-12, NaN, False, ""),    # within the 1e-9 tolerance of 1
        ("X3", "1.1.1"): (1.3, 0.8, False, "Chưa đủ"),   # both off: self before appraised
        ("X3", "1.1.2"): (4, 1, False, "Chưa đủ"),       # form maximum 4 (below)
    }), assessment_rows([("X1", "T", 0.3, NaN, False, "")])], ignore_index=True)  # bonus: not a leaf
    # X3 1.1.2 entered against a form maximum of 4: self 4 × 2/4 = 2 (a step, although 4 is none);
    # appraised 1 × 2/4 = 0.5 (off, although 1 is a step)
    a["max_points_form"] = [4.0 if (c, k) == ("X3", "1.1.2") else NaN for c, k in zip(a.commune_code, a.code)]
    off = scoring.off_step_scores(a, mini)
    assert list(off.columns) == ["commune_code", "code", "label", "which", "value", "steps"]
    assert off[["commune_code", "code", "label", "which"]].values.tolist() == [
        ["X1", "1.1.1", "TP 1.1.1", "self"],
        ["X1", "1.1.2", "TP 1.1.2", "appraised"],
        ["X3", "1.1.1", "TP 1.1.1", "self"],
        ["X3", "1.1.1", "TP 1.1.1", "appraised"],
        ["X3", "1.1.2", "TP 1.1.2", "appraised"],
    ]
    assert off["value"].tolist() == [1.5, 0.7, 1.3, 0.8, 0.5]
    assert set(off["steps"]) == {"2 / 1 / 0"}
    assert str(off["commune_code"].dtype) == "str" and off["value"].dtype == "float64"


def test_off_step_scores_empty_when_every_score_is_a_step(mini):
    # full marks everywhere, one cut to a step (1) and a not-applicable leaf at 0.5
    a = full_assessment({("X1", "1.1.1"): (2, 1, False, "Thiếu"), ("X2", "1.1.2"): (0.5, NaN, True, "")})
    off = scoring.off_step_scores(a, mini)
    assert off.empty and list(off.columns) == ["commune_code", "code", "label", "which", "value", "steps"]
    assert off["value"].dtype == "float64"


def test_score_all_lists_off_step_scores_but_not_leaves_filled_as_zero(mini_dict, mini_communes):
    mini_dict["fields"][0]["criteria"][0]["subcriteria"][0]["steps"] = [2, 1]  # 1.1.1: no zero step
    meth = parse_methodology(mini_dict, "no-zero-step")
    a = full_assessment({("X2", "1.1.2"): (1.5, NaN, False, "")})
    a = a[~((a.commune_code == "X3") & (a.code == "1.1.1"))]  # missing → scored 0 when allowed
    o, s = _surveys_full()
    out = scoring.score_all(a, o, s, meth, mini_communes, allow_missing_as_zero=True)
    # only X2 1.1.2 self 1.5; X3 1.1.1 (0, filled in by the run, not entered) is not an off-step score
    assert out["off_step"][["commune_code", "code", "which", "value"]].values.tolist() == [
        ["X2", "1.1.2", "self", 1.5]]
    assert out["missing"][["commune_code", "code"]].values.tolist() == [["X3", "1.1.1"]]
    # the off-step score still counts as entered: X2 appraisal 2 + 1.5 + 3 + 5 = 11.5, + 3 + 5 surveys = 19.5
    assert out["results"].set_index("commune_code").loc["X2", "points"] == 19.5


def test_every_officials_ballot_excluded_is_a_clear_refusal(mini, mini_communes):
    """When cleaning excluded every officials' ballot (e.g. no respondent group recognised) the officials table is
    empty, with text columns: the score stage refuses naming each commune and survey — no internal TypeError."""
    from parindex.scoring import IncompleteDataError, score_all
    empty = pd.DataFrame({c: pd.Series(dtype="str") for c in ["ballot_id", "group", "commune_code", "question", "answer"]})
    a = assessment_rows([(c, code, 2, None, False, "") for c in ("X1", "X2", "X3")
                         for code in ("1.1.1", "1.1.2", "1.2", "2.1")])
    s = pd.DataFrame({"ballot_id": ["p1", "p2", "p3"], "commune_code": ["X1", "X2", "X3"], "procedure_field": "HT",
                      "question": "Q3", "answer": pd.array([5, 4, 3], dtype="Int64"), "weight": 1.0})
    with pytest.raises(IncompleteDataError) as e:
        score_all(a, empty, s, mini, mini_communes)
    assert sorted(e.value.missing_surveys["commune_code"].unique()) == ["X1", "X2", "X3"]
    assert set(e.value.missing_surveys["source"]) == {"officials_survey"}
