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
# # 2. Chấm điểm — score
# Appraised points (not-applicable, bonus and deduction), officials' survey points, satisfaction index,
# field totals, index %, rank and band — all computed by `parindex.scoring` from the clean tables.

# %% tags=["parameters"]
year = 2023
root = ".."
communes_file = "../data/reference/thanh_mien_communes_2023.csv"
methodology_file = "../methodologies/reference-default-v1.yaml"
processed_dir = "../data/processed/2023"
seed = 2023
params_json = "{}"

# %%
import json
from pathlib import Path

from parindex.communes import load_communes
from parindex.ingest import CleanData
from parindex.methodology import load_methodology
from parindex.scoring import score_all
from parindex.uncertainty.intervals import survey_columns
from parindex.tables import write_tables

params = json.loads(params_json)
meth = load_methodology(methodology_file)
communes = load_communes(communes_file)
clean = CleanData.read(Path(processed_dir))
scored = score_all(clean.assessment, clean.officials, clean.satisfaction, meth, communes,
                   allow_missing_as_zero=params.get("scoring", {}).get("allow_missing_as_zero", False),
                   group_weighting=params.get("survey", {}).get("group_weighting", "pooled"),
                   rank_decimals=params.get("scoring", {}).get("rank_decimals", 2))
# survey scores with 95 % percentile-bootstrap intervals, and ballots received / valid / excluded
scored["results"] = survey_columns(scored["results"], clean.satisfaction, clean.officials, clean.ballots, meth,
                                   group_weighting=params.get("survey", {}).get("group_weighting", "pooled"),
                                   n_boot=params.get("survey", {}).get("ci_draws", 2000), seed=seed)
write_tables(scored, Path(processed_dir))

# %% [markdown]
# ## Kết quả — results

# %%
scored["results"][["rank", "commune_name", "points", "max_points", "index_pct", "band"]]

# %%
if len(scored["missing"]):
    print(f"{len(scored['missing'])} tiêu chí thiếu dữ liệu được tính 0 điểm")
scored["appraisal_changes"].groupby(["kind", "flag"]).size()
