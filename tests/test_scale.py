"""Scale does not change results (issue 16, item 5).

1. Scoring a set of communes alone and inside the national set (all 10,598 communes of the shipped national
   list) gives every commune the same points: the scoring core works commune by commune, and only the rank
   (and what is derived from it) depends on the other communes of the set.
2. The cleaning stage gives the same tables from .xlsx and from .csv files holding the same data — defects
   (rejected ballots, duplicates, names and answers written another way) included.

The national clean tables are built in memory with numpy (reading national workbooks would take minutes): the
same shapes as the readers give (checked against the clean schemas), the same 46 officials' respondents
(33 HĐND / 1 MTTQ / 12 PCM) rating every commune, 50 satisfaction ballots per commune, and the rare cases
the scoring core treats specially (blank appraised scores, not applicable leaves, scores entered against
another maximum, bonus and deduction rows over the cap, questions and factors without any valid answer,
fields with ballots but no dossiers) planted in communes of the subset as well as across the country.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from parindex import pipeline
from parindex.text import round_half_up
from parindex.ingest.clean import SCHEMAS
from parindex.methodology import load_methodology
from parindex.params import RunParams
from parindex.scoring import score_all
from parindex.surveys import apply_estimator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))   # benchmarks/ is not a package: its synthetic data generator
from synth import PROCEDURE_MEANS, appraisal_draws, generate  # noqa: E402

NATIONAL = ROOT / "data" / "reference" / "vn_admin_units_2023-04-10.csv"
METHODOLOGY = ROOT / "methodologies" / "reference-default-v1.yaml"
YEAR = 2023


@pytest.fixture(scope="module")
def meth():
    return load_methodology(METHODOLOGY)


@pytest.fixture(scope="module")
def nation() -> pd.DataFrame:
    return pd.read_csv(NATIONAL, dtype=str, keep_default_na=False, encoding="utf-8-sig")


# ------------------------------------------------------------------------------------------------
# 1. A set of communes scored alone and inside the national set
# ------------------------------------------------------------------------------------------------
def subset_codes(nation: pd.DataFrame) -> list[str]:
    """The 17 communes of Thanh Miện, the first commune of the list (code 00001: leading zeros) and one commune
    from each of 12 other provinces (seeded choice)."""
    tm = nation.loc[nation["district_name"] == "Huyện Thanh Miện", "commune_code"].tolist()
    assert len(tm) == 17
    rng = np.random.default_rng(5)
    others = [p for p in nation["province_code"].unique() if p not in ("30", "01")]
    picks = [rng.choice(nation.loc[nation["province_code"] == p, "commune_code"].to_numpy())
             for p in rng.choice(others, 12, replace=False)]
    return tm + [nation["commune_code"].iloc[0]] + [str(c) for c in picks]


def clean_tables(meth, communes: pd.DataFrame, special: list[str], seed: int) -> dict[str, pd.DataFrame]:
    """The clean tables (inputs of ``score_all``) of every commune of ``communes``, built with numpy (seeded):
    assessment, officials, satisfaction (without its weight), dossiers. Each rare case is planted in one
    commune of ``special`` (so that the subset has it) and, at random, in communes across the country."""
    rng = np.random.default_rng(seed)
    codes = communes["commune_code"].to_numpy(dtype=object)
    nc = len(codes)
    pos = {c: i for i, c in enumerate(codes)}
    sp = [pos[c] for c in special]
    z = rng.normal(0, 1, nc)                                                  # commune quality

    def plant(p: float, *extra: int) -> np.ndarray:
        """Communes with a rare case: a share ``p`` at random, plus the given ones."""
        m = rng.random(nc) < p
        m[list(extra)] = True
        return m

    # Self-assessment and appraisal, one row per commune × appraised leaf (as synth.py writes them).
    lv = meth.leaves()
    lv = lv[lv["source"] == "appraisal"].reset_index(drop=True)
    nl = len(lv)
    ci, li = np.repeat(np.arange(nc), nl), np.tile(np.arange(nl), nc)
    pts = lv["points"].to_numpy(float)[li]
    self_pts, cut, appr = appraisal_draws(rng, z[ci], pts)
    appr[rng.random(nc * nl) < 0.05] = np.nan                                 # blank: the self-score stands
    first_leaf = li == 0
    na = (rng.random(nc * nl) < 0.01) | (plant(0, sp[0])[ci] & first_leaf)    # không áp dụng
    self_pts[na], appr[na] = np.nan, np.nan
    form_max = np.full(nc * nl, np.nan)                                       # entered against another maximum
    other = ~na & ((rng.random(nc * nl) < 0.002) | (plant(0, sp[1])[ci] & (li == 1)))
    form_max[other] = 2 * pts[other]
    self_pts[other], appr[other] = 2 * self_pts[other], 2 * appr[other]
    assessment = pd.DataFrame({
        "commune_code": codes[ci], "code": lv["code"].to_numpy(object)[li], "self_points": self_pts,
        "appraised_points": appr, "not_applicable": na,
        "reason": np.where(cut & ~na, "Tài liệu kiểm chứng không đầy đủ", ""), "evidence": "",
        "max_points_form": form_max})
    # Bonus (T) and deduction (TR) rows: one to three rows a commune, sometimes over the cap of 2 points.
    adj_parts = []
    for adj, p, who in ((meth.adjustments.bonus, 0.1, sp[2]), (meth.adjustments.deduction, 0.05, sp[3])):
        has = np.flatnonzero(plant(p, who))
        k = rng.integers(1, 4, len(has))
        k[has == who] = 3
        c = np.repeat(has, k)
        v = rng.choice([0.5, 1.0, 1.5], len(c))
        v[c == who] = 1.0                                                     # 3 × 1 = 3 points, capped at 2
        adj_parts.append(pd.DataFrame({
            "commune_code": codes[c], "code": adj.code, "self_points": v, "appraised_points": np.nan,
            "not_applicable": False, "reason": "", "evidence": "Quyết định khen thưởng", "max_points_form": np.nan}))
    assessment = pd.concat([assessment, *adj_parts], ignore_index=True)
    assessment = assessment.sort_values("commune_code", kind="stable", ignore_index=True)  # a commune's rows together

    # Officials' survey: the same 46 respondents rate every commune, one ballot = respondent × commune.
    groups = meth.officials_survey.groups
    g_code = np.concatenate([[g.code] * g.size for g in groups]).astype(object)
    nr = len(g_code)
    qs = np.array(meth.leaf_codes("officials_survey"), dtype=object)
    nq = len(qs)
    ri, cj = np.repeat(np.arange(nr), nc), np.tile(np.arange(nc), nr)
    y = (0.9 + 0.25 * z[cj] + rng.normal(0, 0.35, nr)[ri])[:, None] + rng.normal(0, 0.85, (nr * nc, nq))
    ans = np.select([y > 0.75, y > -0.85, y > -2.0], ["A", "B", "C"], "D").astype(object)
    ans[rng.random(ans.shape) < 0.05] = ""
    ans[plant(0.002, sp[4])[cj], 0] = ""                                      # a question nobody answered
    officials = pd.DataFrame({
        "ballot_id": np.array([f"CB{i + 1:02d}" for i in range(nr)], dtype=object)[np.repeat(ri, nq)],
        "group": g_code[np.repeat(ri, nq)], "commune_code": codes[np.repeat(cj, nq)],
        "question": np.tile(qs, nr * nc), "answer": ans.ravel()})

    # Dossiers per commune × procedure field, 50 satisfaction ballots per commune allocated over the fields.
    pf = np.array([p.code for p in meth.satisfaction_survey.procedure_fields], dtype=object)
    means = np.array([PROCEDURE_MEANS.get(c, 5.0) for c in pf])
    dos = rng.poisson(rng.lognormal(0, 0.3, nc)[:, None] * means[None, :])
    dos[:, 0] = np.maximum(dos[:, 0], 1)
    per = meth.satisfaction_survey.ballots_per_commune
    alloc = np.floor(dos / dos.sum(axis=1, keepdims=True) * per).astype(int)
    alloc[:, 0] += per - alloc.sum(axis=1)
    alloc[sp[5], :2] = alloc[sp[5], :2].sum() - 5, 5                           # 5 ballots of a field …
    no_dossiers = plant(0.003, sp[5])
    dos[no_dossiers, 1] = 0                                                   # … that had no dossier
    dossiers = pd.DataFrame({"commune_code": np.repeat(codes, len(pf)), "procedure_field": np.tile(pf, nc),
                             "dossiers": dos.ravel().astype("int64")})
    bc = np.repeat(np.arange(nc), per)
    bf = np.repeat(np.tile(np.arange(len(pf)), nc), alloc.ravel())
    sq = meth.satisfaction_questions()
    nsq = len(sq)
    p_pos = np.clip(0.88 + 0.03 * z[bc], 0.6, 0.99)
    u = rng.random((len(bc), nsq))
    sat = np.where(u < p_pos[:, None], np.where(u < p_pos[:, None] * 0.45, 5, 4),
                   rng.integers(1, 4, (len(bc), nsq))).astype(float)
    sat[rng.random(sat.shape) < 0.02] = np.nan
    factor0 = (sq["factor"] == meth.satisfaction_survey.factors[0].code).to_numpy()
    sat[np.ix_(plant(0.002, sp[6])[bc], factor0)] = np.nan                   # a factor without any answer
    n = len(bc)
    satisfaction = pd.DataFrame({
        "ballot_id": np.repeat(np.char.add("HL", np.arange(1, n + 1).astype(str)).astype(object), nsq),
        "commune_code": codes[np.repeat(bc, nsq)], "procedure_field": pf[np.repeat(bf, nsq)],
        "question": np.tile(sq["question"].to_numpy(object), n), "answer": pd.array(sat.ravel(), dtype="Int64")})
    str_cols = {"assessment": ["commune_code", "code", "reason", "evidence"],
                "officials": ["ballot_id", "group", "commune_code", "question", "answer"],
                "satisfaction": ["ballot_id", "commune_code", "procedure_field", "question"],
                "dossiers": ["commune_code", "procedure_field"]}
    tables = {"assessment": assessment, "officials": officials, "satisfaction": satisfaction, "dossiers": dossiers}
    return {k: t.astype({c: "str" for c in str_cols[k]}) for k, t in tables.items()}


def weighted(tables: dict, meth) -> dict:
    """The tables as the clean stage leaves them: the satisfaction ballots weighted by the methodology's
    estimator (computed on the tables given, as for a run of these communes alone)."""
    sat = apply_estimator(tables["satisfaction"], tables["dossiers"], meth.satisfaction_survey.estimator)[0]
    return {**tables, "satisfaction": sat}


def score(tables: dict, meth, communes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return score_all(tables["assessment"], tables["officials"], tables["satisfaction"], meth, communes,
                     dossiers=tables["dossiers"])


#: Columns that depend on the other communes of the set: the rank, under the published estimator and under
#: the other one. Everything else of every scored table is the commune's own.
RANK_COLUMNS = {"results": ["rank"], "estimator_check": ["rank_plain_share", "rank_dossier_weighted"]}


def own_rows(table: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """The rows of ``codes`` in a scored table, grouped by commune code (keeping each commune's own row order:
    some tables list communes by rank, which depends on the set); the rank columns are dropped by the caller."""
    t = table[table["commune_code"].isin(codes)]
    return t.sort_values("commune_code", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def national_and_subset(meth, nation):
    communes = nation[["commune_code", "commune_name", "commune_type"]].reset_index(drop=True)
    sub = subset_codes(nation)
    raw = clean_tables(meth, communes, special=sub[:7], seed=16)
    alone = {k: t[t["commune_code"].isin(sub)].reset_index(drop=True) for k, t in raw.items()}
    sub_communes = communes[communes["commune_code"].isin(sub)].reset_index(drop=True)
    return dict(sub=sub, communes=communes, alone_tables=weighted(alone, meth),
                national=score(weighted(raw, meth), meth, communes),
                alone=score(weighted(alone, meth), meth, sub_communes))


def test_generated_tables_are_clean_tables(national_and_subset):
    """The generated tables have the readers' shapes (the subset's, to keep the check quick)."""
    t = national_and_subset["alone_tables"]
    for name in ("assessment", "officials", "satisfaction", "dossiers"):
        SCHEMAS[name].validate(t[name])
    assert t["officials"]["ballot_id"].nunique() == 46
    assert t["officials"].drop_duplicates("ballot_id")["group"].value_counts().to_dict() == {
        "HDND": 33, "PCM": 12, "MTTQ": 1}
    assert (t["satisfaction"].drop_duplicates("ballot_id").groupby("commune_code").size() == 50).all()


def test_scale_does_not_change_points(national_and_subset):
    sub, nat, alone = national_and_subset["sub"], national_and_subset["national"], national_and_subset["alone"]
    assert len(nat["results"]) == 10_598 and len(alone["results"]) == len(sub) == 30
    # The planted rare cases reach the subset (each table below has rows of the subset to compare).
    log_kinds = set(own_rows(alone["adjustment_log"], sub)["kind"])
    assert {"rescaled_form_maximum", "question_without_answers", "factor_without_answers", "bonus", "bonus_cap",
            "deduction", "deduction_cap", "field_without_dossiers"} <= log_kinds
    assert not own_rows(alone["off_step"], sub).empty and not own_rows(alone["appraisal_changes"], sub).empty
    assert (own_rows(alone["leaf_scores"], sub)["note"] == "không áp dụng").any()
    assert set(alone) == set(nat)
    for name in nat:
        drop = RANK_COLUMNS.get(name, [])
        a = own_rows(alone[name], sub).drop(columns=drop)
        n = own_rows(nat[name], sub).drop(columns=drop)
        # Exactly equal, not to a tolerance: every per-commune figure is summed (or averaged) over the
        # commune's own rows, in the same order whether the other communes are there or not.
        pd.testing.assert_frame_equal(a, n, check_exact=True, obj=name)
    res = own_rows(alone["results"], sub)
    for col in ("index_pct", "points", "max_points", "appraisal_points", "officials_survey_points",
                "satisfaction_survey_points", "field_1_points", "bonus", "deduction", "band"):
        assert col in res.columns, col                # these figures were among the columns compared above


def test_rank_alone_is_the_order_of_the_national_ranks(national_and_subset):
    """Alone, a commune's rank is 1 + the number of communes of the set ahead of it nationally (national
    ranks order the published indexes; equal published indexes share a rank in both)."""
    sub, nat, alone = national_and_subset["sub"], national_and_subset["national"], national_and_subset["alone"]
    for table, col in (("results", "rank"), ("estimator_check", "rank_plain_share"),
                       ("estimator_check", "rank_dossier_weighted")):
        r_nat = own_rows(nat[table], sub)[col].to_numpy()
        r_alone = own_rows(alone[table], sub)[col].to_numpy()
        ahead = (r_nat[None, :] < r_nat[:, None]).sum(axis=1)
        np.testing.assert_array_equal(r_alone, 1 + ahead)
    # alone, the ranks are those of the published (2-decimal, half-up) indexes: 1 + how many show more
    res = alone["results"]
    shown = np.array([round_half_up(x, 2) for x in res["index_pct"]])
    np.testing.assert_array_equal(res["rank"], 1 + (shown[None, :] > shown[:, None]).sum(axis=1))
    assert (own_rows(nat["results"], sub)["rank"] > 30).any()                # the ranks did differ


# ------------------------------------------------------------------------------------------------
# 2. The same data as .xlsx and as .csv: the same clean tables
# ------------------------------------------------------------------------------------------------
#: The same cells written into both files after synth.py wrote them: (data row, heading, value in the .xlsx,
#: text in the .csv). Values of the .xlsx are typed cells where a spreadsheet would hold them typed (dates,
#: a date with a time); the .csv holds them as a spreadsheet exports them (dd/mm/yyyy).
EDITS = {
    "phieu_hai_long": [
        (5, "Ngày khảo sát", dt.date(2023, 12, 31), "31/12/2023"),            # outside the survey period
        (7, "Ngày khảo sát", dt.datetime(2023, 11, 2, 9, 30), "02/11/2023 09:30"),
        (9, "Ngày khảo sát", None, ""),                                      # blank date
        (11, "Số điện thoại", "0912345678", "0912345678"),
        (12, "Số điện thoại", "0912345678", "0912345678"),                    # duplicate phone number
        (20, "Số điện thoại", "091 234 5678", "091 234 5678"),                # the same, written with spaces
        (30, "TC1", 7, "7"),                                                  # out of range
    ],
    "phieu_can_bo": [
        (3, "Nhóm đối tượng", "Cán bộ khác", "Cán bộ khác"),                  # unknown group
        (4, "Xã, thị trấn", "xa thanh tung", "xa thanh tung"),                # name without diacritics
        (5, "Nhóm đối tượng", "HĐND", "HĐND"),                                # group by its short name
        (6, "1.6", "b", "b"),                                                 # lower-case answer
        (8, "2.4", "Không biết", "Không biết"),                               # don't know = blank
    ],
    "tu_danh_gia_tham_dinh": [(2, "Điểm tự chấm", "0,5", "0,5"), (3, "Không áp dụng", "x", "x")],
    "so_ho_so": [(1, "HT", None, "")],                                        # blank count = 0
}


def edit_raw(path: Path, edits: list[tuple]) -> None:
    """Write ``edits`` into a file written by synth.py (title, blank line, header, data)."""
    if path.suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        for r, heading, _, text in edits:
            rows[3 + r][rows[2].index(heading)] = text
        with open(path, "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(rows)
        return
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[3]]
    for r, heading, value, _ in edits:
        ws.cell(4 + r, header.index(heading) + 1).value = value
    wb.save(path)


def clean_stage(tmp: Path, fmt: str, meth, communes_csv: Path, communes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    raw = tmp / fmt / "raw"
    generate(YEAR, raw, seed=16, meth=meth, communes=communes, fmt=fmt)
    for stem, edits in EDITS.items():
        edit_raw(raw / f"{stem}_{YEAR}.{fmt}", edits)
    # as benchmarks/bench_pipeline.py's case_params builds the parameters of a synthetic district
    params = RunParams.model_validate({
        "year": YEAR, "seed": 16, "inputs": {"raw_dir": str(raw)},
        "district": {"communes": str(communes_csv), "name": "Thanh Miện (synthetic)", "province": "-"},
        "survey": {"survey_start": f"{YEAR}-10-01", "survey_end": f"{YEAR}-12-15"}})
    run = pipeline.clean(pipeline.start(params, ROOT, tmp / fmt / "run", previous=None))
    return run.stage_tables("clean")


#: Columns that name where a row was read: the file (its name ends in .xlsx or .csv) and the sheet (a .csv
#: has no sheet: ""). Nothing else may differ.
SOURCE_COLUMNS = ("file", "sheet")


def test_xlsx_and_csv_give_the_same_clean_tables(tmp_path, meth, nation):
    tm = nation[nation["district_name"] == "Huyện Thanh Miện"]
    communes = tm[["commune_code", "commune_name", "commune_type"]].reset_index(drop=True)
    communes_csv = tmp_path / "communes.csv"
    communes.to_csv(communes_csv, index=False)
    x = clean_stage(tmp_path, "xlsx", meth, communes_csv, communes)
    c = clean_stage(tmp_path, "csv", meth, communes_csv, communes)
    assert set(x) == set(c)
    # every planted defect was seen, the same way: rejected, logged as a duplicate, or recognised and logged
    assert set(x["rejections"]["rule"]) >= {"unknown_group", "outside_period", "duplicate", "out_of_range"}
    assert len(x["duplicates"]) == 2 and len(x["conversions"]) >= 3
    assert (x["rejections"]["sheet"] != "").all() and (c["rejections"]["sheet"] == "").all()
    assert x["rejections"]["file"].str.endswith(".xlsx").all() and c["rejections"]["file"].str.endswith(".csv").all()
    for name in sorted(x):
        a, b = x[name], c[name]
        src = [col for col in SOURCE_COLUMNS if col in a.columns]
        if src and len(a):
            assert (a["file"].str.replace(".xlsx", "", regex=False)
                    == b["file"].str.replace(".csv", "", regex=False)).all(), name
        pd.testing.assert_frame_equal(a.drop(columns=src), b.drop(columns=src), check_exact=True, obj=name)
