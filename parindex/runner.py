"""Running infrastructure of the yearly run (:func:`parindex.pipeline.run_pipeline` holds the control flow):
the stage notebooks executed in one kernel (papermill's parameters, nbclient), the manifest, run ids and the promotion of a finished staging
folder to its run folder. Publication (the copies at the usual places) is :mod:`parindex.publication`.

Layout written by one run (``reports/<year>/runs/<run_id>/``)::

    index.html  results.csv  results.xlsx  [robustness.csv …]  rejections.csv  images/  [van_ban/]  [ho_so_xa/]
    processed/<stage>/  the tables of each stage (parquet; rejections also as csv)
    notebooks/      the executed notebooks (when the run went through them; no timings, no paths)
    params.json  methodology.yaml  communes.csv  district.json  steps.json
    [previous_results.csv  baseline.json  history.csv]   what the year-over-year comparison used
    manifest.json   hashes of inputs, methodology and of every other file of the folder, versions, git
                    commit, seed, times, the kind of run (official / what-if), the baseline, and the list
                    of files a publication copies

The published run of a year is also at ``reports/<year>/`` and its processed tables at
``data/processed/<year>/`` (see :mod:`parindex.publication`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
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
MANIFEST_FORMAT = 2   # 2: outputs cover every file of the run folder (notebooks included), "published" listed
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

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # the kernel process's own output (not the cells': those travel over the sockets) is not the
            # user's business — e.g. ipykernel's traceback when Ctrl-C interrupts a cell
            kw.setdefault("stdout", subprocess.DEVNULL)
            kw.setdefault("stderr", subprocess.DEVNULL)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

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
    kind: str = "official"          # "official" (the year's parameters) or "what-if"
    differs: tuple[str, ...] = ()   # parameters that make it a what-if
    published: bool = False


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
                   outputs: Path, *, kind: str = "official", differs: tuple[str, ...] = (),
                   notebooks: bool = False) -> dict:
    from .publication import REPORT_DIRS, REPORT_FILES

    meth_path = project_path(root, params.methodology)
    files = {p.relative_to(outputs).as_posix(): sha256_file(p) for p in sorted(outputs.rglob("*"))
             if p.is_file() and p.name != "manifest.json"}
    baseline = None
    if (outputs / "baseline.json").is_file():
        baseline = json.loads((outputs / "baseline.json").read_text(encoding="utf-8"))
    return {
        "format": MANIFEST_FORMAT,
        "run_id": run_id,
        "year": params.year,
        "seed": params.seed,
        "kind": kind,
        "what_if_parameters": list(differs),
        "notebooks": notebooks,
        "methodology": {"path": params.methodology, "sha256": sha256_file(meth_path),
                        "effective_sha256": sha256_file(outputs / "methodology.yaml"),
                        "id": load_methodology(outputs / "methodology.yaml").meta.id},
        "baseline": baseline,
        "inputs": {rel_path(root, p): sha256_file(p) for p in input_files(params, root)},
        "params": params.public_dict(salt="hash"),
        "outputs": files,
        # what a publication copies: reports/<year>/<name> (processed/… go to data/processed/<year>/)
        "published": {"reports": [k for k in files if k in REPORT_FILES or k.split("/")[0] in REPORT_DIRS]},
        "versions": _versions(),
        "git_commit": _git_commit(root),
        "started": started.isoformat(timespec="seconds"),
        "ended": ended.isoformat(timespec="seconds"),
    }


NOTEBOOK_RUN_DIR = "<run folder>"


def _normalise_notebook(nb_path: Path, stage_dir: Path) -> None:
    """Remove papermill's timestamps, the staging folder's path and the random id of the injected cell, so
    that an executed notebook depends on inputs and parameters only (a replay gives the same bytes)."""
    nb = nbformat.read(nb_path, as_version=4)
    pm = nb.metadata.get("papermill", {})
    for k in ("start_time", "end_time", "duration", "input_path", "output_path"):
        pm.pop(k, None)
    for c in nb.cells:
        c.metadata.get("papermill", {}).clear()
        c.metadata.pop("execution", None)
        if "injected-parameters" in c.metadata.get("tags", []):
            c["id"] = "injected-parameters"
    staging = str(stage_dir)

    def scrub(x):
        if isinstance(x, str):
            return x.replace(staging, NOTEBOOK_RUN_DIR)
        if isinstance(x, list):
            return [scrub(v) for v in x]
        if isinstance(x, dict):
            return {k: scrub(v) for k, v in x.items()}
        return x

    nb = nbformat.from_dict(scrub(nb))
    nbformat.write(nb, nb_path)


def _next_run_id(year_dir: Path, params: RunParams) -> str:
    """The next run id of a year (call with the year's lock held): number after the highest one, then the
    digest of the parameters."""
    digest = hashlib.sha256(json.dumps(params.public_dict(salt="hash"), sort_keys=True).encode()).hexdigest()[:8]
    runs = year_dir / "runs"
    n = 1
    if runs.exists():
        nums = [int(p.name.split("-")[0]) for p in runs.iterdir() if p.name.split("-")[0].isdigit()]
        n = max(nums, default=0) + 1
    return f"{n:03d}-{digest}"


class NotebookSession:
    """The stage notebooks of one run executed in ONE kernel, one after the other (``with`` block).

    Starting a kernel and importing pandas, plotly and the package cost a few seconds; sharing one kernel pays
    them once per run instead of once per stage. Each notebook still stands alone: it opens the run from the
    staging folder (its parameters cell is set by papermill's parameterisation) and writes its stage back, so
    what one notebook leaves in the kernel's memory is never read by the next. The executed notebooks carry no
    timings and no paths (see :func:`_normalise_notebook`).

    The kernel is driven from one worker thread (nbclient's event loop lives there), so that Ctrl-C reaches
    this process's main thread as a KeyboardInterrupt: the kernel is then killed and the run stops cleanly."""

    def __init__(self, stage_dir: Path, year: int, root: Path, notebooks_dir: Path):
        self.stage_dir, self.year, self.root, self.notebooks_dir = stage_dir, year, root, notebooks_dir
        self.km = self.kc = None
        self._interrupted = False

    def __enter__(self) -> "NotebookSession":
        from concurrent.futures import ThreadPoolExecutor

        global _IPC_DIR
        self._env_before = os.environ.get("PLOTLY_RENDERER")
        os.environ["PLOTLY_RENDERER"] = "plotly_mimetype"
        _IPC_DIR = tempfile.mkdtemp(prefix="parindex-ipc-")
        self._ipc = _IPC_DIR
        self.km = _quiet_kernel_manager()(kernel_name="python3")
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parindex-kernel")
        return self

    def _call(self, fn, *args):
        """``fn(*args)`` in the worker thread; Ctrl-C while waiting kills the kernel and is re-raised."""
        fut = self._worker.submit(fn, *args)
        try:
            return fut.result()
        except KeyboardInterrupt:
            self._interrupted = True
            self._kill_kernel()
            raise

    def _kill_kernel(self) -> None:
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        try:
            if proc is not None and proc.poll() is None:
                proc.kill()
        except OSError:
            pass

    def execute(self, name: str, label: str) -> Path:
        """Execute ``notebooks/<name>.ipynb`` on the run in the staging folder; raise RunError when a cell fails."""
        from papermill.iorw import load_notebook_node
        from papermill.parameterize import parameterize_notebook

        out_nb = self.stage_dir / "notebooks" / f"{name}.ipynb"
        out_nb.parent.mkdir(parents=True, exist_ok=True)
        nb = load_notebook_node(str(self.notebooks_dir / f"{name}.ipynb"))   # cells with metadata.tags
        quiet = [logging.getLogger(n) for n in ("papermill", "papermill.translators")]
        levels = [lg.level for lg in quiet]
        for lg in quiet:   # papermill cannot parse the commented `run_dir = ""` line and warns (harmlessly)
            lg.setLevel(logging.ERROR)
        try:
            nb = parameterize_notebook(nb, {"year": self.year, "run_dir": str(self.stage_dir)},
                                       kernel_name="python3", language="python")
        finally:
            for lg, lv in zip(quiet, levels):
                lg.setLevel(lv)
        error = self._call(self._execute, nb)
        nbformat.write(nb, out_nb)
        if error is not None:
            raise RunError(f"Bước {label} thất bại — {error[0]}: {error[1]}\n"
                           f"(notebook {name}, cell {error[2]}; nothing was written)")
        _normalise_notebook(out_nb, self.stage_dir)
        return out_nb

    def _execute(self, nb) -> tuple[str, str, int | None] | None:
        """(worker thread) Run the cells of ``nb`` in the session's kernel; (ename, evalue, cell) of a failure."""
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        client = NotebookClient(nb, km=self.km, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(self.root)}})
        if self.kc is not None:
            client.kc = self.kc
        try:
            client.execute(cwd=str(self.root))
        except CellExecutionError as e:
            cell = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                         and any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
            return e.ename, e.evalue, cell
        finally:
            self.kc = client.kc
        return None

    def _shutdown(self) -> None:
        """(worker thread) Stop the client's channels and the kernel."""
        from jupyter_client.utils import run_sync

        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km is not None and self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=True)
            if self.km is not None:
                run_sync(self.km.cleanup_resources)()
        except Exception:   # the kernel may be gone already: nothing to keep
            pass

    def __exit__(self, *exc) -> None:
        global _IPC_DIR
        try:
            if self._interrupted:
                self._kill_kernel()
                self._worker.shutdown(wait=False, cancel_futures=True)
            else:
                try:
                    self._call(self._shutdown)
                finally:
                    self._worker.shutdown(wait=not self._interrupted)
        finally:
            shutil.rmtree(self._ipc, ignore_errors=True)
            _IPC_DIR = None
            if self._env_before is None:
                os.environ.pop("PLOTLY_RENDERER", None)
            else:
                os.environ["PLOTLY_RENDERER"] = self._env_before


def promote(params: RunParams, root: Path, stage_dir: Path, year_dir: Path, started: dt.datetime, *,
            kind: str = "official", differs: tuple[str, ...] = (), notebooks: bool = False) -> RunOutcome:
    """Finish a staging folder (call with the year's lock held, see :func:`parindex.publication.locked`):
    parameters and manifest written, then moved to ``runs/<run_id>/``; a run never overwrites another and
    two runs never take the same id."""
    # the run folder records the salt as its digest only (a secret; see RunParams.public_dict)
    (stage_dir / "params.json").write_text(
        json.dumps(params.public_dict(salt="hash"), ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        encoding="utf-8")
    runs = year_dir / "runs"
    runs.mkdir(exist_ok=True)
    for _ in range(100):
        run_id = _next_run_id(year_dir, params)
        manifest = build_manifest(params, root, run_id, started, dt.datetime.now(dt.timezone.utc), stage_dir,
                                  kind=kind, differs=differs, notebooks=notebooks)
        (stage_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                                 encoding="utf-8")
        run_dir = runs / run_id
        try:
            os.mkdir(run_dir)        # claims the id (fails if another process took it)
        except FileExistsError:
            continue
        os.rename(stage_dir, run_dir)   # onto the empty folder just made: atomic
        return RunOutcome(run_dir=run_dir, run_id=run_id, seconds=0.0, kind=kind, differs=differs)
    raise RunError(f"{runs}: không cấp được mã lần chạy mới [could not allocate a run id]")
