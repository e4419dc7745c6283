"""District identity as data: which district is scored, its communes, survey sizes and hashing salt.

Everything here comes from the ``district:`` block of the run parameters (:class:`parindex.params.District`)
and from the national list of administrative units the project ships (:data:`NATIONAL_LIST`, see
``data/reference/README.md``); no district name or code is written in the package.

* :func:`resolve_district` — the district of a run: from ``district.code`` alone (name, province and communes
  looked up in the national list), from a commune list file (``district.communes``), or from ``district.name``
  (looked up like :func:`find_district`); a name or province written in the parameters wins.
* :func:`find_districts` / :func:`find_district` — look a district up by statistics-office code or by name,
  with or without diacritics and prefixes ("Huyện", "H.", "Thị xã", "TX", "Thành phố", "TP", "Quận"),
  optionally within a province; an ambiguous name lists the candidates with their codes and provinces, an
  unknown one the closest names (:class:`DistrictLookupError`).
"""

from __future__ import annotations

import difflib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .communes import load_communes
from .methodology import Methodology
from .params import District, ParamsError, project_path
from .text import nfc, strip_diacritics

#: The national list of communes (statistics-office register), relative to the project root.
NATIONAL_LIST = "data/reference/vn_admin_units_2023-04-10.csv"
NATIONAL_COLUMNS = ["commune_code", "commune_name", "commune_type", "district_code", "district_name",
                    "district_type", "province_code", "province_name"]


@dataclass(frozen=True)
class DistrictInfo:
    """The resolved identity of the district a run scores."""

    code: str | None
    name: str
    province: str
    communes: pd.DataFrame = field(repr=False)   # commune_code, commune_name, commune_type
    officials_groups: dict[str, int]
    ballots_per_commune: int
    salt: str = field(repr=False)   # never published (the run parameters' district.salt)
    province_code: str | None = None

    @property
    def authority(self) -> str:
        """The issuing body written at the top of the district's forms: "UBND HUYỆN …"."""
        return f"UBND {self.name.upper()}".strip()

    def public(self) -> dict:
        """What may be shown or published about the district (the salt is not)."""
        return {"code": self.code, "name": self.name, "province": self.province, "province_code": self.province_code,
                "n_communes": int(len(self.communes)), "officials_groups": dict(self.officials_groups),
                "ballots_per_commune": int(self.ballots_per_commune)}


@dataclass(frozen=True)
class DistrictEntry:
    """One district of the national list."""

    code: str
    name: str            # with its type: "Huyện …", "Thị xã …", "Thành phố …", "Quận …"
    type: str
    province: str
    province_code: str
    n_communes: int

    def describe(self) -> str:
        return f"{self.code}  {self.name}, {self.province} ({self.n_communes} xã, phường, thị trấn)"


class DistrictLookupError(ParamsError):
    """A district that cannot be found, or a name that fits several districts (``candidates``)."""

    def __init__(self, message: str, candidates: list[DistrictEntry], kind: str):
        super().__init__(message)
        self.candidates = candidates
        self.kind = kind   # "ambiguous" | "unknown"


# ------------------------------------------------------------------------------------------------
# The national list
# ------------------------------------------------------------------------------------------------
def national_list_path(root: Path) -> Path:
    return project_path(Path(root), NATIONAL_LIST)


@lru_cache(maxsize=4)
def _read_national(path: str, mtime_ns: int, size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The national list (communes, one row each) and its districts (one row each, with matching keys).
    Cached per file version: read once per process (about 40 ms for 10,598 rows and 700 districts)."""
    text = nfc(Path(path).read_text(encoding="utf-8-sig"))   # NFC in one pass over the text, not per cell
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in NATIONAL_COLUMNS if c not in df.columns]
    if missing:
        raise ParamsError(f"{path}: danh mục hành chính thiếu cột {missing} (national list lacks column(s); "
                          f"expected {NATIONAL_COLUMNS})")
    df = df[NATIONAL_COLUMNS]
    if df["commune_code"].duplicated().any():
        raise ParamsError(f"{path}: mã xã trùng {df.loc[df['commune_code'].duplicated(), 'commune_code'].tolist()[:5]} "
                          "(duplicate commune codes in the national list)")
    first = df.drop_duplicates("district_code")
    counts = df.groupby("district_code", sort=False).size()
    dist = pd.DataFrame({
        "code": first["district_code"].to_numpy(), "name": first["district_name"].to_numpy(),
        "type": first["district_type"].to_numpy(), "province": first["province_name"].to_numpy(),
        "province_code": first["province_code"].to_numpy(),
        "n_communes": counts.reindex(first["district_code"]).to_numpy(dtype="int64"),
    })
    dist["exact"] = dist["name"].map(lambda s: exact_key(s, _DISTRICT_PREFIX))
    dist["loose"] = dist["name"].map(lambda s: loose_key(s, _DISTRICT_PREFIX))
    dist["p_exact"] = dist["province"].map(lambda s: exact_key(s, _PROVINCE_PREFIX))
    dist["p_loose"] = dist["province"].map(lambda s: loose_key(s, _PROVINCE_PREFIX))
    return df, dist


def load_national(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(communes, districts) of the national list at ``path`` (cached; do not modify the frames)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise ParamsError(f"không tìm thấy danh mục đơn vị hành chính {p} (national list of administrative units "
                          "not found; the project ships it in data/reference/)") from None
    return _read_national(str(p.resolve()), st.st_mtime_ns, st.st_size)


def _entry(row) -> DistrictEntry:
    return DistrictEntry(code=row.code, name=row.name, type=row.type, province=row.province,
                         province_code=row.province_code, n_communes=int(row.n_communes))


def communes_of(code: str, path: str | Path) -> pd.DataFrame:
    """The communes of district ``code`` in the national list: commune_code, commune_name, commune_type (in
    the list's order, as :func:`parindex.communes.load_communes` gives them)."""
    df, _ = load_national(path)
    sel = df[df["district_code"] == normalise_code(code)]
    return sel[["commune_code", "commune_name", "commune_type"]].reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# Matching keys
# ------------------------------------------------------------------------------------------------
_DISTRICT_PREFIX = re.compile(r"^(?:ubnd\s+)?(?:huyen|thi xa|thanh pho|quan|h|tx|tp|q)(?:\s*\.\s*|\s+)")
_PROVINCE_PREFIX = re.compile(r"^(?:tinh|thanh pho|tp|t)(?:\s*\.\s*|\s+)")
_TYPE_OF_PREFIX = {"huyen": "Huyện", "h": "Huyện", "thi xa": "Thị xã", "tx": "Thị xã", "thanh pho": "Thành phố",
                   "tp": "Thành phố", "quan": "Quận", "q": "Quận"}
#: Vietnamese tone marks (combining): grave, acute, tilde, hook above, dot below. The vowel marks (circumflex,
#: breve, horn) are kept in the exact key.
_TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}


def _clean(s: str) -> str:
    s = nfc(str(s)).lower()
    return re.sub(r"[\s\u00a0_\-,;]+", " ", s).strip(" .")


def _prefix_split(ascii_text: str, prefix: re.Pattern) -> tuple[str, int]:
    m = prefix.match(ascii_text)
    return (ascii_text[m.end():], m.end()) if m else (ascii_text, 0)


def loose_key(s: str, prefix: re.Pattern = _DISTRICT_PREFIX) -> str:
    """Key without diacritics, case or prefix: "Huyện Vị Xuyên" → "vi xuyen"."""
    a = strip_diacritics(_clean(s))
    return _prefix_split(a, prefix)[0].strip()


def exact_key(s: str, prefix: re.Pattern = _DISTRICT_PREFIX) -> str:
    """Key with diacritics but without case or prefix, the tone mark of each word put at its end so that old and
    new tone placement agree ("Hoà Bình" = "Hòa Bình" → "hoa2 binh2")."""
    c = _clean(s)
    # The prefix is found on the text without diacritics; strip_diacritics keeps one character per letter.
    _, n = _prefix_split(strip_diacritics(c), prefix)
    words = []
    for w in c[n:].split():
        d = unicodedata.normalize("NFD", w)
        tone = "".join(_TONES[ch] for ch in d if ch in _TONES)
        words.append(unicodedata.normalize("NFC", "".join(ch for ch in d if ch not in _TONES)) + tone)
    return " ".join(words)


def _has_diacritics(s: str) -> bool:
    return strip_diacritics(nfc(s)) != nfc(s)


def _query_type(s: str) -> str | None:
    """The district type a query names by its prefix ("TX Kinh Môn" → "Thị xã"), if any."""
    a = strip_diacritics(_clean(s))
    m = _DISTRICT_PREFIX.match(a)
    if not m:
        return None
    word = re.sub(r"^ubnd\s+", "", a[:m.end()]).strip(" .")
    return _TYPE_OF_PREFIX.get(word)


def normalise_code(code: object) -> str:
    """A statistics-office district code as text of three digits ("42" → "042")."""
    s = str(code).strip()
    return s.zfill(3) if s.isdigit() else s


# ------------------------------------------------------------------------------------------------
# Lookup
# ------------------------------------------------------------------------------------------------
def _by_key(dist: pd.DataFrame, text: str, col_exact: str, col_loose: str, prefix: re.Pattern) -> pd.Series:
    """Rows whose key equals the text's: the exact key (with diacritics) when the text has diacritics and
    matches so, else the key without diacritics."""
    if _has_diacritics(text):
        hit = dist[col_exact] == exact_key(text, prefix)
        if hit.any():
            return hit
    return dist[col_loose] == loose_key(text, prefix)


def _province_filter(dist: pd.DataFrame, province: str | None) -> pd.Series:
    if province is None or not str(province).strip():
        return pd.Series(True, index=dist.index)
    p = str(province).strip()
    if p.isdigit():
        return dist["province_code"] == p.zfill(2)
    return _by_key(dist, p, "p_exact", "p_loose", _PROVINCE_PREFIX)


def find_districts(query: str, province: str | None = None, *, path: str | Path | None = None,
                   root: Path | None = None) -> list[DistrictEntry]:
    """Every district of the national list that ``query`` names: a statistics-office code ("042", "42"), or a
    name with or without diacritics and prefix ("Vị Xuyên", "huyen vi xuyen", "H. Vi Xuyen", "TX Kỳ Anh"),
    optionally "name, province". ``province`` (name or code) narrows the search. A prefix
    naming a type ("Thị xã …") is used to choose between districts of the same name. Empty when none."""
    dist = _districts(path, root)
    q = nfc(str(query)).strip()
    if not q:
        return []
    if q.isdigit():
        hit = (dist["code"] == normalise_code(q)) & _province_filter(dist, province)
        return [_entry(r) for r in dist[hit].itertuples(index=False)]
    inprov = _province_filter(dist, province)
    hit = _by_key(dist, q, "exact", "loose", _DISTRICT_PREFIX) & inprov
    if not hit.any() and province is None and "," in q:
        name, _, prov = q.rpartition(",")
        return find_districts(name, prov, path=path, root=root)
    if hit.sum() > 1:
        t = _query_type(q)
        typed = hit & (dist["type"] == t) if t else hit
        if typed.any():
            hit = typed
    return [_entry(r) for r in dist[hit].itertuples(index=False)]


def closest_districts(query: str, province: str | None = None, *, n: int = 5, path: str | Path | None = None,
                      root: Path | None = None) -> list[DistrictEntry]:
    """The districts whose names come closest to ``query`` (without diacritics), best first."""
    dist = _districts(path, root)
    inprov = _province_filter(dist, province)
    pool = dist[inprov] if inprov.any() else dist
    key = loose_key(nfc(str(query)).split(",")[0])
    keys = pool["loose"].tolist()
    close = difflib.get_close_matches(key, list(dict.fromkeys(keys)), n=n, cutoff=0.5)
    starts = [k for k in dict.fromkeys(keys) if key and k.startswith(key) and k not in close]
    out: list[DistrictEntry] = []
    for k in close + starts:
        out += [_entry(r) for r in pool[pool["loose"] == k].itertuples(index=False)]
    return out[:n]


def find_district(query: str, province: str | None = None, *, path: str | Path | None = None,
                  root: Path | None = None) -> DistrictEntry:
    """The one district ``query`` names (see :func:`find_districts`). Raises :class:`DistrictLookupError`
    listing the candidates (with codes and provinces) when several fit, or the closest names when none does."""
    where = f" thuộc {province}" if province else ""
    found = find_districts(query, province, path=path, root=root)
    if len(found) == 1:
        return found[0]
    src = Path(path) if path is not None else Path(NATIONAL_LIST)
    if found:
        lines = "\n".join(f"  {e.describe()}" for e in found)
        raise DistrictLookupError(
            f"Có {len(found)} huyện tên '{query}'{where} — hãy ghi mã huyện, hoặc thêm tên tỉnh "
            f"(ambiguous district name: give its statistics-office code, or the province):\n{lines}",
            found, "ambiguous")
    close = closest_districts(query, province, path=path, root=root)
    what = "mã huyện" if nfc(str(query)).strip().isdigit() else "huyện"
    msg = (f"Không tìm thấy {what} '{query}'{where} trong danh mục đơn vị hành chính {src.name} "
           f"(unknown district)")
    if close:
        msg += ". Gần nhất (closest):\n" + "\n".join(f"  {e.describe()}" for e in close)
    raise DistrictLookupError(msg, close, "unknown")


def _districts(path: str | Path | None, root: Path | None) -> pd.DataFrame:
    if path is None:
        if root is None:
            raise ValueError("find_districts: give the national list's path or the project root")
        path = national_list_path(root)
    return load_national(path)[1]


# ------------------------------------------------------------------------------------------------
# The district of a run
# ------------------------------------------------------------------------------------------------
def _names_from_file(path: Path) -> dict[str, str | None]:
    """District code and name, province name and code written in a commune list (statistics-office or
    national layout); None where the file has no such column."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", nrows=1)
    pick = {"code": ("gso_level2_id", "district_code"), "name": ("district", "district_name"),
            "province": ("province", "province_name"), "province_code": ("gso_level1_id", "province_code")}
    out: dict[str, str | None] = {}
    for key, cols in pick.items():
        col = next((c for c in cols if c in df.columns), None)
        out[key] = nfc(df[col].iloc[0]) if col and len(df) and df[col].iloc[0] else None
    return out


def survey_groups(p: District, meth: Methodology) -> dict[str, int]:
    """Respondents per officials' group: the district's sizes where given, the methodology's otherwise (in the
    methodology's order). A group code the methodology does not have is refused."""
    sizes = {g.code: int(g.size) for g in meth.officials_survey.groups}
    given = dict(p.officials_groups or {})
    unknown = sorted(set(given) - set(sizes))
    if unknown:
        raise ParamsError(f"district.officials_groups: nhóm {unknown} không có trong bộ tiêu chí {meth.meta.id} "
                          f"(các nhóm: {', '.join(sizes)}) (unknown respondent group code(s))")
    bad = {k: v for k, v in given.items() if v < 0}
    if bad:
        raise ParamsError(f"district.officials_groups: số người phải ≥ 0, nhận được {bad} (sizes must be ≥ 0)")
    out = {k: int(given.get(k, v)) for k, v in sizes.items()}
    if sum(out.values()) == 0:
        raise ParamsError("district.officials_groups: không có người trả lời nào (no respondents in any group)")
    return out


def resolve_district(p: District, meth: Methodology, root: Path) -> DistrictInfo:
    """The district of a run from its parameters: commune list, names, survey sizes and salt.

    The communes come from ``district.communes`` (a file) when given, else from the national list by
    ``district.code``, else by ``district.name`` (and ``district.province``) looked up in the national list.
    ``district.name`` and ``district.province`` written in the parameters win over the looked-up ones."""
    root = Path(root)
    national = national_list_path(root)
    code = normalise_code(p.code) if p.code else None
    entry: DistrictEntry | None = None
    if p.communes:
        path = project_path(root, p.communes)
        if not path.is_file():
            raise ParamsError(f"district.communes: không tìm thấy tệp danh sách xã {path} (commune list not found)")
        try:
            communes = load_communes(path)
        except (ValueError, OSError) as e:
            raise ParamsError(f"district.communes: {e}") from None
        named = _names_from_file(path)
        if code and named["code"] and normalise_code(named["code"]) != code:
            raise ParamsError(f"district.code '{code}' khác mã huyện '{named['code']}' ghi trong tệp danh sách xã "
                              f"{p.communes} (the district code differs from the commune list's)")
        code = code or (normalise_code(named["code"]) if named["code"] else None)
        if code and not (named["name"] and named["province"]) and national.is_file():
            entry = find_district(code, path=national)
        name = p.name or named["name"] or (entry.name if entry else None)
        province = p.province or named["province"] or (entry.province if entry else None)
        province_code = named["province_code"] or (entry.province_code if entry else None)
    else:
        if code:
            entry = find_district(code, path=national)
        elif p.name:
            entry = find_district(p.name, p.province, path=national)
            code = entry.code
        else:
            raise ParamsError("district: cần mã huyện (district.code, mã Tổng cục Thống kê) hoặc tệp danh sách xã "
                              "(district.communes) (no district given: set district.code, e.g. with "
                              "`parindex init --district <code or name> --year <year>`)")
        communes = communes_of(entry.code, national)
        name, province, province_code = p.name or entry.name, p.province or entry.province, entry.province_code
    if not name or not province:
        raise ParamsError("district: không xác định được tên huyện, tên tỉnh — ghi district.name và "
                          "district.province (the district's name and province are unknown: set them)")
    return DistrictInfo(code=code, name=name, province=province, communes=communes,
                        officials_groups=survey_groups(p, meth),
                        ballots_per_commune=p.ballots_per_commune or meth.satisfaction_survey.ballots_per_commune,
                        salt=p.salt, province_code=province_code)
