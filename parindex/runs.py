"""Finished runs: read a run folder (verified against its manifest first), compare two runs, replay a run
from its manifest (verified first, then re-executed and compared byte for byte)."""

from __future__ import annotations

import filecmp
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .csvsafe import restore_frame
from .params import RunParams, flatten_params, load_params, with_salt
from .pipeline import run_pipeline
from .publication import verify
from .runner import ROOT, RunError
from .state import sha256_file


class CompareError(ValueError):
    """Two runs that cannot be compared (e.g. different commune sets); the message says why."""


@dataclass
class Run:
    path: Path
    manifest: dict
    params: dict
    results: pd.DataFrame

    @property
    def label(self) -> str:
        return f"{self.manifest.get('year')} · {self.manifest.get('run_id')} · {self.manifest['methodology']['id']}"


def read_run(path: str | Path, processed_dir: Path | None = None, check: bool = True) -> Run:
    """A run folder, or the published run of a year folder. ``check``: every stored file is first checked
    against the manifest (and, for a published run, its published copies) — a tampered run is refused with
    :class:`parindex.publication.VerifyError` naming the files."""
    p = Path(path)
    if check:
        p, _ = verify(p, processed_dir)
    elif not (p / "manifest.json").exists():
        from .publication import published_run
        p = published_run(p) or p
    for name in ("manifest.json", "params.json", "results.csv", "methodology.yaml"):
        if not (p / name).exists():
            raise CompareError(f"{p}: không phải thư mục lần chạy (thiếu {name}) [not a run folder: no {name}]")
    manifest = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
    params = json.loads((p / "params.json").read_text(encoding="utf-8"))
    results = restore_frame(pd.read_csv(p / "results.csv", dtype={"commune_code": str}, encoding="utf-8-sig"))
    return Run(p, manifest, params, results)


def param_differences(a: Run, b: Run) -> pd.DataFrame:
    fa, fb = flatten_params(a.params), flatten_params(b.params)
    rows = [dict(parameter=k, run_a=fa.get(k), run_b=fb.get(k)) for k in sorted(set(fa) | set(fb))
            if fa.get(k) != fb.get(k) and k != "district.salt"]   # the salt (a digest here) is never shown
    return pd.DataFrame(rows, columns=["parameter", "run_a", "run_b"]).astype(str)


def compare_results(a: Run, b: Run) -> pd.DataFrame:
    """Per commune both indices and ranks and the change, sorted by the size of the rank change.
    Refuses runs of different commune sets, naming the communes that differ."""
    ca, cb = set(a.results["commune_code"]), set(b.results["commune_code"])
    if ca != cb:
        only_a = a.results[a.results["commune_code"].isin(ca - cb)]
        only_b = b.results[b.results["commune_code"].isin(cb - ca)]
        parts = []
        if len(only_a):
            parts.append("chỉ có ở lần chạy A: " + ", ".join(f"{r.commune_code} {r.commune_name}"
                                                            for r in only_a.itertuples()))
        if len(only_b):
            parts.append("chỉ có ở lần chạy B: " + ", ".join(f"{r.commune_code} {r.commune_name}"
                                                            for r in only_b.itertuples()))
        raise CompareError("Không so sánh được hai lần chạy có danh sách xã khác nhau (different commune sets) — "
                           + "; ".join(parts))
    cols = ["commune_code", "commune_name", "points", "index_pct", "rank", "band"]
    m = a.results[cols].merge(b.results[cols[:1] + cols[2:]], on="commune_code", suffixes=("_a", "_b"))
    m["index_change"] = m["index_pct_b"] - m["index_pct_a"]
    m["rank_change"] = m["rank_a"] - m["rank_b"]  # positive = moved up
    m["_abs"] = m["rank_change"].abs()
    m = m.sort_values(["_abs", "rank_b", "commune_code"], ascending=[False, True, True]).drop(columns="_abs")
    return m.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Replay
# --------------------------------------------------------------------------------------------
@dataclass
class ReplayOutcome:
    reproduced: bool
    differing: list[str]
    run_dir: Path | None
    original_commit: str | None = None
    current_commit: str | None = None

    @property
    def code_changed(self) -> bool:
        return self.original_commit != self.current_commit


def check_inputs(manifest: dict, root: Path) -> None:
    """Refuse when an input file or the methodology no longer has the hash recorded in the manifest."""
    for rel, digest in manifest["inputs"].items():
        p = root / rel
        if not p.exists():
            raise RunError(f"Không thể chạy lại: tệp đầu vào {rel} không còn (input file missing)")
        if sha256_file(p) != digest:
            raise RunError(f"Không thể chạy lại: tệp đầu vào {rel} đã thay đổi so với lần chạy gốc "
                           f"(SHA-256 mismatch: expected {digest[:12]}…, found {sha256_file(p)[:12]}…)")
    mp = root / manifest["methodology"]["path"]
    if not mp.exists() or sha256_file(mp) != manifest["methodology"]["sha256"]:
        raise RunError(f"Không thể chạy lại: tệp phương pháp {manifest['methodology']['path']} đã thay đổi "
                       "hoặc không còn (methodology hash mismatch)")


def replay(run_path: str | Path, root: Path = ROOT, keep: bool = False, log=print,
           processed_dir: Path | None = None) -> ReplayOutcome:
    """Check the stored run against its manifest (refused, naming the files, when one differs), re-execute it
    in a scratch folder the way it ran (through the notebooks when it did), then compare every stored file
    with the re-run's byte for byte (the manifest itself aside: it holds times)."""
    run = read_run(run_path, processed_dir)
    check_inputs(run.manifest, root)
    year = int(run.params["year"])
    current = load_params(year, root=root)
    params = RunParams.model_validate(with_salt(run.params, current.district.salt, f"params/{year}.yaml"))
    notebooks = bool(run.manifest.get("notebooks")) or any(k.startswith("notebooks/") for k in run.manifest["outputs"])
    scratch = Path(tempfile.mkdtemp(prefix="parindex-replay-"))
    try:
        out = run_pipeline(params, root=root, out_root=scratch / "reports", processed_root=scratch / "processed",
                           log=log, previous=run.path, notebooks=notebooks, publish=False)
        new = json.loads((out.run_dir / "manifest.json").read_text(encoding="utf-8"))
        stored = {p.relative_to(run.path).as_posix(): p for p in run.path.rglob("*")
                  if p.is_file() and p.name != "manifest.json"}
        fresh = {p.relative_to(out.run_dir).as_posix(): p for p in out.run_dir.rglob("*")
                 if p.is_file() and p.name != "manifest.json"}
        differing = sorted(k for k in set(stored) | set(fresh)
                           if k not in stored or k not in fresh or not filecmp.cmp(stored[k], fresh[k], shallow=False))
        kept = None
        if keep:
            kept = run.path.parent / f"{run.path.name}.replay"
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(out.run_dir, kept)
        return ReplayOutcome(reproduced=not differing, differing=differing, run_dir=kept,
                             original_commit=run.manifest.get("git_commit"), current_commit=new.get("git_commit"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


