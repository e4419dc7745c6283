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
# Builds the self-contained offline HTML report (Vietnamese) and the xlsx/csv tables from the scored tables.

# %% tags=["parameters"]
year = 2023
root = ".."
communes_file = "../data/reference/thanh_mien_communes_2023.csv"
methodology_file = "../methodologies/reference-default-v1.yaml"
processed_dir = "../data/processed/2023"
report_dir = "../reports/2023"
seed = 2023
params_json = "{}"

# %%
import json
import shutil
from pathlib import Path

from parindex import figures
from parindex.export import write_results_csv, write_results_xlsx
from parindex.methodology import load_methodology
from parindex.report import ReportContext, render_report, write_report
from parindex.tables import read_tables

params = json.loads(params_json)
meth = load_methodology(methodology_file)
tables = read_tables(Path(processed_dir))
ctx = ReportContext(year=year, run_label=f"{meth.meta.id} · seed {seed}", params=params)

# %%
figures.fig_ranking(tables["results"], meth)

# %%
figures.fig_fields(tables["results"], meth)

# %%
out = Path(report_dir)
write_results_csv(tables["results"], meth, out / "results.csv")
write_results_xlsx(tables, meth, out / "results.xlsx")
rob_dir = Path(processed_dir) / "robustness"
if (rob_dir / "robustness.csv").exists():
    shutil.copyfile(rob_dir / "robustness.csv", out / "robustness.csv")
shutil.copyfile(Path(processed_dir) / "rejections.csv", out / "rejections.csv")
write_report(render_report(tables, meth, ctx), out / "index.html")
sorted(p.name for p in out.iterdir())
