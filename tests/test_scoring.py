"""Scoring rules against hand-computed fixtures (the tiny methodology of conftest.MINI, scale 20)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import assessment_rows

from parindex import scoring

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
