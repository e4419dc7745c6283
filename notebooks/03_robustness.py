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
# # 3. Kiểm định độ vững của xếp hạng
# Mô phỏng Monte Carlo theo trọng số lĩnh vực, chọn mẫu khảo sát và các quy tắc tính điểm thay thế; chỉ số
# Sobol của mức dịch chuyển thứ hạng; bỏ lần lượt từng lĩnh vực.
#
# *Monte Carlo robustness of the ranking (`parindex.pipeline.uncertainty`, design in `parindex.uncertainty.robustness`).*

# %% tags=["parameters"]
year = 2023
run_dir = ""  # set by `parindex run`; empty = trial run in scratch/<year>/ with params/<year>.yaml

# %%
from parindex import pipeline
from parindex.publish import robustness_figures as rf

run = pipeline.open_stage(run_dir, year, "uncertainty")
pipeline.banner(run)

# %%
run = pipeline.uncertainty(run)
run.save()

# %% [markdown]
# ## Khoảng thứ hạng 5–95 % của từng xã

# %%
rf.fig_rank_intervals(run.table("robustness")) if run.has("uncertainty") else "Không chạy kiểm định độ vững"

# %% [markdown]
# ## Chỉ số Sobol

# %%
run.table("sobol") if run.has("uncertainty") else None
