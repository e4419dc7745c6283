"""Run folders, determinism, replay and comparison of runs (issue: re-run any year, compare two runs)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from parindex.cli import main as cli_main
from parindex.params import load_params
from parindex.pipeline import run_pipeline
from parindex.runner import RunError
from parindex.runs import CompareError, compare_results, read_run, replay

pytestmark = pytest.mark.e2e
QUICK = ["robustness.n_draws=50"]


def _run(out: Path, year: int = 2023, sets=(), publish=True):
    params = load_params(year, None, [*QUICK, *sets], root=ROOT)
    return run_pipeline(params, root=ROOT, out_root=out / "reports", processed_root=out / "processed",
                        log=lambda *a, **k: None, publish=publish)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    return tmp, _run(tmp), _run(tmp)


def test_same_inputs_and_parameters_give_identical_outputs(two_runs):
    tmp, a, b = two_runs
    assert a.run_dir != b.run_dir and a.run_dir.exists() and b.run_dir.exists()  # never overwritten
    assert a.run_id.split("-")[1] == b.run_id.split("-")[1]  # same parameters hash
    ma = json.loads((a.run_dir / "manifest.json").read_text(encoding="utf-8"))
    mb = json.loads((b.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert ma["outputs"] == mb["outputs"]
    for name in ("index.html", "results.csv", "results.xlsx", "robustness.csv", "processed/score/results.parquet", "steps.json"):
        assert name in ma["outputs"], name
    # timestamps live only in the manifest
    assert ma["started"] and "started" not in (a.run_dir / "index.html").read_text(encoding="utf-8")[:0]
    assert ma["inputs"]["data/raw/2023/phieu_hai_long_2023.xlsx"] == mb["inputs"]["data/raw/2023/phieu_hai_long_2023.xlsx"]
    assert ma["methodology"]["id"] == "reference-default-v1" and ma["seed"] == 2023
    assert ma["versions"]["pandas"] and "git_commit" in ma
    # the latest run is also at the usual place
    assert (tmp / "reports" / "2023" / "LATEST").read_text().strip() == b.run_id
    assert (tmp / "reports" / "2023" / "index.html").read_bytes() == (b.run_dir / "index.html").read_bytes()


def test_replay_reproduces_exactly(two_runs):
    _, a, _ = two_runs
    out = replay(a.run_dir, root=ROOT, log=lambda *x, **k: None)
    assert out.reproduced, out.differing


def test_replay_refuses_when_an_input_changed(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw" / "2023", raw)
    run = _run(tmp_path, sets=[f"inputs.raw_dir={raw}", "robustness.enabled=false"])
    f = raw / "so_ho_so_2023.xlsx"
    f.write_bytes(f.read_bytes() + b"\0")  # any change of the bytes
    with pytest.raises(RunError) as e:
        replay(run.run_dir, root=ROOT)
    assert "so_ho_so_2023.xlsx" in str(e.value) and "đã thay đổi" in str(e.value)


def test_compare_two_runs_html_and_xlsx(two_runs, tmp_path):
    tmp, a, _ = two_runs
    c = _run(tmp, sets=["survey.group_weighting=equal", "satisfaction.points=15", "robustness.enabled=false"])
    out = tmp_path / "cmp"
    assert cli_main(["compare", str(a.run_dir), str(c.run_dir), "--out", str(out)]) == 0
    html = (out / "compare.html").read_text(encoding="utf-8")
    # the parameter by its Vietnamese name and value in words (no internal key)
    assert "Cách gộp các nhóm đối tượng (điều tra cán bộ, đại biểu)" in html
    assert "các nhóm có trọng số bằng nhau" in html and "survey.group_weighting" not in html
    assert "reference-default-v1+sipas15" in html  # the methodology difference is named
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)  # inline plotly.js holds URL strings
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", markup) and "<script src" not in html
    sheets = pd.read_excel(out / "compare.xlsx", sheet_name=None, engine="openpyxl")
    table = sheets["So sánh theo xã"]
    assert len(table) == 17
    moves = table["Thay đổi hạng (+ = tăng)"].abs().tolist()
    assert moves == sorted(moves, reverse=True)  # sorted by the size of the rank change
    # the variant's methodology: SIPAS 15 points, field 8 and the scale grow by 5
    meth = yaml.safe_load((c.run_dir / "methodology.yaml").read_text(encoding="utf-8"))
    assert meth["scale"] == 105 and meth["fields"][7]["points"] == 30


def test_compare_refuses_different_commune_sets(two_runs, tmp_path):
    _, a, b = two_runs
    b2 = tmp_path / "b2"
    shutil.copytree(b.run_dir, b2)
    res = pd.read_csv(b2 / "results.csv", dtype={"commune_code": str}, encoding="utf-8-sig")
    res[res["commune_code"] != "11251"].to_csv(b2 / "results.csv", index=False, encoding="utf-8-sig")
    with pytest.raises(CompareError) as e:
        compare_results(read_run(a.run_dir), read_run(b2, check=False))   # edited on purpose: not verified
    assert "11251 Xã Đoàn Tùng" in str(e.value) and "chỉ có ở lần chạy A" in str(e.value)


def test_run_refuses_unknown_parameter_and_writes_nothing(tmp_path, capsys):
    code = cli_main(["run", "--year", "2023", "--set", "survey.weights=on", "--output", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown parameter 'survey.weights'" in err and "survey.group_weighting" in err
    assert not (tmp_path / "r").exists()


def test_two_runs_started_at_once_do_not_clash(tmp_path):
    """Two analysts (two processes) running in the same project folder at the same time: each run's kernels
    talk over sockets in a private folder, so both finish and leave no socket file behind."""
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-m", "parindex.cli", "run", "--year", "2023", "--no-robustness", "--publish",
                               "--output", str(tmp_path / f"r{i}"), "--processed", str(tmp_path / f"p{i}")],
                              cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for i in (1, 2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    for i in (1, 2):
        assert (tmp_path / f"r{i}" / "2023" / "index.html").is_file()
    assert not list(ROOT.glob("kernel-ipc-*"))


def test_missing_previous_results_file_refuses_before_writing(tmp_path):
    with pytest.raises(RunError, match="inputs.previous_results"):
        _run(tmp_path, sets=[f"inputs.previous_results={tmp_path / 'absent.csv'}", "robustness.enabled=false"])
    year_dir = tmp_path / "reports" / "2023"
    assert not list(year_dir.glob(".staging-*")) and not (year_dir / "runs").exists()
