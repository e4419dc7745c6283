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
# # 1. Làm sạch dữ liệu
# Đọc các tệp gốc của năm (tự đánh giá và thẩm định, phiếu điều tra cán bộ, phiếu khảo sát sự hài lòng,
# số hồ sơ theo lĩnh vực), áp dụng các quy tắc làm sạch và ghi bảng sạch cùng danh sách phiếu/dòng bị loại.
# Họ tên, số điện thoại, số CCCD bị bỏ ngay tại đây và không rời khỏi `data/raw/`.
#
# *Reads the raw files, applies the cleaning rules (`parindex.pipeline.clean`), keeps the rejection log.*
# Mở bằng tay trong JupyterLab, sổ này chạy ở **chế độ thử** (`scratch/<năm>/`), không ghi đè kết quả công bố.

# %% tags=["parameters"]
year = 2023
run_dir = ""  # set by `parindex run`; empty = trial run in scratch/<year>/ with params/<year>.yaml

# %%
from parindex import pipeline

run = pipeline.open_stage(run_dir, year, "clean")
pipeline.banner(run)

# %%
run = pipeline.clean(run)
run.save()

# %% [markdown]
# ## Phiếu hài lòng nhận được, hợp lệ, bị loại theo xã

# %%
run.table("ballots").groupby(["commune_code", "status"]).size().unstack(fill_value=0)

# %% [markdown]
# ## Số phiếu, dòng bị loại theo quy tắc

# %%
run.table("rejections").groupby("rule").size().rename("số phiếu / dòng bị loại")
