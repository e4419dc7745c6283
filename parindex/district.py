"""District identity as data: which district is scored, its communes, survey sizes and hashing salt.

Everything here comes from the ``district:`` block of the run parameters (:class:`parindex.params.District`)
and from reference files the project ships; no district name or code is written in the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .communes import load_communes
from .methodology import Methodology
from .params import District, ParamsError, project_path
from .text import nfc


@dataclass(frozen=True)
class DistrictInfo:
    """The resolved identity of the district a run scores."""

    code: str | None
    name: str
    province: str
    communes: pd.DataFrame = field(repr=False)   # commune_code, commune_name, commune_type
    officials_groups: dict[str, int] = field(default_factory=dict)
    ballots_per_commune: int = 50
    salt: str = field(default="parindex", repr=False)   # never published

    def public(self) -> dict:
        """What may be shown or published about the district (the salt is not)."""
        return {"code": self.code, "name": self.name, "province": self.province,
                "n_communes": int(len(self.communes)), "officials_groups": dict(self.officials_groups),
                "ballots_per_commune": int(self.ballots_per_commune)}


def _names_from_file(path: Path) -> tuple[str | None, str | None, str | None]:
    """District code, district name and province name written in a statistics-office commune list."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", nrows=1)
    pick = {"code": ("gso_level2_id", "district_code"), "name": ("district", "district_name"),
            "province": ("province", "province_name")}
    out = []
    for key in ("code", "name", "province"):
        col = next((c for c in pick[key] if c in df.columns), None)
        out.append(nfc(df[col].iloc[0]) if col and len(df) else None)
    return out[0], out[1], out[2]


def resolve_district(p: District, meth: Methodology, root: Path) -> DistrictInfo:
    """The district of a run from its parameters: commune list, names, survey sizes and salt."""
    if not p.communes:
        raise ParamsError("district.communes: no commune list given (a file of the communes of the district)")
    path = project_path(root, p.communes)
    if not path.is_file():
        raise ParamsError(f"district.communes: không tìm thấy tệp danh sách xã {path} (commune list not found)")
    try:
        communes = load_communes(path)
    except (ValueError, OSError) as e:
        raise ParamsError(f"district.communes: {e}") from None
    code, name, province = _names_from_file(path)
    groups = dict(p.officials_groups) if p.officials_groups else {g.code: g.size for g in meth.officials_survey.groups}
    return DistrictInfo(code=p.code or code, name=p.name or name or "", province=p.province or province or "",
                        communes=communes, officials_groups=groups,
                        ballots_per_commune=p.ballots_per_commune or meth.satisfaction_survey.ballots_per_commune,
                        salt=p.salt)
