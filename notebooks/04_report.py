# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. Báo cáo — the council report
# Builds the self-contained offline HTML report (Vietnamese), the xlsx/csv tables and PNG images of the key
# charts from the scored tables, the robustness results (when the robustness stage ran) and the earlier
# year's published results (when they exist and cover the same communes).

# %% tags=["parameters"]
year = 2023
root = ".."
communes_file = "../data/reference/thanh_mien_communes_2023.csv"
methodology_file = "../methodologies/reference-default-v1.yaml"
processed_dir = "../data/processed/2023"
report_dir = "../reports/2023"
seed = 2023
params_json = "{}"
# previous_results_file: empty = look for reports/<year-1>/results.csv under root, none = no comparison
previous_results_file = ""

# %%
import json
import shutil
from pathlib import Path

import pandas as pd

from parindex.publish import figures
from parindex.publish import robustness_figures as rfig
from parindex.publish.export import write_chart_images, write_results_csv, write_results_xlsx
from parindex.methodology import load_methodology
from parindex.publish.page import write_report
from parindex.publish.report import ReportContext, previous_results_check, render_report
from parindex.tables import read_tables

params = json.loads(params_json)
meth = load_methodology(methodology_file)
tables = read_tables(Path(processed_dir))
notes: list[str] = []

# %% [markdown]
# Robustness results (stage 3), when present.

# %%
rob_dir = Path(processed_dir) / "robustness"
robustness_summary = None
if (rob_dir / "robustness.csv").exists():
    code = {"commune_code": str}
    tables["robustness"] = pd.read_csv(rob_dir / "robustness.csv", dtype=code, keep_default_na=False)
    tables["outrank"] = pd.read_csv(rob_dir / "outrank.csv", dtype=code).set_index("commune_code")
    tables["outrank"].columns = tables["outrank"].columns.astype(str)
    tables["leave_one_out"] = pd.read_csv(rob_dir / "leave_one_out.csv", dtype=code)
    tables["sobol"] = pd.read_csv(rob_dir / "sobol.csv")
    tables["convergence"] = pd.read_csv(rob_dir / "convergence.csv", dtype=code, keep_default_na=False)
    robustness_summary = json.loads((rob_dir / "robustness.json").read_text(encoding="utf-8"))
sorted(k for k in tables)

# %% [markdown]
# The earlier year's published results, used only when they cover the same communes.

# %%
prev_path = Path(previous_results_file) if previous_results_file else Path(root) / "reports" / str(year - 1) / "results.csv"
previous_year = None
if previous_results_file == "none":
    pass
elif prev_path.exists():
    prev = pd.read_csv(prev_path, dtype={"commune_code": str}, encoding="utf-8-sig", keep_default_na=False)
    ok, note = previous_results_check(prev, tables["results"], year - 1)
    if ok:
        tables["previous_results"] = prev
        previous_year = year - 1
    else:
        notes.append(note)
elif previous_results_file:
    notes.append(f"Không tìm thấy tệp kết quả năm trước {prev_path.name}: báo cáo không có phần so sánh với năm trước.")
previous_year, notes

# %%
ctx = ReportContext(year=year, run_label=f"{meth.meta.id} · seed {seed}", params=params, notes=notes,
                    robustness_summary=robustness_summary, previous_year=previous_year)
charts = {"xep_hang": figures.fig_ranking(tables["results"], meth),
          "diem_linh_vuc": figures.fig_fields(tables["results"], meth)}
if "robustness" in tables:
    charts["khoang_thu_hang"] = rfig.fig_rank_intervals(tables["robustness"])
charts["xep_hang"]

# %%
out = Path(report_dir)
write_results_csv(tables["results"], meth, out / "results.csv")
write_results_xlsx(tables, meth, out / "results.xlsx")
if (rob_dir / "robustness.csv").exists():
    shutil.copyfile(rob_dir / "robustness.csv", out / "robustness.csv")
shutil.copyfile(Path(processed_dir) / "rejections.csv", out / "rejections.csv")
write_report(render_report(tables, meth, ctx), out / "index.html")
images = write_chart_images(charts, out / "images")
sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and "notebooks" not in p.parts)
