"""Publication: one step from one complete run to the next (a failure or a kill at any step leaves the previous
publication whole), leftovers of killed runs removed by the next run, locks so that concurrent runs queue and
never lose a run, clear messages on disk errors."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT

from parindex import publication
from parindex.cli import main as cli_main
from parindex.params import load_params
from parindex.pipeline import run_pipeline
from parindex.publication import published_run_id, verify
from parindex.runner import RunError

pytestmark = pytest.mark.e2e
QUICK = ["robustness.enabled=false", "survey.ci_draws=100"]
STEPS_BEFORE_SWITCH = ["start", "copying-reports", "reports-copied", "processed-copied"]


def quiet(*a, **k):
    pass


def _run(tmp: Path, sets=(), publish=False):
    params = load_params(2023, None, [*QUICK, *sets], root=ROOT)
    return run_pipeline(params, root=ROOT, out_root=tmp / "reports", processed_root=tmp / "processed",
                        log=quiet, publish=publish)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Run A published, run B (other parameters) finished but not published."""
    tmp = tmp_path_factory.mktemp("pub")
    a = _run(tmp, publish=True)
    b = _run(tmp, sets=["survey.group_weighting=equal"])
    assert a.published and not b.published
    return tmp, a.run_id, b.run_id


@pytest.fixture
def tree(base, tmp_path):
    """A private copy of the base tree (links kept as links)."""
    src, a, b = base
    shutil.copytree(src / "reports", tmp_path / "reports", symlinks=True)
    shutil.copytree(src / "processed", tmp_path / "processed", symlinks=True)
    year = tmp_path / "reports" / "2023"
    return tmp_path, year, year / "runs" / a, year / "runs" / b


def assert_whole(year: Path, processed: Path, run_id: str) -> None:
    """The publication of ``year`` is the run ``run_id``, every copy verified against its manifest."""
    run_dir, _ = verify(year, processed)
    assert run_dir.name == run_id and published_run_id(year) == run_id
    assert (year / "results.csv").read_bytes() == (run_dir / "results.csv").read_bytes()
    assert (year / "index.html").read_bytes() == (run_dir / "index.html").read_bytes()
    assert (processed / "score" / "results.parquet").read_bytes() == \
        (run_dir / "processed" / "score" / "results.parquet").read_bytes()


def leftovers(year: Path, processed_root: Path) -> list[str]:
    cur = publication.current_publication(year)
    out = [p.name for p in year.iterdir() if p.name.startswith((".staging-", ".pub-", ".latest-")) and p != cur
           or ".old-" in p.name or ".link-" in p.name]
    out += [p.name for p in processed_root.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]
    return sorted(out)


def test_publish_switches_in_one_step(tree):
    tmp, year, a, b = tree
    proc = tmp / "processed"
    assert_whole(year, proc / "2023", a.name)
    assert (year / "published").is_symlink() and os.readlink(year / "published") == ".current/site"
    assert os.readlink(year / "index.html") == "published/index.html"
    publication.publish(b, proc, log=quiet)
    assert_whole(year, proc / "2023", b.name)
    assert leftovers(year, proc) == []
    # the previous publication's copy was removed, the run folders stay
    assert len([p for p in year.iterdir() if p.name.startswith(".pub-")]) == 1 and a.is_dir()


@pytest.mark.parametrize("step", STEPS_BEFORE_SWITCH + ["switch"])
def test_failure_at_any_step_leaves_the_previous_publication_whole(tree, monkeypatch, step):
    tmp, year, a, b = tree
    proc = tmp / "processed"

    def boom(name):
        if name == step:
            raise RuntimeError(f"simulated failure at {name}")
    monkeypatch.setattr(publication, "checkpoint", boom)
    if step == "switch":   # the link switch itself fails
        real = publication._swap_link
        def swap(link, target):
            if link.name == publication.CURRENT:
                raise OSError(errno.ENOSPC, "No space left on device", str(link))
            real(link, target)
        monkeypatch.setattr(publication, "_swap_link", swap)
    with pytest.raises((RuntimeError, OSError)):
        publication.publish(b, proc, log=quiet)
    assert_whole(year, proc / "2023", a.name)
    assert leftovers(year, proc) == []        # the copy made for B is removed


def test_failure_after_the_switch_leaves_the_new_publication_whole(tree, monkeypatch):
    tmp, year, a, b = tree
    proc = tmp / "processed"
    def boom(name):
        if name == "switched":
            raise RuntimeError("tidying failed")
    monkeypatch.setattr(publication, "checkpoint", boom)
    publication.publish(b, proc, log=quiet)
    assert_whole(year, proc / "2023", b.name)


KILLER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from parindex import publication
    step = sys.argv[1]
    def pause(name):
        if name == step:
            print("PAUSED", flush=True)
            time.sleep(120)
    publication.checkpoint = pause
    publication.publish(Path(sys.argv[2]), Path(sys.argv[3]), log=lambda *a, **k: None)
""")


@pytest.mark.parametrize("step", ["copying-reports", "processed-copied", "switched"])
def test_sigkill_during_publication_leaves_a_whole_publication_and_the_next_run_cleans_up(tree, step):
    """A real process killed with SIGKILL in the middle of a publication: readers still see one whole
    publication (the previous one before the switch, the new one after); the next publication removes what
    the killed one left."""
    tmp, year, a, b = tree
    proc = tmp / "processed"
    p = subprocess.Popen([sys.executable, "-c", KILLER, step, str(b), str(proc)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "PAUSED", p.stderr.read()
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    expected = b.name if step == "switched" else a.name
    assert_whole(year, proc / "2023", expected)
    if step != "switched":
        assert leftovers(year, proc) != []     # the killed run's copy is still there…
    publication.publish(a if step == "switched" else b, proc, log=quiet)
    assert leftovers(year, proc) == []         # …until the next publication removes it
    assert_whole(year, proc / "2023", a.name if step == "switched" else b.name)


def test_a_killed_run_leaves_staging_that_the_next_run_removes(tree):
    """SIGKILL of `parindex run` while it computes: nothing published changes; the next run removes the
    abandoned staging folder (a staging folder of a living run is left alone)."""
    tmp, year, a, b = tree
    proc = tmp / "processed"
    p = subprocess.Popen([sys.executable, "-m", "parindex.cli", "run", "--year", "2023", "--no-notebooks",
                          "--publish", "--output", str(tmp / "reports"), "--processed", str(proc),
                          *[x for s in QUICK for x in ("--set", s)]],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            st = [d for d in year.glob(".staging-*") if d.is_dir() and (d / "processed" / "clean").is_dir()]
            if st:
                break
            time.sleep(0.05)
        assert st, "the run never reached its clean stage"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()
    assert_whole(year, proc / "2023", a.name)
    assert any(n.startswith(".staging-") for n in leftovers(year, proc))
    with publication.staging(year) as live:   # a living run's staging folder
        publication.publish(b, proc, log=quiet)
        assert live.is_dir()
    assert leftovers(year, proc) == []
    assert_whole(year, proc / "2023", b.name)


def test_old_layout_leftovers_are_removed_and_copies_become_links(tree):
    tmp, year, a, b = tree
    proc = tmp / "processed"
    for name in (".staging-999", ".latest-12", ".images.old-7", ".pub-001-deadbeef-000000"):
        (year / name).mkdir()
        (year / name / "x").write_text("x")
    (proc / ".2023.new-5").mkdir()
    # the layout of earlier versions: real copies at reports/<year>/ and data/processed/<year>/
    old = tmp / "old"
    shutil.copytree(a, old / "2023" / "runs" / a.name)
    for n in ("index.html", "results.csv", "results.xlsx", "rejections.csv"):
        shutil.copyfile(a / n, old / "2023" / n)
    shutil.copytree(a / "images", old / "2023" / "images")
    (old / "2023" / "LATEST").write_text(a.name + "\n")
    shutil.copytree(a / "processed", tmp / "oldproc" / "2023")
    verify(old / "2023")   # the old layout verifies too
    shutil.copytree(b, old / "2023" / "runs" / b.name)
    publication.publish(old / "2023" / "runs" / b.name, tmp / "oldproc", log=quiet)
    assert_whole(old / "2023", tmp / "oldproc" / "2023", b.name)
    assert (old / "2023" / "index.html").is_symlink() and (tmp / "oldproc" / "2023").is_symlink()
    publication.publish(a, proc, log=quiet)
    assert leftovers(year, proc) == []


def test_disk_errors_give_a_clear_message_and_free_what_was_written(tree, monkeypatch, capsys):
    tmp, year, a, b = tree
    proc = tmp / "processed"
    real = publication._copy_checked
    for code, vi, en in ((errno.ENOSPC, "ổ đĩa đã đầy", "no space left"), (errno.EROFS, "chỉ cho phép đọc", "read-only"),
                         (errno.EACCES, "không có quyền", "permission denied")):
        calls = {"n": 0}
        def failing(src, dst, digest, code=code):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(code, os.strerror(code), str(dst))
            real(src, dst, digest)
        monkeypatch.setattr(publication, "_copy_checked", failing)
        assert cli_main(["publish", str(b), "--processed", str(proc)]) == 2
        err = capsys.readouterr().err
        assert vi in err and en in err and "Traceback" not in err and "bản công bố trước" in err
        assert ".pub-" not in err   # the folder named is the user's, not a temporary one
        assert_whole(year, proc / "2023", a.name)
        assert leftovers(year, proc) == []


def test_a_full_disk_during_a_run_is_a_message_and_leaves_nothing(tree):
    """A real run whose files may not exceed 1 MB (RLIMIT_FSIZE: writing the 5 MB report fails with EFBIG, as
    on a full disk): exit code 2, a bilingual message, no traceback, no staging folder left, the previous
    publication unchanged."""
    import resource

    tmp, year, a, b = tree
    proc = tmp / "processed"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    p = subprocess.run([sys.executable, "-m", "parindex.cli", "run", "--year", "2023", "--no-notebooks", "--publish",
                        "--output", str(tmp / "reports"), "--processed", str(proc),
                        *[x for s in QUICK for x in ("--set", s)]],
                       cwd=ROOT, capture_output=True, text=True, preexec_fn=limit, timeout=300)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and "LỖI / ERROR" in p.stderr
    assert "File too large" in p.stderr or "quá lớn" in p.stderr or "kích thước" in p.stderr, p.stderr
    assert_whole(year, proc / "2023", a.name)
    assert leftovers(year, proc) == []


# ------------------------------------------------------------------------------------------------
# Locks and run ids
# ------------------------------------------------------------------------------------------------
def test_lock_makes_a_second_run_wait_then_refuse_with_a_message(tmp_path):
    said = []
    with publication.folder_lock(tmp_path):
        t0 = time.monotonic()
        with pytest.raises(RunError) as e:
            with publication.folder_lock(tmp_path, wait=0.5, log=lambda *a, **k: said.append(a[0])):
                pass
        assert time.monotonic() - t0 >= 0.5
    assert "đang được một lần chạy khác sử dụng" in str(e.value) and "in use by another run" in str(e.value)
    assert said and "Đang chờ" in said[0]
    # queued: a waiting holder gets the lock as soon as it is released
    order = []
    def second():
        with publication.folder_lock(tmp_path, wait=30, log=quiet):
            order.append("second")
    with publication.folder_lock(tmp_path):
        th = threading.Thread(target=second)
        th.start()
        time.sleep(0.3)
        order.append("first")
    th.join(10)
    assert order == ["first", "second"]


def test_concurrent_runs_in_one_folder_all_land_with_distinct_ids(tmp_path):
    """Two `parindex run` processes in the same reports folder at once, three times: every run lands in its
    own run folder (ids never collide), one of them is published, and the year verifies."""
    out, proc = tmp_path / "reports", tmp_path / "processed"
    cmd = [sys.executable, "-m", "parindex.cli", "run", "--year", "2023", "--no-notebooks", "--publish",
           "--output", str(out), "--processed", str(proc), *[x for s in QUICK for x in ("--set", s)]]
    for _ in range(3):
        procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        res = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], res
        assert all("Traceback" not in e for _, e in res)
    runs = sorted(p.name for p in (out / "2023" / "runs").iterdir())
    assert len(runs) == 6 and len({r.split("-")[0] for r in runs}) == 6, runs
    run_dir, _ = verify(out / "2023")
    assert run_dir.name in runs
    assert leftovers(out / "2023", proc) == []
