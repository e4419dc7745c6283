"""Vietnamese text helpers and commune-name matching."""

from __future__ import annotations

import unicodedata

import pytest
from conftest import NATIONAL, THANH_MIEN

from parindex.communes import CommuneMatcher, load_communes
from parindex.district import communes_of
from parindex.text import fmt_num, fmt_pct, name_key, nfc, strip_diacritics


def test_vietnamese_number_format():
    assert fmt_pct(89.7712) == "89,77\u00a0%"
    assert fmt_pct(90) == "90,00\u00a0%"
    assert fmt_num(1234.5, 1) == "1.234,5"
    assert fmt_pct(float("nan")) == "–"


def test_nfc_and_diacritics():
    decomposed = unicodedata.normalize("NFD", "Đoàn Tùng")
    assert decomposed != "Đoàn Tùng" and nfc(decomposed) == "Đoàn Tùng"
    assert strip_diacritics("Xã Đoàn Tùng") == "Xa Doan Tung"


@pytest.mark.parametrize("written", [
    "Xã Đoàn Tùng", "Đoàn Tùng", "xa doan tung", "X. Đoàn Tùng", "X.Doan Tung", "  ĐOÀN   TÙNG ",
    unicodedata.normalize("NFD", "Xã Đoàn Tùng"), "UBND xã Đoàn Tùng", "11251", "11251.0",
])
def test_commune_written_many_ways_matches(written):
    m = CommuneMatcher(load_communes(THANH_MIEN))
    assert m.match(written) == "11251"


def test_town_prefixes_and_unknown():
    m = CommuneMatcher(load_communes(THANH_MIEN))
    for s in ("Thị trấn Thanh Miện", "TT Thanh Miện", "TT. Thanh Mien", "thanh mien"):
        assert m.match(s) == "11239"
    assert m.match("Xã Không Có") is None
    assert m.match("") is None and m.match(None) is None
    # "Chi Lăng Bắc" and "Chi Lăng Nam" must not be confused
    assert m.match("Chi Lang Bac") == "11281" and m.match("chi lang nam") == "11284"


def test_name_key_drops_prefixes_only_at_start():
    assert name_key("Xã Thanh Xá") == "thanh xa"  # the "xa" at the end is part of the name


def test_ambiguous_names_across_the_country_are_not_guessed():
    communes = load_communes(NATIONAL)
    m = CommuneMatcher(communes)
    assert len(communes) == 10598
    # "Xã Tân Trào" exists in several provinces: a bare name is ambiguous, the code is not
    assert m.match("Tân Trào") is None
    assert m.match("11257") == "11257"


def test_names_in_other_districts_that_the_plain_key_alone_would_miss():
    """Cases of the national list (district code in brackets) that need more than the prefix-free key."""
    def matcher(district_code):
        return CommuneMatcher(communes_of(district_code, NATIONAL))

    # [030] "Xã Phương Tiến": the bare name begins like the prefix "Phường"
    m = matcher("030")
    assert m.match("Phương Tiến") == "00940" and m.match("phuong tien") == "00940"
    assert m.match("Xã Phương Tiến") == "00940" and m.match("X. Phuong Tien") == "00940"
    # [018] "Thị trấn Yên Viên" (00526) and "Xã Yên Viên" (00532): the type decides, a bare name is ambiguous
    m = matcher("018")
    assert m.match("Thị trấn Yên Viên") == "00526" and m.match("TT Yen Vien") == "00526"
    assert m.match("Xã Yên Viên") == "00532" and m.match("X. Yên Viên") == "00532"
    assert m.match("Yên Viên") is None
    # [138] "Xã Minh Quán" (04516) and "Xã Minh Quân" (04567): the diacritics decide, without them ambiguous
    m = matcher("138")
    assert m.match("Minh Quán") == "04516" and m.match("Xã Minh Quân") == "04567"
    assert m.match("Minh Quan") is None
