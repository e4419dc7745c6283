"""District identity is data: lookup in the shipped national list, the district block of the parameters, survey
sizes from it, ``parindex init`` — and a second district of another province run end to end.

Every expected value can be checked by hand in data/reference/vn_admin_units_2023-04-10.csv, e.g.
``grep ',Huyện Châu Thành,' data/reference/vn_admin_units_2023-04-10.csv | cut -d, -f4,8 | sort -u``.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from conftest import NATIONAL, ROOT, THANH_MIEN, TM_BLOCK, write_params

from parindex import demo
from parindex.cli import main
from parindex.communes import load_communes
from parindex.district import (
    DistrictLookupError,
    communes_of,
    find_district,
    find_districts,
    resolve_district,
)
from parindex.params import District, ParamsError, load_params
from parindex.surveyplan.entry_templates import write_district_templates

FILES = ["tu_danh_gia_tham_dinh_{y}.xlsx", "phieu_can_bo_{y}.xlsx", "phieu_hai_long_{y}.xlsx", "so_ho_so_{y}.xlsx"]


def codes(entries):
    return [e.code for e in entries]


# ------------------------------------------------------------------------------------------------
# Lookup
# ------------------------------------------------------------------------------------------------
def test_lookup_by_code():
    e = find_district("300", path=NATIONAL)
    # the 17 rows "…,300,Huyện Thanh Miện,Huyện,30,Tỉnh Hải Dương"
    assert (e.code, e.name, e.type, e.province, e.province_code, e.n_communes) == (
        "300", "Huyện Thanh Miện", "Huyện", "Tỉnh Hải Dương", "30", 17)
    # leading zeros are restored: "42" is district 042, Huyện Bảo Lâm of Tỉnh Cao Bằng
    e = find_district("42", path=NATIONAL)
    assert (e.code, e.name, e.province) == ("042", "Huyện Bảo Lâm", "Tỉnh Cao Bằng")


@pytest.mark.parametrize("query", ["Thanh Miện", "thanh mien", "THANH MIỆN", "Huyện Thanh Miện", "huyen thanh mien",
                                   "H. Thanh Mien", "H.Thanh Miện", "  Thanh   Miện ", "Thanh Miện, Hải Dương",
                                   "thanh mien, tinh hai duong"])
def test_lookup_by_name_with_and_without_diacritics_and_prefix(query):
    assert codes(find_districts(query, path=NATIONAL)) == ["300"]


def test_a_type_prefix_chooses_between_two_districts_of_one_name():
    # Hà Tĩnh has Huyện Kỳ Anh (447) and Thị xã Kỳ Anh (449)
    assert codes(find_districts("Kỳ Anh", path=NATIONAL)) == ["447", "449"]
    assert codes(find_districts("Huyện Kỳ Anh", path=NATIONAL)) == ["447"]
    for q in ("Thị xã Kỳ Anh", "TX Kỳ Anh", "tx. ky anh", "thi xa ky anh"):
        assert codes(find_districts(q, path=NATIONAL)) == ["449"], q
    # Thành phố Hải Dương (288) is a district of Tỉnh Hải Dương
    assert codes(find_districts("TP Hải Dương", path=NATIONAL)) == ["288"]


def test_diacritics_decide_when_written_and_tone_placement_does_not_matter():
    # Huyện Thanh Trì (020, Hà Nội) and Huyện Thạnh Trị (949, Sóc Trăng) differ only in their diacritics
    assert codes(find_districts("Thanh Trì", path=NATIONAL)) == ["020"]
    assert codes(find_districts("Thạnh Trị", path=NATIONAL)) == ["949"]
    assert codes(find_districts("Thanh Tri", path=NATIONAL)) == ["020", "949"]
    # the list writes "Huyện Hoà Bình" (old tone placement); "Hòa Bình" finds it as well
    assert codes(find_districts("Hòa Bình", "Bạc Liêu", path=NATIONAL)) == ["961"]
    assert codes(find_districts("Hoà Bình", "Tỉnh Bạc Liêu", path=NATIONAL)) == ["961"]


def test_ambiguous_name_lists_the_candidates_with_codes_and_provinces():
    # "Huyện Châu Thành" is the name of 10 districts in 10 provinces
    with pytest.raises(DistrictLookupError) as ei:
        find_district("Châu Thành", path=NATIONAL)
    e = ei.value
    assert e.kind == "ambiguous"
    assert codes(e.candidates) == ["708", "808", "821", "831", "847", "877", "892", "905", "933", "942"]
    msg = str(e)
    assert "808  Huyện Châu Thành, Tỉnh Long An" in msg and "942  Huyện Châu Thành, Tỉnh Sóc Trăng" in msg
    assert "ambiguous" in msg and "mã huyện" in msg
    # the province (name, with or without type and diacritics, or code) disambiguates
    for prov in ("Long An", "Tỉnh Long An", "long an", "80"):
        assert find_district("Châu Thành", prov, path=NATIONAL).code == "808", prov
    # Huyện Bảo Lâm: 042 (Cao Bằng) and 680 (Lâm Đồng)
    assert codes(find_districts("Bảo Lâm", path=NATIONAL)) == ["042", "680"]


def test_unknown_name_lists_the_closest():
    with pytest.raises(DistrictLookupError) as ei:
        find_district("Thanh Mein", path=NATIONAL)
    assert ei.value.kind == "unknown" and ei.value.candidates[0].code == "300"
    assert "300  Huyện Thanh Miện, Tỉnh Hải Dương" in str(ei.value) and "closest" in str(ei.value)
    with pytest.raises(DistrictLookupError, match="mã huyện '999'"):
        find_district("999", path=NATIONAL)
    # a known name in the wrong province is unknown there
    with pytest.raises(DistrictLookupError, match="thuộc Cà Mau"):
        find_district("Thanh Miện", "Cà Mau", path=NATIONAL)


def test_communes_of_a_district_are_the_national_rows_in_order():
    # the national list's 17 rows of district 300 are those of the district's own list, in the same order
    assert communes_of("300", NATIONAL).equals(load_communes(THANH_MIEN))
    c = communes_of("030", NATIONAL)   # Huyện Vị Xuyên, Tỉnh Hà Giang: 00703 … 00979
    assert len(c) == 24 and c["commune_code"].iloc[0] == "00703" and c["commune_code"].iloc[-1] == "00979"


# ------------------------------------------------------------------------------------------------
# The district block of the parameters
# ------------------------------------------------------------------------------------------------
def test_params_with_only_the_code(meth):
    d = resolve_district(District(code="300"), meth, ROOT)
    assert (d.code, d.name, d.province, d.province_code) == ("300", "Huyện Thanh Miện", "Tỉnh Hải Dương", "30")
    assert d.communes.equals(load_communes(THANH_MIEN))
    assert d.authority == "UBND HUYỆN THANH MIỆN"
    # survey sizes default to the methodology's: 33 + 1 + 12 respondents, 50 ballots per commune
    assert d.officials_groups == {"HDND": 33, "MTTQ": 1, "PCM": 12} and d.ballots_per_commune == 50
    # the shipped demo parameters name the district by its code alone
    p = load_params(2023, root=ROOT).district
    assert p.code == "300" and p.name is None and p.communes is None


def test_names_given_in_the_parameters_win_and_sizes_merge_with_the_methodology(meth):
    d = resolve_district(District(code="300", name="Huyện TM", province="Tỉnh HD", officials_groups={"HDND": 30},
                                  ballots_per_commune=40), meth, ROOT)
    assert (d.name, d.province, len(d.communes)) == ("Huyện TM", "Tỉnh HD", 17)
    assert d.officials_groups == {"HDND": 30, "MTTQ": 1, "PCM": 12} and d.ballots_per_commune == 40
    with pytest.raises(ParamsError, match=r"nhóm \['XX'\]"):
        resolve_district(District(code="300", officials_groups={"XX": 3}), meth, ROOT)


def test_other_ways_to_name_the_district(meth):
    # a name alone is looked up like `parindex init --district`
    assert resolve_district(District(name="thanh mien"), meth, ROOT).code == "300"
    with pytest.raises(DistrictLookupError, match="808"):
        resolve_district(District(name="Châu Thành"), meth, ROOT)
    assert resolve_district(District(name="Châu Thành", province="Long An"), meth, ROOT).code == "808"
    # a commune list file names its district itself
    d = resolve_district(District(communes=str(THANH_MIEN)), meth, ROOT)
    assert (d.code, d.name, d.province, len(d.communes)) == ("300", "Huyện Thanh Miện", "Tỉnh Hải Dương", 17)
    # … and must agree with a code given beside it
    with pytest.raises(ParamsError, match="'030' khác mã huyện '300'"):
        resolve_district(District(code="030", communes=str(THANH_MIEN)), meth, ROOT)
    with pytest.raises(ParamsError, match="district.code"):
        resolve_district(District(), meth, ROOT)


def test_the_code_is_text_in_the_parameters(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("year: 2023\ndistrict:\n  code: 300\n", encoding="utf-8")
    assert load_params(2023, f).district.code == "300"
    f.write_text("year: 2023\ndistrict:\n  code: 042\n", encoding="utf-8")   # YAML: the octal number 34
    with pytest.raises(ParamsError, match='code: "042"'):
        load_params(2023, f)
    assert load_params(2023, None, ["district.code=042"]).district.code == "042"


def test_the_package_names_no_district():
    """No district name or code is written in the package (they come from the parameters and data/)."""
    hits = []
    for p in sorted((ROOT / "parindex").rglob("*")):
        if p.suffix not in (".py", ".j2", ".html", ".css", ".js") or "__pycache__" in p.parts:
            continue
        text = p.read_text(encoding="utf-8").lower()
        hits += [(p.name, w) for w in ("thanh miện", "thanh mien", "hải dương", "hai duong", '"300"', '"030"')
                 if w in text]
    assert hits == []


# ------------------------------------------------------------------------------------------------
# Survey sizes from the district block: demo generator, entry forms, sample plan
# ------------------------------------------------------------------------------------------------
def rows_of(path, sheet, header_row):
    rows = list(openpyxl.load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True))
    return pd.DataFrame(rows[header_row:], columns=rows[header_row - 1])


def test_survey_sizes_come_from_the_district_block(tmp_path, meth, district, capsys):
    three = district.communes.iloc[:3].reset_index(drop=True)   # 11239, 11242, 11245
    d = dataclasses.replace(district, communes=three, officials_groups={"HDND": 3, "MTTQ": 1, "PCM": 2},
                            ballots_per_commune=12)
    raw = tmp_path / "raw"
    demo.generate(2023, raw, 2023, meth, d)
    # officials: (3 + 1 + 2) respondents × 3 communes = 18 rows, 6 ballot ids (two titles, a blank, header)
    o = rows_of(raw / "phieu_can_bo_2023.xlsx", "PhieuCanBo", 4)
    assert len(o) == 18 and o["Mã phiếu"].nunique() == 6
    assert o.drop_duplicates("Mã phiếu")["Nhóm đối tượng"].value_counts().to_dict() == {
        "Đại biểu HĐND huyện": 3, "Lãnh đạo phòng chuyên môn thuộc UBND huyện": 2, "Lãnh đạo UBMTTQ huyện": 1}
    # satisfaction: 12 ballots × 3 communes + the one from outside the district
    s = rows_of(raw / "phieu_hai_long_2023.xlsx", "PhieuHaiLong", 4)
    assert len(s) == 37
    # ID numbers begin with the province code on three digits: Tỉnh Hải Dương is 30 → "030"
    assert s["Số CCCD"].str.startswith("030").all()
    assert openpyxl.load_workbook(raw / "so_ho_so_2023.xlsx")["HoSo"]["A1"].value == "UBND HUYỆN THANH MIỆN"

    # the blank entry forms: 6 × 3 officials' rows, 12 × 3 ballot rows (header on row 5)
    t = write_district_templates(tmp_path / "forms", meth, d, year=2023)
    assert openpyxl.load_workbook(t[1])["PhieuCanBo"].max_row == 5 + 18
    assert openpyxl.load_workbook(t[2])["PhieuHaiLong"].max_row == 5 + 36
    assert openpyxl.load_workbook(t[0])["ChamDiem"]["A1"].value == "UBND HUYỆN THANH MIỆN"

    # the sample plan command takes the sizes from the year's parameters
    root = tmp_path / "proj"
    three.to_csv(tmp_path / "three.csv", index=False)
    write_params(root, 2023, {**TM_BLOCK, "communes": str(tmp_path / "three.csv"), "officials_groups": {"HDND": 3},
                              "ballots_per_commune": 12})
    assert main(["sample-plan", "--year", "2023", "--dossiers", str(raw / "so_ho_so_2023.xlsx"),
                 "--methodology", str(ROOT / "methodologies" / "reference-default-v1.yaml"),
                 "--out", str(tmp_path / "plan.xlsx"), "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "3 xã × 12 phiếu = 36 phiếu" in out and "HDND 3, MTTQ 1, PCM 12 = 16 người × 3 xã" in out
    assert "Huyện Thanh Miện, Tỉnh Hải Dương" in out


def test_id_prefix():
    assert demo.id_prefix("30") == "030" and demo.id_prefix("1") == "001" and demo.id_prefix(None) == "000"


# ------------------------------------------------------------------------------------------------
# parindex init
# ------------------------------------------------------------------------------------------------
def trial_checkout(tmp: Path) -> Path:
    """A checkout-like folder: pyproject.toml, the package linked, methodologies and data/reference copied."""
    (tmp / "pyproject.toml").write_text("[project]\nname='x'\n", encoding="utf-8")
    (tmp / "parindex").symlink_to(ROOT / "parindex")
    for d in ("methodologies", "data/reference"):
        shutil.copytree(ROOT / d, tmp / d)
    return tmp


def test_init_ambiguous_name_lists_candidates_and_writes_nothing(tmp_path, monkeypatch, capsys):
    proj = trial_checkout(tmp_path)
    monkeypatch.chdir(proj / "data")   # any folder inside the checkout
    assert main(["init", "--district", "Chau Thanh", "--year", "2024"]) == 2
    err = capsys.readouterr().err
    assert "LỖI / ERROR" in err and "Traceback" not in err
    assert all(c in err for c in ("708", "808", "821", "831", "847", "877", "892", "905", "933", "942"))
    assert not (proj / "params").exists() and not (proj / "templates").exists()


def test_init_writes_params_and_forms_and_refuses_to_overwrite(tmp_path, monkeypatch, capsys, meth):
    proj = trial_checkout(tmp_path)
    monkeypatch.chdir(proj)
    assert main(["init", "--district", "Châu Thành", "--province", "Long An", "--year", "2024"]) == 0
    out = capsys.readouterr().out
    assert "Huyện Châu Thành, Tỉnh Long An (mã 808, 13 xã" in out and "parindex run --year 2024" in out
    pfile = proj / "params" / "2024.yaml"
    text = pfile.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    assert raw["district"]["code"] == "808" and raw["district"]["name"] is None
    assert "# Mã huyện (Tổng cục Thống kê): Huyện Châu Thành, Tỉnh Long An" in text
    p = load_params(2024, root=proj)
    assert (p.year, p.seed, p.inputs.raw_dir) == (2024, 2024, "data/raw/2024")
    assert str(p.survey.survey_start) == "2024-10-01" and str(p.survey.survey_end) == "2024-12-15"
    assert p.district.officials_groups == {"HDND": 33, "MTTQ": 1, "PCM": 12} and p.district.ballots_per_commune == 50
    assert len(p.district.salt) >= 32 and p.district.salt != District().salt
    # the blank forms: 13 communes × (39 appraised leaves + bonus + deduction) rows
    ws = openpyxl.load_workbook(proj / "templates" / "2024" / "tu_danh_gia_tham_dinh_2024.xlsx")["ChamDiem"]
    assert ws.max_row == 5 + 13 * 41 and ws["A1"].value == "UBND HUYỆN CHÂU THÀNH"
    assert not (proj / "data" / "raw").exists()   # no --demo

    # again: refused, the file kept as it was
    assert main(["init", "--district", "808", "--year", "2024"]) == 2
    err = capsys.readouterr().err
    assert "params/2024.yaml" in err and "--force" in err and "Không ghi đè" in err
    assert pfile.read_text(encoding="utf-8") == text
    # with --force: replaced, with a new salt
    assert main(["init", "--district", "808", "--year", "2024", "--force"]) == 0
    assert load_params(2024, root=proj).district.salt != p.district.salt


def test_init_demo_for_the_demo_district_writes_the_committed_demo_files(tmp_path, monkeypatch, capsys):
    """`init --demo` runs the seeded generator with the year as seed: for district 300 and 2023 it writes exactly
    the committed data/raw/2023 files (made by `make demo-data`, which then applies parindex.demo_quirks)."""
    from parindex import demo_quirks

    proj = trial_checkout(tmp_path)
    monkeypatch.chdir(proj)
    assert main(["init", "--district", "300", "--year", "2023", "--demo"]) == 0
    demo_quirks.apply(2023, proj / "data" / "raw" / "2023")
    for f in FILES:
        name = f.format(y=2023)
        assert (proj / "data" / "raw" / "2023" / name).read_bytes() == (ROOT / "data" / "raw" / "2023" / name
                                                                         ).read_bytes(), name
    # a raw folder with files is not overwritten without --force (even with a new params file allowed)
    (proj / "params" / "2023.yaml").unlink()
    capsys.readouterr()
    assert main(["init", "--district", "300", "--year", "2023", "--demo"]) == 2
    assert "data/raw/2023/" in capsys.readouterr().err
    assert not (proj / "params" / "2023.yaml").exists()


def test_init_outside_a_checkout_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--district", "300", "--year", "2023"]) == 2
    assert "not inside a parindex checkout" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# A second district, another province and size, end to end from parameters alone
# ------------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_init_then_run_a_district_of_another_province(tmp_path, monkeypatch, capsys):
    from parindex.pipeline import run_pipeline

    proj = trial_checkout(tmp_path)
    monkeypatch.chdir(proj)
    # Huyện Vị Xuyên (030), Tỉnh Hà Giang (02): 24 communes, by its name without diacritics
    assert main(["init", "--district", "vi xuyen", "--year", "2023", "--demo"]) == 0
    capsys.readouterr()
    params = load_params(2023, None, ["robustness.n_draws=60", "survey.ci_draws=200"], root=proj)
    outcome = run_pipeline(params, root=proj, out_root=proj / "reports", processed_root=proj / "data" / "processed",
                           log=lambda *a, **k: None, publish=True)   # a what-if (quick draws), published as asked
    year_dir = proj / "reports" / "2023"

    national = pd.read_csv(NATIONAL, dtype=str, keep_default_na=False)
    expected = national[national["district_code"] == "030"]
    assert len(expected) == 24 and set(expected["province_name"]) == {"Tỉnh Hà Giang"}
    res = pd.read_csv(year_dir / "results.csv", dtype={"commune_code": str}, encoding="utf-8-sig")
    assert len(res) == 24 and set(res["commune_code"]) == set(expected["commune_code"])
    by_index = res.sort_values("index_pct", ascending=False, kind="stable")
    assert by_index["rank"].iloc[0] == 1 and by_index["rank"].is_monotonic_increasing   # ranked by the index
    assert res["index_pct"].between(60, 100).all()

    html = (year_dir / "index.html").read_text(encoding="utf-8")
    assert "Huyện Vị Xuyên" in html and "Tỉnh Hà Giang" in html
    wb = openpyxl.load_workbook(year_dir / "results.xlsx", read_only=True)
    cells = {str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None}
    assert "Huyện Vị Xuyên" in cells and "Tỉnh Hà Giang" in cells
    # the raw files are the district's: its issuing body, ID numbers of province 02
    s = rows_of(proj / "data" / "raw" / "2023" / "phieu_hai_long_2023.xlsx", "PhieuHaiLong", 4)
    assert s["Số CCCD"].str.startswith("002").all()
    # nothing the run, the forms or the demo wrote names the demo district
    for p in [*year_dir.rglob("*"), *(proj / "templates").rglob("*"), *(proj / "data" / "raw").rglob("*"),
              *outcome.run_dir.rglob("*")]:
        if p.suffix in (".html", ".csv", ".json", ".yaml"):
            blob = p.read_text(encoding="utf-8-sig")
        elif p.suffix == ".xlsx":
            wb = openpyxl.load_workbook(p, read_only=True)
            blob = "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                             if v is not None)
        else:
            continue
        assert "thanh miện" not in blob.lower() and "thanh mien" not in blob.lower(), p
