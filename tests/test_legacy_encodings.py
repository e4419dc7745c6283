"""TCVN3 (ABC) and VNI-Windows → Unicode (parindex.ingest.legacy): every letter with each tone, upper and
lower case; detection per column; refusal of mixed columns; headings and CSV files in legacy encodings."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import unicodedata

import pytest
from bad_inputs import COMMUNES, SAT_HEADER, ballot, good_ballots, write_csv, write_xlsx

from parindex.communes import CommuneMatcher
from parindex.ingest import Ingest, InputError, read_satisfaction
from parindex.ingest.legacy import decide_column, decode_8bit, decode_tcvn3, decode_vni, readings, tables

MATCHER = CommuneMatcher(COMMUNES)
TONES = ["", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]  # none, sắc, huyền, hỏi, ngã, nặng
VOWELS = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"]


def nfc(s):
    return unicodedata.normalize("NFC", s)


def all_letters():
    """(lower, upper) of every Vietnamese letter with a mark: 12 vowels × 6 tones (minus the 6 plain
    ASCII vowels) + đ = 67 letters."""
    out = []
    for v in VOWELS:
        for t in TONES:
            low = nfc(v + t)
            if not low.isascii():
                out.append((low, low.upper()))
    out.append(("đ", "Đ"))
    return out


def test_there_are_67_letters_and_both_tables_cover_them():
    letters = all_letters()
    assert len(letters) == 67
    tcvn, vni = tables()
    assert {nfc(u) for u in tcvn.values()} >= {low for low, _ in letters}
    assert {nfc(u) for u in vni.values()} == {c for pair in letters for c in pair}


# --- TCVN3 ----------------------------------------------------------------------------------------
# The TCVN3 byte of each lower-case letter, restated by hand from the ABC code chart (TCVN 5712:1993 VN3):
# a: à B5 á B8 ả B6 ã B7 ạ B9 · ă A8 ằ BB ắ BE ẳ BC ẵ BD ặ C6 · â A9 ầ C7 ấ CA ẩ C8 ẫ C9 ậ CB · đ AE
# e: è CC é D0 ẻ CE ẽ CF ẹ D1 · ê AA ề D2 ế D5 ể D3 ễ D4 ệ D6 · i: ì D7 í DD ỉ D8 ĩ DC ị DE
# o: ò DF ó E3 ỏ E1 õ E2 ọ E4 · ô AB ồ E5 ố E8 ổ E6 ỗ E7 ộ E9 · ơ AC ờ EA ớ ED ở EB ỡ EC ợ EE
# u: ù EF ú F3 ủ F1 ũ F2 ụ F4 · ư AD ừ F5 ứ F8 ử F6 ữ F7 ự F9 · y: ỳ FA ý FD ỷ FB ỹ FC ỵ FE
TCVN3_CHART = dict(zip(
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ",
    [0xB5, 0xB8, 0xB6, 0xB7, 0xB9, 0xA8, 0xBB, 0xBE, 0xBC, 0xBD, 0xC6, 0xA9, 0xC7, 0xCA, 0xC8, 0xC9, 0xCB, 0xAE,
     0xCC, 0xD0, 0xCE, 0xCF, 0xD1, 0xAA, 0xD2, 0xD5, 0xD3, 0xD4, 0xD6, 0xD7, 0xDD, 0xD8, 0xDC, 0xDE,
     0xDF, 0xE3, 0xE1, 0xE2, 0xE4, 0xAB, 0xE5, 0xE8, 0xE6, 0xE7, 0xE9, 0xAC, 0xEA, 0xED, 0xEB, 0xEC, 0xEE,
     0xEF, 0xF3, 0xF1, 0xF2, 0xF4, 0xAD, 0xF5, 0xF8, 0xF6, 0xF7, 0xF9, 0xFA, 0xFD, 0xFB, 0xFC, 0xFE]))
TCVN3_CAPITALS = {"Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7}


@pytest.mark.parametrize("low,up", all_letters(), ids=[lo for lo, _ in all_letters()])
def test_tcvn3_every_letter_lower_and_upper(low, up):
    code = chr(TCVN3_CHART[low])
    # lower case, inside a word and alone
    assert decode_tcvn3(f"x{code}m") == nfc(f"x{low}m")
    assert decode_tcvn3(code) == low
    # upper case: the seven capitals have their own codes; a capital with a tone mark is typed with the
    # lower-case code in a ".VnTimeH" font, which a word of capitals restores
    if up in TCVN3_CAPITALS:
        assert decode_tcvn3(chr(TCVN3_CAPITALS[up])) == up
    assert decode_tcvn3(f"TH{code}NG") == nfc(f"TH{up}NG")


def test_tcvn3_table_agrees_with_glibc_iconv():
    if shutil.which("iconv") is None:
        pytest.skip("iconv not installed")
    tcvn, _ = tables()
    for ch, uni in tcvn.items():
        out = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=ch.encode("latin-1"),
                             capture_output=True, check=True).stdout.decode()
        assert nfc(out) == uni, (hex(ord(ch)), out, uni)


# --- VNI ------------------------------------------------------------------------------------------
# The VNI-Windows rule, restated: base letter + tone byte (sắc ù/Ù, huyền ø/Ø, hỏi û/Û, ngã õ/Õ, nặng ï/Ï);
# â ê ô = base + â/Â (with tone: á à å ã ä / Á À Å Ã Ä); ă = a + ê/Ê (with tone: é è ú ü ë / É È Ú Ü Ë);
# ơ = ô/Ô, ư = ö/Ö (then the tone bytes); i with a tone is one byte (í ì æ ó ò / Í Ì Æ Ó Ò); ỵ = î/Î; đ = ñ/Ñ.
VNI_TONE = {"\u0301": "ùÙ", "\u0300": "øØ", "\u0309": "ûÛ", "\u0303": "õÕ", "\u0323": "ïÏ"}
VNI_HAT = {"": "âÂ", "\u0301": "áÁ", "\u0300": "àÀ", "\u0309": "åÅ", "\u0303": "ãÃ", "\u0323": "äÄ"}
VNI_BREVE = {"": "êÊ", "\u0301": "éÉ", "\u0300": "èÈ", "\u0309": "úÚ", "\u0303": "üÜ", "\u0323": "ëË"}
VNI_I = {"\u0301": "íÍ", "\u0300": "ìÌ", "\u0309": "æÆ", "\u0303": "óÓ", "\u0323": "òÒ"}


def vni_of(v: str, t: str, upper: bool) -> str:
    k = 1 if upper else 0
    cs = str.upper if upper else str.lower
    if v in "aeouy":
        if v == "y" and t == "\u0323":
            return "Îî"[1 - k]
        return cs(v) + (VNI_TONE[t][k] if t else "")
    if v == "i":
        return VNI_I[t][k] if t else cs("i")
    if v in "âêô":
        return cs({"â": "a", "ê": "e", "ô": "o"}[v]) + VNI_HAT[t][k]
    if v == "ă":
        return cs("a") + VNI_BREVE[t][k]
    horn = {"ơ": "ôÔ", "ư": "öÖ"}[v][k]
    return horn + (VNI_TONE[t][k] if t else "")


@pytest.mark.parametrize("v", VOWELS)
@pytest.mark.parametrize("t", TONES, ids=["none", "sac", "huyen", "hoi", "nga", "nang"])
@pytest.mark.parametrize("upper", [False, True], ids=["lower", "upper"])
def test_vni_every_letter_with_each_tone(v, t, upper):
    want = nfc(v + t)
    want = want.upper() if upper else want
    assert decode_vni(vni_of(v, t, upper)) == want
    assert decode_vni("x" + vni_of(v, t, upper) + "m") == "x" + want + "m"


def test_vni_d_with_stroke():
    assert decode_vni("ñ") == "đ" and decode_vni("Ñ") == "Đ"


# --- the examples of the domain brief ---------------------------------------------------------------
def test_domain_examples():
    assert decode_tcvn3("X· §oµn Tïng") == "Xã Đoàn Tùng"
    assert decode_vni("Xaõ Ñoaøn Tuøng") == "Xã Đoàn Tùng"
    assert readings("X· §oµn Tïng") == {"tcvn3"}
    assert readings("Xaõ Ñoaøn Tuøng") == {"vni"}
    assert readings("Xã Đoàn Tùng") == {"unicode"}
    assert decode_tcvn3("UBND HUYÖN THANH MIÖN") == "UBND HUYỆN THANH MIỆN"


def test_column_decisions():
    uni = ["Xã Đoàn Tùng", "Thị trấn Thanh Miện", "Đại biểu HĐND huyện", "Có", ""]
    assert decide_column(uni).kind == "unicode"
    tc = ["X· §oµn Tïng", "ThÞ trÊn Thanh MiÖn", "§¹i biÓu H§ND huyÖn", "Cã", "HT"]
    assert decide_column(tc).kind == "tcvn3"
    vn = ["Xaõ Ñoaøn Tuøng", "Thò traán Thanh Mieän", "Ñaïi bieåu HÑND huyeän", "HT"]
    assert decide_column(vn).kind == "vni"
    mixed = tc[:3] + ["Xã Chi Lăng Bắc"]
    d = decide_column(mixed)
    assert d.kind == "mixed" and d.cells == [3]
    both = ["X· §oµn Tïng", "Xaõ Ñoaøn Tuøng"]
    assert decide_column(both).kind == "mixed"


# --- whole files ---------------------------------------------------------------------------------
def enc_tcvn3(text: str) -> str:
    inv = {u: c for c, u in tables()[0].items()}
    return "".join(inv.get(ch, ch) for ch in nfc(text))


def test_satisfaction_file_in_tcvn3_headers_and_labels(tmp_path, mini):
    """Headings and text typed with .VnTime: read as the Unicode file, each converted column logged."""
    rows = [[enc_tcvn3(h) for h in SAT_HEADER]] + [[enc_tcvn3(v) if isinstance(v, str) else v for v in r]
                                                  for r in good_ballots()]
    ing = Ingest()
    s, b, rej = read_satisfaction(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini, MATCHER, ing=ing, salt="test")
    assert b["commune_code"].tolist() == ["11251", "11239", "11281"]
    assert b["procedure_field"].tolist() == ["HT", "CT", "HT"]
    conv = ing.conversions_table()
    enc = conv[conv["kind"] == "encoding"]
    assert set(enc["column"]) >= {"C 'Xã, thị trấn'", "D 'Lĩnh vực'"}
    assert (conv["kind"] == "header_encoding").any()


def test_mixed_column_refused_with_cells_named(tmp_path, mini):
    rows = [SAT_HEADER] + [[enc_tcvn3(v) if i < 3 and isinstance(v, str) else v for v in r]
                           for i, r in enumerate(good_ballots() + [ballot(4, "Xã Chi Lăng Bắc")])]
    with pytest.raises(InputError) as ei:
        read_satisfaction(write_xlsx(tmp_path / "phieu_hai_long_2023.xlsx", rows), mini, MATCHER, salt="test")
    msg = str(ei.value)
    assert "cột C 'Xã, thị trấn'" in msg and "C5" in msg and "bảng mã" in msg


def test_csv_in_tcvn3_and_vni_bytes(tmp_path, mini):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([SAT_HEADER] + good_ballots())
    text = buf.getvalue()
    inv = {u: c for c, u in tables()[0].items()}
    raw = "".join(inv.get(ch, ch) for ch in nfc(text)).encode("latin-1")
    assert decode_8bit(raw)[1] == "tcvn3"
    (tmp_path / "phieu_hai_long_2023.csv").write_bytes(raw)
    s, b, rej = read_satisfaction(tmp_path / "phieu_hai_long_2023.csv", mini, MATCHER, salt="test")
    assert b["commune_code"].tolist() == ["11251", "11239", "11281"] and rej.empty
    # the Windows-1258 CSV of the corpus still reads as Windows-1258
    p = write_csv(tmp_path / "x.csv", [SAT_HEADER] + good_ballots(), "cp1258")
    assert decode_8bit(p.read_bytes())[1] == "cp1258"
