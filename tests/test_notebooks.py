"""Notebooks: paired with their py:percent source, committed without outputs, parameterised, thin."""

from __future__ import annotations

import json

import jupytext
import pytest
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_four_stages_exist():
    assert [p.stem for p in NOTEBOOKS] == ["01_clean", "02_score", "03_robustness", "04_report"]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_paired_without_outputs_and_parameterised(nb_path):
    raw = json.loads(nb_path.read_text(encoding="utf-8"))
    code = [c for c in raw["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert sum("parameters" in c.get("metadata", {}).get("tags", []) for c in code) == 1
    py = jupytext.read(nb_path.with_suffix(".py"))
    nb = jupytext.read(nb_path)
    assert [(c.cell_type, c.source) for c in py.cells] == [(c.cell_type, c.source) for c in nb.cells], \
        f"{nb_path.name} and its .py differ: run `make notebooks`"
    # thin: the logic lives in the package (no function or class defined in a notebook)
    for c in code:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        assert not any(line.startswith(("def ", "class ")) for line in src.splitlines()), nb_path.name


@pytest.mark.e2e
def test_the_four_notebooks_through_papermill_give_the_in_process_outputs(tmp_path):
    """`parindex run` executes the four notebooks; they write what the in-process pipeline writes."""
    from parindex.params import load_params
    from parindex.pipeline import run_pipeline

    params = load_params(2023, None, ["robustness.n_draws=50", "survey.ci_draws=200"], root=ROOT)
    quiet = dict(root=ROOT, log=lambda *a, **k: None)
    a = run_pipeline(params, out_root=tmp_path / "a" / "reports", processed_root=tmp_path / "a" / "p", **quiet)
    b = run_pipeline(params, out_root=tmp_path / "b" / "reports", processed_root=tmp_path / "b" / "p",
                     notebooks=True, **quiet)
    ma = json.loads((a.run_dir / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    mb = json.loads((b.run_dir / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    nbs = {k for k in mb if k.startswith("notebooks/")}   # the manifest covers the executed notebooks too
    assert len(nbs) == 4 and ma == {k: v for k, v in mb.items() if k not in nbs} and "index.html" in ma
    for name in ("01_clean", "02_score", "03_robustness", "04_report"):
        nb = json.loads((b.run_dir / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert "start_time" not in nb["metadata"].get("papermill", {})   # no timestamps kept
        assert any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), name
    assert not (a.run_dir / "notebooks").exists()
    from test_e2e import assert_no_private_data
    assert_no_private_data(b.run_dir)   # executed notebooks included


def _trial_project(tmp):
    """A checkout-like folder (the package linked) with the 2023 demo inputs and parameters."""
    import shutil

    (tmp / "pyproject.toml").write_text("[project]\nname='x'\n", encoding="utf-8")
    (tmp / "parindex").symlink_to(ROOT / "parindex")
    for d in ("params", "methodologies", "data/raw/2023", "data/reference"):
        shutil.copytree(ROOT / d, tmp / d)
    return tmp


@pytest.mark.e2e
def test_a_notebook_opened_by_hand_is_a_trial_run_in_scratch(tmp_path):
    """Run without the pipeline's parameters (as in JupyterLab), the report notebook reads params/2023.yaml,
    computes the earlier stages in scratch/2023/, shows the trial banner and publishes nothing."""
    import papermill as pm

    proj = _trial_project(tmp_path)
    (proj / "params" / "2023.yaml").write_text(
        (proj / "params" / "2023.yaml").read_text(encoding="utf-8").replace("n_draws: 1000", "n_draws: 40")
        .replace("ci_draws: 2000", "ci_draws: 150"), encoding="utf-8")
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "04_report.ipynb"), str(out), kernel_name="python3",
                        cwd=str(proj), progress_bar=False)
    scratch = proj / "scratch" / "2023"
    assert (scratch / "index.html").is_file() and (scratch / "processed" / "score" / "results.parquet").is_file()
    assert not (proj / "reports").exists() and not (proj / "data" / "processed").exists()
    html = (scratch / "index.html").read_text(encoding="utf-8")
    assert "Chế độ thử — không phải kết quả công bố" in html
    shown = out.read_text(encoding="utf-8")
    assert "Chế độ thử — không phải kết quả công bố" in shown
    # the survey period of params/2023.yaml applies (the demo plants ballots outside it)
    import pandas as pd
    rej = pd.read_csv(scratch / "processed" / "clean" / "rejections.csv", dtype=str)
    assert (rej["rule"] == "outside_period").any()
