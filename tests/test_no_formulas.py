"""No live formulas anywhere: text that starts like a formula (=, +, -, @) reaches every workbook and CSV file
the project writes through every text channel — commune names, methodology labels, appraisal reasons,
ballot ids, rejection details, parameters — and is stored as text: in xlsx as a string cell (no <f>
element, openpyxl data_type "s"), in CSV with a leading ' (OWASP), numbers staying numbers."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from conftest import REFERENCE_METHODOLOGY, ROOT

from parindex.csvsafe import TRIGGERS, neutralise, restore, safe_frame, restore_frame
from parindex.methodology import parse_methodology
from parindex.params import load_params
from parindex.pipeline import publish, run_pipeline
from parindex.state import Run

PAYLOADS = ['=HYPERLINK("http://x","y")', "+1", "-1+1", "@SUM(A1)"]


def payload(i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)]


def _formula_elements(path: Path) -> list[str]:
    """Sheets of an xlsx file holding a formula element (<f> or <f …>)."""
    with zipfile.ZipFile(path) as z:
        return [n for n in z.namelist() if n.startswith("xl/worksheets/") and re.search(rb"<f[ >/]", z.read(n))]


def assert_inert_workbook(path: Path, min_payload_cells: int = 1) -> int:
    """Every cell of every sheet that starts like a formula is a text cell; returns how many such cells.
    Also: numbers are numbers (a negative number is not turned into text)."""
    assert _formula_elements(path) == [], path
    wb = openpyxl.load_workbook(path)   # not read_only: data_type as stored
    n = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith(TRIGGERS):
                    assert c.data_type == "s", (path.name, ws.title, c.coordinate, c.value, c.data_type)
                    assert c.quotePrefix, (path.name, ws.title, c.coordinate)   # stays text when edited in Excel
                    n += 1
                if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
                    assert c.data_type == "n"
    assert n >= min_payload_cells, (path, n)
    return n


def assert_neutral_csv(path: Path, numeric: set[str] = frozenset()) -> list[list[str]]:
    """No cell of a CSV file starts with a formula trigger unless it is a number of a numeric column."""
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    for r in rows[1:]:
        for name, v in zip(header, r):
            if v.startswith(TRIGGERS):
                assert name in numeric and float(v) < 0, (path.name, name, v)
    return rows


# ------------------------------------------------------------------------------------------------
# The helpers themselves
# ------------------------------------------------------------------------------------------------
def test_csv_neutralise_follows_owasp_and_round_trips():
    for p in PAYLOADS + ["\tx", "\rx", "＝1+1"]:
        assert neutralise(p) == "'" + p and restore(neutralise(p)) == p
    for p in ["Xã Đoàn Tùng", "'quoted", "", "1,5", "a=b"]:
        assert neutralise(p) == p
    assert neutralise("'=x") == "''=x" and restore("''=x") == "'=x"   # reversible
    assert neutralise(-1.5) == -1.5   # numbers are not text
    df = pd.DataFrame({"name": ["=1+1", "ok"], "change": [-1.5, 2.0], "n": [-3, 4]})
    out = safe_frame(df)
    assert out["name"].tolist() == ["'=1+1", "ok"] and out["change"].tolist() == [-1.5, 2.0]
    assert out["n"].tolist() == [-3, 4]
    assert restore_frame(out).equals(df)
    text = out.to_csv(index=False)
    assert "'=1+1" in text and "\n-3" not in text and ",-1.5," in text


# ------------------------------------------------------------------------------------------------
# A run whose every text channel carries formula-like text
# ------------------------------------------------------------------------------------------------
def _poisoned(full: bool) -> dict:
    """The reference methodology with formula-like labels. ``full=False`` keeps the labels the raw-file
    readers match (respondent groups, procedure fields) so that the demo data still scores."""
    d = yaml.safe_load(REFERENCE_METHODOLOGY.read_text(encoding="utf-8"))
    i = 0
    d["meta"]["title"], d["meta"]["note"] = payload(0), payload(1)
    for f in d["fields"]:
        f["label"] = payload(i); i += 1
        for c in f["criteria"]:
            c["label"] = payload(i); i += 1
            for s in c.get("subcriteria") or []:
                s["label"] = payload(i); i += 1
    for b in d["bands"]:
        b["label"] = payload(i); i += 1
    d["adjustments"]["bonus"]["label"] = payload(2)
    d["adjustments"]["deduction"]["label"] = payload(3)
    for f in d["satisfaction_survey"]["factors"]:
        f["label"] = payload(i); i += 1
    if full:
        for p in d["satisfaction_survey"]["procedure_fields"]:
            p["label"] = payload(i); i += 1
        for g in d["officials_survey"]["groups"]:
            g["label"] = payload(i); i += 1
    parse_methodology(d)
    return d


def _poisoned_methodology(tmp: Path) -> Path:
    p = tmp / "poisoned.yaml"
    p.write_text(yaml.safe_dump(_poisoned(False), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def poisoned_run(tmp_path_factory):
    """A run of the 2023 demo data scored under a methodology whose labels are formula-like, then its text
    tables (commune names, reasons, ballot ids, rejection details, notes) overwritten with formula-like
    text, and published into a folder."""
    tmp = tmp_path_factory.mktemp("poison")
    meth = _poisoned_methodology(tmp)
    params = load_params(2023, None, [f"methodology={meth}", "robustness.n_draws=20", "survey.ci_draws=100"],
                         root=ROOT)
    out = run_pipeline(params, root=ROOT, out_root=tmp / "reports", processed_root=tmp / "processed",
                       log=lambda *a, **k: None, publish=False)
    run = Run.load(out.run_dir, root=ROOT)
    names = {c: payload(i) + f" {i}" for i, c in enumerate(run.communes["commune_code"])}
    for stage, tables in run.tables.items():
        for name, df in tables.items():
            if "commune_name" in df.columns:
                df["commune_name"] = df["commune_code"].map(names).fillna(df["commune_name"])
            for col, n in (("reason", 0), ("note", 1), ("ballot_id", 2), ("detail", 3), ("file", 0), ("flag", 1)):
                if col in df.columns and len(df):
                    df[col] = [payload(n + k) for k in range(len(df))]
    res = run.tables["score"]["results"]
    res.loc[res.index[0], "deduction"] = -0.5   # a negative number must stay a number
    if "commune_name" not in run.tables["uncertainty"]["robustness"].columns:
        rob = run.tables["uncertainty"]["robustness"]
        rob.insert(1, "commune_name", rob["commune_code"].map(names))
    run.district.communes["commune_name"] = run.district.communes["commune_code"].map(names)
    folder = tmp / "published"
    publish(run, folder)
    return tmp, out, run, folder


def test_results_xlsx_and_csv_hold_no_live_formula(poisoned_run):
    _, _, run, folder = poisoned_run
    n = assert_inert_workbook(folder / "results.xlsx", min_payload_cells=100)
    wb = openpyxl.load_workbook(folder / "results.xlsx")
    # every channel reached the workbook: commune names, labels, reasons, ballot ids, rejection details
    seen = {ws.title: [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
            for ws in wb.worksheets}
    assert any(v.startswith('=HYPERLINK') for v in seen["Kết quả"])                 # commune names
    assert any(v == payload(0) for v in seen["Phương pháp"])                         # methodology title
    assert any(v.startswith(("=", "+", "-", "@")) for v in seen["Thẩm định"])       # appraisal reasons
    assert any(v in PAYLOADS for v in seen["Phiếu hài lòng"])                       # ballot ids
    assert any(v in PAYLOADS for v in seen["Dòng bị loại"])                         # rejection details
    assert any(v in PAYLOADS for v in seen["Điểm tiêu chí"])                         # criterion labels
    # the negative deduction is a number
    ws = wb["Kết quả"]
    header = [c.value for c in ws[1]]
    col = header.index(run.methodology.adjustments.deduction.label) + 1
    vals = [ws.cell(r, col) for r in range(2, ws.max_row + 1)]
    assert any(c.value == -0.5 and c.data_type == "n" for c in vals)
    assert n > 0

    rows = assert_neutral_csv(folder / "results.csv", numeric={"deduction", "bonus", "index_pct", "points"})
    cells = [v for r in rows[1:] for v in r]
    assert "'" + PAYLOADS[0] + " 0" in cells and "-0.5" in cells
    assert_neutral_csv(folder / "rejections.csv")
    rej = list(csv.reader(io.StringIO((folder / "rejections.csv").read_text(encoding="utf-8"))))
    assert any(v == "'" + PAYLOADS[3] for r in rej for v in r)
    rob = run.table("robustness")
    rows = assert_neutral_csv(folder / "robustness.csv", numeric=set(rob.select_dtypes("number").columns))
    if "commune_name" in rows[0]:
        j = rows[0].index("commune_name")
        assert all(r[j].startswith("'") for r in rows[1:])


def test_processed_rejections_and_run_folder_csv_are_neutral_and_read_back_exactly(poisoned_run, tmp_path):
    _, out, run, _ = poisoned_run
    run.folder = tmp_path / "saved"
    shutil.copytree(out.run_dir, run.folder)
    run._unsaved = set(run.tables)
    (run.folder / "communes.csv").unlink()
    run.save()
    assert_neutral_csv(run.folder / "processed" / "clean" / "rejections.csv")
    assert_neutral_csv(run.folder / "communes.csv")
    back = Run.load(run.folder, root=ROOT)
    assert back.table("rejections")["detail"].tolist() == run.table("rejections")["detail"].tolist()
    assert back.communes["commune_name"].tolist() == run.communes["commune_name"].tolist()


def test_compare_xlsx_holds_no_live_formula(poisoned_run, tmp_path):
    """Parameters and commune names reach compare.xlsx as text."""
    from parindex.publish.compare import write_comparison
    from parindex.runs import read_run

    tmp, out, run, folder = poisoned_run
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(out.run_dir, a)
    shutil.copytree(out.run_dir, b)
    shutil.copyfile(folder / "results.csv", a / "results.csv")
    shutil.copyfile(folder / "results.csv", b / "results.csv")
    params = json.loads((b / "params.json").read_text(encoding="utf-8"))
    params["district"]["name"] = PAYLOADS[0]
    params["inputs"]["previous_results"] = PAYLOADS[3]
    params["seed"] = 7
    (b / "params.json").write_text(json.dumps(params), encoding="utf-8")
    ra, rb = read_run(a, check=False), read_run(b, check=False)
    assert ra.results["commune_name"].iloc[0].startswith(tuple(PAYLOADS))   # restored exactly on reading
    write_comparison(ra, rb, tmp_path / "cmp")
    assert_inert_workbook(tmp_path / "cmp" / "compare.xlsx", min_payload_cells=17 + 2)
    wb = openpyxl.load_workbook(tmp_path / "cmp" / "compare.xlsx")
    params_sheet = [c.value for row in wb["Khác biệt tham số"].iter_rows() for c in row]
    assert PAYLOADS[0] in params_sheet and PAYLOADS[3] in params_sheet


def test_sample_plan_and_entry_forms_hold_no_live_formula(poisoned_run, tmp_path):
    from parindex.surveyplan.entry_templates import write_templates
    from parindex.surveyplan.sampleplan import build_sample_plan, write_sample_plan

    _, _, run, _ = poisoned_run
    meth = parse_methodology(_poisoned(True))   # procedure fields and respondent groups too
    communes = run.communes
    dossiers = run.table("dossiers")
    plan = build_sample_plan(dossiers, meth, communes, year=2023)
    assert_inert_workbook(write_sample_plan(tmp_path / "plan.xlsx", plan, district=PAYLOADS[1]),
                          min_payload_cells=17)
    for p in write_templates(tmp_path / "forms", meth, communes, year=2023, district=PAYLOADS[2]):
        assert_inert_workbook(p, min_payload_cells=2)
