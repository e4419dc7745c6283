"""Verified runs: every stored file of a run folder (tables, report, xlsx, images, executed notebooks,
steps.json…) and the published copies are checked against the manifest; `verify`, `replay` and `compare`
refuse a tampered run naming the files; replay then compares the re-run's files with the stored ones byte
for byte."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from parindex.cli import main as cli_main
from parindex.params import load_params
from parindex.pipeline import run_pipeline
from parindex.publication import VerifyError, verify
from parindex.runs import read_run, replay

pytestmark = pytest.mark.e2e
QUICK = ["robustness.n_draws=30", "survey.ci_draws=100"]


def quiet(*a, **k):
    pass


@pytest.fixture(scope="module")
def notebook_run(tmp_path_factory):
    """A published run executed through the four notebooks."""
    tmp = tmp_path_factory.mktemp("verify")
    params = load_params(2023, None, QUICK, root=ROOT)
    out = run_pipeline(params, root=ROOT, out_root=tmp / "reports", processed_root=tmp / "processed",
                       notebooks=True, log=quiet, publish=True)
    return tmp, out


@pytest.fixture
def copy(notebook_run, tmp_path):
    src, out = notebook_run
    shutil.copytree(src / "reports", tmp_path / "reports", symlinks=True)
    shutil.copytree(src / "processed", tmp_path / "processed", symlinks=True)
    year = tmp_path / "reports" / "2023"
    return tmp_path, year, year / "runs" / out.run_id


def test_manifest_covers_every_file_of_the_run_folder(notebook_run):
    _, out = notebook_run
    m = json.loads((out.run_dir / "manifest.json").read_text(encoding="utf-8"))
    files = {p.relative_to(out.run_dir).as_posix() for p in out.run_dir.rglob("*") if p.is_file()}
    assert set(m["outputs"]) == files - {"manifest.json"}
    for name in ("notebooks/02_score.ipynb", "steps.json", "processed/score/results.parquet", "images/xep_hang.png",
                 "results.xlsx", "index.html"):
        assert name in m["outputs"], name
    assert "index.html" in m["published"]["reports"] and "notebooks/01_clean.ipynb" in m["published"]["reports"]
    assert m["format"] == 2 and m["notebooks"] is True
    # no path of the (temporary) staging folder in the executed notebooks
    nb = (out.run_dir / "notebooks" / "02_score.ipynb").read_text(encoding="utf-8")
    assert ".staging-" not in nb and "<run folder>" in nb


def _tamper(p: Path) -> None:
    data = p.read_bytes()
    if p.suffix == ".csv":
        p.write_bytes(data.replace(b"1", b"2", 1))
    elif p.suffix == ".html":
        p.write_bytes(data.replace(b"</body>", b"<p>edited</p></body>", 1))
    elif p.suffix == ".ipynb":
        nb = json.loads(data)
        nb["cells"][0]["source"] = "edited"
        p.write_text(json.dumps(nb), encoding="utf-8")
    else:
        p.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))


CASES = [  # (where, file, name reported)
    ("run", "results.csv", "results.csv"),
    ("run", "index.html", "index.html"),
    ("run", "notebooks/02_score.ipynb", "notebooks/02_score.ipynb"),
    ("run", "processed/score/results.parquet", "processed/score/results.parquet"),
    ("published", "results.csv", "published/results.csv"),
    ("published", "index.html", "published/index.html"),
    ("published", "notebooks/03_robustness.ipynb", "published/notebooks/03_robustness.ipynb"),
    ("processed", "clean/assessment.parquet", "processed/clean/assessment.parquet"),
]


@pytest.mark.parametrize("where,rel,named", CASES)
def test_a_tampered_file_is_refused_by_verify_replay_and_compare(copy, capsys, where, rel, named):
    tmp, year, run_dir = copy
    target = {"run": run_dir / rel, "published": year / rel, "processed": tmp / "processed" / "2023" / rel}[where]
    assert target.is_file()
    verify(year)   # whole before
    _tamper(target.resolve())
    with pytest.raises(VerifyError) as e:
        verify(year)
    assert any(named in f for f in e.value.files), e.value.files
    # the CLI says which file, in a message (no traceback), exit code 2
    assert cli_main(["verify", str(year)]) == 2
    err = capsys.readouterr().err
    assert named in err and "khác với manifest" in err and "Traceback" not in err
    # the run folder alone: refused when the tampered file is in it, and when it is the published run
    assert cli_main(["verify", str(run_dir)]) == 2
    # replay and compare check first
    with pytest.raises(VerifyError):
        replay(run_dir, root=ROOT, log=quiet)
    assert cli_main(["compare", str(run_dir), str(run_dir), "--out", str(tmp / "cmp")]) == 2
    assert named in capsys.readouterr().err and not (tmp / "cmp").exists()


def test_an_added_or_missing_file_is_refused(copy):
    tmp, year, run_dir = copy
    (run_dir / "images" / "extra.png").write_bytes(b"x")
    with pytest.raises(VerifyError) as e:
        verify(run_dir)
    assert e.value.files == ["images/extra.png (không có trong manifest / not in the manifest)"]
    (run_dir / "images" / "extra.png").unlink()
    (run_dir / "steps.json").unlink()
    with pytest.raises(VerifyError) as e:
        verify(run_dir)
    assert e.value.files == ["steps.json (thiếu / missing)"]


def test_a_link_pointing_elsewhere_is_refused(copy):
    tmp, year, run_dir = copy
    (year / "results.csv").unlink()
    shutil.copyfile(run_dir / "results.csv", year / "results.csv")   # same bytes, but not the published copy
    with pytest.raises(VerifyError) as e:
        verify(year)
    assert any(f.startswith("results.csv") for f in e.value.files)


def test_replay_of_a_notebook_run_reproduces_every_file_byte_for_byte(notebook_run, capsys):
    _, out = notebook_run
    assert cli_main(["replay", str(out.run_dir)]) == 0
    assert "verified and reproduced exactly" in capsys.readouterr().out


def test_replay_compares_the_stored_files_not_only_the_manifest(tmp_path):
    """A stored file changed together with its manifest entry passes verify (the manifest is not signed),
    but replay re-runs and finds that the stored bytes are not what the inputs and parameters give."""
    params = load_params(2023, None, [*QUICK, "robustness.enabled=false"], root=ROOT)
    out = run_pipeline(params, root=ROOT, out_root=tmp_path / "reports", processed_root=tmp_path / "processed",
                       log=quiet, publish=False)
    p = out.run_dir / "results.csv"
    _tamper(p)
    m = json.loads((out.run_dir / "manifest.json").read_text(encoding="utf-8"))
    m["outputs"]["results.csv"] = hashlib.sha256(p.read_bytes()).hexdigest()
    (out.run_dir / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    verify(out.run_dir)
    r = replay(out.run_dir, root=ROOT, log=quiet)
    assert not r.reproduced and r.differing == ["results.csv"]


def test_read_run_of_a_year_folder_is_the_published_run(copy):
    tmp, year, run_dir = copy
    assert read_run(year).path == run_dir
