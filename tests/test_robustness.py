"""Tests of parindex.uncertainty.robustness on a tiny, hand-computable methodology with three communes.

Methodology (100 points): field 1 (60) = appraisal 1.1 (40) + officials 1.2 (20);
field 2 (40) = appraisal 2.1 (20) + officials 2.2 (10) + SIPAS 2.3 (10).
Officials' groups G1 (2 respondents per commune) and G2 (1); answers A/B/C/D = 1/0.6/0.2/0.
Satisfaction: factors TC (question TC1) and KQ (question KQ1), scale 1–5, positive 4–5.

Published values (pooled groups, share of 4–5, arithmetic):
  X1 "Xã An":    1.1 40, 2.1 20; officials all A → 20 + 10; SIPAS ballots (5,5), (5,5) → 1 → 10.
                 points 60 + 40 = 100 → 100 %.
  X2 "Xã Bình":  1.1 36, 2.1 18; 1.2: G1 A, B; G2 C → pooled (1 + 0.6 + 0.2)/3 = 0.6 → 12;
                 2.2 all A → 10; SIPAS (4,3), (2,5): TC {4,2} 0.5, KQ {3,5} 0.5 → 0.5 → 5;
                 deduction 0.5.  field 1 = 48, field 2 = 33 → (81 − 0.5)/100 → 80.5 %.
  X3 "Xã Cường": 1.1 38, 2.1 12; 1.2: G1 B, B; G2 A → (0.6 + 0.6 + 1)/3 = 0.7333 → 14.6667;
                 2.2: G1 blank, D; G2 B → (0 + 0.6)/2 = 0.3 → 3; SIPAS (5,4), (4,3): TC 1, KQ 0.5 → 0.75
                 → 7.5; bonus 1.  field 1 = 52.6667, field 2 = 22.5 → (75.1667 + 1)/100 → 76.1667 %.
Ranks 1, 2, 3; bands A (≥ 90), B (≥ 80), C.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from parindex.methodology import parse_methodology
from parindex.params import Robustness
from parindex.uncertainty.alternatives import RuleSpace
from parindex.uncertainty.robustness import _Draws, _index, _original_pool, _prepare, run_robustness, sobol_indices
from parindex.uncertainty.rules import band_index, rank_rows
from parindex.publish.robustness_figures import fig_outrank_heatmap, fig_rank_intervals, fig_sobol, plain_language
from parindex.scoring import score_all

OFF = dict(weights=False, sampling=False, rules=False)


def _meth():
    return parse_methodology({
        "meta": {"id": "toy", "version": "1", "title": "toy", "status": "variant", "note": "test"},
        "scale": 100,
        "sources": {"appraisal": "Thẩm định", "officials_survey": "Cán bộ", "satisfaction_survey": "SIPAS"},
        "rules": {},
        "adjustments": {"bonus": {"code": "T", "label": "Điểm thưởng", "cap": 2},
                        "deduction": {"code": "TR", "label": "Điểm trừ", "cap": 2}},
        "bands": [{"code": "A", "label": "Từ 90 % trở lên", "min_pct": 90},
                  {"code": "B", "label": "Từ 80 % đến dưới 90 %", "min_pct": 80},
                  {"code": "C", "label": "Dưới 80 %", "min_pct": 0}],
        "officials_survey": {"answer_weights": {"A": 1.0, "B": 0.6, "C": 0.2, "D": 0.0},
                             "groups": [{"code": "G1", "label": "Nhóm 1", "size": 2},
                                        {"code": "G2", "label": "Nhóm 2", "size": 1}]},
        "satisfaction_survey": {
            "scale": {"min": 1, "max": 5}, "positive_answers": [4, 5], "ballots_per_commune": 2,
            "factors": [{"code": "TC", "label": "Tiếp cận", "questions": [{"code": "TC1", "label": "q"}]},
                        {"code": "KQ", "label": "Kết quả", "questions": [{"code": "KQ1", "label": "q"}]}],
            "procedure_fields": [{"code": "HT", "label": "Hộ tịch"}]},
        "fields": [
            {"code": "1", "label": "Lĩnh vực 1", "points": 60, "criteria": [
                {"code": "1.1", "label": "a", "points": 40},
                {"code": "1.2", "label": "b", "points": 20, "source": "officials_survey"}]},
            {"code": "2", "label": "Lĩnh vực 2", "points": 40, "criteria": [
                {"code": "2.1", "label": "c", "points": 20},
                {"code": "2.2", "label": "d", "points": 10, "source": "officials_survey"},
                {"code": "2.3", "label": "e", "points": 10, "source": "satisfaction_survey"}]},
        ],
    })


def _tables(names=("Xã An", "Xã Bình", "Xã Cường")):
    meth, assessment, officials, satisfaction, communes = _inputs(names)
    scored = score_all(assessment, officials, satisfaction, meth, communes)
    return meth, scored["leaf_scores"], officials, satisfaction, scored["results"]


def _inputs(names=("Xã An", "Xã Bình", "Xã Cường")):
    communes = pd.DataFrame({"commune_code": ["X1", "X2", "X3"], "commune_name": list(names),
                             "commune_type": "Xã"})
    assessment = pd.DataFrame({
        "commune_code": ["X1", "X1", "X2", "X2", "X3", "X3", "X2", "X3"],
        "code": ["1.1", "2.1", "1.1", "2.1", "1.1", "2.1", "TR", "T"],
        "self_points": [40, 20, 36, 18, 38, 12, 0.5, 1.0], "appraised_points": np.nan,
        "not_applicable": False, "reason": "", "evidence": ""})
    # commune: (group, answer to 1.2, answer to 2.2) per respondent; as in the real survey the same three
    # respondents (ballot ids CB1, CB2 in G1, CB3 in G2) rate every commune.
    off_answers = {
        "X1": [("G1", "A", "A"), ("G1", "A", "A"), ("G2", "A", "A")],
        "X2": [("G1", "A", "A"), ("G1", "B", "A"), ("G2", "C", "A")],
        "X3": [("G1", "B", ""), ("G1", "B", "D"), ("G2", "A", "B")],
    }
    rows = [(f"CB{i + 1}", g, c, q, a) for c, resp in off_answers.items() for i, (g, a12, a22) in enumerate(resp)
            for q, a in (("1.2", a12), ("2.2", a22))]
    officials = pd.DataFrame(rows, columns=["ballot_id", "group", "commune_code", "question", "answer"])
    sat_answers = {"X1": [(5, 5), (5, 5)], "X2": [(4, 3), (2, 5)], "X3": [(5, 4), (4, 3)]}
    rows = [(f"{c}-S{i}", c, "HT", q, a) for c, bal in sat_answers.items() for i, b in enumerate(bal)
            for q, a in zip(("TC1", "KQ1"), b)]
    satisfaction = pd.DataFrame(rows, columns=["ballot_id", "commune_code", "procedure_field", "question", "answer"])
    satisfaction["answer"] = satisfaction["answer"].astype("Int64")
    satisfaction["weight"] = 1.0
    return _meth(), assessment, officials, satisfaction, communes


@pytest.fixture(scope="module")
def toy():
    return _tables()


def _run(toy, **kw):
    kw.setdefault("n_draws", 200)
    kw.setdefault("sobol_n", 64)
    kw.setdefault("n_replicates", 200)
    seed = kw.pop("seed", 2023)
    return run_robustness(*toy, Robustness(**kw), seed=seed, rank_decimals=2)


def _draws(prep, seed=2023, **kw):
    return _Draws(prep, Robustness(**kw), seed)


# ------------------------------------------------------------------------------------------------
def test_fixture_published_values(toy):
    res = toy[4].set_index("commune_code")
    assert res["index_pct"].to_dict() == pytest.approx({"X1": 100.0, "X2": 80.5, "X3": 76.0 + 1 / 6})
    assert res["rank"].to_dict() == {"X1": 1, "X2": 2, "X3": 3}
    assert res["band"].to_dict() == {"X1": "A", "X2": "B", "X3": "C"}


def test_rank_rows_ties_and_band_index(toy):
    # rounded to 2 decimals: 90.00, 90.00, 85.00, 90.00 → ranks 1, 1, 4, 1 (ties share the best rank)
    assert rank_rows(np.array([[90.004, 90.001, 85.0, 90.001]]), 2).tolist() == [[1, 1, 4, 1]]
    # 89.996 rounds to 90.00 → band A (index 0); 79.99 → C (2); 80 → B (1)
    assert band_index(np.array([89.996, 79.99, 80.0, 95.0]), toy[0], 2).tolist() == [0, 2, 1, 0]


def test_index_under_rule_alternatives_by_hand(toy):
    prep = _prepare(*toy, decimals=2, officials_joint=True)
    assert prep.published == {"officials_groups": "pooled", "satisfaction_factor": "share_positive",
                              "satisfaction_estimator": "plain_share", "aggregation": "arithmetic"}
    one = np.ones((1, 2))

    def idx(bits, lam=one):
        # bits: (equal groups, rescaled mean, geometric) → one named option per alternative
        opts = {"officials_groups": ("pooled", "equal")[bits[0]],
                "satisfaction_factor": ("share_positive", "rescaled_mean")[bits[1]],
                "satisfaction_estimator": "plain_share",
                "aggregation": ("arithmetic", "geometric")[bits[2]]}
        space = RuleSpace({n: (o,) for n, o in opts.items()}, opts)
        zero = np.zeros(1, dtype=np.int64)
        return _index(prep, space, lam, zero, zero, _original_pool(prep, space), anchor=False)[0]

    # published options reproduce the published index
    assert idx([False, False, False]) == pytest.approx([100.0, 80.5, 76.0 + 1 / 6])
    # equal-weight groups: X2 1.2 = (mean G1 (1 + 0.6)/2 = 0.8 + G2 0.2)/2 = 0.5 → 10 → 36 + 10 + 33 − 0.5 = 78.5;
    # X3 1.2 = (0.6 + 1)/2 = 0.8 → 16 → 38 + 16 + 22.5 + 1 = 77.5; X3 2.2 = (G1 0 + G2 0.6)/2 = 0.3 → 3 (unchanged)
    assert idx([True, False, False]) == pytest.approx([100.0, 78.5, 77.5])
    # rescaled mean score: X2 TC mean 3 → 0.5, KQ mean 4 → 0.75 → SIPAS 0.625 → 6.25 → 81 + 1.25 − 0.5 = 81.75;
    # X3 TC 4.5 → 0.875, KQ 3.5 → 0.625 → 0.75 → 7.5 (unchanged) → 76.1667
    assert idx([False, True, False]) == pytest.approx([100.0, 81.75, 76.0 + 1 / 6])
    # geometric: X2 0.8^0.6 × 0.825^0.4 = exp(0.6 ln 0.8 + 0.4 ln 0.825) = 0.809908 → 80.9908 − 0.5 = 80.4908;
    # X3 (52.6667/60)^0.6 × (22.5/40)^0.4 = 0.734649 → 73.4649 + 1 = 74.4649
    assert idx([False, False, True]) == pytest.approx([100.0, 80.49078, 74.46488], abs=1e-4)
    # weights 75/25 (λ = 1.25, 0.625): X2 (48·1.25 + 33·0.625 − 0.5)/100 = 80.125;
    # X3 (52.6667·1.25 + 22.5·0.625 + 1)/100 = 65.8333 + 14.0625 + 1 = 80.8958 → X3 overtakes X2
    assert idx([False, False, False], np.array([[1.25, 0.625]])) == pytest.approx([100.0, 80.125, 80.895833], abs=1e-5)


def test_satisfaction_estimator_alternative_by_hand(toy):
    """The dossier-weighted satisfaction index as a rule alternative. X3's second ballot is moved to field CT
    (the plain share does not depend on the field, so the published scores stay); dossier weights HT 1.5,
    CT 0.5 (75 % / 25 % of the dossiers for 1 / 1 ballots).
    X3 ballots: S0 (TC 5, KQ 4) in HT, S1 (TC 4, KQ 3) in CT.
    plain:    TC 2/2 = 1, KQ 1/2 = 0.5 → SIPAS 0.75 → 7.5 of 10 points (published).
    weighted: TC (1.5 + 0.5)/2 = 1, KQ (1.5·1 + 0.5·0)/2 = 0.75 → SIPAS 0.875 → 8.75 points: + 1.25 points,
    so X3's index 76.1667 → 77.4167 (its maximum is 100). X1 and X2 have no dossier weights: weight 1."""
    meth, leaf, off, sat, res = toy
    sat = sat.copy()
    sat.loc[sat["ballot_id"] == "X3-S1", "procedure_field"] = "CT"
    dw = pd.DataFrame({"commune_code": ["X3", "X3"], "procedure_field": ["HT", "CT"], "weight": [1.5, 0.5]})
    prep = _prepare(meth, leaf, off, sat, res, decimals=2, officials_joint=True, dossier_weights=dw)
    assert prep.published["satisfaction_estimator"] == "plain_share"   # detected: only the plain share reproduces

    def idx(estimator):
        opts = {"officials_groups": "pooled", "satisfaction_factor": "share_positive",
                "satisfaction_estimator": estimator, "aggregation": "arithmetic"}
        space = RuleSpace({n: (o,) for n, o in opts.items()}, opts)
        zero = np.zeros(1, dtype=np.int64)
        return _index(prep, space, np.ones((1, 2)), zero, zero, _original_pool(prep, space), anchor=False)[0]

    assert idx("plain_share") == pytest.approx([100.0, 80.5, 76.0 + 1 / 6])
    assert idx("dossier_weighted") == pytest.approx([100.0, 80.5, 77.0 + 5 / 12])
    # the published option is the methodology's; declaring the other one is refused by the reproduction check
    with pytest.raises(ValueError):
        _prepare(meth, leaf, off, sat, res, decimals=2, officials_joint=True, dossier_weights=dw,
                 published={"satisfaction_estimator": "dossier_weighted"})


def test_all_sources_off_reproduces_published_ranking(toy):
    r = _run(toy, **OFF)
    pc = r.per_commune.set_index("commune_code")
    for col in ("rank_median", "rank_p05", "rank_p95"):
        assert pc[col].tolist() == [1.0, 2.0, 3.0]
    assert (pc["rank_p95"] - pc["rank_p05"]).eq(0).all()
    assert pc["mean_abs_shift"].eq(0).all()
    assert pc[["p_band_A", "p_band_B", "p_band_C"]].to_numpy().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    # every draw: X1 above X2 above X3
    assert r.outrank.to_numpy().tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert r.sobol.empty
    assert r.summary["sources_on"] == [] and r.summary["mean_abs_rank_shift"] == 0


def test_dominant_commune_ranks_first_in_every_draw(toy):
    # X1 has the maximum in every criterion (full appraisal, all A, all 5) and beats X2, X3 in each.
    r = _run(toy, weight_dist="dirichlet")
    x1 = r.per_commune.set_index("commune_code").loc["X1"]
    assert (x1["rank_p05"], x1["rank_median"], x1["rank_p95"]) == (1, 1, 1)
    assert x1["mean_abs_shift"] == 0 and x1["p_top_k"] == 1 and x1["p_band_A"] == 1
    assert r.outrank.loc["X1", ["X2", "X3"]].tolist() == [1, 1]
    # the other two do swap under the alternatives (see the hand computation above)
    assert 0 < r.outrank.loc["X3", "X2"] < 1


def test_probabilities_are_consistent(toy):
    r = _run(toy)
    pc = r.per_commune
    assert np.allclose(pc[["p_band_A", "p_band_B", "p_band_C"]].sum(axis=1), 1.0)
    o = r.outrank.to_numpy()
    assert (o + o.T <= 1 + 1e-12).all() and np.all(np.diag(o) == 0)
    assert (pc["rank_p05"] <= pc["rank_median"]).all() and (pc["rank_median"] <= pc["rank_p95"]).all()
    assert set(r.sobol["source"]) == {"weights", "sampling", "rules"}
    assert list(r.convergence.columns) == ["statistic", "commune_code", "value_n", "value_2n", "change"]


def test_same_seed_same_result_other_seed_differs(toy, tmp_path):
    a, b, c = _run(toy, seed=11), _run(toy, seed=11), _run(toy, seed=12)
    for name in ("per_commune", "outrank", "sobol", "convergence", "leave_one_out"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.per_commune.equals(c.per_commune) or not a.sobol.equals(c.sobol)
    # stored the one way stage tables are stored (parindex.state): the same bytes
    from parindex.state import dump_json, write_table
    for name in ("per_commune", "outrank", "sobol", "convergence", "leave_one_out"):
        pa = write_table(getattr(a, name).reset_index(), tmp_path / f"a_{name}", name)
        pb = write_table(getattr(b, name).reset_index(), tmp_path / f"b_{name}", name)
        assert pa.read_bytes() == pb.read_bytes(), name
    assert dump_json(a.summary) == dump_json(b.summary)
    assert {"commune_code", "rank", "rank_median", "rank_p05", "rank_p95", "p_band_A", "p_band_B",
            "p_band_C"} <= set(a.per_commune.columns)


def test_leave_one_out_by_hand(toy):
    # without field 1: X1 40/40 = 100, X2 (33 − 0.5)/40 = 81.25, X3 (22.5 + 1)/40 = 58.75 → 1, 2, 3
    # without field 2: X1 60/60 = 100, X2 (48 − 0.5)/60 = 79.17, X3 (52.6667 + 1)/60 = 89.44 → 1, 3, 2
    loo = _run(toy, **OFF).leave_one_out.set_index("commune_code")
    assert loo["rank_without_1"].tolist() == [1, 2, 3]
    assert loo["rank_without_2"].tolist() == [1, 3, 2]


@pytest.mark.parametrize("joint", [True, False])
def test_stratified_bootstrap_of_officials(toy, joint):
    # X2 question 1.2: G1 answers A (CB1), B (CB2) are resampled within G1, G2's single C (CB3) stays. Replicates
    # of G1: {A,A} (¼) → (1 + 1 + 0.2)/3 = 0.7333 → 14.667; {A,B} (½) → 0.6 → 12; {B,B} (¼) → 0.4667 → 9.333.
    # Field 1 of X2 = 36 + that (2.2 is all A → 10 in field 2 whatever the replicate). The marginal distribution
    # of one commune is the same whether respondents are drawn jointly for all communes or per commune.
    prep = _prepare(*toy, decimals=2, officials_joint=joint)
    d = _draws(prep, n_replicates=2000, seed=5, officials_joint=joint)
    f1 = d.pool.PA[:d.n_replicates, 1, 0]              # pooled option (variant 0), commune X2, field 1
    vals, counts = np.unique(np.round(f1, 6), return_counts=True)
    assert vals.tolist() == pytest.approx([36 + 28 / 3, 48.0, 36 + 44 / 3])
    assert (counts / counts.sum()) == pytest.approx([0.25, 0.5, 0.25], abs=0.04)
    assert np.allclose(d.pool.PA[:d.n_replicates, 1, 1], 18 + 10)


def test_weight_draws_stay_within_spread(toy):
    prep = _prepare(*toy, decimals=2, officials_joint=True)
    lam = _draws(prep, sampling=False, seed=3).weights(0)
    w = lam * prep.W
    assert np.allclose(w.sum(axis=1), 100.0)
    # each share (1 ± 0.25) W renormalised by a total within (0.75, 1.25) × 100
    assert (lam > 0.75 / 1.25 - 1e-12).all() and (lam < 1.25 / 0.75 + 1e-12).all()
    assert lam.std(axis=0).min() > 0.05


def test_sobol_helper_additive_model():
    # Y = X1 + 2 X2 + 3 X3 with X ~ U(0, 1): Var(a X) = a²/12, so S1 = a² / Σ a² = 1/14, 4/14, 9/14, ST = S1.
    s = sobol_indices(lambda x: x[:, 0] + 2 * x[:, 1] + 3 * x[:, 2], ["a", "b", "c"], 4096, seed=1)
    assert s["S1"].to_numpy() == pytest.approx([1 / 14, 4 / 14, 9 / 14], abs=0.03)
    assert s["S1"].sum() == pytest.approx(1.0, abs=0.03)
    assert s["ST"].to_numpy() == pytest.approx([1 / 14, 4 / 14, 9 / 14], abs=0.03)
    assert (s["S1_conf"] > 0).all()


def test_inconsistent_tables_are_refused(toy):
    meth, leaf, off, sat, res = toy
    bad = off.copy()
    bad.loc[(bad["commune_code"] == "X2") & (bad["question"] == "2.2"), "answer"] = "B"
    with pytest.raises(ValueError, match=r"commune X2, question 2\.2"):
        run_robustness(meth, leaf, bad, sat, res, Robustness(n_draws=10), seed=1, rank_decimals=2)
    with pytest.raises(ValueError, match="weight_dist"):
        Robustness(weight_dist="normal")


def test_figures_and_plain_language(toy):
    meth, leaf, off, sat, res = _tables(names=("Xã <b>An</b>", "Xã Bình", "Xã Cường"))
    r = run_robustness(meth, leaf, off, sat, res, Robustness(n_draws=200, sobol_n=64, n_replicates=200), seed=1,
                       rank_decimals=2)
    f = fig_rank_intervals(r.per_commune)
    assert f.layout.separators == ",."
    labels = list(f.data[0].y)
    assert "Xã &lt;b&gt;An&lt;/b&gt;" in labels and not any("<b>" in str(x) for x in labels)
    h = fig_outrank_heatmap(r.outrank, r.per_commune)
    assert h.layout.separators == ",." and np.asarray(h.data[0].z).shape == (3, 3)
    s = fig_sobol(r.sobol)
    assert s.layout.separators == ",." and len(s.data) == 2
    text = plain_language(r.per_commune, meth, r.outrank)
    assert "Xã <b>An</b> chắc chắn giữ hạng 1" in text
    p = r.outrank.loc["X3", "X2"]
    assert f"{p * 100:.1f}".replace(".", ",") + "\u00a0%" in text   # Vietnamese number format
    assert "Xã Bình" in text and "Xã Cường" in text


def test_zero_weight_spread_fixes_the_weights(toy):
    # The run parameters allow robustness.weight_spread = 0 (ge=0); it must mean "weights fixed", not a crash:
    # the draws equal those of weights=False (independent streams per source) and weights is no Sobol factor.
    ref = _run(toy, weights=False, seed=4)
    for dist in ("uniform", "dirichlet"):
        r = _run(toy, weight_spread=0.0, weight_dist=dist, seed=4)
        pd.testing.assert_frame_equal(r.per_commune, ref.per_commune)
        pd.testing.assert_frame_equal(r.sobol, ref.sobol)
        assert r.summary["sources_on"] == ["sampling", "rules"]
        assert r.summary["weight_spread"] is None
    # with every other source off as well, every draw is the published ranking
    r = _run(toy, weight_spread=0.0, sampling=False, rules=False)
    assert r.per_commune["mean_abs_shift"].eq(0).all() and r.sobol.empty


def test_weighted_satisfaction_bootstrap_within_procedure_field():
    # X3 gets a third ballot S2 in procedure field CT: TC1 5, KQ1 5. Post-stratification with equal dossiers in HT
    # and CT: ballot shares 2/3, 1/3 → weights HT (1/2)/(2/3) = 0.75, CT (1/2)/(1/3) = 1.5.
    # Published X3 SIPAS: TC all positive → 1; KQ answers 4 (0.75), 3 (0.75), 5 (1.5) → 2.25/3 = 0.75 → 0.875 → 8.75.
    # Bootstrap within procedure field: the CT ballot always stays; HT resamples {S0, S1}:
    #   {S0, S0} (¼): KQ (0.75 + 0.75 + 1.5)/3 = 1 → SIPAS 1 → 10 points
    #   {S0, S1} (½): 8.75 (as published)
    #   {S1, S1} (¼): KQ 1.5/3 = 0.5 → 0.75 → 7.5
    # (Weights ignored would give 8.3333 for {S0, S1}; resampling across fields would give other values.)
    meth, assessment, officials, satisfaction, communes = _inputs()
    extra = pd.DataFrame({"ballot_id": "X3-S2", "commune_code": "X3", "procedure_field": "CT",
                          "question": ["TC1", "KQ1"], "answer": pd.array([5, 5], dtype="Int64")})
    sat = pd.concat([satisfaction, extra], ignore_index=True)
    sat["weight"] = np.where(sat["commune_code"] != "X3", 1.0, np.where(sat["procedure_field"] == "CT", 1.5, 0.75))
    scored = score_all(assessment, officials, sat, meth, communes)
    leaf = scored["leaf_scores"].set_index(["commune_code", "code"])
    assert leaf.loc[("X3", "2.3"), "points"] == pytest.approx(8.75)
    dw = pd.DataFrame({"commune_code": ["X3", "X3"], "procedure_field": ["HT", "CT"], "weight": [0.75, 1.5]})
    prep = _prepare(meth, scored["leaf_scores"], officials, sat, scored["results"], decimals=2, officials_joint=True,
                    dossier_weights=dw)
    assert prep.published["satisfaction_estimator"] == "dossier_weighted"   # detected from the published SIPAS
    d = _draws(prep, n_replicates=2000, seed=8)
    # variants of the satisfaction part, the first alternative fastest: (share_positive, plain_share) = 0,
    # (rescaled_mean, plain_share) = 1, (share_positive, dossier_weighted) = 2 → rows 2R … 3R − 1, commune X3
    R = d.n_replicates
    s3 = d.pool.S[2 * R:3 * R, 2]
    vals, counts = np.unique(np.round(s3, 6), return_counts=True)
    assert vals.tolist() == pytest.approx([7.5, 8.75, 10.0])
    assert (counts / counts.sum()) == pytest.approx([0.25, 0.5, 0.25], abs=0.04)


def test_plain_language_band_rounds_like_the_published_band(toy):
    # Without a band column the published band is derived from index_pct rounded to 2 decimals, as scoring
    # publishes it: 89.996 → 90.00 → band A. Every draw kept band A (p_band_A = 1) → "1/1 … vững chắc".
    pc = pd.DataFrame({"commune_code": ["X1"], "commune_name": ["Xã An"], "rank": [1], "index_pct": [89.996],
                       "rank_median": [1.0], "rank_p05": [1.0], "rank_p95": [1.0], "p_band_A": [1.0],
                       "p_band_B": [0.0], "p_band_C": [0.0], "p_top_k": [1.0], "mean_abs_shift": [0.0]})
    text = plain_language(pc, toy[0])
    assert "xếp nhóm của 1/1 xã là vững chắc" in text
    assert "có thể chuyển" not in text


# ------------------------------------------------------------------------------------------------
# Joint resampling of the officials' respondents across communes
# ------------------------------------------------------------------------------------------------
def _two_raters():
    """Two respondents of group G1 rate the communes: R1 answers A to everything, R2 D to everything.

    X1: 1.1 = 40, 2.1 = 20; rated by R1 and R2.   X2: 1.1 = 38, 2.1 = 20; rated by R1 and R2.
    X3: 1.1 = 30, 2.1 = 20; rated by R1 only (R2's ballot for X3 was excluded).
    Satisfaction: two ballots (5, 5) per commune → SIPAS 1 → 10 points in every replicate.
    Officials' points (1.2 of 20 + 2.2 of 10 = 30) = share of R1 among the answers × 30.
    Published (pooled): X1 40 + 20 + 10 + 15 = 85 %; X2 83 %; X3 (30 + 20 + 10 + 30)/100 = 90 %.
    Ranks: X3 1, X1 2, X2 3.
    """
    meth = _meth()
    communes = pd.DataFrame({"commune_code": ["X1", "X2", "X3"], "commune_name": ["Xã An", "Xã Bình", "Xã Cường"],
                             "commune_type": "Xã"})
    assessment = pd.DataFrame({"commune_code": ["X1", "X1", "X2", "X2", "X3", "X3"],
                               "code": ["1.1", "2.1"] * 3, "self_points": [40, 20, 38, 20, 30, 20],
                               "appraised_points": np.nan, "not_applicable": False, "reason": "", "evidence": ""})
    rated = [("R1", "A", "X1"), ("R2", "D", "X1"), ("R1", "A", "X2"), ("R2", "D", "X2"), ("R1", "A", "X3")]
    officials = pd.DataFrame([(r, "G1", c, q, a) for r, a, c in rated for q in ("1.2", "2.2")],
                             columns=["ballot_id", "group", "commune_code", "question", "answer"])
    rows = [(f"{c}-S{i}", c, "HT", q, 5) for c in ("X1", "X2", "X3") for i in range(2) for q in ("TC1", "KQ1")]
    satisfaction = pd.DataFrame(rows, columns=["ballot_id", "commune_code", "procedure_field", "question", "answer"])
    satisfaction["answer"] = satisfaction["answer"].astype("Int64")
    satisfaction["weight"] = 1.0
    scored = score_all(assessment, officials, satisfaction, meth, communes)
    return meth, scored["leaf_scores"], officials, satisfaction, scored["results"]


def test_two_raters_fixture_published_values():
    res = _two_raters()[4].set_index("commune_code")
    assert res["index_pct"].to_dict() == pytest.approx({"X1": 85.0, "X2": 83.0, "X3": 90.0})
    assert res["rank"].to_dict() == {"X1": 2, "X2": 3, "X3": 1}


def test_joint_officials_bootstrap_moves_communes_together():
    # A replicate draws 2 respondents of G1 with replacement, once for all communes: k = number of R1 draws,
    # P(k = 0, 1, 2) = ¼, ½, ¼. Officials' share = k/2 in X1 and in X2 → officials' points 0, 15, 30 in both.
    #   X1 field 1 = 40 + 20·k/2, field 2 = 20 + 10·k/2 (+ SIPAS 10 added in the index, not in PA);
    #   X2 the same with 38 → the difference X1 − X2 is 2 points in field 1, 0 in field 2, in every replicate.
    # X3 is rated by R1 only: k ≥ 1 → all A → officials 30 of max 30; k = 0 → no valid answer, points and
    # maximum both drop → officials' max 0 exactly when X1's officials' points are 0.
    tabs = _two_raters()
    prep = _prepare(*tabs, decimals=2, officials_joint=True)
    d = _draws(prep, n_replicates=2000, seed=9)
    R = d.n_replicates
    x1, x2, x3 = (list(prep.codes).index(c) for c in ("X1", "X2", "X3"))   # pool order = published order
    pa, ma = d.pool.PA[:R], d.pool.MA[:R]                  # pooled option: (replicate, commune, field)
    assert np.allclose(pa[:, x1, 0] - pa[:, x2, 0], 2.0) and np.allclose(pa[:, x1, 1] - pa[:, x2, 1], 0.0)
    off1 = pa[:, x1, 0] - 40 + pa[:, x1, 1] - 20            # X1's officials' points
    vals, counts = np.unique(np.round(off1, 6), return_counts=True)
    assert vals.tolist() == [0.0, 15.0, 30.0]
    assert counts / R == pytest.approx([0.25, 0.5, 0.25], abs=0.04)
    # X3: maximum of fields 1 + 2 = appraisal 40 + 20 + officials 30, or 60 when R1 was not drawn
    m3 = ma[:, x3, 0] + ma[:, x3, 1]
    assert np.array_equal(m3 == 60.0, off1 == 0.0) and set(np.round(m3, 6)) == {60.0, 90.0}
    assert np.allclose(pa[:, x3, 0] + pa[:, x3, 1], np.where(off1 == 0, 50.0, 80.0))


def test_per_commune_officials_bootstrap_lets_communes_differ():
    # officials_joint=False: X1 and X2 draw their two ballots independently: k1, k2 independent, each ¼ ½ ¼.
    # P(k1 ≠ k2) = 1 − (¼² + ½² + ¼²) = 1 − 3/8 = 5/8 → the field-1 difference 2 + 10·(k1 − k2) varies.
    # X3's only G1 ballot is R1's → always drawn → X3's officials' points always 30 of 30.
    tabs = _two_raters()
    prep = _prepare(*tabs, decimals=2, officials_joint=False)
    d = _draws(prep, n_replicates=2000, seed=9, officials_joint=False)
    R = d.n_replicates
    x1, x2, x3 = (list(prep.codes).index(c) for c in ("X1", "X2", "X3"))
    pa, ma = d.pool.PA[:R], d.pool.MA[:R]
    diff = pa[:, x1, 0] - pa[:, x2, 0]
    vals = np.unique(np.round(diff, 6))
    assert vals.tolist() == [-18.0, -8.0, 2.0, 12.0, 22.0]
    assert np.mean(np.abs(diff - 2.0) > 1e-9) == pytest.approx(5 / 8, abs=0.04)
    assert np.allclose(ma[:, x3, 0] + ma[:, x3, 1], 90.0) and np.allclose(pa[:, x3, 0] + pa[:, x3, 1], 80.0)


def test_joint_resampling_keeps_rank_differences_that_a_common_rater_effect_cannot_change():
    # Sampling only (weights, rules off). Index per replicate (pooled, arithmetic):
    #   k = 0 (¼): X1 (40 + 20 + 10)/100 = 70, X2 68, X3 (30 + 20 + 10)/70 = 85.714 → ranks X3 1, X1 2, X2 3
    #   k = 1 (½): X1 85, X2 83, X3 90                                                → X3 1, X1 2, X2 3
    #   k = 2 (¼): X1 100, X2 98, X3 90                                               → X1 1, X2 2, X3 3
    # Joint: X1 is ahead of X2 in every draw (outrank 1 and 0); X3 is ahead of X1 when k ≤ 1 (¾ of the draws).
    # Per commune: X2 overtakes X1 when k2 > k1: P(k1 = 0)·P(k2 ≥ 1) + P(k1 = 1)·P(k2 = 2) = ¼·¾ + ½·¼ = 5/16.
    common = dict(weights=False, rules=False, n_draws=2000, n_replicates=2000, sobol_n=64)
    joint = run_robustness(*_two_raters(), Robustness(**common), seed=2023, rank_decimals=2)
    per = run_robustness(*_two_raters(), Robustness(officials_joint=False, **common), seed=2023, rank_decimals=2)
    assert joint.outrank.loc["X1", "X2"] == 1.0 and joint.outrank.loc["X2", "X1"] == 0.0
    assert per.outrank.loc["X2", "X1"] == pytest.approx(5 / 16, abs=0.04)
    pc = joint.per_commune.set_index("commune_code")
    # X3 rank 1 with probability ¾, 3 with ¼: 5 % quantile 1, median 1, 95 % quantile 3
    assert (pc.loc["X3", "rank_p05"], pc.loc["X3", "rank_median"], pc.loc["X3", "rank_p95"]) == (1, 1, 3)
    assert joint.outrank.loc["X3", "X1"] == pytest.approx(0.75, abs=0.04)
    assert joint.summary["officials_resampling"] == "joint"
    assert per.summary["officials_resampling"] == "per_commune"
    assert "drawn once for all communes" in joint.summary["sampling_design"]
    # respondents: R1, R2 in G1; R1 rated X1, X2, X3, R2 rated X1, X2 → min 2, mean 2.5, max 3
    assert joint.summary["officials_respondents"] == {"G1": 2}
    assert joint.summary["officials_communes_per_respondent"] == {"min": 2, "mean": 2.5, "max": 3}
    assert "officials_respondents" not in per.summary


def test_joint_resampling_with_every_source_off_and_mode_mismatch(toy):
    # Every source off: zero-width intervals in both modes.
    for joint in (True, False):
        pc = _run(toy, officials_joint=joint, **OFF).per_commune
        assert (pc["rank_p95"] - pc["rank_p05"]).eq(0).all() and pc["mean_abs_shift"].eq(0).all()
    # The design and the parameters must agree.
    prep = _prepare(*toy, decimals=2, officials_joint=True)
    with pytest.raises(ValueError, match="officials_joint"):
        _draws(prep, officials_joint=False)


def test_joint_layout_too_large_is_refused(toy, monkeypatch):
    # The toy's layout: 3 respondents × 3 communes × 2·2 statistics × 8 bytes = 288 bytes; a bound of 200
    # bytes stands for ballot ids that differ per commune at national scale (respondents × communes explodes).
    import parindex.uncertainty.robustness as rob
    monkeypatch.setattr(rob, "_JOINT_BYTES", 200)
    with pytest.raises(ValueError, match=r"table 'officials': 3 respondents .* officials_joint=False"):
        _prepare(*toy, decimals=2, officials_joint=True)
    monkeypatch.setattr(rob, "_JOINT_BYTES", 288)
    assert _prepare(*toy, decimals=2, officials_joint=True).off.n_units == 3


# ------------------------------------------------------------------------------------------------
# Named rule alternatives (hand-computed, MINI methodology of conftest: scale 20)
# ------------------------------------------------------------------------------------------------
def _mini_tables(mini, group_weighting="pooled"):
    """Two communes scored with MINI. The same respondents b1, b2 (G1) and b3 (G2) rate both on 1.3 (3 points).

    X1: appraisal 1.1.1 2 + 1.1.2 2 + 1.2 3 + 2.1 4 = 11; officials A, A | D → pooled 2/3 → 2, equal
        (1 + 0)/2 → 1.5; SIPAS ballots (Q1, Q2 | Q3) = (5, 4 | 5), (3, 2 | 4): F1 share of 4–5 = 2/4 = 0.5,
        F2 1 → 0.75 → 3.75; rescaled mean F1 (4 + 3 + 2 + 1)/16 = 0.625, F2 (4 + 3)/8 = 0.875 → 0.75 → 3.75.
    X2: appraisal 2 + 1 + 3 + 4.5 = 10.5; officials B, B | A → pooled 2.2/3 → 2.2, equal (0.6 + 1)/2 → 2.4;
        SIPAS (5, 5 | 5), (1, 3 | 5): F1 share 0.5, F2 1 → 0.75 → 3.75; rescaled F1 (4 + 4 + 0 + 2)/16 = 0.625,
        F2 1 → 0.8125 → 4.0625.
    Index (of 20), per (officials_groups, satisfaction_factor):
        pooled, share:    X1 16.75 → 83.75 %   X2 16.45   → 82.25 %     (published: X1 1st, X2 2nd)
        equal, share:     X1 16.25 → 81.25 %   X2 16.65   → 83.25 %
        pooled, rescaled: X1 83.75 %           X2 16.7625 → 83.8125 %
        equal, rescaled:  X1 81.25 %           X2 16.9625 → 84.8125 %
    Geometric aggregation (field 1 of 10, field 2 of 10), pooled, share: X1 √(0.9 · 0.775) = 0.835165 → 83.5165 %."""
    communes = pd.DataFrame({"commune_code": ["X1", "X2"], "commune_name": ["Xã Một", "Xã Hai"],
                             "commune_type": "Xã"})
    assessment = pd.DataFrame({"commune_code": ["X1"] * 4 + ["X2"] * 4,
                               "code": ["1.1.1", "1.1.2", "1.2", "2.1"] * 2,
                               "self_points": [2, 2, 3, 4, 2, 1, 3, 4.5], "appraised_points": np.nan,
                               "not_applicable": False, "reason": "", "evidence": ""})
    rated = {"X1": ("A", "A", "D"), "X2": ("B", "B", "A")}
    officials = pd.DataFrame([(b, g, c, "1.3", a) for c, ans in rated.items()
                              for b, g, a in zip(("b1", "b2", "b3"), ("G1", "G1", "G2"), ans)],
                             columns=["ballot_id", "group", "commune_code", "question", "answer"])
    ballots = {"X1": [(5, 4, 5), (3, 2, 4)], "X2": [(5, 5, 5), (1, 3, 5)]}
    rows = [(f"{c}-{i}", c, "HT", q, a) for c, bs in ballots.items() for i, b in enumerate(bs)
            for q, a in zip(("Q1", "Q2", "Q3"), b)]
    satisfaction = pd.DataFrame(rows, columns=["ballot_id", "commune_code", "procedure_field", "question", "answer"])
    satisfaction["answer"] = satisfaction["answer"].astype("Int64")
    satisfaction["weight"] = 1.0
    scored = score_all(assessment, officials, satisfaction, mini, communes, group_weighting=group_weighting)
    return mini, scored["leaf_scores"], officials, satisfaction, scored["results"]


HOLD = {"officials_groups": [], "satisfaction_factor": [], "satisfaction_estimator": [], "aggregation": []}


def _draw_values(prep, alternatives, **kw):
    """Index (rounded) of each draw of one block: weights and sampling off, the given alternatives."""
    d = _draws(prep, weights=False, sampling=False, alternatives=alternatives, **kw)
    combo = d.rules(0)
    vals = _index(prep, d.space, np.ones((len(combo), 2)), combo, np.zeros(len(combo), dtype=np.int64), d.pool)
    return d, combo, {tuple(v) for v in np.round(vals, 4).tolist()}


def test_named_alternatives_select_the_options_of_the_draws(mini):
    tabs = _mini_tables(mini)
    assert tabs[4].set_index("commune_code")["index_pct"].to_dict() == pytest.approx({"X1": 83.75, "X2": 82.25})
    prep = _prepare(*tabs, decimals=2, officials_joint=True)
    assert prep.published == {"officials_groups": "pooled", "satisfaction_factor": "share_positive",
                              "satisfaction_estimator": "plain_share", "aggregation": "arithmetic"}
    # only officials_groups varies: the draws use pooled or equal groups, nothing else
    d, combo, vals = _draw_values(prep, HOLD | {"officials_groups": ["pooled", "equal"]})
    assert d.space.n_combos == 2 and vals == {(83.75, 82.25), (81.25, 83.25)}
    assert 0.35 < combo.mean() < 0.65                           # each option equally likely (256 draws)
    # only satisfaction_factor varies
    _, _, vals = _draw_values(prep, HOLD | {"satisfaction_factor": ["share_positive", "rescaled_mean"]})
    assert vals == {(83.75, 82.25), (83.75, 83.8125)}
    # both (listed in any order): the four combinations, each drawn
    d, combo, vals = _draw_values(prep, HOLD | {"officials_groups": ["equal", "pooled"],
                                                "satisfaction_factor": ["rescaled_mean", "share_positive"]})
    assert vals == {(83.75, 82.25), (81.25, 83.25), (83.75, 83.8125), (81.25, 84.8125)}
    assert np.bincount(combo, minlength=4).min() > 30
    assert d.space.options["officials_groups"] == ("pooled", "equal")    # registry order, whatever the listing
    # only aggregation varies: arithmetic (published) or geometric
    _, _, vals = _draw_values(prep, HOLD | {"aggregation": ["arithmetic", "geometric"]})
    assert (83.75, 82.25) in vals and len(vals) == 2
    assert min(v[0] for v in vals) == pytest.approx(100 * np.sqrt(0.9 * 0.775), abs=1e-4)
    # rules switched off: every draw uses the published options, whatever is listed
    _, _, vals = _draw_values(prep, {"officials_groups": ["pooled", "equal"]}, rules=False)
    assert vals == {(83.75, 82.25)}


def test_named_alternatives_in_the_monte_carlo_and_sobol(mini):
    # Only officials_groups varies (weights, sampling off): X2 overtakes X1 exactly in the draws with equal
    # groups (½); the rank is the only output that varies, and it depends on the rules factor alone.
    p = Robustness(weights=False, sampling=False, n_draws=400, sobol_n=256,
                   alternatives=HOLD | {"officials_groups": ["pooled", "equal"]})
    r = run_robustness(*_mini_tables(mini), p, seed=3, rank_decimals=2)
    assert r.summary["sources_on"] == ["rules"]
    assert r.summary["rule_alternatives"] == {"officials_groups": ["pooled", "equal"]}
    assert r.summary["rule_combinations"] == 2
    assert r.summary["rules_published"]["officials_groups"] == "pooled"
    assert r.outrank.loc["X2", "X1"] == pytest.approx(0.5, abs=0.08)
    assert r.per_commune["p_band_B"].tolist() == [1.0, 1.0]      # 81.25 … 83.75: band B in every draw
    s = r.sobol.set_index("source")
    assert list(s.index) == ["rules"] and s.loc["rules", "S1"] == pytest.approx(1.0, abs=0.1)
    # every alternative held: the rules are no source at all
    r = run_robustness(*_mini_tables(mini), Robustness(weights=False, sampling=False, n_draws=20, alternatives=HOLD),
                       seed=3, rank_decimals=2)
    assert r.summary["sources_on"] == [] and r.summary["rule_alternatives"] == {}
    assert r.per_commune["mean_abs_shift"].eq(0).all()


def test_unknown_or_unlisted_alternatives_are_refused(mini):
    from pydantic import ValidationError

    from parindex.params import ParamsError, load_params
    with pytest.raises(ValidationError, match=r"unknown rule alternative\(s\) 'officials_group'; valid alternatives: "
                                              r"officials_groups \(pooled \| equal\), satisfaction_factor"):
        Robustness(alternatives={"officials_group": ["pooled"]})
    with pytest.raises(ValidationError, match=r"alternatives\.aggregation\.1\n.*'arithmetic' or 'geometric'"):
        Robustness(alternatives={"aggregation": ["arithmetic", "harmonic"]})
    with pytest.raises(ValidationError, match="listed twice"):
        Robustness(alternatives={"aggregation": ["geometric", "geometric"]})
    with pytest.raises(ParamsError, match=r"robustness\.alternatives\.satisfaction_factor\.0: Input should be "
                                          r"'share_positive' or 'rescaled_mean'"):
        load_params(2023, None, ["robustness.alternatives.satisfaction_factor=[median]"])
    assert load_params(2023, None, ["robustness.alternatives.aggregation=[arithmetic]"]).robustness.alternatives \
        .model_dump() == {"officials_groups": ["pooled", "equal"], "satisfaction_factor": ["share_positive",
                          "rescaled_mean"], "satisfaction_estimator": ["plain_share", "dossier_weighted"], "aggregation": ["arithmetic"]}
    tabs = _mini_tables(mini)
    # the published option must be among the listed ones
    with pytest.raises(ValueError, match=r"alternatives\.officials_groups lists \['equal'\] but the published "
                                         r"results use 'pooled'"):
        run_robustness(*tabs, Robustness(n_draws=10, alternatives={"officials_groups": ["equal"]}), seed=1,
                       rank_decimals=2)
    # an option the run declares is checked, not detected
    with pytest.raises(ValueError, match=r"commune X1, question 1\.3 scores 1\.5 .*officials_groups='equal'.* but 2 "
                                         r"in leaf_scores \(the option the parameters declare\)"):
        run_robustness(*tabs, Robustness(n_draws=10), seed=1, rank_decimals=2, published={"officials_groups": "equal"})
    with pytest.raises(ValueError, match="valid options"):
        run_robustness(*tabs, Robustness(n_draws=10), seed=1, rank_decimals=2, published={"officials_groups": "mean"})


def test_published_option_is_detected_and_declared(mini):
    # Scored with equal-weight groups: X1 1.5 + …, X2 2.4 + … → the published option is detected as equal …
    tabs = _mini_tables(mini, group_weighting="equal")
    assert tabs[4].set_index("commune_code")["index_pct"].to_dict() == pytest.approx({"X1": 81.25, "X2": 83.25})
    assert _prepare(*tabs, decimals=2, officials_joint=True).published["officials_groups"] == "equal"
    # … and accepted when declared (the pipeline declares survey.group_weighting)
    r = run_robustness(*tabs, Robustness(n_draws=10, sobol_n=8, n_replicates=20), seed=1, rank_decimals=2,
                       published={"officials_groups": "equal"})
    assert r.summary["rules_published"]["officials_groups"] == "equal"


# ------------------------------------------------------------------------------------------------
# The array rules equal parindex.scoring on random tables
# ------------------------------------------------------------------------------------------------
def _random_tables(mini, seed, group_weighting):
    """Random MINI tables: 6 communes (X6 a copy of X5's data, so that they tie), random step scores, 1.2 not
    applicable now and then, bonus and deduction, 5 respondents (3 G1, 2 G2) with blank answers, 3–7
    satisfaction ballots per commune in HT / CT with blanks and ballot weights."""
    rng = np.random.default_rng(seed)
    codes = [f"X{i}" for i in range(1, 7)]
    communes = pd.DataFrame({"commune_code": codes, "commune_name": [f"Xã {c}" for c in codes], "commune_type": "Xã"})
    a, o, s = [], [], []
    step = [.05, .15, .8]                            # P(0, 1, 2 points): indices about 75–98, across the bands
    for c in codes[:5]:
        a += [(c, "1.1.1", float(rng.choice([0, 1, 2], p=step)), False),
              (c, "1.1.2", float(rng.choice([0, 1, 2], p=step)), False),
              (c, "1.2", round(rng.uniform(2, 3), 2), bool(rng.random() < 0.2)),
              (c, "2.1", round(rng.uniform(3.5, 5), 2), False)]
        if rng.random() < 0.5:
            a.append((c, "T", round(rng.uniform(0, 3), 1), False))
        if rng.random() < 0.5:
            a.append((c, "TR", round(rng.uniform(0, 1), 1), False))
        for i, g in enumerate(("G1", "G1", "G1", "G2", "G2")):
            o.append((f"b{i}", g, c, "1.3", rng.choice(["A", "B", "C", "D", ""], p=[.55, .15, .07, .03, .2])))
        for b in range(int(rng.integers(3, 8))):
            f, w = rng.choice(["HT", "CT"]), round(rng.uniform(0.5, 2), 3)
            for q in ("Q1", "Q2", "Q3"):
                ans = int(rng.choice([1, 2, 3, 4, 5], p=[.02, .03, .1, .35, .5]))
                s.append((f"{c}-{b}", c, f, q, ans if rng.random() > 0.15 else None, w))
    a += [("X6",) + r[1:] for r in a if r[0] == "X5"]
    o += [r[:2] + ("X6",) + r[3:] for r in o if r[2] == "X5"]
    s += [(r[0].replace("X5", "X6"), "X6") + r[2:] for r in s if r[1] == "X5"]
    assessment = pd.DataFrame(a, columns=["commune_code", "code", "self_points", "not_applicable"]).assign(
        appraised_points=np.nan, reason="", evidence="")
    officials = pd.DataFrame(o, columns=["ballot_id", "group", "commune_code", "question", "answer"])
    sat = pd.DataFrame(s, columns=["ballot_id", "commune_code", "procedure_field", "question", "answer", "weight"])
    sat["answer"] = sat["answer"].astype("Int64")
    scored = score_all(assessment, officials, sat, mini, communes, allow_missing_as_zero=True,
                       group_weighting=group_weighting)
    return scored, officials, sat


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_array_rules_equal_scoring_on_random_tables(mini, seed):
    from parindex.scoring import officials_mean_weight, satisfaction_factors
    from parindex.uncertainty import rules
    for gw in ("pooled", "equal"):
        scored, officials, sat = _random_tables(mini, seed, gw)
        res = scored["results"].set_index("commune_code").sort_index()
        codes = res.index.tolist()
        # mean answer weight per commune × question (one question, 1.3): per-group sums → the array rule
        o = officials.assign(w=officials["answer"].map(mini.officials_survey.answer_weights))
        o = o[o["w"].notna()]
        g = o.groupby(["group", "commune_code"])["w"].agg(["size", "sum"])
        idx = pd.MultiIndex.from_product([["G1", "G2"], codes])
        n = g["size"].reindex(idx, fill_value=0).to_numpy(float).reshape(2, len(codes), 1)
        w = g["sum"].reindex(idx, fill_value=0).to_numpy(float).reshape(2, len(codes), 1)
        ref = officials_mean_weight(officials, mini, gw).set_index("commune_code")["mean_weight"].reindex(codes)
        assert rules.mean_answer_weight(n, w, gw, axis=0)[:, 0] == pytest.approx(ref.to_numpy(), nan_ok=True, abs=1e-12)
        # SIPAS: per commune × factor weighted valid answers and weighted values (share of 4–5) → the array rule
        sv = mini.satisfaction_survey
        q = mini.satisfaction_questions().set_index("question")["factor"]
        t = sat[sat["answer"].notna()].assign(factor=lambda d: d["question"].map(q))
        t = t.assign(v=rules.answer_values(t["answer"].to_numpy(float), "share_positive", sv.positive_answers,
                                           sv.scale.min, sv.scale.max) * t["weight"])
        sums = t.groupby(["commune_code", "factor"])[["weight", "v"]].sum()
        fidx = pd.MultiIndex.from_product([codes, ["F1", "F2"]])
        valid = sums["weight"].reindex(fidx, fill_value=0).to_numpy().reshape(len(codes), 2)
        value = sums["v"].reindex(fidx, fill_value=0).to_numpy().reshape(len(codes), 2)
        ref = satisfaction_factors(sat, mini).groupby("commune_code")["index"].mean().reindex(codes)
        assert rules.satisfaction_index(valid, value) == pytest.approx(ref.to_numpy(), nan_ok=True, abs=1e-12)
        # field totals, index, rank, band from the leaf scores
        ls = scored["leaf_scores"]
        leaves = mini.leaves()["code"].tolist()
        leaf_field = (mini.leaves()["field_code"].to_numpy()[:, None] == np.array(["1", "2"])).astype(float)
        pts = ls.pivot_table(index="commune_code", columns="code", values="points", aggfunc="sum").reindex(
            index=codes, columns=leaves).fillna(0).to_numpy()
        mx = ls.pivot_table(index="commune_code", columns="code", values="max_points", aggfunc="sum").reindex(
            index=codes, columns=leaves).fillna(0).to_numpy()
        P, M = rules.field_totals(pts, leaf_field), rules.field_totals(mx, leaf_field)
        assert P == pytest.approx(res[["field_1_points", "field_2_points"]].to_numpy(), abs=1e-12)
        index = rules.index_pct(P, M, (res["bonus"] - res["deduction"]).to_numpy())
        assert index == pytest.approx(res["index_pct"].to_numpy(), abs=1e-9)
        assert rules.rank_rows(res["index_pct"].to_numpy(), 2).tolist() == res["rank"].tolist()
        assert res.loc["X5", "rank"] == res.loc["X6", "rank"]          # the copy ties
        bands = [b.code for b in mini.bands]
        assert [bands[i] for i in rules.band_index(res["index_pct"].to_numpy(), mini, 2)] == res["band"].tolist()
        # … and the robustness stage's own check (published leaf scores, index, ranking) passes, in both designs,
        # with the published option detected
        for joint in (True, False):
            prep = _prepare(mini, ls, officials, sat, scored["results"], decimals=2, officials_joint=joint)
            if gw == "equal" and not np.allclose(
                    officials_mean_weight(officials, mini, "pooled")["mean_weight"],
                    officials_mean_weight(officials, mini, "equal")["mean_weight"]):
                assert prep.published["officials_groups"] == "equal"
            assert np.abs(prep.base_index - res.reindex(prep.codes)["index_pct"].to_numpy()).max() < 1e-9


def test_published_check_fails_when_the_rules_diverge(toy, monkeypatch):
    # The published-reproduction check is what holds the array rules equal to scoring.py on every run: a rule
    # that drifts (here SIPAS doubled, then the index shifted by 0.01 points) is refused.
    from parindex.uncertainty import rules
    meth, leaf, off, sat, res = toy
    real = rules.satisfaction_index
    monkeypatch.setattr(rules, "satisfaction_index", lambda v, x, axis=-1: real(v, x, axis) * 2)
    with pytest.raises(ValueError, match="table 'satisfaction' does not reproduce 'leaf_scores'"):
        _prepare(meth, leaf, off, sat, res, decimals=2, officials_joint=True)
    monkeypatch.undo()
    real_idx = rules.index_pct
    monkeypatch.setattr(rules, "index_pct", lambda *a, **k: real_idx(*a, **k) + 0.01)
    with pytest.raises(ValueError, match="table 'results': index_pct of commune"):
        _prepare(meth, leaf, off, sat, res, decimals=2, officials_joint=True)
