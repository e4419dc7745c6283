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
# # 4. Báo cáo
# Lập báo cáo HTML tự chứa (tiếng Việt, mở được khi không có Internet), bảng kết quả xlsx/csv, ảnh PNG các
# biểu đồ chính và hồ sơ từng xã (PDF, mỗi xã một trang A4) từ các bảng đã chấm điểm, kết quả kiểm định độ
# vững và kết quả công bố năm trước (nếu có).
#
# *Writes the report, tables, images and commune profiles (`parindex.pipeline.publish`) into the run's folder.*

# %% tags=["parameters"]
year = 2023
run_dir = ""  # set by `parindex run`; empty = trial run in scratch/<year>/ with params/<year>.yaml

# %%
from parindex import pipeline
from parindex.publish import figures

run = pipeline.open_stage(run_dir, year, "publish")
pipeline.banner(run)

# %%
written = pipeline.publish(run)
sorted(str(p.relative_to(run.folder)) for p in written)

# %% [markdown]
# ## Xếp hạng

# %%
figures.fig_ranking(run.table("results"), run.methodology)
