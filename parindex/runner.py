"""The yearly run: papermill executes the notebooks in order inside a staging folder; only a run that
finished is moved into place, so a failed run never leaves a half-written report behind.

Layout written by one run (``reports/<year>/runs/<run_id>/``)::

    index.html  results.csv  results.xlsx  [robustness.csv …]  rejections.csv
    processed/      clean and scored tables (parquet/csv) of this run
    notebooks/      the executed notebooks
    params.json     parameters after overrides
    manifest.json   hashes of inputs and methodology, versions, git commit, seed, times

The latest run is also copied to ``reports/<year>/`` (index.html, results.*, notebooks/) and its
processed tables to ``data/processed/<year>/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nbformat

from .methodology import load_methodology, write_effective_methodology
from .params import RunParams, project_path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["01_clean", "02_score", "03_robustness", "04_report"]
STAGE_LABELS = {
    "01_clean": "Làm sạch dữ liệu (clean)",
    "02_score": "Chấm điểm (score)",
    "03_robustness": "Kiểm định độ vững (robustness)",
    "04_report": "Lập báo cáo (report)",
}
LATEST_FILES = ["index.html", "results.csv", "results.xlsx", "robustness.csv", "rejections.csv"]
LATEST_DIRS = ["notebooks", "images"]
PACKAGES = ["parindex", "numpy", "pandas", "pyarrow", "plotly", "pandera", "pydantic", "openpyxl", "papermill",
            "SALib", "scipy", "jinja2", "nbformat", "ipykernel"]


_IPC_DIR: str | None = None  # per-run private folder of the kernels' IPC sockets (set by run_year)


def _quiet_kernel_manager():
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        """Local kernel over IPC sockets in a private folder of the run: no TCP ports, no ipykernel warning
        about unencrypted TCP, and no clash between runs started at the same time in one project folder."""

        def __init__(self, **kw):
            kw.setdefault("transport", "ipc")
            if _IPC_DIR is not None:
                kw.setdefault("ip", os.path.join(_IPC_DIR, "kernel"))
            super().__init__(**kw)

    return QuietKernelManager


def __getattr__(name):  # lazily build the kernel manager class papermill imports by name
    if name == "QuietKernelManager":
        cls = _quiet_kernel_manager()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


class RunError(RuntimeError):
    """A run that failed; nothing was written outside the staging folder (which is removed)."""


@dataclass
class RunOutcome:
    run_dir: Path
    run_id: str
    seconds: float


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_files(params: RunParams, root: Path) -> list[Path]:
    raw = project_path(root, params.inputs.raw_dir)
    files = sorted(p for p in raw.rglob("*") if p.is_file() and p.suffix.lower() in (".xlsx", ".csv", ".xls"))
    return files + [project_path(root, params.inputs.communes)]


def _git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def _rel(root: Path, p: Path) -> str:
    try:
        return str(p.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(p)


def build_manifest(params: RunParams, root: Path, run_id: str, started: dt.datetime, ended: dt.datetime,
                   outputs: Path) -> dict:
    meth_path = project_path(root, params.methodology)
    return {
        "run_id": run_id,
        "year": params.year,
        "seed": params.seed,
        "methodology": {"path": params.methodology, "sha256": sha256_file(meth_path),
                        "effective_sha256": sha256_file(outputs / "methodology.yaml"),
                        "id": load_methodology(outputs / "methodology.yaml").meta.id},
        "inputs": {_rel(root, p): sha256_file(p) for p in input_files(params, root)},
        "params": params.to_json_dict(),
        "outputs": {str(p.relative_to(outputs)): sha256_file(p) for p in sorted(outputs.rglob("*"))
                    if p.is_file() and p.name != "manifest.json" and "notebooks" not in p.parts},
        "versions": _versions(),
        "git_commit": _git_commit(root),
        "started": started.isoformat(timespec="seconds"),
        "ended": ended.isoformat(timespec="seconds"),
    }


def _strip_timings(nb_path: Path) -> None:
    """Remove papermill's timestamps so that executed notebooks depend on inputs only."""
    nb = nbformat.read(nb_path, as_version=4)
    pm = nb.metadata.get("papermill", {})
    for k in ("start_time", "end_time", "duration", "input_path", "output_path"):
        pm.pop(k, None)
    for c in nb.cells:
        c.metadata.get("papermill", {}).clear()
        c.metadata.pop("execution", None)
    nbformat.write(nb, nb_path)


def _next_run_id(year_dir: Path, params: RunParams) -> str:
    digest = hashlib.sha256(json.dumps(params.to_json_dict(), sort_keys=True).encode()).hexdigest()[:8]
    runs = year_dir / "runs"
    n = 1
    if runs.exists():
        nums = [int(p.name.split("-")[0]) for p in runs.iterdir() if p.name.split("-")[0].isdigit()]
        n = max(nums, default=0) + 1
    return f"{n:03d}-{digest}"


def _replace_dir(src: Path, dst: Path) -> None:
    """Move src to dst, replacing dst, with the old one out of the way first (never half-written)."""
    old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
    if dst.exists():
        dst.rename(old)
    try:
        src.rename(dst)
    except OSError:
        if old.exists():
            old.rename(dst)
        raise
    shutil.rmtree(old, ignore_errors=True)


def resolve_previous(params: RunParams, root: Path, out_root: Path) -> Path | None:
    """The earlier year's results file a run compares with (None: no comparison)."""
    v = params.inputs.previous_results
    if v == "none":
        return None
    p = out_root / str(params.year - 1) / "results.csv" if v == "auto" else project_path(root, v)
    if v != "auto" and not p.is_file():
        raise RunError(f"Không tìm thấy tệp kết quả năm trước {p} (inputs.previous_results)")
    return p if p.is_file() else None


def notebook_parameters(params: RunParams, root: Path, stage: Path) -> dict:
    """Parameters injected into every notebook (each notebook uses the ones it declares)."""
    p = params
    return dict(
        year=p.year,
        root=str(root),
        raw_dir=str(project_path(root, p.inputs.raw_dir)),
        communes_file=str(project_path(root, p.inputs.communes)),
        methodology_file=str(stage / "methodology.yaml"),
        processed_dir=str(stage / "processed"),
        report_dir=str(stage),
        seed=p.seed,
        previous_results_file=str(stage / "previous_results.csv") if (stage / "previous_results.csv").exists()
        else "none",
        params_json=json.dumps(p.to_json_dict(), ensure_ascii=False, sort_keys=True),
    )


def run_year(params: RunParams, root: Path = ROOT, out_root: Path | None = None, processed_root: Path | None = None,
             log=print, notebooks_dir: Path | None = None, previous: Path | None | str = "params") -> RunOutcome:
    """Execute the yearly run; return where it was written. Raises RunError on failure.

    ``previous``: the earlier year's results file to compare with; by default as the parameters say
    (replay passes the copy kept in the run folder). It is copied into the run folder, so a run stays
    reproducible when that year is run again later."""
    import papermill as pm

    t0 = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc)
    out_root = out_root or root / "reports"
    processed_root = processed_root or root / "data" / "processed"
    notebooks_dir = notebooks_dir or root / "notebooks"
    # Fail early, before anything is written.
    load_methodology(project_path(root, params.methodology))
    raw = project_path(root, params.inputs.raw_dir)
    if not raw.is_dir():
        raise RunError(f"Không tìm thấy thư mục dữ liệu thô {raw} (raw input folder not found)")
    year_dir = out_root / str(params.year)
    year_dir.mkdir(parents=True, exist_ok=True)
    stage = year_dir / f".staging-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    env_before = os.environ.get("PLOTLY_RENDERER")
    os.environ["PLOTLY_RENDERER"] = "plotly_mimetype"
    global _IPC_DIR
    _IPC_DIR = tempfile.mkdtemp(prefix="parindex-ipc-")
    try:
        (stage / "notebooks").mkdir(parents=True)
        (stage / "processed").mkdir()
        write_effective_methodology(project_path(root, params.methodology), stage / "methodology.yaml",
                                    params.satisfaction.satisfaction_points)
        prev = resolve_previous(params, root, out_root) if previous == "params" else previous
        if prev is not None:
            shutil.copyfile(prev, stage / "previous_results.csv")
        nb_params = notebook_parameters(params, root, stage)
        names = [n for n in NOTEBOOKS if n != "03_robustness" or params.robustness.enabled]
        for i, name in enumerate(names, 1):
            log(f"[{i}/{len(names)}] {STAGE_LABELS[name]} …", flush=True)
            t = time.perf_counter()
            out_nb = stage / "notebooks" / f"{name}.ipynb"
            src_nb = notebooks_dir / f"{name}.ipynb"
            declared = pm.inspect_notebook(str(src_nb))
            try:
                pm.execute_notebook(str(src_nb), str(out_nb),
                                    parameters={k: v for k, v in nb_params.items() if k in declared},
                                    kernel_name="python3", cwd=str(root), progress_bar=False, log_output=False,
                                    kernel_manager_class="parindex.runner.QuietKernelManager")
            except pm.PapermillExecutionError as e:
                raise RunError(f"Bước {STAGE_LABELS[name]} thất bại — {e.ename}: {e.evalue}\n"
                               f"(notebook {name}, cell {e.exec_count}; nothing was written)") from None
            _strip_timings(out_nb)
            log(f"      xong sau {time.perf_counter() - t:.1f} s", flush=True)
        (stage / "params.json").write_text(
            json.dumps(params.to_json_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        run_id = _next_run_id(year_dir, params)
        manifest = build_manifest(params, root, run_id, started, dt.datetime.now(dt.timezone.utc), stage)
        (stage / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                             encoding="utf-8")
        # Promote: the run folder first (never overwrites another run), then the "latest" copies.
        runs = year_dir / "runs"
        runs.mkdir(exist_ok=True)
        run_dir = runs / run_id
        stage.rename(run_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(_IPC_DIR, ignore_errors=True)
        _IPC_DIR = None
        if env_before is None:
            os.environ.pop("PLOTLY_RENDERER", None)
        else:
            os.environ["PLOTLY_RENDERER"] = env_before
    publish_latest(run_dir, year_dir, processed_root / str(params.year))
    return RunOutcome(run_dir=run_dir, run_id=run_id, seconds=time.perf_counter() - t0)


def publish_latest(run_dir: Path, year_dir: Path, processed_dir: Path) -> None:
    """Copy a finished run to the usual places: reports/<year>/{index.html, results.*, notebooks/} and
    data/processed/<year>/. Each is assembled aside and swapped in."""
    tmp = year_dir / f".latest-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name in LATEST_FILES:
        if (run_dir / name).exists():
            shutil.copy2(run_dir / name, tmp / name)
    for name in LATEST_FILES:
        if (tmp / name).exists():
            os.replace(tmp / name, year_dir / name)
        elif (year_dir / name).exists():
            (year_dir / name).unlink()  # the latest run did not produce it (e.g. robustness off)
    for name in LATEST_DIRS:
        if (run_dir / name).is_dir():
            shutil.copytree(run_dir / name, tmp / name)
            _replace_dir(tmp / name, year_dir / name)
        elif (year_dir / name).exists():
            shutil.rmtree(year_dir / name)
    (year_dir / "LATEST").write_text(run_dir.name + "\n", encoding="utf-8")
    shutil.rmtree(tmp, ignore_errors=True)
    processed_dir.parent.mkdir(parents=True, exist_ok=True)
    ptmp = processed_dir.with_name(f".{processed_dir.name}.new-{os.getpid()}")
    shutil.rmtree(ptmp, ignore_errors=True)
    shutil.copytree(run_dir / "processed", ptmp)
    _replace_dir(ptmp, processed_dir)
