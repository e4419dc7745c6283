"""End to end: the yearly run of the shipped 2023 demo data through papermill, then the page in a browser.

The run writes into a temporary folder (reports and processed tables), never into the project's own."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from browser import check_report_in_browser
from conftest import ROOT

from parindex.params import load_params
from parindex.pipeline import run_pipeline
from parindex.runner import RunError

pytestmark = pytest.mark.e2e

SETS = ["robustness.n_draws=200"]


def _run(tmp: Path, year: int = 2023, sets=None, raw_dir: Path | None = None):
    s = list(SETS if sets is None else sets)
    if raw_dir is not None:
        s.append(f"inputs.raw_dir={raw_dir}")
    params = load_params(year, None, s, root=ROOT)
    return run_pipeline(params, root=ROOT, out_root=tmp / "reports", processed_root=tmp / "processed",
                        log=lambda *a, **k: None, publish=True)   # a what-if (quick draws), published as asked


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    return tmp, _run(tmp)


def test_yearly_run_writes_report_and_tables(demo_run):
    tmp, outcome = demo_run
    year_dir = tmp / "reports" / "2023"
    for name in ("index.html", "results.csv", "results.xlsx", "robustness.csv", ):
        assert (year_dir / name).is_file(), name
    for name in ("manifest.json", "params.json", "methodology.yaml", "index.html"):
        assert (outcome.run_dir / name).is_file(), name
    assert (tmp / "processed" / "2023" / "clean" / "rejections.csv").is_file()
    assert not list(year_dir.glob(".staging-*")) and not list(year_dir.glob(".latest-*"))
    res = pd.read_csv(year_dir / "results.csv", dtype={"commune_code": str}, encoding="utf-8-sig")
    assert len(res) == 17
    assert set(res["commune_code"]) == set(pd.read_csv(ROOT / "data/reference/thanh_mien_communes_2023.csv",
                                                      dtype=str)["gso_level3_id"])
    need = ["commune_code", "commune_name", "points", "max_points", "index_pct", "rank", "band"] + \
        [f"field_{i}_points" for i in range(1, 9)]
    assert all(c in res.columns for c in need)
    # the index is points over the applicable maximum; fields add up to the points (before bonus/deduction)
    assert ((res["points"] / res["max_points"] * 100 - res["index_pct"]).abs() < 1e-3).all()
    assert res["rank"].min() == 1 and res["index_pct"].between(70, 100).all()
    # the step log names each stage's function and the SHA-256 of the tables it read and wrote
    steps = json.loads((outcome.run_dir / "steps.json").read_text(encoding="utf-8"))
    assert [s["stage"] for s in steps] == ["clean", "score", "uncertainty"]
    assert steps[1]["function"] == "parindex.scoring.score_all"
    assert steps[1]["inputs"] == {f"clean/{k}": v for k, v in steps[0]["outputs"].items()}
    assert "results" in steps[1]["outputs"] and len(steps[0]["inputs"]) == 4
    manifest = json.loads((outcome.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["outputs"]["processed/score/results.parquet"] == steps[1]["outputs"]["results"]
    # the hashing salt is a secret: no published file holds it
    salt = load_params(2023, root=ROOT).district.salt
    for p in outcome.run_dir.rglob("*"):
        if p.is_file() and p.suffix in (".html", ".csv", ".xlsx", ".json", ".yaml") and p.name != "params.json":
            assert salt.encode() not in p.read_bytes(), p


def test_yearly_run_drafts_the_documents(demo_run):
    """`make report` on the demo data: 17 appraisal notices, the draft report and the draft decision in
    reports/2023/van_ban/ (their numbers and layout: tests/test_documents.py)."""
    tmp, outcome = demo_run
    vb = tmp / "reports" / "2023" / "van_ban"
    assert len(list(vb.glob("thong_bao_tham_dinh_*.docx"))) == 17
    assert (vb / "bao_cao_chi_so_cchc_2023.docx").is_file()
    assert (vb / "quyet_dinh_cong_bo_chi_so_cchc_2023.docx").is_file()
    manifest = json.loads((outcome.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert "van_ban/bao_cao_chi_so_cchc_2023.docx" in manifest["outputs"]


#: A4 pages of the demo report printed by Chromium (without the commune profiles, which have their own PDFs);
#: the README states the count
DEMO_PRINT_PAGES = 16


def test_report_opens_offline_in_chromium_and_prints_within_its_pages(demo_run):
    tmp, _ = demo_run
    art = ROOT / "tests" / "_artifacts"
    out = check_report_in_browser(tmp / "reports" / "2023" / "index.html", screenshot=art / "e2e_report.png",
                                  pdf=art / "e2e_report_print.pdf")
    assert out["external_requests"] == []
    assert out["console_errors"] == [] and out["page_errors"] == []
    assert out["charts"] and all(c["svg"] > 0 for c in out["charts"]), out["charts"]
    assert 8 <= out["pdf_pages"] <= DEMO_PRINT_PAGES, out["pdf_pages"]


def test_commune_profiles_one_a4_page_each_and_chart_images(demo_run):
    tmp, outcome = demo_run
    from browser import pdf_page_count

    from parindex.publish.profiles import COMBINED_PDF
    year_dir = tmp / "reports" / "2023"
    codes = pd.read_csv(year_dir / "results.csv", dtype={"commune_code": str}, encoding="utf-8-sig")["commune_code"]
    pdfs = sorted(p.name for p in (year_dir / "ho_so_xa").iterdir())
    assert pdfs == sorted([f"{c}.pdf" for c in codes] + [COMBINED_PDF])
    assert all(pdf_page_count(year_dir / "ho_so_xa" / f"{c}.pdf") == 1 for c in codes)   # one A4 page each
    assert pdf_page_count(year_dir / "ho_so_xa" / COMBINED_PDF) == 17
    # the run folder keeps them, and the manifest knows their SHA-256 (same run → same bytes)
    manifest = json.loads((outcome.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert f"ho_so_xa/{COMBINED_PDF}" in manifest["outputs"]
    # every main chart as a picture (this run has no earlier year, so no year-over-year picture)
    images = sorted(p.name for p in (year_dir / "images").iterdir())
    assert images == ["diem_linh_vuc.png", "diem_nguon.png", "khoang_thu_hang.png", "ty_le_tieu_chi.png",
                      "xep_hang.png"]


def test_failed_run_leaves_nothing_behind(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw" / "2023", raw)
    # an appraised score above the criterion's maximum: the clean stage must refuse the whole run
    from openpyxl import load_workbook

    from parindex.ingest.legacy import decode_tcvn3  # the demo assessment workbook is typed in TCVN3
    f = next(raw.glob("tu_danh_gia_tham_dinh_*.xlsx"))
    wb = load_workbook(f)
    ws = wb["ChamDiem"]

    def heading(c) -> str:
        return decode_tcvn3(str(c.value or "")).strip()

    header_row = next(r for r in range(1, 11) if any(heading(c) == "Điểm thẩm định" for c in ws[r]))
    col = next(c.column for c in ws[header_row] if heading(c) == "Điểm thẩm định")
    ws.cell(row=header_row + 1, column=col, value=99)
    wb.save(f)
    with pytest.raises(RunError) as e:
        _run(tmp_path, raw_dir=raw)
    assert f.name in str(e.value)
    year_dir = tmp_path / "reports" / "2023"
    assert not (year_dir / "index.html").exists() and not (year_dir / "results.csv").exists()
    assert not list(year_dir.glob(".staging-*")) and not (year_dir / "runs").exists()
    assert not (tmp_path / "processed" / "2023").exists()


def _private_values(raw: Path) -> set[str]:
    """Names, phone numbers and ID numbers written in the raw survey files of a year."""
    from openpyxl import load_workbook
    vals: set[str] = set()
    for pattern, cols in (("phieu_hai_long_*.xlsx", ("Họ và tên", "Số điện thoại", "Số CCCD")),
                          ("phieu_can_bo_*.xlsx", ("Họ và tên",))):
        ws = load_workbook(next(raw.glob(pattern)), read_only=True).worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        h = next(i for i, r in enumerate(rows) if r and "Họ và tên" in r)
        for c in cols:
            j = rows[h].index(c)
            vals |= {str(r[j]).strip() for r in rows[h + 1:] if r[j]}
    return vals


def test_no_respondent_name_phone_or_id_leaves_raw(demo_run):
    """Every file a run writes (reports and processed tables) is free of the respondents' names, phone numbers
    and ID numbers (the executed notebooks are scanned the same way in test_notebooks)."""
    tmp, _ = demo_run
    assert_no_private_data(tmp)


def assert_no_private_data(tmp: Path) -> None:
    """No file under ``tmp`` holds a name, phone number or ID number of the 2023 demo raw survey files."""
    from openpyxl import load_workbook
    private = _private_values(ROOT / "data" / "raw" / "2023")
    assert len(private) > 1500
    numbers = [v for v in private if v.isdigit()]
    names = [v for v in private if not v.isdigit()]
    digit_re = re.compile(r"(?<!\d)(?:" + "|".join(sorted(numbers)) + r")(?!\d)")
    files = [p for p in tmp.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files)
    for p in files:
        if p.suffix in (".html", ".csv", ".json", ".ipynb", ".yaml"):
            text = p.read_text(encoding="utf-8-sig")
            cells = [text]
        elif p.suffix == ".parquet":
            df = pd.read_parquet(p)
            cells = [str(v) for c in df.columns for v in df[c].astype("str").unique()] + list(map(str, df.columns))
        elif p.suffix == ".xlsx":
            wb = load_workbook(p, read_only=True)
            cells = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v]
        else:
            continue
        blob = "\n".join(cells)
        assert not digit_re.search(blob), (p, digit_re.search(blob).group(0))
        hits = [n for n in names if n in blob]
        assert not hits, (p, hits[:3])
