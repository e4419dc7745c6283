"""The publication model: each year has one published run; a run with other parameters than params/<year>.yaml
is a what-if that keeps its run folder but is not published unless asked; the year-over-year comparison uses
the published run of the earlier year, named (run, methodology, date), recorded in the manifest, with the
published history of all earlier years."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from parindex import demo
from parindex.baseline import HISTORY_COLUMNS
from parindex.cli import main as cli_main
from parindex.params import load_params
from parindex.pipeline import open_stage, run_pipeline, what_if_parameters
from parindex.publication import published_run_id, verify
from parindex.state import Run

pytestmark = pytest.mark.e2e
FAST = ["robustness.enabled=false", "survey.ci_draws=100"]


def quiet(*a, **k):
    pass


def _run(tmp: Path, year: int, sets=(), publish=None):
    params = load_params(year, None, list(sets), root=ROOT)
    return run_pipeline(params, root=ROOT, out_root=tmp / "reports", processed_root=tmp / "processed", log=quiet,
                        publish=publish)


@pytest.fixture(scope="module")
def three_years(tmp_path_factory):
    """2021 and 2022 published (quick what-ifs, published as asked), then a what-if re-run of 2022 under
    other rules (not published), then 2023 (quick, published)."""
    tmp = tmp_path_factory.mktemp("years")
    r21 = _run(tmp, 2021, FAST, publish=True)
    r22 = _run(tmp, 2022, FAST, publish=True)
    w22 = _run(tmp, 2022, [*FAST, "methodology=methodologies/reference-default-v1.yaml"])
    r23 = _run(tmp, 2023, FAST, publish=True)
    return tmp, r21, r22, w22, r23


def test_a_what_if_is_not_published_and_does_not_become_the_baseline(three_years):
    tmp, r21, r22, w22, r23 = three_years
    assert w22.kind == "what-if" and not w22.published and "methodology" in w22.differs
    assert w22.run_dir.is_dir() and w22.run_id > r22.run_id          # the what-if ran last…
    assert published_run_id(tmp / "reports" / "2022") == r22.run_id   # …but 2022's publication is unchanged
    m = json.loads((w22.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["kind"] == "what-if" and "methodology" in m["what_if_parameters"]
    run = Run.load(r23.run_dir, root=ROOT)
    prev = pd.read_csv(r22.run_dir / "results.csv", dtype={"commune_code": str}, encoding="utf-8-sig")
    assert (r23.run_dir / "previous_results.csv").read_bytes() == (r22.run_dir / "results.csv").read_bytes()
    assert run.previous["index_pct"].tolist() == prev["index_pct"].tolist()


def test_the_baseline_is_named_and_recorded_in_the_manifest(three_years):
    tmp, r21, r22, w22, r23 = three_years
    run = open_stage(str(r23.run_dir), 2023, "publish")   # how the report notebook sees it
    b = run.baseline
    assert b["year"] == 2022 and b["run_id"] == r22.run_id and b["methodology_id"] == "variant-survey40-v1"
    assert b["methodology_title"].startswith("Bộ tiêu chí") and b["path"] == f"reports/2022/runs/{r22.run_id}"
    assert re.fullmatch(r"\d\d/\d\d/\d{4}", b["date"])
    m22 = json.loads((r22.run_dir / "manifest.json").read_text(encoding="utf-8"))
    from parindex.baseline import vn_date
    assert b["date"] == vn_date(m22["ended"])
    m = json.loads((r23.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["baseline"] == b
    # the methodologies differ (variant in 2022, reference default in 2023): the report says so
    html = (r23.run_dir / "index.html").read_text(encoding="utf-8")
    assert "variant-survey40-v1" in html and "khác bộ tiêu chí năm 2023" in html


def test_history_holds_the_published_results_of_all_earlier_years(three_years):
    tmp, r21, r22, w22, r23 = three_years
    run = open_stage(str(r23.run_dir), 2023, "publish")
    h = run.history
    assert list(h.columns) == HISTORY_COLUMNS and sorted(h["year"].unique()) == [2021, 2022]
    assert len(h) == 34 and h["commune_code"].map(type).eq(str).all()
    for y, r in ((2021, r21), (2022, r22)):
        res = pd.read_csv(r.run_dir / "results.csv", dtype={"commune_code": str}, encoding="utf-8-sig")
        got = h[h["year"] == y].set_index("commune_code").sort_index()
        exp = res.set_index("commune_code").sort_index()
        assert got["rank"].tolist() == exp["rank"].tolist() and got["band"].tolist() == exp["band"].tolist()
        assert got["index_pct"].tolist() == pytest.approx(exp["index_pct"].tolist())


def test_publishing_the_what_if_later_makes_it_the_baseline(three_years, tmp_path):
    src, r21, r22, w22, r23 = three_years
    shutil.copytree(src / "reports", tmp_path / "reports", symlinks=True)
    shutil.copytree(src / "processed", tmp_path / "processed", symlinks=True)
    w = tmp_path / "reports" / "2022" / "runs" / w22.run_id
    assert cli_main(["publish", str(w), "--processed", str(tmp_path / "processed")]) == 0
    verify(tmp_path / "reports" / "2022", tmp_path / "processed" / "2022")
    r = _run(tmp_path, 2023, FAST)
    b = json.loads((r.run_dir / "baseline.json").read_text(encoding="utf-8"))
    assert b["run_id"] == w22.run_id and b["methodology_id"] == "reference-default-v1"
    assert "khác bộ tiêu chí năm" not in (r.run_dir / "index.html").read_text(encoding="utf-8")


def test_a_tampered_baseline_is_refused(three_years, tmp_path):
    src, r21, r22, w22, r23 = three_years
    shutil.copytree(src / "reports", tmp_path / "reports", symlinks=True)
    shutil.copytree(src / "processed", tmp_path / "processed", symlinks=True)
    p = tmp_path / "reports" / "2022" / "runs" / r22.run_id / "results.csv"
    p.write_bytes(p.read_bytes().replace(b"1", b"9", 1))
    from parindex.publication import VerifyError
    with pytest.raises(VerifyError, match="results.csv"):
        _run(tmp_path, 2023, FAST)


def test_an_explicit_previous_results_file_names_its_run(three_years, tmp_path):
    src, r21, r22, w22, r23 = three_years
    r = _run(tmp_path, 2023, [*FAST, f"inputs.previous_results={w22.run_dir / 'results.csv'}"])
    b = json.loads((r.run_dir / "baseline.json").read_text(encoding="utf-8"))
    assert b["run_id"] == w22.run_id and b["methodology_id"] == "reference-default-v1"
    r = _run(tmp_path, 2023, [*FAST, "inputs.previous_results=none"])
    assert not (r.run_dir / "baseline.json").exists() and not (r.run_dir / "previous_results.csv").exists()


def test_the_years_own_parameters_are_official_anything_else_a_what_if():
    p = load_params(2023, root=ROOT)
    assert what_if_parameters(p, ROOT) == ()
    q = load_params(2023, None, ["survey.group_weighting=equal", "seed=7"], root=ROOT)
    assert what_if_parameters(q, ROOT) == ("seed", "survey.group_weighting")
    r = load_params(2023, None, ["survey.group_weighting=pooled"], root=ROOT)   # the same value: still official
    assert what_if_parameters(r, ROOT) == ()


def test_shipped_2021_demo_data_is_the_generator_output(tmp_path, meth, district):
    demo.generate(2021, tmp_path, 2021, meth, district)
    for p in sorted(tmp_path.iterdir()):
        assert p.read_bytes() == (ROOT / "data" / "raw" / "2021" / p.name).read_bytes(), p.name
    assert (ROOT / "params" / "2021.yaml").is_file()
