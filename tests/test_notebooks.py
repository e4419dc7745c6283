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
