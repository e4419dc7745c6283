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
# # 2. Chấm điểm
# Điểm thẩm định (không áp dụng, điểm thưởng, điểm trừ), điểm điều tra cán bộ, chỉ số hài lòng, điểm
# từng lĩnh vực, chỉ số (%), thứ hạng và xếp loại — đều do `parindex.scoring` tính từ các bảng sạch.
#
# *Scores every commune (`parindex.pipeline.score`): appraisal, both surveys with 95 % intervals, index, rank, band.*

# %% tags=["parameters"]
year = 2023
run_dir = ""  # set by `parindex run`; empty = trial run in scratch/<year>/ with params/<year>.yaml

# %%
from parindex import pipeline

run = pipeline.open_stage(run_dir, year, "score")
pipeline.banner(run)

# %%
run = pipeline.score(run)
run.save()

# %% [markdown]
# ## Kết quả

# %%
run.table("results")[["rank", "commune_name", "points", "max_points", "index_pct", "band"]]

# %% [markdown]
# ## Thẩm định giảm, nâng điểm

# %%
run.table("appraisal_changes").groupby(["kind", "flag"]).size()

# %% [markdown]
# ## Cách tính chỉ số hài lòng: hai cách, xã nào đổi xếp loại
# *Index under both satisfaction estimators (the published one is the methodology's); communes whose band differs.*

# %%
chk = run.table("estimator_check")
chk[chk["band_differs"]]

# %% [markdown]
# ## Điều chỉnh, loại trừ, trọng số 0 và điểm thưởng/trừ — ảnh hưởng đến điểm
# *Every exclusion, zero weight, rescaling and bonus/deduction row with the points it moved.*

# %%
run.table("adjustment_log")
