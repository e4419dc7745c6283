"""Publication of finished runs: one published run per year, switched in one step, verified against its
manifest; locks so that concurrent runs queue; leftovers of killed runs removed by the next one.

Layout of a year's reports folder (``reports/<year>/``)::

    runs/<run_id>/            every finished run (never modified once promoted)
    .current -> .pub-<run_id>-<token>        the ONE link switched to publish
    .pub-<run_id>-<token>/site/              published copies: index.html, results.csv, results.xlsx,
                                             [robustness.csv], rejections.csv, images/, [notebooks/],
                                             [van_ban/] (the drafts), [ho_so_xa/] (commune profiles), LATEST
    .pub-<run_id>-<token>/processed/         the run's processed tables: clean/, score/, [uncertainty/]
    published -> .current/site               (fixed link)
    index.html -> published/index.html       (one fixed link per published name, for the usual paths)
    results.csv -> published/results.csv  …  LATEST -> published/LATEST
    .lock                     the lock of the folder (fcntl)

and ``data/processed/<year> -> <…>/reports/<year>/.current/processed`` (a fixed relative link).

A publication is assembled aside (``.pub-…``), checked against the run's manifest, then switched by
replacing the single ``.current`` link (``rename(2)`` of a new link over the old one: atomic). Every
published name — the report, the tables, the processed tables — goes through that one link, so a reader
sees either the previous publication or the new one, never a mix. A failure before the switch removes the
copy and leaves the previous publication as it was; a run killed at any moment leaves at worst a folder
or a temporary link that the next run removes (:func:`clean_leftovers`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from .runner import RunError
from .state import sha256_file

CURRENT = ".current"
PUBLISHED = "published"
LOCK = ".lock"
#: what a publication holds (when the run has it), besides LATEST
REPORT_FILES = ["index.html", "results.csv", "results.xlsx", "robustness.csv", "rejections.csv"]
REPORT_DIRS = ["images", "notebooks", "van_ban", "ho_so_xa"]
LINKED = REPORT_FILES + REPORT_DIRS + ["LATEST"]
META = ".publication.json"
#: how long a run waits for another run holding the lock of the same folder
LOCK_WAIT_SECONDS = 600.0


class VerifyError(RunError):
    """Stored files that differ from the manifest; ``files`` names them."""

    def __init__(self, message: str, files: list[str]):
        super().__init__(message)
        self.files = files


# ------------------------------------------------------------------------------------------------
# Test hook: called between the steps of a publication (tests raise or pause here)
# ------------------------------------------------------------------------------------------------
def checkpoint(step: str) -> None:
    """A named step of a publication (no-op; tests replace it to fail or pause at each step)."""


# ------------------------------------------------------------------------------------------------
# Locks
# ------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def folder_lock(folder: Path, name: str = LOCK, wait: float | None = None, log=print):
    """Hold an exclusive lock on ``folder/name`` (fcntl). Another run holding it: wait (saying so once)
    up to ``wait`` seconds, then refuse with a message. The lock ends with the process, even when killed."""
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + wait
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunError(f"Thư mục {folder} đang được một lần chạy khác sử dụng; đã chờ {wait:.0f} giây. "
                                   "Hãy chạy lại sau khi lần chạy kia kết thúc "
                                   f"[{folder} is in use by another run; waited {wait:.0f} s — try again when it "
                                   "has finished]") from None
                if not said:
                    log(f"Đang chờ một lần chạy khác trong {folder} kết thúc… "
                        "[waiting for another run in this folder]", flush=True)
                    said = True
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)   # releases the lock


@contextlib.contextmanager
def locked(year_dir: Path, processed_dir: Path | None, log=print, wait: float | None = None):
    """The locks of a year: its reports folder, then its processed tables (always in this order)."""
    with folder_lock(year_dir, LOCK, wait, log):
        if processed_dir is None:
            yield
        else:
            with folder_lock(processed_dir.parent, f".{processed_dir.name}.lock", wait, log):
                yield


@contextlib.contextmanager
def staging(year_dir: Path):
    """A private staging folder ``.staging-<pid>-<token>`` with its own lock file held while the run lives
    (so that :func:`clean_leftovers` of another run knows it is not abandoned). Removed on exit unless it
    was moved (promoted)."""
    year_dir.mkdir(parents=True, exist_ok=True)
    name = f".staging-{os.getpid()}-{secrets.token_hex(3)}"
    lock_path = year_dir / f"{name}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    d = year_dir / name
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        d.mkdir()
        yield d
    finally:
        try:
            if d.exists():
                shutil.rmtree(d, ignore_errors=True)
        finally:
            with contextlib.suppress(OSError):
                lock_path.unlink()
            os.close(fd)


def _abandoned(lock_path: Path) -> bool:
    """True when no living process holds ``lock_path`` (or it does not exist)."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------------
# Reading a publication
# ------------------------------------------------------------------------------------------------
def current_publication(year_dir: Path) -> Path | None:
    """The folder ``.current`` points to (None when nothing is published or the link is broken)."""
    link = Path(year_dir) / CURRENT
    if not link.is_symlink():
        return None
    t = os.readlink(link)
    if "/" in t or not t.startswith(".pub-"):
        return None
    p = link.parent / t
    return p if p.is_dir() else None


def published_run_id(year_dir: Path) -> str | None:
    """The run id published for a year (None: nothing published)."""
    latest = Path(year_dir) / "LATEST"
    cur = current_publication(year_dir)
    try:
        rid = latest.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        if cur is None:   # killed between the switch and the links: the publication itself says
            return None
        try:
            rid = (cur / "site" / "LATEST").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
    return rid if re.fullmatch(r"[0-9]{3,}-[0-9a-f]{8}", rid) else None


def published_run(year_dir: Path) -> Path | None:
    """The run folder published for a year, None when nothing is published (or its run folder is gone)."""
    rid = published_run_id(year_dir)
    if rid is None:
        return None
    p = Path(year_dir) / "runs" / rid
    return p if (p / "manifest.json").is_file() else None


def read_manifest(run_dir: Path) -> dict:
    p = Path(run_dir) / "manifest.json"
    try:
        if p.stat().st_size > 16 * 1024 * 1024:
            raise VerifyError(f"{p}: tệp manifest quá lớn [manifest too large]", ["manifest.json"])
        m = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{run_dir}: không phải thư mục lần chạy (không có manifest.json) "
                       "[not a run folder: no manifest.json]") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise VerifyError(f"{p}: không đọc được manifest [unreadable manifest]: {str(e)[:200]}",
                          ["manifest.json"]) from None
    if not isinstance(m, dict) or not isinstance(m.get("outputs"), dict):
        raise VerifyError(f"{p}: manifest không hợp lệ [invalid manifest]", ["manifest.json"])
    return m


def published_names(manifest: dict) -> list[str]:
    """The files of a run that its publication copies into reports/<year>/ (relative to the run folder)."""
    pub = manifest.get("published", {}).get("reports")
    if pub is not None:
        return list(pub)
    out = manifest["outputs"]   # manifests written before publications were listed
    return [k for k in out if k in REPORT_FILES or k.split("/")[0] in REPORT_DIRS]


def processed_names(manifest: dict) -> list[str]:
    """The processed tables of a run (relative to its ``processed/`` folder)."""
    return [k[len("processed/"):] for k in manifest["outputs"] if k.startswith("processed/")]


# ------------------------------------------------------------------------------------------------
# Verification
# ------------------------------------------------------------------------------------------------
def _files(folder: Path, skip: set[str] = frozenset()) -> dict[str, Path]:
    out = {}
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).as_posix()
        if rel in skip or (p.is_dir() and not p.is_symlink()):
            continue
        out[rel] = p
    return out


def _compare(expected: dict[str, str], folder: Path, skip: set[str], prefix: str = "") -> list[str]:
    """Files of ``folder`` against ``expected`` (relative name → SHA-256): missing, modified, unexpected."""
    problems = []
    actual = _files(folder, skip) if folder.is_dir() else {}
    for name, digest in sorted(expected.items()):
        p = actual.pop(name, None)
        if p is None:
            problems.append(f"{prefix}{name} (thiếu / missing)")
        elif p.is_symlink() or not p.is_file() or sha256_file(p) != digest:
            problems.append(f"{prefix}{name} (đã bị sửa / modified)")
    for name in sorted(actual):
        problems.append(f"{prefix}{name} (không có trong manifest / not in the manifest)")
    return problems


def check_run(run_dir: Path) -> tuple[dict, list[str]]:
    """The manifest of a run folder and the stored files that differ from it (every file: tables, report,
    xlsx, images, executed notebooks, steps.json…)."""
    run_dir = Path(run_dir)
    m = read_manifest(run_dir)
    skip = {"manifest.json"}
    if int(m.get("format", 1)) < 2:   # older manifests did not cover the executed notebooks
        skip |= {k for k in _files(run_dir) if k.startswith("notebooks/")}
    return m, _compare(dict(m["outputs"]), run_dir, skip)


def _processed_link_target(year_dir: Path, processed_dir: Path) -> str:
    return os.path.relpath(Path(year_dir) / CURRENT / "processed", Path(processed_dir).parent)


def check_publication(year_dir: Path, processed_dir: Path | None = None) -> tuple[Path | None, list[str]]:
    """The published run of a year and every published copy that differs from its manifest: the run folder
    itself, ``reports/<year>/`` (its links and copies) and the processed tables. ``processed_dir`` defaults to
    the one recorded when the run was published."""
    year_dir = Path(year_dir)
    rid = published_run_id(year_dir)
    if rid is None:
        raise RunError(f"{year_dir}: chưa có lần chạy nào được công bố [no published run in this folder]")
    run_dir = year_dir / "runs" / rid
    if not (run_dir / "manifest.json").is_file():
        return None, [f"runs/{rid}/manifest.json (thiếu / missing: the published run folder is gone)"]
    m, problems = check_run(run_dir)
    problems = [f"runs/{rid}/{p}" for p in problems]
    out = m["outputs"]
    names = published_names(m)
    cur = current_publication(year_dir)
    if cur is None:   # a folder published before publications were switched by a link: plain copies
        for n in names:
            if "/" not in n:
                p = year_dir / n
                if not p.is_file() or sha256_file(p) != out.get(n):
                    problems.append(f"{n} (đã bị sửa / modified)")
        return run_dir, problems
    site = cur / "site"
    problems += _compare({n: out[n] for n in names if n in out}, site, {"LATEST", META}, prefix=f"{PUBLISHED}/")
    try:
        if (site / "LATEST").read_text(encoding="utf-8").strip() != rid:
            problems.append("LATEST (không phải lần chạy đã công bố / not the published run)")
    except OSError:
        problems.append("LATEST (thiếu / missing)")
    links = {PUBLISHED: f"{CURRENT}/site"} | {n: f"{PUBLISHED}/{n}" for n in LINKED if (site / n).exists()}
    for n, want in links.items():
        link = year_dir / n
        if not link.is_symlink() or os.readlink(link) != want:
            problems.append(f"{n} (không trỏ tới bản công bố / not the published copy)")
    problems += _compare({n: out["processed/" + n] for n in processed_names(m)}, cur / "processed", set(),
                         prefix="processed/")
    meta = _read_meta(site)
    if processed_dir is None and isinstance(meta.get("processed"), str):
        processed_dir = Path(os.path.normpath(year_dir / meta["processed"]))
    if processed_dir is not None:
        if not processed_dir.is_symlink() or os.readlink(processed_dir) != _processed_link_target(year_dir,
                                                                                                     processed_dir):
            problems.append(f"{processed_dir} (không trỏ tới bảng đã công bố / not the published tables)")
    return run_dir, problems


def _read_meta(site: Path) -> dict:
    try:
        d = json.loads((site / META).read_text(encoding="utf-8"))
        return d if isinstance(d, dict) else {}
    except (OSError, ValueError):
        return {}


def refuse(what: str, problems: list[str]) -> None:
    """Raise :class:`VerifyError` naming the files that differ (at most 30 listed)."""
    if not problems:
        return
    shown = problems[:30] + ([f"… và {len(problems) - 30} tệp khác / and {len(problems) - 30} more"]
                             if len(problems) > 30 else [])
    raise VerifyError(f"{what}: {len(problems)} tệp khác với manifest — các tệp đã bị sửa, thiếu hoặc thêm vào "
                      f"sau lần chạy; không dùng được [{len(problems)} stored file(s) differ from the manifest]:\n  - "
                      + "\n  - ".join(shown), problems)


def verify(path: Path, processed_dir: Path | None = None) -> tuple[Path, dict]:
    """Check a run folder, or the publication of a year folder (and, when the run is the published one, its
    published copies). Returns (run folder, manifest); raises :class:`VerifyError` naming the files."""
    path = Path(path)
    if (path / "manifest.json").is_file():
        m, problems = check_run(path)
        refuse(str(path), problems)
        year_dir = path.parent.parent
        if path.parent.name == "runs" and published_run_id(year_dir) == path.name:
            _, problems = check_publication(year_dir, processed_dir)
            refuse(str(year_dir), problems)
        return path, m
    if published_run_id(path) is not None:
        run_dir, problems = check_publication(path, processed_dir)
        refuse(str(path), problems)
        return run_dir, read_manifest(run_dir)
    raise RunError(f"{path}: không phải thư mục lần chạy hay thư mục năm đã công bố "
                   "[neither a run folder nor a year folder with a published run]")


# ------------------------------------------------------------------------------------------------
# Publishing
# ------------------------------------------------------------------------------------------------
def _swap_link(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` in one step (a new link renamed over the old one)."""
    tmp = link.with_name(f".{link.name}.link-{os.getpid()}-{secrets.token_hex(3)}")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _ensure_link(link: Path, target: str) -> None:
    """``link`` → ``target``; a real file or folder there (the old layout: copies) is replaced."""
    if link.is_symlink() and os.readlink(link) == target:
        return
    if link.is_dir() and not link.is_symlink():
        aside = link.with_name(f".{link.name}.old-{os.getpid()}")
        link.rename(aside)
        _swap_link(link, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        _swap_link(link, target)


def _copy_checked(src: Path, dst: Path, digest: str) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o644)
    if sha256_file(dst) != digest:
        raise RunError(f"Bản sao {dst} khác tệp gốc [the copy differs from its source]")


def _remove(p: Path) -> None:
    if p.is_symlink() or p.is_file():
        with contextlib.suppress(OSError):
            p.unlink()
    elif p.is_dir():
        shutil.rmtree(p, ignore_errors=True)


def sync_links(year_dir: Path, processed_dir: Path | None = None) -> None:
    """The fixed links of a publication: ``published -> .current/site``, one ``<name> -> published/<name>``
    per name the current publication has (links to names it lacks, and copies of the old layout, removed),
    and ``data/processed/<year>`` → ``.current/processed``."""
    cur = current_publication(year_dir)
    if cur is None:
        return
    _ensure_link(year_dir / PUBLISHED, f"{CURRENT}/site")
    for n in LINKED:
        link = year_dir / n
        if (cur / "site" / n).exists():
            _ensure_link(link, f"{PUBLISHED}/{n}")
        elif link.is_symlink() or link.exists():
            _remove(link)
    if processed_dir is not None:
        processed_dir.parent.mkdir(parents=True, exist_ok=True)
        _ensure_link(processed_dir, _processed_link_target(year_dir, processed_dir))


def clean_leftovers(year_dir: Path, processed_dir: Path | None = None) -> list[str]:
    """Remove what killed runs left (call with the year's locks held): abandoned staging folders, copies of a
    publication that never became current, temporary links, old-layout temporaries; put the fixed links
    back. Returns the names removed."""
    removed: list[str] = []
    year_dir = Path(year_dir)
    if year_dir.is_dir():
        cur = current_publication(year_dir)
        for p in sorted(year_dir.iterdir()):
            n = p.name
            if n.startswith(".staging-") and not n.endswith(".lock"):
                if _abandoned(year_dir / f"{n}.lock"):
                    _remove(p)
                    _remove(year_dir / f"{n}.lock")
                    removed.append(n)
            elif n.startswith(".staging-") and n.endswith(".lock"):
                if not (year_dir / n[:-5]).exists() and _abandoned(p):
                    _remove(p)
            elif (n.startswith((".latest-", ".pub-")) or ".old-" in n or ".link-" in n) and p != cur:
                _remove(p)
                removed.append(n)
    if processed_dir is not None and processed_dir.parent.is_dir():
        base = processed_dir.name
        for p in sorted(processed_dir.parent.iterdir()):
            if p.name.startswith((f".{base}.new-", f".{base}.old-", f".{base}.link-")):
                _remove(p)
                removed.append(p.name)
    if year_dir.is_dir():
        sync_links(year_dir, processed_dir)
    return removed


def publish_locked(run_dir: Path, year_dir: Path, processed_dir: Path) -> None:
    """Publish a promoted run (call with :func:`locked` held): the run checked against its manifest, its
    copies assembled aside and checked, then ``.current`` switched (the one step). On any failure before the
    switch the copy is removed and the previous publication is untouched."""
    run_dir, year_dir, processed_dir = Path(run_dir), Path(year_dir), Path(processed_dir)
    m, problems = check_run(run_dir)
    refuse(str(run_dir), problems)
    clean_leftovers(year_dir, processed_dir)
    out = m["outputs"]
    pub = year_dir / f".pub-{run_dir.name}-{secrets.token_hex(3)}"
    pub.mkdir()
    try:
        checkpoint("start")
        site = pub / "site"
        site.mkdir()
        for i, n in enumerate(published_names(m)):
            _copy_checked(run_dir / n, site / n, out[n])
            if i == 0:
                checkpoint("copying-reports")
        (site / "LATEST").write_text(run_dir.name + "\n", encoding="utf-8")
        (site / META).write_text(json.dumps({"run_id": run_dir.name,
                                             "processed": os.path.relpath(processed_dir, year_dir)},
                                            ensure_ascii=False) + "\n", encoding="utf-8")
        checkpoint("reports-copied")
        (pub / "processed").mkdir()
        for rel in processed_names(m):
            _copy_checked(run_dir / "processed" / rel, pub / "processed" / rel, out["processed/" + rel])
        checkpoint("processed-copied")
        old = current_publication(year_dir)
        _swap_link(year_dir / CURRENT, pub.name)   # the one step
    except BaseException:
        shutil.rmtree(pub, ignore_errors=True)
        raise
    # switched: what follows only tidies (a failure here is repaired by the next run's clean_leftovers)
    try:
        checkpoint("switched")
        sync_links(year_dir, processed_dir)
        if old is not None and old != pub:
            shutil.rmtree(old, ignore_errors=True)
    except Exception:   # noqa: BLE001 - the publication is complete; the next run repairs the links
        pass


def publish(run_dir: Path, processed_root: Path, log=print, wait: float | None = None) -> Path:
    """``parindex publish RUN``: verify a finished run and make it the published run of its year. Returns
    the year folder."""
    run_dir = Path(run_dir).resolve()
    if run_dir.parent.name != "runs" or not (run_dir / "manifest.json").is_file():
        raise RunError(f"{run_dir}: không phải thư mục lần chạy trong reports/<năm>/runs/ "
                       "[not a run folder under reports/<year>/runs/]")
    year_dir = run_dir.parent.parent
    m = read_manifest(run_dir)
    processed_dir = Path(processed_root) / str(m.get("year", year_dir.name))
    with locked(year_dir, processed_dir, log=log, wait=wait):
        publish_locked(run_dir, year_dir, processed_dir)
    return year_dir


#: disk and permission errors a run explains to its user (:func:`disk_error_message`), with their words; EIO
#: (any other read/write failure) is said in general terms
DISK_ERROR_TEXT = {errno.ENOSPC: ("ổ đĩa đã đầy", "no space left on the disk"),
                   errno.EDQUOT: ("đã hết hạn mức dung lượng", "disk quota exceeded"),
                   errno.EROFS: ("thư mục chỉ cho phép đọc", "read-only file system"),
                   errno.EACCES: ("không có quyền ghi hoặc đọc", "permission denied"),
                   errno.EPERM: ("không được phép thao tác", "operation not permitted"),
                   errno.EFBIG: ("tệp vượt quá kích thước cho phép", "file too large")}
DISK_ERRORS = frozenset(DISK_ERROR_TEXT) | {errno.EIO}


def disk_error_message(e: OSError, where: str = "") -> str:
    """A bilingual one-paragraph message for a disk or permission error."""
    what = DISK_ERROR_TEXT.get(e.errno, ("lỗi đọc/ghi tệp", e.strerror or "input/output error"))
    path = str(e.filename or where)
    parts = Path(path).parts
    for i, part in enumerate(parts):   # name the user's folder, not a temporary one inside it
        if part.startswith((".pub-", ".staging-", ".current")):
            path = str(Path(*parts[:i]))
            break
    return (f"Không ghi/đọc được {path}: {what[0]}. Những gì lần chạy này đã ghi đã được xóa; bản công bố trước "
            f"vẫn giữ nguyên. Hãy giải phóng dung lượng hoặc kiểm tra quyền thư mục rồi chạy lại "
            f"[cannot write or read {path}: {what[1]}; what this run wrote was removed and the previous "
            "publication is unchanged]")
