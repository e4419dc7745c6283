"""A small synthetic scored dataset for the report / export / browser tests.

Four communes of Thanh Miện (codes and names from data/reference) scored with the reference-default
methodology. One commune name and one appraisal reason carry HTML/JS injection strings, so that the
tests can check that input text is always escaped.

Hand computation (reference default: appraisal 70 = per field 8/6/13/4/9/6/13/11, officials' survey
20 = 2/2/3/2/3/2/2/4, SIPAS 10 in field 8). Every appraised leaf is self-scored at full marks and
accepted unless listed:

* 11239 Thị trấn Thanh Miện — 3.2.1 cut 3 → 1.5. Officials: A, A (weight 1.0 → 20). SIPAS: every
  answer 5 (all factors 1.0 → 10). 68.5 + 20 + 10 = 98.5 of 100 → 98.50 %, band A, rank 1.
  Fields: 10, 8, 14.5, 6, 12, 8, 15, 25.
* 11242 Xã Thanh Tùng — 7.2.1 cut 2 → 1, 7.2.2 cut 2 → 0, bonus T = 1. Officials: A, B (mean weight
  0.8 → 16). SIPAS: one ballot all 5, one all 3 (every factor 0.5 → 5). 67 + 16 + 5 + 1 = 89 of 100
  → 89.00 %, band B, rank 2. Fields: 9.6, 7.6, 15.4, 5.6, 11.4, 7.6, 11.6, 19.2 (sum 88, +1 bonus).
* 11248 Xã Ngô Quyền <script…> — 8.1.1 cut 2 → 0 (reason carries an <img onerror> string), 3.1 raised
  1 → 2 (flagged raise; appraised 2 = full), 6.3 missing (scored 0 with allow_missing_as_zero, max
  stays 1.5), deduction TR = 3 capped at 2. Officials: D, B (mean 0.3 → 6). SIPAS: every answer 4
  (→ 10). 66.5 + 6 + 10 − 2 = 80.5 of 100 → 80.50 %, band B, rank 3.
  Fields: 8.6, 6.6, 13.9, 4.6, 9.9, 5.1, 13.6, 20.2 (sum 82.5, −2 deduction).
* 11245 Xã Phạm Kha — 1.2 not applicable (max 99), 5.4.1 cut 2 → 1 without reason (flagged).
  Officials: D and one blank respondent (mean 0.0 → 0). SIPAS: one ballot all 4, one ballot TC1/TC2 = 2
  and the rest 5 (TC 2/4 = 0.5, other factors 1.0, mean 0.9 → 9). 68 + 0 + 9 = 77 of 99 → 77.78 %,
  band C, rank 4. Fields: 7, 6, 13, 4, 8, 6, 13, 20.

District mean index = (98.5 + 89 + 80.5 + 77.7778) / 4 = 86.4444 → "86,44 %".
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from parindex.communes import load_communes
from parindex.methodology import Methodology, load_methodology
from parindex.runs import Run
from parindex.scoring import score_all
from parindex.uncertainty.intervals import survey_columns

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_METHODOLOGY = ROOT / "methodologies" / "reference-default-v1.yaml"
THANH_MIEN = ROOT / "data" / "reference" / "thanh_mien_communes_2023.csv"
VARIANT_METHODOLOGY = ROOT / "methodologies" / "variant-survey40-v1.yaml"

SCRIPT_INJECTION = "<script>window.__pwned=1</script>"
PREVIOUS_INJECTION = "<script>window.__pwned=3</script>"
IMG_INJECTION = '<img src=x onerror="window.__pwned=2">'
CODES = ["11239", "11242", "11245", "11248"]
NaN = float("nan")

# (commune, leaf code, self points, appraised points, not applicable, reason)
OVERRIDES = [
    ("11239", "3.2.1", 3.0, 1.5, False, "Tỷ lệ hồ sơ đúng hạn 92 %, chưa đạt 100 %"),
    ("11242", "7.2.1", 2.0, 1.0, False, "Tỷ lệ hồ sơ trực tuyến chỉ đạt 35 %"),
    ("11242", "7.2.2", 2.0, 0.0, False, "Không có hồ sơ trực tuyến toàn trình"),
    ("11242", "T", 1.0, NaN, False, "Điểm thưởng sáng kiến CCHC"),
    ("11245", "1.2", 0.0, NaN, True, ""),
    ("11245", "5.4.1", 2.0, 1.0, False, ""),
    ("11248", "8.1.1", 2.0, 0.0, False, "Không đạt chỉ tiêu thu ngân sách " + IMG_INJECTION),
    ("11248", "3.1", 1.0, 2.0, False, "Kiểm tra thực tế: niêm yết đầy đủ"),
    ("11248", "TR", 3.0, NaN, False, "Vi phạm trong giải quyết hồ sơ"),
]
MISSING = [("11248", "6.3")]

OFFICIALS_ANSWERS = {  # two respondents per commune, the same answer on every question
    "11239": ("A", "A"), "11242": ("A", "B"), "11245": ("D", ""), "11248": ("D", "B")}


# Every chart of the full report, in page order (the full fixture draws them all; the multi-year trend needs
# the history of earlier years: HISTORY_FIGURES).
ALL_FIGURES = ["fig-ranking", "fig-fields", "fig-sources", "fig-criteria", "fig-appraisal",
               "fig-sat-ci", "fig-off-ci", "fig-satisfaction", "fig-sat-answers", "fig-off-answers",
               "fig-outrank", "fig-sobol", "fig-yoy"]
HISTORY_FIGURES = ALL_FIGURES + ["fig-trend"]

def methodology() -> Methodology:
    return load_methodology(REFERENCE_METHODOLOGY)


def communes() -> pd.DataFrame:
    c = load_communes(THANH_MIEN)
    c = c[c["commune_code"].isin(CODES)].reset_index(drop=True)
    c.loc[c["commune_code"] == "11248", "commune_name"] = "Xã Ngô Quyền " + SCRIPT_INJECTION
    return c


def clean_tables(meth: Methodology) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(assessment, officials, satisfaction) clean tables as documented in docs/ARCHITECTURE.md."""
    leaves = meth.leaves()
    app = leaves.loc[leaves.source == "appraisal", ["code", "points"]]
    a = pd.DataFrame({"commune_code": CODES}).merge(app, how="cross")
    a = a.rename(columns={"points": "self_points"}).assign(
        appraised_points=NaN, not_applicable=False, reason="", evidence="Báo cáo CCHC năm 2023")
    o = pd.DataFrame(OVERRIDES, columns=["commune_code", "code", "self_points", "appraised_points",
                                         "not_applicable", "reason"]).assign(evidence="")
    key = ["commune_code", "code"]
    a = pd.concat([a.set_index(key).drop(o.set_index(key).index, errors="ignore").reset_index(), o],
                  ignore_index=True)
    drop = pd.MultiIndex.from_tuples(MISSING, names=key)
    a = a[~pd.MultiIndex.from_frame(a[key]).isin(drop)].reset_index(drop=True)
    a["evidence"] = a["evidence"].astype("str")
    a["reason"] = a["reason"].astype("str")

    qs = meth.leaf_codes("officials_survey")
    resp = pd.DataFrame([(c, i, ans) for c, answers in OFFICIALS_ANSWERS.items() for i, ans in enumerate(answers)],
                        columns=["commune_code", "i", "answer"])
    resp["ballot_id"] = "CB-" + resp["commune_code"] + "-" + resp["i"].astype(str)
    resp["group"] = np.where(resp["i"] == 0, "HDND", "PCM")
    officials = resp.merge(pd.DataFrame({"question": qs}), how="cross")[
        ["ballot_id", "group", "commune_code", "question", "answer"]]

    sq = meth.satisfaction_questions()[["question", "factor"]]
    ballots = pd.DataFrame({"commune_code": np.repeat(CODES, 2), "i": [0, 1] * len(CODES)})
    ballots["ballot_id"] = "HL-" + ballots["commune_code"] + "-" + ballots["i"].astype(str)
    s = ballots.merge(sq, how="cross")
    base = {("11239", 0): 5, ("11239", 1): 5, ("11242", 0): 5, ("11242", 1): 3,
            ("11245", 0): 4, ("11245", 1): 5, ("11248", 0): 4, ("11248", 1): 4}
    s["answer"] = pd.Series([base[k] for k in zip(s["commune_code"], s["i"])], index=s.index)
    s.loc[(s["commune_code"] == "11245") & (s["i"] == 1) & (s["factor"] == "TC"), "answer"] = 2
    s["answer"] = s["answer"].astype("Int64")
    satisfaction = s.assign(procedure_field="HT", weight=1.0)[
        ["ballot_id", "commune_code", "procedure_field", "question", "answer", "weight"]]
    return a, officials.reset_index(drop=True), satisfaction.reset_index(drop=True)


def rejections() -> pd.DataFrame:
    return pd.DataFrame({
        "file": ["phieu_hai_long_2023.xlsx", "phieu_hai_long_2023.xlsx", "phieu_can_bo_2023.xlsx"],
        "sheet": ["PhieuHaiLong", "PhieuHaiLong", "PhieuCanBo"],
        "row": [14, 19, 7],
        "rule": ["blank_majority", "duplicate", "out_of_range"],
        "detail": ["7/12 câu bỏ trống", "Trùng phiếu HL-11248-1", "Câu 2.4: 'E' " + IMG_INJECTION],
    })


LABEL_INJECTION = "<script>window.__pwned=5</script>"


def off_step() -> pd.DataFrame:
    """A hand-written ``off_step`` table (the scored fixture has none: every score in it is a step).

    11242 self-scored 7.2.1 (steps 2 / 1 / 0) as 1.25; 11248 (whose name carries a <script>) had 3.2.1
    (steps 3 / 1,5 / 0) appraised at 0.7, and its label here carries another <script>."""
    return pd.DataFrame({
        "commune_code": ["11242", "11248"], "code": ["7.2.1", "3.2.1"],
        "label": ["Tỷ lệ hồ sơ trực tuyến", "Tỷ lệ hồ sơ giải quyết đúng hạn " + LABEL_INJECTION],
        "which": ["self", "appraised"], "value": [1.25, 0.7], "steps": ["2 / 1 / 0", "3 / 1,5 / 0"]})


def ballots() -> pd.DataFrame:
    valid = pd.DataFrame({"commune_code": np.repeat(CODES, 2), "i": [0, 1] * len(CODES)})
    valid = pd.DataFrame({
        "ballot_id": "HL-" + valid["commune_code"] + "-" + valid["i"].astype(str),
        "commune_code": valid["commune_code"], "procedure_field": "HT", "date": "2023-11-20",
        "status": "valid", "rule": ""})
    excluded = pd.DataFrame({
        "ballot_id": ["HL-11242-9", "HL-11248-9"], "commune_code": ["11242", "11248"],
        "procedure_field": ["CT", "HT"], "date": ["2023-11-21", "2023-11-22"],
        "status": ["excluded", "excluded"], "rule": ["blank_majority", "duplicate"]})
    return pd.concat([valid, excluded], ignore_index=True)


def scored_tables(with_quality: bool = True, with_surveys: bool = True) -> tuple[dict[str, pd.DataFrame], Methodology]:
    """Scored tables of the fixture (score_all output, plus rejections and ballots when asked).

    ``with_surveys`` adds the survey columns of the results contract (parindex.uncertainty.intervals.survey_columns,
    200 bootstrap replicates) and the clean ``satisfaction`` / ``officials`` tables. By hand:
    sat_index_pct = mean of the factor indices ×100: 11239 100, 11242 50, 11245 90, 11248 100;
    officials_points = officials' survey points: 20, 16, 0, 6; ballots received / valid / excluded
    (from :func:`ballots`): 11239 2/2/0, 11242 3/2/1, 11245 2/2/0, 11248 3/2/1. Intervals of communes
    whose every answer is alike are degenerate: 11239 and 11248 satisfaction 100–100, 11245 officials 0–0,
    11239 officials 20–20."""
    meth = methodology()
    a, o, s = clean_tables(meth)
    tables = score_all(a, o, s, meth, communes(), allow_missing_as_zero=True)
    if with_quality:
        tables["rejections"] = rejections()
        tables["ballots"] = ballots()
    if with_surveys:
        tables["results"] = survey_columns(tables["results"], s, o, ballots(), meth, group_weighting="pooled",
                                           n_boot=200, seed=1)
        tables["satisfaction"] = s
        tables["officials"] = o
    return tables, meth


# ------------------------------------------------------------------------------------------------
# Robustness results of the four communes (hand-written, consistent with each other)
# ------------------------------------------------------------------------------------------------
def robustness_tables() -> tuple[dict[str, pd.DataFrame], dict]:
    """Tables of the robustness stage as the report reads them, plus robustness.json.

    per commune (published rank order 11239, 11242, 11248, 11245):
      rank median / 5 % / 95 %: 1/1/1, 2/2/3, 3/2/4, 4/3/4
      P(band A, B, C): 11239 1/0/0, 11242 0.1/0.9/0, 11248 0/0.6/0.4, 11245 0/0.2/0.8
      P(top 3): 1, 1, 0.75, 0.25 (sums to 3, the size of the top group)
    outranking P(row above column): 11239 above everyone (1); 11242 above 11248 0.8, above 11245 0.9;
      11248 above 11245 0.75 (and the complements below the diagonal).
    leave one field out: without field 2, 11248 drops to 4 and 11245 rises to 3; without field 8,
      11242 and 11248 swap (3 and 2); everything else keeps its rank.
    """
    names = communes().set_index("commune_code")["commune_name"]
    order = ["11239", "11242", "11248", "11245"]
    pc = pd.DataFrame({
        "commune_code": order, "commune_name": [names[c] for c in order], "rank": [1, 2, 3, 4],
        "index_pct": [98.5, 89.0, 80.5, 77.7778], "band": ["A", "B", "B", "C"],
        "rank_median": [1.0, 2.0, 3.0, 4.0], "rank_p05": [1.0, 2.0, 2.0, 3.0], "rank_p95": [1.0, 3.0, 4.0, 4.0],
        "p_band_A": [1.0, 0.1, 0.0, 0.0], "p_band_B": [0.0, 0.9, 0.6, 0.2], "p_band_C": [0.0, 0.0, 0.4, 0.8],
        "p_top_k": [1.0, 1.0, 0.75, 0.25], "mean_abs_shift": [0.0, 0.25, 0.5, 0.25]})
    p = {("11242", "11248"): 0.8, ("11242", "11245"): 0.9, ("11248", "11245"): 0.75}
    m = pd.DataFrame(0.0, index=order, columns=order)
    for i, a in enumerate(order):
        for j, b in enumerate(order):
            if i < j:
                m.loc[a, b] = 1.0 if a == "11239" else p[(a, b)]
                m.loc[b, a] = 1.0 - m.loc[a, b]
    m.index.name = "commune_code"
    loo = pd.DataFrame({"commune_code": order, "rank": [1, 2, 3, 4]})
    for f in range(1, 9):
        loo[f"rank_without_{f}"] = [1, 2, 3, 4]
    loo["rank_without_2"] = [1, 2, 4, 3]
    loo["rank_without_8"] = [1, 3, 2, 4]
    sobol = pd.DataFrame({"source": ["weights", "sampling", "rules"], "S1": [0.2, 0.1, 0.5],
                          "S1_conf": [0.05, 0.03, 0.06], "ST": [0.4, 0.3, 0.6], "ST_conf": [0.05, 0.04, 0.05]})
    conv = pd.DataFrame({
        "statistic": ["mean_abs_shift_overall", "mean_rank_interval_width", "p_band_C (largest change)",
                      "p_top_k (largest change)"],
        "commune_code": ["", "", "11248", "11245"], "value_n": [0.25, 1.0, 0.4, 0.25],
        "value_2n": [0.26, 1.25, 0.43, 0.24]})
    conv["change"] = conv["value_2n"] - conv["value_n"]
    summary = {"n_draws": 500, "n_draws_convergence": 1000, "sources_on": ["weights", "sampling", "rules"],
               "weight_spread": 0.25, "seed": 7, "top_k": 3}
    return {"robustness": pc, "outrank": m, "leave_one_out": loo, "sobol": sobol, "convergence": conv}, summary


def previous_results() -> pd.DataFrame:
    """The earlier year's results.csv (2022) of the same four communes:
    11245 rank 1 (90 %), 11239 rank 2 (88 %), 11248 rank 3 (85 %, its name carries a <script>), 11242 rank 4 (80 %).
    Moves to 2023 (rank 2022 − rank 2023; index change in points of %):
      11239 2 → 1: +1, 88 → 98.5 = +10.50;  11242 4 → 2: +2, 80 → 89 = +9.00;
      11248 3 → 3: 0, 85 → 80.5 = −4.50;    11245 1 → 4: −3, 90 → 77.7778 = −12.22."""
    return pd.DataFrame({
        "commune_code": ["11245", "11239", "11248", "11242"],
        "commune_name": ["Xã Phạm Kha", "Thị trấn Thanh Miện", "Xã Ngô Quyền " + PREVIOUS_INJECTION, "Xã Thanh Tùng"],
        "points": [90.0, 88.0, 85.0, 80.0], "max_points": [100.0] * 4, "index_pct": [90.0, 88.0, 85.0, 80.0],
        "rank": [1, 2, 3, 4], "band": ["A", "B", "B", "B"]})


def history() -> pd.DataFrame:
    """Published results of the earlier years (Run.history): 2021 and 2022 (= :func:`previous_results`).
    2021: 11248 rank 1 (88.5 %), 11245 rank 2 (86 %), 11239 rank 3 (84 %), 11242 rank 4 (79.5 %).
    District means: 2021 (88.5 + 86 + 84 + 79.5) / 4 = 84.5; 2022 85.75; 2023 86.4444."""
    p = previous_results()[["commune_code", "index_pct", "rank", "band"]].assign(year=2022)
    old = pd.DataFrame({"commune_code": ["11248", "11245", "11239", "11242"], "index_pct": [88.5, 86.0, 84.0, 79.5],
                        "rank": [1, 2, 3, 4], "band": ["B", "B", "B", "C"], "year": 2021})
    return pd.concat([old, p], ignore_index=True)[["year", "commune_code", "index_pct", "rank", "band"]]


#: Run.baseline of the fixture: the 2022 run the comparison uses, scored under another methodology.
BASELINE = {"year": 2022, "run_id": "003-abcdef12", "methodology_id": "variant-survey40-v1",
            "methodology_title": "Phương án thử: khảo sát 40 điểm", "date": "20/02/2023",
            "path": "reports/2022/runs/003-abcdef12"}


def factor_ci(tables: dict[str, pd.DataFrame], meth: Methodology) -> pd.DataFrame:
    """Satisfaction factors with their bootstrap intervals (parindex.publish.profiles.factor_intervals)."""
    from parindex.publish.profiles import factor_intervals
    return factor_intervals(tables["satisfaction"], meth, tables["results"]["commune_code"], n_boot=200, seed=3)


def full_tables() -> tuple[dict[str, pd.DataFrame], Methodology, dict]:
    """Every table the report can use: scored + quality + surveys + robustness + previous year + the
    satisfaction factors' intervals; also the robustness summary (robustness.json)."""
    tables, meth = scored_tables()
    rob, summary = robustness_tables()
    tables.update(rob)
    tables["previous_results"] = previous_results()
    tables["satisfaction_factor_ci"] = factor_ci(tables, meth)
    return tables, meth, summary


# ------------------------------------------------------------------------------------------------
# Two finished runs for the comparison page
# ------------------------------------------------------------------------------------------------
PARAM_INJECTION = '<img src=x onerror="window.__pwned=4">'


def comparison_runs(folder: Path) -> tuple[Run, Run]:
    """Two run folders (only what parindex.runs.read_run holds that the comparison uses) under ``folder``:

    * A ``001-aaaaaaaa``: the fixture scored with the reference default (results of :func:`scored_tables`:
      11239 rank 1 98.50 % band A, 11242 rank 2 89.00 % B, 11248 rank 3 80.50 % B, 11245 rank 4 77.78 % C);
    * B ``002-bbbbbbbb``: methodology variant-survey40-v1, the results of :func:`previous_results`
      (11245 rank 1 90 % A, 11239 rank 2 88 % B, 11248 rank 3 85 % B, 11242 rank 4 80 % B; the name of
      11248 carries a <script>), parameters differing in ``survey.group_weighting`` (pooled → equal) and
      ``inputs.raw_dir`` (B's value carries an <img onerror> string).

    By hand, A → B (move = rank A − rank B; change = index B − index A):
      11239 1 → 2: −1, 88 − 98.5 = −10.50;  11242 2 → 4: −2, 80 − 89 = −9.00;
      11248 3 → 3: 0, 85 − 80.5 = +4.50;     11245 4 → 1: +3, 90 − 77.7778 = +12.22.
    3 of 4 communes change rank (1 up, 2 down); bands change at 11239 (A → B) and 11245 (C → A);
    district mean 86.4444 → 85.75 (−0.69)."""
    tables, _ = scored_tables(with_quality=False, with_surveys=False)
    runs = []
    for name, meth_file, results, weighting, raw in (
            ("001-aaaaaaaa", REFERENCE_METHODOLOGY, tables["results"], "pooled", "data/raw/2023"),
            ("002-bbbbbbbb", VARIANT_METHODOLOGY, previous_results(), "equal", "data/raw/2023 " + PARAM_INJECTION)):
        d = Path(folder) / name
        d.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(meth_file, d / "methodology.yaml")
        meth = load_methodology(d / "methodology.yaml")
        params = {"year": 2023, "seed": 2023, "methodology": f"methodologies/{meth_file.name}",
                  "inputs": {"raw_dir": raw}, "survey": {"group_weighting": weighting}}
        manifest = {"run_id": name, "year": 2023, "seed": 2023, "started": "2024-01-15T08:30:00+00:00",
                    "methodology": {"id": meth.meta.id, "path": params["methodology"]}, "params": params}
        runs.append(Run(d, manifest, params, results.reset_index(drop=True)))
    return runs[0], runs[1]
