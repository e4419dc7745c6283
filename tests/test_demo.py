"""The seeded demo-data generator (parindex.demo): reproducible bytes, survey sizes, realistic indices."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from conftest import ROOT

from parindex import demo
from parindex.communes import CommuneMatcher
from parindex.ingest import clean_year, read_sheet, Col
from parindex.scoring import score_all

FILES = ["tu_danh_gia_tham_dinh_{y}.xlsx", "phieu_can_bo_{y}.xlsx", "phieu_hai_long_{y}.xlsx", "so_ho_so_{y}.xlsx"]


@pytest.fixture(scope="module")
def years(tmp_path_factory, meth, district):
    out = {}
    for y in (2022, 2023):
        d = tmp_path_factory.mktemp(f"raw{y}")
        demo.generate(y, d, y, meth, district)
        out[y] = d
    return out


def rows_of(path, sheet):
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    rows = list(ws.iter_rows(values_only=True))
    return pd.DataFrame(rows[4:], columns=rows[3])  # two title lines, a blank line, header on row 4


def test_same_seed_gives_identical_bytes(tmp_path, meth, district, years):
    paths = demo.generate(2023, tmp_path, 2023, meth, district)
    assert [p.name for p in paths] == [f.format(y=2023) for f in FILES]
    for p in paths:
        assert p.read_bytes() == (years[2023] / p.name).read_bytes(), p.name


def test_committed_demo_files_match_the_generator(years, tmp_path):
    """data/raw/<year>/ holds exactly what `make demo-data` writes: `python -m parindex.demo --year <y>
    --seed <y>`, then for 2023 `python -m parindex.demo_quirks` (a TCVN3 workbook, layout quirks)."""
    from parindex import demo_quirks

    for y, d in years.items():
        if y == 2023:
            q = tmp_path / "q2023"
            q.mkdir()
            for f in FILES:
                (q / f.format(y=y)).write_bytes((d / f.format(y=y)).read_bytes())
            demo_quirks.apply(y, q)
            d = q
        for f in FILES:
            name = f.format(y=y)
            assert (ROOT / "data" / "raw" / str(y) / name).read_bytes() == (d / name).read_bytes(), name


def test_different_years_and_seeds_differ(tmp_path, meth, district, years):
    a22 = rows_of(years[2022] / "tu_danh_gia_tham_dinh_2022.xlsx", "ChamDiem")
    a23 = rows_of(years[2023] / "tu_danh_gia_tham_dinh_2023.xlsx", "ChamDiem")
    assert not a22["Điểm thẩm định"].equals(a23["Điểm thẩm định"])
    for f in FILES:
        assert (years[2022] / f.format(y=2022)).read_bytes() != (years[2023] / f.format(y=2023)).read_bytes()
    other = demo.generate(2023, tmp_path, 7, meth, district)
    assert other[2].read_bytes() != (years[2023] / "phieu_hai_long_2023.xlsx").read_bytes()


def test_sizes_of_the_four_files(years, meth, communes):
    m = CommuneMatcher(communes)
    d = years[2023]
    a = rows_of(d / "tu_danh_gia_tham_dinh_2023.xlsx", "ChamDiem")
    leaves = a[~a["Mã tiêu chí"].isin(["T", "TR"])]
    assert leaves["Mã xã"].nunique() == 17
    assert leaves.groupby("Mã xã").size().eq(39).all()  # 39 appraised leaves each
    assert 1 <= (a["Mã tiêu chí"] == "T").sum() <= 4 and 1 <= (a["Mã tiêu chí"] == "TR").sum() <= 2

    o = rows_of(d / "phieu_can_bo_2023.xlsx", "PhieuCanBo")
    assert len(o) == 46 * 17
    per = o.drop_duplicates("Mã phiếu")["Nhóm đối tượng"].value_counts().to_dict()
    assert per == {"Đại biểu HĐND huyện": 33, "Lãnh đạo UBMTTQ huyện": 1,
                   "Lãnh đạo phòng chuyên môn thuộc UBND huyện": 12}
    assert o.groupby("Mã phiếu")["Xã, thị trấn"].apply(lambda s: m.match_series(s).nunique()).eq(17).all()
    blank = o[meth.leaf_codes("officials_survey")].isna().to_numpy().mean()
    assert 0.03 < blank < 0.07  # ~5 % "không biết"

    s = rows_of(d / "phieu_hai_long_2023.xlsx", "PhieuHaiLong")
    code = m.match_series(s["Xã, thị trấn"])
    assert code.value_counts().eq(50).all() and code.nunique() == 17  # 50 received per commune
    assert code.isna().sum() == 1  # plus the one ballot from outside the district
    # variants of the commune names that must still match
    written = s["Xã, thị trấn"]
    assert written.str.startswith("X. ").any() and written.str.startswith("TT ").any()
    assert (written.str.contains("Doan Tung|Tu Cuong|Le Hong|Ngu Hung|Cao Thang|Lam Son|Hong Phong|Thanh Giang"
                                 "|Chi Lang|Pham Kha|Ngo Quyen|Tan Trao|Hong Quang|Thanh Tung|Doan Ket|Thanh Mien",
                                 regex=True)).any()
    assert s["Số điện thoại"].str.fullmatch(r"0[3789]\d{8}").all()
    assert s["Số CCCD"].str.fullmatch(r"\d{12}").all()

    # ballots per field follow the dossiers by the sample plan's allocation rule
    dos = rows_of(d / "so_ho_so_2023.xlsx", "HoSo").set_index("Mã xã")
    fields = {p.label: p.code for p in meth.satisfaction_survey.procedure_fields}
    got = (s.assign(c=code, f=s["Lĩnh vực"].map(lambda v: fields.get(v, v))).dropna(subset=["c"])
           .groupby(["c", "f"]).size())
    for c, row in dos.drop(columns="Tên xã").iterrows():
        exp = demo.allocate(row.astype(int), 50)
        assert got.loc[c].reindex(exp.index, fill_value=0).tolist() == exp.tolist(), c


@pytest.mark.parametrize("year", [2022, 2023])
def test_indices_are_realistic_after_cleaning_and_scoring(year, years, meth, communes):
    cd = clean_year(years[year], meth, communes, salt="test")
    r = score_all(cd.assessment, cd.officials, cd.satisfaction, meth, communes)["results"]
    assert len(r) == 17
    assert r["index_pct"].between(75, 95).all(), r["index_pct"].tolist()
    assert (r["index_pct"] >= 90).sum() >= 1
    ch = score_all(cd.assessment, cd.officials, cd.satisfaction, meth, communes)["appraisal_changes"]
    assert (ch["kind"] == "cut").sum() > 20 and (ch["reason"] != "").sum() > 20
    assert 1 <= (ch["kind"] == "raise").sum() <= 2


def test_ranks_move_between_years_but_stay_related(years, meth, communes):
    ranks = {}
    for y in (2022, 2023):
        cd = clean_year(years[y], meth, communes, salt="test")
        ranks[y] = score_all(cd.assessment, cd.officials, cd.satisfaction, meth, communes)["results"].set_index(
            "commune_code")["rank"]
    df = pd.DataFrame(ranks)
    assert (df[2022] != df[2023]).sum() >= 10
    assert df[2022].corr(df[2023], method="spearman") > 0.2


def test_header_is_found_below_the_title_lines(years, meth):
    sh = read_sheet(years[2023] / "so_ho_so_2023.xlsx", "HoSo", [Col("c", ("Mã xã",))])
    assert sh.header_row == 4 and sh.data.index[0] == 5
