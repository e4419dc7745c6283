"""Synthetic raw workbooks at scale, for the benchmarks (invented data, seeded).

For a commune list (the 235 communes of Hải Dương, or all 10,598 of Viet Nam, from the national list the
project ships in ``data/reference/``) it writes the four raw files of a year in the layout the importers
read — the same layout as the demo files, with commune *codes* in the commune columns (names repeat across
districts, so at national scale a name alone would be ambiguous):

* ``tu_danh_gia_tham_dinh_<year>``: every appraised leaf of every commune, self and appraised scores;
* ``phieu_can_bo_<year>``: 46 respondents (33 / 1 / 12) × every commune, A–D answers, 5 % blank;
* ``phieu_hai_long_<year>``: 50 ballots per commune across the procedure fields, 1–5 answers;
* ``so_ho_so_<year>``: dossiers per commune × procedure field.

Everything is built with numpy (no loop per ballot) and written with openpyxl's write-only mode, or as CSV
(``fmt="csv"``) for the test that xlsx and csv give the same tables.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from parindex.methodology import Methodology

PROCEDURE_MEANS = {"HT": 420.0, "CT": 650.0, "DD": 45.0, "BTXH": 60.0, "NCC": 12.0, "TDKT": 6.0, "VH": 1.2}


def _write(path: Path, sheet: str, header: list[str], columns: list[np.ndarray], fmt: str) -> Path:
    """One table: a title line, a blank line, the header, then the rows (columns given as arrays)."""
    n = len(columns[0])
    if fmt == "csv":
        p = path.with_suffix(".csv")
        with open(p, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["DỮ LIỆU TỔNG HỢP (TỔNG HỢP GIẢ LẬP)"])
            w.writerow([])
            w.writerow(header)
            w.writerows(zip(*[c.tolist() for c in columns]))
        return p
    p = path.with_suffix(".xlsx")
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(["DỮ LIỆU TỔNG HỢP (TỔNG HỢP GIẢ LẬP)"])
    ws.append([])
    ws.append(header)
    cols = [c.tolist() for c in columns]
    for i in range(n):
        ws.append([c[i] for c in cols])
    wb.save(p)
    return p


def appraisal_draws(rng: np.random.Generator, quality: np.ndarray, pts: np.ndarray):
    """Self-assessed and appraised points of commune × leaf rows (``quality``: the row's commune quality, ``pts``:
    the leaf's maximum): full points mostly, half sometimes; the appraisal halves a score now and then (``cut``)."""
    n = len(pts)
    full = rng.random(n) < np.clip(0.93 + 0.02 * quality, 0.8, 0.99)
    self_pts = np.where(full, pts, pts / 2)
    cut = rng.random(n) < np.clip(0.1 - 0.03 * quality, 0.02, 0.2)
    return self_pts, cut, np.where(cut, self_pts / 2, self_pts)


def generate(year: int, out_dir: Path, seed: int, meth: Methodology, communes: pd.DataFrame,
             fmt: str = "xlsx") -> list[Path]:
    """Write the four synthetic raw files of ``year`` for ``communes`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, len(communes)]))
    codes = communes["commune_code"].to_numpy(dtype=object)
    names = communes["commune_name"].to_numpy(dtype=object)
    nc = len(codes)
    z = rng.normal(0, 1, nc)                                   # commune quality
    paths = []

    # Self-assessment and appraisal: full points mostly, one step down sometimes; a cut now and then.
    lv = meth.leaves()
    lv = lv[lv.source == "appraisal"].reset_index(drop=True)
    nl = len(lv)
    ci, li = np.repeat(np.arange(nc), nl), np.tile(np.arange(nl), nc)
    pts = lv["points"].to_numpy(float)[li]
    self_pts, cut, appr = appraisal_draws(rng, z[ci], pts)
    reason = np.where(cut, "Tài liệu kiểm chứng không đầy đủ", "")
    paths.append(_write(out_dir / f"tu_danh_gia_tham_dinh_{year}", "ChamDiem",
                        ["Mã xã", "Tên xã", "Mã tiêu chí", "Tên tiêu chí", "Điểm tối đa", "Điểm tự chấm",
                         "Điểm thẩm định", "Lý do thẩm định", "Ghi chú minh chứng", "Không áp dụng"],
                        [codes[ci], names[ci], lv["code"].to_numpy(object)[li], lv["label"].to_numpy(object)[li],
                         pts, self_pts, appr, reason, np.full(nc * nl, ""), np.full(nc * nl, "")], fmt))

    # Officials' survey: the same 46 respondents rate every commune.
    groups = meth.officials_survey.groups
    g_label = np.concatenate([[g.label] * g.size for g in groups]).astype(object)
    nr = len(g_label)
    qs = meth.leaf_codes("officials_survey")
    ri, cj = np.repeat(np.arange(nr), nc), np.tile(np.arange(nc), nr)
    y = (0.9 + 0.25 * z[cj] + rng.normal(0, 0.35, nr)[ri])[:, None] + rng.normal(0, 0.85, (nr * nc, len(qs)))
    ans = np.select([y > 0.75, y > -0.85, y > -2.0], ["A", "B", "C"], "D").astype(object)
    ans[rng.random(ans.shape) < 0.05] = ""
    ids = np.array([f"CB{i + 1:02d}" for i in range(nr)], dtype=object)[ri]
    paths.append(_write(out_dir / f"phieu_can_bo_{year}", "PhieuCanBo",
                        ["Mã phiếu", "Nhóm đối tượng", "Họ và tên", "Xã, thị trấn", *qs],
                        [ids, g_label[ri], np.full(nr * nc, "Người trả lời"), codes[cj], *ans.T], fmt))

    # Dossiers per procedure field, and 50 ballots per commune allocated over the fields that had dossiers.
    pf = [p.code for p in meth.satisfaction_survey.procedure_fields]
    means = np.array([PROCEDURE_MEANS.get(c, 5.0) for c in pf])
    dossiers = rng.poisson(rng.lognormal(0, 0.3, nc)[:, None] * means[None, :])
    dossiers[:, 0] = np.maximum(dossiers[:, 0], 1)
    per = meth.satisfaction_survey.ballots_per_commune
    share = dossiers / dossiers.sum(axis=1, keepdims=True)
    alloc = np.floor(share * per).astype(int)
    alloc[:, 0] += per - alloc.sum(axis=1)                      # remainder to the first field
    paths.append(_write(out_dir / f"so_ho_so_{year}", "HoSo", ["Mã xã", "Tên xã", *pf],
                        [codes, names, *dossiers.T.astype(int)], fmt))
    bc = np.repeat(np.arange(nc), per)
    bf = np.concatenate([np.repeat(np.arange(len(pf)), a) for a in alloc])
    sq = meth.satisfaction_questions()["question"].tolist()
    p_pos = np.clip(0.88 + 0.03 * z[bc], 0.6, 0.99)
    u = rng.random((len(bc), len(sq)))
    sat = np.where(u < p_pos[:, None], np.where(u < p_pos[:, None] * 0.45, 5, 4),
                   rng.integers(1, 4, (len(bc), len(sq)))).astype(object)
    sat[rng.random(sat.shape) < 0.02] = ""
    days = rng.integers(0, 70, len(bc))
    dates = (np.datetime64(dt.date(year, 10, 1)) + days.astype("timedelta64[D]")).astype(dt.date).astype(object)
    dates = np.array([d.strftime("%d/%m/%Y") for d in dates], dtype=object) if fmt == "csv" else dates
    phones = np.char.add("09", np.char.zfill(rng.permutation(len(bc)).astype(str), 8)).astype(object)
    n = len(bc)
    paths.append(_write(out_dir / f"phieu_hai_long_{year}", "PhieuHaiLong",
                        ["Mã phiếu", "Ngày khảo sát", "Xã, thị trấn", "Lĩnh vực", "Họ và tên", "Số điện thoại",
                         "Số CCCD", *sq],
                        [np.char.add("HL", np.arange(1, n + 1).astype(str)).astype(object), dates, codes[bc],
                         np.array(pf, dtype=object)[bf], np.full(n, "Người dân"), phones, np.full(n, ""), *sat.T],
                        fmt))
    return paths
