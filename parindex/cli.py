"""Command line: ``parindex run --year 2023 …`` and friends. Run ``parindex --help``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .methodology import MethodologyError
from .params import ParamsError, load_params
from .pipeline import run_pipeline
from .runner import ROOT, RunError
from .runs import CompareError


def _cmd_run(a: argparse.Namespace) -> int:
    sets = list(a.set or [])
    if a.input:
        sets.append(f"inputs.raw_dir={a.input}")
    if a.methodology:
        sets.append(f"methodology={a.methodology}")
    if a.seed is not None:
        sets.append(f"seed={a.seed}")
    if a.allow_missing_as_zero:
        sets.append("scoring.allow_missing_as_zero=true")
    if a.draws is not None:
        sets.append(f"robustness.n_draws={a.draws}")
    if a.no_robustness:
        sets.append("robustness.enabled=false")
    root = Path(a.root).resolve()
    params = load_params(a.year, a.params, sets, root=root)
    out = Path(a.output).resolve() if a.output else None
    processed = Path(a.processed).resolve() if a.processed else None
    outcome = run_pipeline(params, root=root, out_root=out, processed_root=processed, notebooks=not a.no_notebooks)
    year_dir = outcome.run_dir.parent.parent
    print(f"Hoàn thành năm {params.year} sau {outcome.seconds:.1f} s — run {outcome.run_id}")
    print(f"  báo cáo:  {year_dir / 'index.html'}")
    print(f"  bảng:     {year_dir / 'results.csv'}, {year_dir / 'results.xlsx'}")
    print(f"  lần chạy: {outcome.run_dir}")
    return 0


def _cmd_compare(a: argparse.Namespace) -> int:
    from .publish.compare import write_comparison
    from .runs import read_run

    run_a, run_b = read_run(a.run_a), read_run(a.run_b)
    out = Path(a.out) if a.out else run_b.path.parent.parent / "compare" / f"{run_a.path.name}_vs_{run_b.path.name}"
    for p in write_comparison(run_a, run_b, out):
        print(f"  đã ghi {p}")
    return 0


def _cmd_replay(a: argparse.Namespace) -> int:
    from .runs import replay

    outcome = replay(a.run, root=Path(a.root).resolve(), keep=a.keep)
    if outcome.reproduced:
        print(f"Chạy lại khớp hoàn toàn (reproduced exactly): {a.run}")
        return 0
    print(f"Chạy lại KHÔNG khớp (not reproduced): {len(outcome.differing)} tệp khác: " + ", ".join(outcome.differing))
    if outcome.code_changed:
        print(f"  Mã nguồn đã khác lần chạy gốc (code changed): {outcome.original_commit} → {outcome.current_commit}")
    return 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="parindex", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="the yearly run: clean → score → robustness → report (notebooks via papermill)")
    r.add_argument("--year", type=int, required=True)
    r.add_argument("--params", help="parameters file (default params/<year>.yaml when it exists)")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override one parameter, e.g. --set survey.group_weighting=equal (repeatable)")
    r.add_argument("--input", help="folder of raw files (default data/raw/<year>)")
    r.add_argument("--methodology", help="methodology YAML file")
    r.add_argument("--output", help="reports folder (default reports/)")
    r.add_argument("--processed", help="folder of the latest clean and scored tables (default data/processed/)")
    r.add_argument("--seed", type=int)
    r.add_argument("--draws", type=int, help="Monte Carlo draws of the robustness stage")
    r.add_argument("--no-robustness", action="store_true", help="skip the robustness stage")
    r.add_argument("--no-notebooks", action="store_true",
                   help="run the stages in this process instead of executing their notebooks (faster; same outputs, "
                        "no executed notebooks kept)")
    r.add_argument("--allow-missing-as-zero", action="store_true",
                   help="score missing self-assessment rows as zero, and leave a survey a commune is absent from "
                        "out of its maximum, instead of refusing (the report says so)")
    r.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    r.set_defaults(func=_cmd_run)

    c = sub.add_parser("compare", help="compare two runs (run folders or year folders): HTML page + xlsx")
    c.add_argument("run_a")
    c.add_argument("run_b")
    c.add_argument("--out", help="output folder (default reports/<year of B>/compare/<A>_vs_<B>/)")
    c.set_defaults(func=_cmd_compare)

    rp = sub.add_parser("replay", help="re-execute a run from its manifest and check it reproduces exactly")
    rp.add_argument("run", help="run folder, e.g. reports/2023/runs/001-ab12cd34")
    rp.add_argument("--keep", action="store_true", help="keep the replayed outputs beside the run (<run>.replay)")
    rp.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    rp.set_defaults(func=_cmd_replay)

    from .cli_survey import register
    from .project_init import register as register_init

    register(sub)
    register_init(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ParamsError, MethodologyError, RunError, CompareError) as e:
        print(f"LỖI / ERROR: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
