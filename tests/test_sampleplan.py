"""Sample plan (plan step 1): allocation by largest remainder, Yamane reference size, officials' groups,
the xlsx plan and the ``sample-plan`` command — all checked against hand computations."""

from __future__ import annotations

import argparse
import math

import openpyxl
import pandas as pd
import pytest

from parindex.communes import load_communes
from parindex.surveyplan.sampleplan import (
    SHEET_ALLOCATION, SHEET_DETAIL, SHEET_OFFICIALS, SHEET_REFERENCE, SamplePlanError, allocate,
    build_sample_plan, build_sample_plan_from_file, margin_at, officials_groups, officials_respondents,
    reference_size, reference_table, write_sample_plan,
)

from conftest import REFERENCE_METHODOLOGY, THANH_MIEN, TM_BLOCK, write_params


@pytest.fixture(scope="module")
def two_communes():
    c = load_communes(THANH_MIEN)
    return c[c["commune_code"].isin(["11239", "11251"])].reset_index(drop=True)


def table(commune, counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"commune_code": commune, "procedure_field": list(counts), "dossiers": list(counts.values())})


# ------------------------------------------------------------------------------------------------
# allocate
# ------------------------------------------------------------------------------------------------
def test_allocation_with_whole_quotas():
    # 300 + 120 + 60 + 20 = 500 dossiers; 50 ballots → quotas 50·300/500 = 30, 12, 6, 2 (no remainder).
    out = allocate(table("A", {"HT": 300, "CT": 120, "DD": 60, "BTXH": 20}), 50)
    assert list(out.columns) == ["commune_code", "procedure_field", "dossiers", "share", "quota_exact", "ballots"]
    assert out["share"].tolist() == pytest.approx([0.6, 0.24, 0.12, 0.04])
    assert out["quota_exact"].tolist() == pytest.approx([30, 12, 6, 2])
    assert out["ballots"].tolist() == [30, 12, 6, 2]


def test_allocation_with_remainders_a_zero_field_and_the_minimum():
    # D = 700 + 250 + 40 + 7 + 3 + 0 = 1000; exact quotas of 50: 35, 12.5, 2, 0.35, 0.15, 0.
    # BTXH (0.35) and NCC (0.15) are below one → one ballot each; TDKT has no dossier → none.
    # The other three share 50 − 2 = 48 over D' = 990: 48·700/990 = 33.939…, 48·250/990 = 12.121…,
    # 48·40/990 = 1.939…; floors 33 + 12 + 1 = 46, + 2 minimum = 48 → 2 left over.
    # Remainders 930/990 (HT), 120/990 (CT), 930/990 (DD): HT and DD get one each → 34, 12, 2, 1, 1, 0.
    out = allocate(table("B", {"HT": 700, "CT": 250, "DD": 40, "BTXH": 7, "NCC": 3, "TDKT": 0}), 50)
    assert out["ballots"].tolist() == [34, 12, 2, 1, 1, 0]
    assert out["quota_exact"].tolist() == pytest.approx([35, 12.5, 2, 0.35, 0.15, 0])
    assert out["ballots"].sum() == 50


def test_tie_goes_to_the_larger_dossier_count_then_to_field_order():
    # 5 and 15 dossiers, 10 ballots: quotas 2.5 and 7.5 → floors 2 + 7, one left, equal remainders 0.5;
    # the larger count (CT, listed second) wins: 2 / 8 (field order alone would have given 3 / 7).
    assert allocate(table("A", {"HT": 5, "CT": 15}), 10)["ballots"].tolist() == [2, 8]
    # 10/10/10 dossiers, 50 ballots: quotas 16.67 each → 16·3 = 48, two left, full tie → first two listed.
    assert allocate(table("A", {"HT": 10, "CT": 10, "DD": 10}), 50)["ballots"].tolist() == [17, 17, 16]
    # The methodology's order decides, not the row order.
    out = allocate(table("A", {"HT": 10, "CT": 10, "DD": 10}), 50, field_order=["DD", "CT", "HT"])
    assert out["ballots"].tolist() == [16, 17, 17]


def test_several_communes_at_once_each_get_their_total():
    d = pd.concat([table("A", {"HT": 300, "CT": 120, "DD": 60, "BTXH": 20}),
                   table("B", {"HT": 5, "CT": 15, "DD": 0, "BTXH": 0})])
    out = allocate(d, 10)
    # A: quotas of 10 = 6, 2.4, 1.2, 0.4 → BTXH minimum 1; 9 over 480: 5.625, 2.25, 1.125 → 5+2+1 = 8,
    #    + 1 = 9, one left to the largest remainder (HT, 0.625) → 6, 2, 1, 1.
    # B: as in the tie test → 2, 8, 0, 0.
    assert out["ballots"].tolist() == [6, 2, 1, 1, 2, 8, 0, 0]
    assert out.groupby("commune_code")["ballots"].sum().tolist() == [10, 10]


def test_more_active_fields_than_ballots_is_refused():
    with pytest.raises(SamplePlanError, match=r"xã A: 4 lĩnh vực có hồ sơ nhưng chỉ có 3 phiếu"):
        allocate(table("A", {"HT": 1, "CT": 1, "DD": 1, "BTXH": 1}), 3)
    with pytest.raises(SamplePlanError, match=r"xã Z: không có hồ sơ nào"):
        allocate(table("Z", {"HT": 0, "CT": 0}), 50)
    with pytest.raises(SamplePlanError, match=r"lĩnh vực CT có hai dòng"):
        allocate(pd.concat([table("A", {"HT": 1, "CT": 2}), table("A", {"CT": 3})]), 5)
    with pytest.raises(SamplePlanError, match="không phải số nguyên không âm"):
        allocate(table("A", {"HT": -1, "CT": 2}), 5)


# ------------------------------------------------------------------------------------------------
# Reference size
# ------------------------------------------------------------------------------------------------
def test_yamane_by_hand():
    assert reference_size(1000) == 286      # 1000 / (1 + 1000·0.0025) = 1000 / 3.5 = 285.71 → 286
    assert reference_size(400) == 200       # 400 / (1 + 1) = 200 exactly, not 201
    assert reference_size(112) == 88        # 112 / 1.28 = 87.5 → 88
    assert reference_size(1000, 0.1) == 91  # 1000 / (1 + 10) = 90.9 → 91
    assert reference_size(0) == 0
    assert reference_size(pd.Series([1, 50, 1000])).tolist() == [1, 45, 286]  # 50 / 1.125 = 44.4 → 45
    assert margin_at(1000, 50) == pytest.approx(math.sqrt(950 / 50000))      # √((N−n)/(N·n)) = 0.1378
    with pytest.raises(SamplePlanError):
        reference_size(100, 0)


def test_reference_table_warns_in_vietnamese():
    d = pd.concat([table("A", {"HT": 100, "CT": 12}),      # N = 112 → 88 > 50: warning
                   table("B", {"HT": 30, "CT": 20}),       # N = 50 → 45 ≤ 50 ≤ N: none
                   table("C", {"HT": 40, "CT": 0})])       # N = 40 → 37; 50 > 40 dossiers
    ref = reference_table(d, 50)
    assert ref["dossiers_year"].tolist() == [112, 50, 40]
    assert ref["reference_n"].tolist() == [88, 45, 37]
    assert ref["warning"].tolist() == ["Cỡ mẫu cố định 50 < cỡ mẫu tham chiếu 88", "",
                                       "Cỡ mẫu cố định 50 > số hồ sơ trong năm 40: khảo sát toàn bộ người có hồ sơ"]
    assert ref["margin_at_fixed"].tolist() == pytest.approx([math.sqrt(62 / 5600), 0.0, 0.0])


# ------------------------------------------------------------------------------------------------
# Officials' survey
# ------------------------------------------------------------------------------------------------
def test_officials_groups_default_and_override(meth):
    g = officials_groups(meth)
    assert g.to_dict("list") == {"group_code": ["HDND", "MTTQ", "PCM"],
                                 "group_label": ["Đại biểu HĐND huyện", "Lãnh đạo UBMTTQ huyện",
                                                 "Lãnh đạo phòng chuyên môn thuộc UBND huyện"],
                                 "respondents": [33, 1, 12]}
    r = officials_respondents(g, 17)
    assert len(r) == 46  # 33 + 1 + 12
    assert r["ballot_id"].iloc[[0, 32, 33, 34, 45]].tolist() == ["CB-HDND-01", "CB-HDND-33", "CB-MTTQ-01",
                                                                 "CB-PCM-01", "CB-PCM-12"]
    assert r["seq"].iloc[[0, 32, 33, 34, 45]].tolist() == [1, 33, 1, 1, 12]
    assert (r["communes"] == 17).all()
    g2 = officials_groups(meth, {"HDND": 3, "PCM": 0})
    assert g2["respondents"].tolist() == [3, 1, 0]
    assert officials_respondents(g2, 2)["ballot_id"].tolist() == ["CB-HDND-01", "CB-HDND-02", "CB-HDND-03",
                                                                  "CB-MTTQ-01"]
    with pytest.raises(SamplePlanError, match="XYZ"):
        officials_groups(meth, {"XYZ": 3})
    # 120 delegates → three-digit numbers.
    assert officials_respondents(officials_groups(meth, {"HDND": 120}), 1)["ballot_id"].iloc[[0, 119]].tolist() == [
        "CB-HDND-001", "CB-HDND-120"]


# ------------------------------------------------------------------------------------------------
# The workbook and the command
# ------------------------------------------------------------------------------------------------
def write_dossier_file(path, rows):
    """so_ho_so file as a district officer makes it: title, blank, header, rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "HoSo"
    ws.append(["UBND HUYỆN THANH MIỆN"])
    ws.append([])
    ws.append(["Mã xã", "Tên xã", "HT", "CT", "DD", "BTXH", "NCC", "TDKT", "VH", "NN"])
    for r in rows:
        ws.append(r)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


DOSSIER_ROWS = [
    # 11239: D = 1000 → quotas 35, 12.5, 2, 0.35, 0.15, 0, 0, 0 → 34, 12, 2, 1, 1, 0, 0, 0 (see above)
    ["11239", "Thị trấn Thanh Miện", 700, 250, 40, 7, 3, 0, 0, 0],
    # 11251: D = 500 → 30, 12, 6, 2
    ["11251", "Xã Đoàn Tùng", 300, 120, 60, 20, 0, 0, 0, 0],
]


def test_workbook_sheets_headers_and_totals(tmp_path, meth, two_communes):
    src = write_dossier_file(tmp_path / "raw" / "so_ho_so_2023.xlsx", DOSSIER_ROWS)
    plan = build_sample_plan_from_file(src, meth, two_communes, year=2023)
    p1 = write_sample_plan(tmp_path / "a" / "ke_hoach_mau_2023.xlsx", plan, district="UBND HUYỆN THANH MIỆN")
    p2 = write_sample_plan(tmp_path / "b" / "ke_hoach_mau_2023.xlsx", plan, district="UBND HUYỆN THANH MIỆN")
    assert p1.read_bytes() == p2.read_bytes()
    wb = openpyxl.load_workbook(p1)
    assert wb.sheetnames == [SHEET_ALLOCATION, SHEET_REFERENCE, SHEET_OFFICIALS, SHEET_DETAIL]
    assert wb.properties.created.year == 2023 and wb.properties.modified == wb.properties.created

    ws = wb[SHEET_ALLOCATION]
    assert ws.freeze_panes == "C6"
    assert [c.value for c in ws[5]] == ["Mã xã", "Tên xã", "Hộ tịch (HT)", "Chứng thực (CT)", "Đất đai (DD)",
                                        "Bảo trợ xã hội (BTXH)", "Người có công (NCC)",
                                        "Thi đua, khen thưởng (TDKT)", "Văn hóa, thể thao (VH)",
                                        "Nông nghiệp (NN)", "Tổng số phiếu"]
    assert [c.value for c in ws[6]] == ["11239", "Thị trấn Thanh Miện", 34, 12, 2, 1, 1, 0, 0, 0, 50]
    assert [c.value for c in ws[7]] == ["11251", "Xã Đoàn Tùng", 30, 12, 6, 2, 0, 0, 0, 0, 50]
    assert [c.value for c in ws[8]] == ["Tổng cộng", None, 64, 24, 8, 3, 1, 0, 0, 0, 100]

    ws = wb[SHEET_REFERENCE]
    assert ws.freeze_panes == "C6"
    assert [c.value for c in ws[5]][:3] == ["Mã xã", "Tên xã", "Số hồ sơ trong năm (N)"]
    assert ws.cell(5, 4).value == "Cỡ mẫu tham chiếu n = N/(1 + N·e²), e = 5\u00a0%"
    # N = 1000 → 286; N = 500 → 500 / 2.25 = 222.2 → 223.
    assert [ws.cell(r, c).value for r in (6, 7) for c in (3, 4, 5)] == [1000, 286, 50, 500, 223, 50]
    assert ws.cell(6, 7).value == "Cỡ mẫu cố định 50 < cỡ mẫu tham chiếu 286"
    assert ws.cell(7, 7).value == "Cỡ mẫu cố định 50 < cỡ mẫu tham chiếu 223"

    ws = wb[SHEET_OFFICIALS]
    assert [c.value for c in ws[5]] == ["STT", "Mã phiếu", "Mã nhóm", "Nhóm đối tượng", "Số xã, thị trấn đánh giá",
                                        None, "Mã nhóm", "Nhóm đối tượng", "Số người trả lời"]
    assert [ws.cell(r, 2).value for r in (6, 38, 39, 40, 51)] == ["CB-HDND-01", "CB-HDND-33", "CB-MTTQ-01",
                                                                  "CB-PCM-01", "CB-PCM-12"]
    assert ws.cell(6, 5).value == 2  # each respondent rates both communes
    assert [[ws.cell(r, c).value for c in (7, 9)] for r in (6, 7, 8, 9)] == [["HDND", 33], ["MTTQ", 1], ["PCM", 12],
                                                                             ["Tổng", 46]]
    assert ws.max_row == 5 + 46

    ws = wb[SHEET_DETAIL]
    assert [c.value for c in ws[5]] == ["Mã xã", "Tên xã", "Mã lĩnh vực", "Lĩnh vực", "Số hồ sơ", "Tỷ trọng hồ sơ",
                                        "Hạn ngạch chính xác", "Số phiếu"]
    assert [ws.cell(6, c).value for c in (3, 5, 8)] == ["HT", 700, 34]
    assert ws.cell(6, 7).value == pytest.approx(35.0)


def test_plan_needs_every_commune(meth, two_communes):
    d = table("11239", {"HT": 10, "CT": 5})
    with pytest.raises(SamplePlanError, match=r"thiếu xã: 11251 \(Xã Đoàn Tùng\)"):
        build_sample_plan(d, meth, two_communes, year=2023)


def test_per_commune_and_groups_parameters(meth, two_communes):
    d = pd.concat([table("11239", {"HT": 300, "CT": 120, "DD": 60, "BTXH": 20}),
                   table("11251", {"HT": 5, "CT": 15})])
    plan = build_sample_plan(d, meth, two_communes, year=2023, n_per_commune=10, groups={"HDND": 2})
    # 11239 with 10 ballots: 6, 2, 1, 1 (hand computation in test_several_communes_at_once…); 11251: 2, 8.
    assert plan.per_commune()[["HT", "CT", "DD", "BTXH", "total"]].to_numpy().tolist() == [[6, 2, 1, 1, 10],
                                                                                         [2, 8, 0, 0, 10]]
    assert plan.groups["respondents"].tolist() == [2, 1, 12]
    assert len(plan.respondents) == 15


def _parser():
    from parindex.cli_survey import register

    p = argparse.ArgumentParser(prog="parindex")
    register(p.add_subparsers(dest="command", required=True))
    return p


def test_sample_plan_command(tmp_path, capsys, two_communes):
    write_params(tmp_path, 2023, TM_BLOCK)   # the district's name and province (its communes: --communes)
    src = write_dossier_file(tmp_path / "so_ho_so_2023.xlsx", DOSSIER_ROWS)
    communes_csv = tmp_path / "communes.csv"
    two_communes.to_csv(communes_csv, index=False)
    out = tmp_path / "reports" / "ke_hoach_mau_2023.xlsx"
    args = _parser().parse_args(["sample-plan", "--year", "2023", "--dossiers", str(src), "--per-commune", "50",
                                 "--margin", "0.1", "--out", str(out), "--methodology", str(REFERENCE_METHODOLOGY),
                                 "--communes", str(communes_csv), "--group", "PCM=10", "--root", str(tmp_path)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert str(out) in text
    assert "2 xã × 50 phiếu = 100 phiếu" in text
    assert "HDND 33, MTTQ 1, PCM 10 = 44 người × 2 xã" in text
    wb = openpyxl.load_workbook(out)
    # e = 0.1: N = 1000 → 1000 / 11 = 90.9 → 91; N = 500 → 500 / 6 = 83.3 → 84.
    ws = wb[SHEET_REFERENCE]
    assert [ws.cell(6, 4).value, ws.cell(7, 4).value] == [91, 84]
    assert ws.cell(5, 4).value.endswith("e = 10\u00a0%")
    assert all(wb[s]["A1"].value == "UBND HUYỆN THANH MIỆN" for s in wb.sheetnames)   # from the parameters


def test_sample_plan_command_reports_a_bad_file(tmp_path, capsys, two_communes):
    write_params(tmp_path, 2023, TM_BLOCK)
    src = write_dossier_file(tmp_path / "so_ho_so_2023.xlsx", [DOSSIER_ROWS[0], ["11251", "Xã Đoàn Tùng", "nhiều"]])
    communes_csv = tmp_path / "communes.csv"
    two_communes.to_csv(communes_csv, index=False)
    args = _parser().parse_args(["sample-plan", "--year", "2023", "--dossiers", str(src), "--out",
                                 str(tmp_path / "x.xlsx"), "--methodology", str(REFERENCE_METHODOLOGY),
                                 "--communes", str(communes_csv), "--root", str(tmp_path)])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    # The ingest reader names file, sheet, row and column.
    assert "so_ho_so_2023.xlsx" in err and "'HoSo'" in err and "dòng 5" in err and "cột C 'HT'" in err
    assert not (tmp_path / "x.xlsx").exists()
    args = _parser().parse_args(["sample-plan", "--year", "2023", "--dossiers", str(src), "--group", "HDND",
                                 "--methodology", str(REFERENCE_METHODOLOGY), "--communes", str(communes_csv),
                                 "--root", str(tmp_path)])
    assert args.func(args) == 2
    assert "--group 'HDND'" in capsys.readouterr().err
