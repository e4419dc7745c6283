"""The named baseline of the year-over-year comparison and the published history of earlier years.

Each year has one published run (:mod:`parindex.publication`). A run of year Y compares with the published
run of Y − 1 (``inputs.previous_results: auto``), never with whichever run of Y − 1 happened last: a what-if
re-run of an earlier year is not published unless asked, so it never becomes a baseline by accident. The
baseline is named (year, run id, methodology, date of the run) so that the report and the manifest can say
what the comparison used. ``inputs.previous_results`` may instead name a results table written by parindex
(its columns are checked before anything is copied: a ballot file or any other file is refused), or
``none``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .csvsafe import restore_frame
from .params import RunParams, project_path
from .publication import published_run, read_manifest
from .runner import RunError
from .safeyaml import clip
from .state import sha256_file

from .publish.export import RESULTS_FIRST, RESULTS_LABELS, RESULTS_TAIL, SURVEY_COLUMNS

#: columns of a results table written by parindex (results.csv, :func:`parindex.publish.export.results_frame`);
#: ``field_<code>_points`` besides these. The labels and the optional columns may be absent (older tables).
RESULTS_REQUIRED = list(RESULTS_FIRST)
RESULTS_OPTIONAL = RESULTS_LABELS + RESULTS_TAIL + SURVEY_COLUMNS
FIELD_COLUMN = re.compile(r"field_[A-Za-z0-9._\-]{1,20}_points")
MAX_RESULTS_BYTES = 5 * 1024 * 1024
MAX_RESULTS_ROWS = 20_000
HISTORY_COLUMNS = ["year", "commune_code", "index_pct", "rank", "band"]
VN_TZ = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")   # Việt Nam: UTC+7, no daylight saving


@dataclass
class Baseline:
    results: Path | None            # the results table to copy into the run folder (previous_results.csv)
    info: dict | None               # year, run_id, methodology_id, methodology_title, date, path
    history: pd.DataFrame | None    # published results of the earlier years (None: fewer than two)


def vn_date(iso: str | None) -> str | None:
    """An ISO timestamp (UTC) as a date dd/mm/yyyy in Việt Nam's time zone."""
    if not iso:
        return None
    try:
        t = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(VN_TZ).strftime("%d/%m/%Y")


def read_results_table(path: Path, origin: str = "inputs.previous_results") -> pd.DataFrame:
    """A results table written by parindex, checked: a CSV file of at most 5 MB whose columns are those of
    ``results.csv`` (nothing else: a ballot file with names or phone numbers is refused), with unique commune
    codes, numeric indices and whole ranks. Raises :class:`RunError` naming the file."""
    path = Path(path)
    def no(why_vi: str, why_en: str) -> RunError:
        return RunError(f"{origin}: {path} không phải bảng kết quả của parindex (results.csv) — {why_vi}; không sao "
                        f"chép gì vào lần chạy [{path} is not a parindex results table: {why_en}; nothing was copied]")
    if not path.is_file():
        raise RunError(f"Không tìm thấy tệp kết quả năm trước {path} ({origin}) [file not found]")
    size = path.stat().st_size
    if size > MAX_RESULTS_BYTES:
        raise no(f"tệp quá lớn ({size:,} byte)", f"too large ({size:,} bytes)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise no("không phải văn bản UTF-8", "not UTF-8 text") from None
    header = text.split("\n", 1)[0].rstrip("\r")
    cols = [c.strip().strip('"') for c in header.split(",")]
    unknown = [c for c in cols if c not in RESULTS_REQUIRED + RESULTS_OPTIONAL and not FIELD_COLUMN.fullmatch(c)]
    missing = [c for c in RESULTS_REQUIRED if c not in cols]
    if missing or unknown or len(set(cols)) != len(cols):
        parts_vi, parts_en = [], []
        if missing:
            parts_vi.append("thiếu cột " + ", ".join(missing))
            parts_en.append("missing column(s) " + ", ".join(missing))
        if unknown:
            shown = clip(", ".join(unknown[:8]), 200)
            parts_vi.append(f"có {len(unknown)} cột lạ ({shown})")
            parts_en.append(f"{len(unknown)} unexpected column(s)")
        if len(set(cols)) != len(cols):
            parts_vi.append("cột trùng tên")
            parts_en.append("duplicate columns")
        raise no("; ".join(parts_vi), "; ".join(parts_en))
    try:
        import io
        df = pd.read_csv(io.StringIO(text), dtype={"commune_code": str, "commune_name": str, "band": str},
                         keep_default_na=False, nrows=MAX_RESULTS_ROWS + 1)
    except (ValueError, pd.errors.ParserError) as e:
        raise no(f"không đọc được CSV ({clip(e, 120)})", "unreadable CSV") from None
    if len(df) > MAX_RESULTS_ROWS or len(df) == 0:
        raise no(f"{len(df)} dòng", f"{len(df)} rows")
    num = {}
    for c in ("points", "max_points", "index_pct", "rank"):
        num[c] = pd.to_numeric(df[c], errors="coerce")
        if num[c].isna().any():
            raise no(f"cột {c} có giá trị không phải số", f"column {c} holds non-numbers")
    if ((num["rank"] < 1) | (num["rank"] % 1 != 0)).any():
        raise no("hạng phải là số nguyên dương", "ranks must be whole numbers from 1")
    if df["commune_code"].eq("").any() or df["commune_code"].duplicated().any():
        raise no("mã xã trống hoặc trùng", "empty or duplicate commune codes")
    return restore_frame(df)


def _verified_results(run_dir: Path) -> Path:
    """The results.csv of a published run, after checking it against the run's manifest."""
    m = read_manifest(run_dir)
    p = run_dir / "results.csv"
    if not p.is_file() or sha256_file(p) != m["outputs"].get("results.csv"):
        from .publication import VerifyError
        raise VerifyError(f"{p}: kết quả đã công bố khác với manifest của lần chạy — không dùng làm mốc so sánh; "
                          "hãy kiểm tra bằng `parindex verify` [the published results differ from the run's "
                          "manifest; not used as a baseline]", [str(p)])
    return p


def _info(run_dir: Path, out_root: Path) -> dict:
    from .methodology import load_methodology

    m = read_manifest(run_dir)
    meth = m.get("methodology", {})
    title = None
    try:
        title = load_methodology(run_dir / "methodology.yaml").meta.title
    except Exception:   # an unreadable methodology of an old run: named by its id only
        title = None
    year = int(m.get("year", run_dir.parent.parent.name))
    return {"year": year, "run_id": run_dir.name, "methodology_id": meth.get("id"), "methodology_title": title,
            "date": vn_date(m.get("ended")), "path": f"{out_root.name}/{year}/runs/{run_dir.name}"}


def resolve_baseline(params: RunParams, root: Path, out_root: Path) -> Baseline:
    """What a run of ``params.year`` compares with (see the module docstring)."""
    v = params.inputs.previous_results
    if v == "none":
        return Baseline(None, None, None)
    out_root = Path(out_root)
    history = _history(params.year, out_root)
    if v == "auto":
        run_dir = published_run(out_root / str(params.year - 1))
        if run_dir is None:
            return Baseline(None, None, history)
        return Baseline(_verified_results(run_dir), _info(run_dir, out_root), history)
    p = project_path(root, v)
    read_results_table(p)   # refused before anything is copied
    info = {"year": params.year - 1, "run_id": None, "methodology_id": None, "methodology_title": None,
            "date": None, "path": v}
    if (p.parent / "manifest.json").is_file() and p.name == "results.csv":
        run_dir = p.parent
        _verified_results(run_dir)
        info = _info(run_dir, Path(out_root))
        info["path"] = v
    return Baseline(p, info, history)


def _history(year: int, out_root: Path) -> pd.DataFrame | None:
    """Published results of every earlier year under ``out_root`` (None when fewer than two)."""
    frames = []
    if not out_root.is_dir():
        return None
    years = sorted(int(p.name) for p in out_root.iterdir() if p.name.isdigit() and len(p.name) == 4
                   and int(p.name) < year)
    for y in years:
        run_dir = published_run(out_root / str(y))
        if run_dir is None:
            continue
        df = read_results_table(_verified_results(run_dir), origin=f"reports/{y}")
        df = df.assign(year=y)[HISTORY_COLUMNS]
        frames.append(df)
    if len(frames) < 2:
        return None
    h = pd.concat(frames, ignore_index=True)
    h["rank"] = h["rank"].astype("int64")
    h["index_pct"] = h["index_pct"].astype("float64")
    return h.sort_values(["year", "rank", "commune_code"]).reset_index(drop=True)


def write_baseline(folder: Path, b: Baseline) -> None:
    """Store a run's baseline in its folder: previous_results.csv (a byte copy of the checked table),
    baseline.json and history.csv."""
    from .csvsafe import write_csv
    from .state import dump_json

    if b.results is not None:
        (folder / "previous_results.csv").write_bytes(Path(b.results).read_bytes())
    if b.info is not None:
        (folder / "baseline.json").write_text(dump_json(b.info), encoding="utf-8")
    if b.history is not None:
        write_csv(b.history, folder / "history.csv")


def copy_recorded(src_run: Path, folder: Path) -> None:
    """The baseline a finished run recorded, copied into a new run folder (replay uses the same baseline)."""
    for name in ("previous_results.csv", "baseline.json", "history.csv"):
        if (src_run / name).is_file():
            (folder / name).write_bytes((src_run / name).read_bytes())


def load_recorded(folder: Path) -> tuple[dict | None, pd.DataFrame | None]:
    """The baseline and history stored in a run folder."""
    info = hist = None
    if (folder / "baseline.json").is_file():
        info = json.loads((folder / "baseline.json").read_text(encoding="utf-8"))
    if (folder / "history.csv").is_file():
        hist = restore_frame(pd.read_csv(folder / "history.csv", dtype={"commune_code": str, "band": str},
                                         keep_default_na=False, encoding="utf-8"))
    return info, hist
