"""Running infrastructure of the yearly run (:func:`parindex.pipeline.run_pipeline` holds the control flow):
a stage notebook executed with papermill, the manifest, run ids, the promotion of a finished staging
folder to its run folder, and the copies of the latest run at the usual places.

Layout written by one run (``reports/<year>/runs/<run_id>/``)::

    index.html  results.csv  results.xlsx  [robustness.csv …]  rejections.csv  images/  van_ban/
    processed/<stage>/  the tables of each stage (parquet; rejections also as csv)
    notebooks/      the executed notebooks (when the run went through them)
    params.json  methodology.yaml  communes.csv  district.json  steps.json
    manifest.json   hashes of inputs, methodology and outputs, versions, git commit, seed, times

The latest run is also copied to ``reports/<year>/`` (index.html, results.*, notebooks/, images/, van_ban/) and its
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
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nbformat

from .methodology import load_methodology
from .params import RunParams, project_path
from .state import sha256_file

ROOT = Path(__file__).resolve().parent.parent
LATEST_FILES = ["index.html", "results.csv", "results.xlsx", "robustness.csv", "rejections.csv"]
LATEST_DIRS = ["notebooks", "images", "van_ban", "ho_so_xa"]
PACKAGES = ["parindex", "numpy", "pandas", "pyarrow", "plotly", "pandera", "pydantic", "openpyxl", "papermill",
            "SALib", "scipy", "jinja2", "nbformat", "ipykernel", "python-docx"]


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


#: Errors a user can cause in a stage run in process (reported like a failed notebook, without traceback).
USER_ERRORS: tuple[type[BaseException], ...] = (Exception,)


def raw_input_files(raw: Path) -> list[Path]:
    """The raw files of a year's folder (what the manifest and the clean step hash)."""
    return sorted(p for p in Path(raw).rglob("*") if p.is_file() and p.suffix.lower() in (".xlsx", ".csv", ".xls", ".xlsm"))


def input_files(params: RunParams, root: Path) -> list[Path]:
    files = raw_input_files(project_path(root, params.inputs.raw_dir))
    if params.district.communes:
        files.append(project_path(root, params.district.communes))
    return files


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


def rel_path(root: Path, p: Path) -> str:
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
        "inputs": {rel_path(root, p): sha256_file(p) for p in input_files(params, root)},
        "params": params.public_dict(salt="hash"),
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
    digest = hashlib.sha256(json.dumps(params.public_dict(salt="hash"), sort_keys=True).encode()).hexdigest()[:8]
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


def execute_notebook(name: str, label: str, stage_dir: Path, year: int, root: Path, notebooks_dir: Path) -> Path:
    """Execute one stage notebook with papermill on the run in ``stage_dir``; keep it without timings."""
    import papermill as pm

    global _IPC_DIR
    out_nb = stage_dir / "notebooks" / f"{name}.ipynb"
    out_nb.parent.mkdir(parents=True, exist_ok=True)
    src_nb = notebooks_dir / f"{name}.ipynb"
    env_before = os.environ.get("PLOTLY_RENDERER")
    os.environ["PLOTLY_RENDERER"] = "plotly_mimetype"
    _IPC_DIR = tempfile.mkdtemp(prefix="parindex-ipc-")
    try:
        pm.execute_notebook(str(src_nb), str(out_nb), parameters={"year": year, "run_dir": str(stage_dir)},
                            kernel_name="python3", cwd=str(root), progress_bar=False, log_output=False,
                            kernel_manager_class="parindex.runner.QuietKernelManager")
    except pm.PapermillExecutionError as e:
        raise RunError(f"Bước {label} thất bại — {e.ename}: {e.evalue}\n"
                       f"(notebook {name}, cell {e.exec_count}; nothing was written)") from None
    finally:
        shutil.rmtree(_IPC_DIR, ignore_errors=True)
        _IPC_DIR = None
        if env_before is None:
            os.environ.pop("PLOTLY_RENDERER", None)
        else:
            os.environ["PLOTLY_RENDERER"] = env_before
    _strip_timings(out_nb)
    return out_nb


def promote(params: RunParams, root: Path, stage_dir: Path, year_dir: Path, started: dt.datetime) -> RunOutcome:
    """Finish a staging folder: parameters and manifest written, then moved to ``runs/<run_id>/`` (a run
    never overwrites another)."""
    # the run folder records the salt as its digest only (a secret; see RunParams.public_dict)
    (stage_dir / "params.json").write_text(
        json.dumps(params.public_dict(salt="hash"), ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8")
    run_id = _next_run_id(year_dir, params)
    manifest = build_manifest(params, root, run_id, started, dt.datetime.now(dt.timezone.utc), stage_dir)
    (stage_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                             encoding="utf-8")
    runs = year_dir / "runs"
    runs.mkdir(exist_ok=True)
    run_dir = runs / run_id
    stage_dir.rename(run_dir)
    return RunOutcome(run_dir=run_dir, run_id=run_id, seconds=0.0)


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
