"""Command line: ``parindex run --year 2023 …`` and friends. Run ``parindex --help``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from .methodology import MethodologyError
from .params import ParamsError, load_params
from .runner import ROOT, RunError
from .safeyaml import YamlError, clip


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
    from .pipeline import run_pipeline

    outcome = run_pipeline(params, root=root, out_root=out, processed_root=processed, notebooks=not a.no_notebooks,
                           publish=True if a.publish else None)
    year_dir = outcome.run_dir.parent.parent
    print(f"Hoàn thành năm {params.year} sau {outcome.seconds:.1f} s — run {outcome.run_id}")
    if outcome.published:
        print(f"  báo cáo:  {year_dir / 'index.html'}")
        print(f"  bảng:     {year_dir / 'results.csv'}, {year_dir / 'results.xlsx'}")
        if outcome.kind == "what-if":
            print("  (lần chạy giả định, đã công bố theo yêu cầu --publish; published as asked)")
    else:
        shown = ", ".join(outcome.differs[:6]) + (" …" if len(outcome.differs) > 6 else "")
        print(f"  Lần chạy giả định (what-if: {shown}) — KHÔNG công bố vào {year_dir}/; bản công bố của năm "
              f"{params.year} giữ nguyên. Để công bố: parindex publish {outcome.run_dir}")
    print(f"  lần chạy: {outcome.run_dir}")
    return 0


def _cmd_compare(a: argparse.Namespace) -> int:
    from .publish.compare import write_comparison
    from .runs import read_run

    run_a, run_b = read_run(a.run_a), read_run(a.run_b)   # each checked against its manifest first
    out = Path(a.out) if a.out else run_b.path.parent.parent / "compare" / f"{run_a.path.name}_vs_{run_b.path.name}"
    for p in write_comparison(run_a, run_b, out):
        print(f"  đã ghi {p}")
    return 0


def _cmd_replay(a: argparse.Namespace) -> int:
    from .runs import replay

    outcome = replay(a.run, root=Path(a.root).resolve(), keep=a.keep,
                     processed_dir=Path(a.processed).resolve() if a.processed else None)
    if outcome.reproduced:
        print(f"Kiểm tra và chạy lại khớp hoàn toàn (verified and reproduced exactly): {a.run}")
        return 0
    print(f"Chạy lại KHÔNG khớp (not reproduced): {len(outcome.differing)} tệp khác: " + ", ".join(outcome.differing))
    if outcome.code_changed:
        print(f"  Mã nguồn đã khác lần chạy gốc (code changed): {outcome.original_commit} → {outcome.current_commit}")
    return 1


def _cmd_verify(a: argparse.Namespace) -> int:
    from .publication import verify

    run_dir, m = verify(Path(a.path), Path(a.processed).resolve() if a.processed else None)
    n = len(m.get("outputs", {}))
    print(f"Khớp manifest (verified): {a.path} — lần chạy {run_dir.name}, {n} tệp đã kiểm tra")
    return 0


def _cmd_publish(a: argparse.Namespace) -> int:
    from .publication import publish

    root = Path(a.root).resolve()
    processed = Path(a.processed).resolve() if a.processed else root / "data" / "processed"
    year_dir = publish(Path(a.run), processed)
    print(f"Đã công bố {Path(a.run).name} (published): {year_dir / 'index.html'}")
    return 0


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
    r.add_argument("--publish", action="store_true",
                   help="publish the run over reports/<year>/ even when it is a what-if (parameters other than "
                        "params/<year>.yaml); the year's official run is published without it")
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
    rp.add_argument("--processed", help="processed tables of the publication to check (default: where it was "
                                        "published)")
    rp.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    rp.set_defaults(func=_cmd_replay)

    v = sub.add_parser("verify", help="check every stored file of a run folder, or of the published run of a "
                                      "year folder and its published copies, against the manifest")
    v.add_argument("path", help="run folder (reports/2023/runs/001-ab12cd34) or year folder (reports/2023)")
    v.add_argument("--processed", help="processed tables folder of the year (default: where it was published)")
    v.set_defaults(func=_cmd_verify)

    pb = sub.add_parser("publish", help="make a finished run (e.g. a what-if) the published run of its year")
    pb.add_argument("run", help="run folder, e.g. reports/2022/runs/002-ab12cd34")
    pb.add_argument("--processed", help="folder of the processed tables (default data/processed/)")
    pb.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    pb.set_defaults(func=_cmd_publish)

    from .cli_survey import register
    from .project_init import register as register_init

    register(sub)
    register_init(sub)
    return p


def _on_sigterm(signum, frame):  # pragma: no cover - exercised through subprocess tests
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run a command; every failure a user can cause ends in a one-paragraph message (Vietnamese, English in
    brackets) on stderr and exit code 2, Ctrl-C (or SIGTERM) in a short message and exit code 130 — never a
    traceback (set PARINDEX_DEBUG=1 to see one for an unexpected error)."""
    args = build_parser().parse_args(argv)
    from .publication import disk_error_message
    from .runs import CompareError

    old = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:   # not the main thread (e.g. called from a test thread)
        old = None
    try:
        return args.func(args)
    except (ParamsError, MethodologyError, RunError, CompareError, YamlError) as e:
        _error(str(e))
        return 2
    except KeyboardInterrupt:
        print("\nĐã dừng theo yêu cầu (Ctrl-C). Thư mục tạm đã được xóa; bản công bố trước vẫn giữ nguyên "
              "[stopped: temporary folders removed, the previous publication is unchanged]", file=sys.stderr)
        return 130
    except OSError as e:
        _error(disk_error_message(e))
        return 2
    except Exception as e:   # noqa: BLE001 - the last line of defence: a message, not a traceback
        if os.environ.get("PARINDEX_DEBUG"):
            raise
        from .ingest import InputError
        if isinstance(e, InputError):
            _error(str(e))
            return 2
        _error(f"Lỗi không mong đợi: {type(e).__name__}: {clip(e, 300)}. Hãy gửi thông báo này cho người quản trị; "
               f"đặt PARINDEX_DEBUG=1 để xem chi tiết [unexpected error; set PARINDEX_DEBUG=1 for details]")
        return 2
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _error(msg: str) -> None:
    print(f"LỖI / ERROR: {clip(msg, 4000)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
