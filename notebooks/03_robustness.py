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
# # 3. Kiểm định độ vững — how sure is each commune's rank?
# Monte Carlo over field weights, survey sampling and rule alternatives; Sobol indices of the rank shift;
# leave-one-field-out. See `parindex.uncertainty.robustness` for the design.

# %% tags=["parameters"]
year = 2023
root = ".."
methodology_file = "../methodologies/reference-default-v1.yaml"
processed_dir = "../data/processed/2023"
report_dir = "../reports/2023"
seed = 2023
params_json = "{}"

# %%
import json
from pathlib import Path

from parindex.publish import robustness_figures as rf
from parindex.methodology import load_methodology
from parindex.uncertainty.robustness import RobustnessParams, run_robustness
from parindex.tables import read_tables

params = json.loads(params_json)
rp = params.get("robustness", {})
meth = load_methodology(methodology_file)
t = read_tables(Path(processed_dir))
rparams = RobustnessParams(n_draws=rp.get("n_draws", 1000), seed=seed, weights=rp.get("weights", True),
                           weight_spread=rp.get("weight_spread", 0.25), weight_dist=rp.get("weight_dist", "uniform"),
                           sampling=rp.get("sampling", True), rules=rp.get("rules", True), top_k=rp.get("top_k", 3),
                           officials_joint=rp.get("officials_joint", True),
                           rank_decimals=params.get("scoring", {}).get("rank_decimals", 2))
rob = run_robustness(meth, t["leaf_scores"], t["officials"], t["satisfaction"], t["results"], rparams)
rob.write(Path(processed_dir) / "robustness")

# %%
rf.fig_rank_intervals(rob.per_commune)

# %%
rob.sobol
