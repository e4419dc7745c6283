"""Benchmark of parindex.uncertainty.robustness.run_robustness on synthetic data at two scales.

(a) the 235 communes of Hải Dương (province_code "30"), (b) all 10,598 communes of Vietnam, names and
codes from data/reference/vn_admin_units_2023-04-10.csv (shipped with the project). Synthetic clean tables (assessment;
officials' survey: the same 33 + 1 + 12 respondents, ballot ids CB01…CB46, rate every commune, as in
the real design, so the joint bootstrap of respondents is exercised at full width; 50 satisfaction
ballots per commune) are scored with parindex.scoring.score_all, then the robustness analysis runs
with all sources on (``--per-commune`` switches the officials' bootstrap to the former per-commune
design for comparison). Prints per case the setup time, the wall time of run_robustness (module
imports, e.g. SALib, are done before), the CPU time of the process during it (all threads; a steadier
figure than the wall time on a shared machine) and the peak resident memory of the process during the run
(Linux: VmHWM, reset through /proc/self/clear_refs just before the run; tracemalloc is not used
because tracing numpy's allocations slows the run 2–3 ×).

Run on demand:  .venv/bin/python benchmarks/bench_robustness.py [--case hai-duong|vietnam|all] [--draws N]
                [--per-commune] [--units PATH]
Target: 10,000 draws × 235 communes within 3 s on the 2-core development machine (issue 16).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from parindex.methodology import load_methodology  # noqa: E402
from parindex.params import Robustness  # noqa: E402
from parindex.uncertainty.robustness import run_robustness  # noqa: E402
from parindex.scoring import score_all  # noqa: E402

METHODOLOGY = ROOT / "methodologies" / "reference-default-v1.yaml"
ADMIN_UNITS = ROOT / "data" / "reference" / "vn_admin_units_2023-04-10.csv"


def load_units(province_code: str | None, path: Path = ADMIN_UNITS) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if province_code is not None:
        df = df[df["province_code"] == province_code]
    return df[["commune_code", "commune_name", "commune_type"]].reset_index(drop=True)


def synthetic_tables(meth, communes: pd.DataFrame, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Seeded synthetic clean tables: most communes in the 80s, a few above 90 (see DOMAIN.md)."""
    rng = np.random.default_rng(seed)
    codes = communes["commune_code"].to_numpy()
    C = len(codes)
    quality = np.clip(rng.normal(0.86, 0.05, C), 0.6, 0.99)

    # Appraisal: full / partial / zero steps, a few leaves not applicable.
    lv = meth.leaves()
    lv = lv[lv.source == "appraisal"].reset_index(drop=True)
    L = len(lv)
    full = lv["points"].to_numpy()
    partial = np.array([s[1] if s and len(s) > 1 else p / 2 for s, p in zip(lv["steps"], lv["points"])])
    u = rng.random((C, L))
    q = quality[:, None]
    pts = np.where(u < q, full, np.where(u < q + (1 - q) * 0.8, partial, 0.0))
    assessment = pd.DataFrame({
        "commune_code": np.repeat(codes, L), "code": np.tile(lv["code"].to_numpy(), C),
        "self_points": pts.ravel(), "appraised_points": np.nan,
        "not_applicable": (rng.random(C * L) < 0.01), "reason": "", "evidence": ""})

    # Officials' survey: as in the real design the SAME 33 HDND + 1 MTTQ + 12 PCM respondents (ballot ids
    # CB01…CB46) rate every commune, each with a leniency of their own shared by all the communes they rate;
    # about 1 % of respondent × commune ballots are missing (not rated or excluded at cleaning).
    qs = meth.leaf_codes("officials_survey")
    groups = np.repeat([g.code for g in meth.officials_survey.groups],
                       [g.size for g in meth.officials_survey.groups])
    R, Q = len(groups), len(qs)
    lenient = rng.normal(0.0, 0.08, R)
    resp = np.tile(np.repeat(np.arange(R), Q), C)
    qual = np.repeat(quality, R * Q)
    u = rng.random(C * R * Q)
    pa = np.clip(qual * 1.1 - 0.3 + lenient[resp], 0.05, 0.95)
    ans = np.select([u < 0.05, u < 0.05 + 0.95 * pa, u < 0.05 + 0.95 * (pa + (1 - pa) * 0.7),
                     u < 0.05 + 0.95 * (pa + (1 - pa) * 0.95)], ["", "A", "B", "C"], "D")
    kept = np.repeat(rng.random(C * R) >= 0.01, Q)
    ids = np.char.add("CB", np.char.zfill(np.arange(1, R + 1).astype(str), 2))
    officials = pd.DataFrame({
        "ballot_id": pd.array(ids[resp], dtype="str"),
        "group": pd.array(np.tile(np.repeat(groups, Q), C), dtype="str"),
        "commune_code": pd.array(np.repeat(codes, R * Q), dtype="str"),
        "question": pd.array(np.tile(qs, C * R), dtype="str"),
        "answer": pd.array(ans, dtype="str")})[kept].reset_index(drop=True)

    # Satisfaction survey: 50 ballots per commune over the procedure fields, answers 1–5.
    sq = meth.satisfaction_questions()["question"].to_numpy()
    pfs = np.array([p.code for p in meth.satisfaction_survey.procedure_fields])
    N, S = meth.satisfaction_survey.ballots_per_commune, len(sq)
    ballot_pf = pfs[rng.integers(0, len(pfs), C * N)]
    qual = np.repeat(quality, N * S)
    u = rng.random(C * N * S)
    ppos = np.clip(qual + 0.03, 0.5, 0.99)
    a = np.select([u < ppos * 0.45, u < ppos, u < ppos + (1 - ppos) * 0.6, u < ppos + (1 - ppos) * 0.9],
                  [5, 4, 3, 2], 1).astype(float)
    a[rng.random(C * N * S) < 0.03] = np.nan
    bid = np.char.add(np.repeat(codes, N).astype(str), np.char.add("-S", np.tile(np.arange(N), C).astype(str)))
    satisfaction = pd.DataFrame({
        "ballot_id": pd.array(np.repeat(bid, S), dtype="str"),
        "commune_code": pd.array(np.repeat(codes, N * S), dtype="str"),
        "procedure_field": pd.array(np.repeat(ballot_pf, S), dtype="str"),
        "question": pd.array(np.tile(sq, C * N), dtype="str"),
        "answer": pd.array(a, dtype="Int64"), "weight": 1.0})
    return dict(assessment=assessment, officials=officials, satisfaction=satisfaction)


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run_case(name: str, communes: pd.DataFrame, draws: int, officials_joint: bool = True) -> None:
    meth = load_methodology(METHODOLOGY)
    t0 = time.perf_counter()
    tabs = synthetic_tables(meth, communes)
    scored = score_all(tabs["assessment"], tabs["officials"], tabs["satisfaction"], meth, communes)
    t_setup = time.perf_counter() - t0
    params = Robustness(n_draws=draws, officials_joint=officials_joint)   # every other setting: the defaults
    before = _peak_rss_mib()
    reset = _reset_peak_rss()
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_robustness(meth, scored["leaf_scores"], tabs["officials"], tabs["satisfaction"], scored["results"],
                         params, seed=2023, rank_decimals=2)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _peak_rss_mib()
    mem = (f"peak RSS during the run {peak:,.0f} MiB" if reset
           else f"peak RSS of the process {peak:,.0f} MiB (could not reset; {before:,.0f} MiB before)")
    print(f"{name}: {len(communes):,} communes × {draws:,} draws (+ {draws:,} for the convergence check, "
          f"{res.summary['bootstrap_replicates']:,} bootstrap replicates, {res.summary['sobol_runs']:,} Sobol runs): "
          f"{secs:.2f} s (CPU time of the process {cpu:.2f} s); {mem}; "
          f"setup (synthetic data + scoring) {t_setup:.1f} s; "
          f"officials' bootstrap {res.summary['officials_resampling']}; "
          f"mean |rank shift| {res.summary['mean_abs_rank_shift']:.2f}; mean 5–95 % rank interval width "
          f"{(res.per_commune['rank_p95'] - res.per_commune['rank_p05']).mean():.2f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["hai-duong", "vietnam", "all"], default="all")
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--per-commune", action="store_true",
                    help="resample the officials' ballots per commune (officials_joint=False) instead of jointly")
    ap.add_argument("--units", type=Path, default=ADMIN_UNITS,
                    help="national list of administrative units (csv: province_code, commune_code, commune_name, "
                         f"commune_type); default {ADMIN_UNITS}")
    a = ap.parse_args(argv)
    joint = not a.per_commune
    if a.case in ("hai-duong", "all"):
        run_case("Hải Dương", load_units("30", a.units), a.draws, joint)
    if a.case in ("vietnam", "all"):
        run_case("Việt Nam", load_units(None, a.units), a.draws, joint)


if __name__ == "__main__":
    main()
