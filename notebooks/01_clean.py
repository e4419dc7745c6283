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
# # 1. Làm sạch dữ liệu — clean the raw files
# Reads the raw files of the year (self-assessment + appraisal, officials' ballots, satisfaction ballots,
# dossier counts), applies the cleaning rules and writes the clean tables and the rejection log.
# Names, phone numbers and ID numbers are dropped here and never leave `data/raw/`.

# %% tags=["parameters"]
year = 2023
root = ".."
raw_dir = "../data/raw/2023"
communes_file = "../data/reference/thanh_mien_communes_2023.csv"
methodology_file = "../methodologies/reference-default-v1.yaml"
processed_dir = "../data/processed/2023"
seed = 2023
params_json = "{}"

# %%
import json
from pathlib import Path

from parindex.communes import load_communes
from parindex.ingest import clean_year
from parindex.methodology import load_methodology
from parindex.surveys import poststratify
from parindex.tables import write_tables

params = json.loads(params_json)
survey = params.get("survey", {})
meth = load_methodology(methodology_file)
communes = load_communes(communes_file)
clean = clean_year(Path(raw_dir), meth, communes, survey_start=survey.get("survey_start"),
                   survey_end=survey.get("survey_end"), salt=survey.get("salt", "parindex"))
if survey.get("poststratify", True):
    # weight each satisfaction ballot by its procedure field's share of the commune's dossiers
    clean.satisfaction, weights = poststratify(clean.satisfaction, clean.dossiers)
    write_tables({"satisfaction_weights": weights}, Path(processed_dir))
clean.write(Path(processed_dir))

# %% [markdown]
# ## Phiếu nhận được, hợp lệ, bị loại — ballots received, valid, excluded

# %%
clean.ballots.groupby(["commune_code", "status"]).size().unstack(fill_value=0)

# %%
clean.rejections.groupby("rule").size().rename("số phiếu / dòng bị loại")
