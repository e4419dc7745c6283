"""Benchmarks of the yearly run at three scales; prints a table and writes ``benchmarks/results.json``.

    .venv/bin/python benchmarks/bench_pipeline.py                 # everything (first call generates data)
    .venv/bin/python benchmarks/bench_pipeline.py --only district_core_s province_core_s
    .venv/bin/python benchmarks/bench_pipeline.py --repeat 5

Figures (seconds unless said; median of ``--repeat`` runs, national ones of ``--repeat-national``):

* ``district_full_run_s`` — ``parindex run --year 2023`` on the demo data, notebooks and report included,
  warm (a first run is not counted), as a separate process;
* ``district_core_s`` — clean + score + robustness of the demo 2023 run in process (no notebooks, no report);
* ``province_core_s`` / ``national_core_s`` — the same on synthetic raw workbooks of all 235 communes of
  Hải Dương / all 10,598 communes of Viet Nam (50 satisfaction ballots and 46 officials' ballots per
  commune; :mod:`synth`), read, cleaned, scored, with 1,000 robustness draws; measured in a child process;
* ``national_core_peak_mb`` — peak resident memory of that child process (``ru_maxrss``);
* ``national_read_s`` — reading the four national raw workbooks alone (the importers' sheet reader);
* ``robustness_10k_235_s`` — ``run_robustness`` with 10,000 draws on the scored Hải Dương run.

Synthetic data is generated once into ``benchmarks/_data/`` (ignored by git) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
DATA = ROOT / "benchmarks" / "_data"
NATIONAL_LIST = ROOT / "data" / "reference" / "vn_admin_units_2023-04-10.csv"
METHODOLOGY = ROOT / "methodologies" / "reference-default-v1.yaml"
YEAR = 2023
TARGETS = {"district_full_run_s": 10.0, "national_core_s": 10.0, "national_core_peak_mb": 1500.0,
           "robustness_10k_235_s": 3.0}
METRICS = ["district_full_run_s", "district_core_s", "province_core_s", "national_core_s", "national_core_peak_mb",
           "national_read_s", "robustness_10k_235_s"]


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------
def case_dir(case: str) -> Path:
    """Synthetic raw files and commune list of a case ("province" or "national"), generated when missing."""
    import pandas as pd

    from parindex.methodology import load_methodology
    from synth import generate

    d = DATA / case
    if (d / "done").exists():
        return d
    shutil.rmtree(d, ignore_errors=True)
    nat = pd.read_csv(NATIONAL_LIST, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if case == "province":
        nat = nat[nat["province_code"] == "30"]
    communes = nat[["commune_code", "commune_name", "commune_type"]].reset_index(drop=True)
    d.mkdir(parents=True)
    communes.to_csv(d / "communes.csv", index=False)
    t = time.perf_counter()
    generate(YEAR, d / "raw", seed=16, meth=load_methodology(METHODOLOGY), communes=communes)
    print(f"  (generated {case} data: {len(communes)} communes in {time.perf_counter() - t:.0f} s)", flush=True)
    (d / "done").write_text("ok\n")
    return d


def case_params(case: str, n_draws: int = 1000):
    from parindex.params import RunParams

    d = case_dir(case)
    # The national workbooks pass the default limits against hostile files (20 MB, 200 MB unpacked, 50,000 rows):
    # a national run raises them, as its parameters would.
    ingest = {"max_file_mb": 200, "max_unzipped_mb": 2000, "max_rows": 1_048_576} if case == "national" else {}
    return RunParams.model_validate({
        "year": YEAR, "seed": 16, "inputs": {"raw_dir": str(d / "raw")},
        "district": {"communes": str(d / "communes.csv"), "name": f"{case} (synthetic)", "province": "-"},
        "survey": {"survey_start": f"{YEAR}-10-01", "survey_end": f"{YEAR}-12-15"},
        "robustness": {"n_draws": n_draws}, "ingest": ingest})


# ------------------------------------------------------------------------------------------------
# Measures
# ------------------------------------------------------------------------------------------------
def core(params, folder: Path) -> dict:
    """clean + score + uncertainty in this process; seconds per stage."""
    from parindex import pipeline

    t = {}
    t0 = time.perf_counter()
    run = pipeline.start(params, ROOT, folder)
    for name in ("clean", "score", "uncertainty"):
        s = time.perf_counter()
        run = getattr(pipeline, name)(run)
        t[name] = time.perf_counter() - s
    t["total"] = time.perf_counter() - t0
    return t


def core_in_child(case: str) -> dict:
    """``core`` of a case in a child process: its seconds per stage and its peak memory (MB)."""
    code = ("import json, resource, sys, tempfile; from pathlib import Path; sys.path.insert(0, %r); "
            "import bench_pipeline as b; "
            "t = b.core(b.case_params(%r), Path(tempfile.mkdtemp(prefix='pbench-'))); "
            "t['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; print(json.dumps(t))"
            % (str(ROOT / "benchmarks"), case))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def read_national() -> float:
    from parindex.ingest.clean import find_raw_file
    from parindex.ingest.context import Ingest
    from parindex.ingest.readers import RAW_FILES
    from parindex.ingest.sheets import Col, read_sheet

    raw = case_dir("national") / "raw"
    ing = Ingest.from_params(case_params("national"), ROOT)     # the national run's raised limits
    t = time.perf_counter()
    for kind, (_, sheet) in RAW_FILES.items():
        read_sheet(find_raw_file(raw, kind), sheet, [Col("any", ("Mã phiếu", "Mã xã"))], ing)
    return time.perf_counter() - t


def full_run(tmp: Path) -> float:
    cmd = [str(ROOT / ".venv" / "bin" / "parindex"), "run", "--year", str(YEAR), "--output", str(tmp / "reports"),
           "--processed", str(tmp / "processed")]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def robustness_10k(tmp: Path) -> float:
    from parindex import pipeline

    params = case_params("province", n_draws=10_000)
    run = pipeline.score(pipeline.clean(pipeline.start(params, ROOT, tmp / "rob")))
    t = time.perf_counter()
    pipeline.uncertainty(run)
    return time.perf_counter() - t


def median(xs):
    return float(statistics.median(xs))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repeat-national", type=int, default=1)
    ap.add_argument("--only", nargs="*", choices=METRICS)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    a = ap.parse_args(argv)
    want = a.only or METRICS
    res: dict = {}
    detail: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="parindex-bench-"))
    try:
        if "district_full_run_s" in want:
            full_run(tmp / "warm")
            res["district_full_run_s"] = median([full_run(tmp / f"f{i}") for i in range(a.repeat)])
        if "district_core_s" in want:
            from parindex.params import load_params
            p = load_params(YEAR, root=ROOT)
            runs = [core(p, tmp / f"d{i}") for i in range(a.repeat)]
            res["district_core_s"] = median([r["total"] for r in runs])
            detail["district_core_stages_s"] = {k: median([r[k] for r in runs]) for k in runs[0] if k != "total"}
        if "province_core_s" in want:
            runs = [core_in_child("province") for _ in range(a.repeat)]
            res["province_core_s"] = median([r["total"] for r in runs])
            detail["province_core_stages_s"] = {k: median([r[k] for r in runs]) for k in runs[0] if k != "total"}
        if "national_core_s" in want or "national_core_peak_mb" in want:
            runs = [core_in_child("national") for _ in range(a.repeat_national)]
            res["national_core_s"] = median([r["total"] for r in runs])
            res["national_core_peak_mb"] = median([r["peak_mb"] for r in runs])
            detail["national_core_stages_s"] = {k: median([r[k] for r in runs]) for k in runs[0]
                                                if k not in ("total", "peak_mb")}
        if "national_read_s" in want:
            res["national_read_s"] = median([read_national() for _ in range(a.repeat_national)])
        if "robustness_10k_235_s" in want:
            res["robustness_10k_235_s"] = median([robustness_10k(tmp / f"r{i}") for i in range(a.repeat)])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    old = json.loads(a.out.read_text(encoding="utf-8")) if a.out.exists() else {}
    out = {**old.get("figures", {}), **{k: round(v, 3) for k, v in res.items()}}
    doc = {"figures": out, "detail": {**old.get("detail", {}), **detail}, "targets": TARGETS,
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
           "note": "median of several runs; 2-core development machine"}
    a.out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\n{'figure':28s} {'value':>10s} {'target':>10s}")
    for k in METRICS:
        if k in out:
            tgt = TARGETS.get(k)
            flag = "" if tgt is None else ("  ok" if out[k] <= tgt else "  MISSED")
            print(f"{k:28s} {out[k]:10.2f} {'' if tgt is None else f'{tgt:10.1f}'}{flag}")
    for k, v in detail.items():
        print(f"  {k}: " + ", ".join(f"{s} {x:.2f}" for s, x in v.items()))
    print(f"\nwritten {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
