"""Survey weights and ballot counts.

* Post-stratification of satisfaction ballots by procedure field: a valid ballot of field f in commune c
  weighs (D_cf / D_c) / (n_cf / n_c), where D are the dossiers of the year and n the valid ballots, both
  over the fields that have valid ballots in c (a field with ballots but no dossiers gets weight 0 and is
  listed in the notes). Weights average 1 within each commune.
* ballots received / valid / excluded per commune.

The intervals of the survey scores are in :mod:`parindex.uncertainty.intervals`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def poststratify(satisfaction: pd.DataFrame, dossiers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (satisfaction with its ``weight`` column set, table of weights per commune × field)."""
    b = satisfaction.drop_duplicates("ballot_id")[["ballot_id", "commune_code", "procedure_field"]]
    n = b.groupby(["commune_code", "procedure_field"]).size().rename("ballots").reset_index()
    d = dossiers.groupby(["commune_code", "procedure_field"])["dossiers"].sum().reset_index()
    t = n.merge(d, on=["commune_code", "procedure_field"], how="left").fillna({"dossiers": 0})
    t["ballot_share"] = t["ballots"] / t.groupby("commune_code")["ballots"].transform("sum")
    tot = t.groupby("commune_code")["dossiers"].transform("sum")
    t["dossier_share"] = np.where(tot > 0, t["dossiers"] / tot.where(tot > 0, 1), t["ballot_share"])
    t["weight"] = t["dossier_share"] / t["ballot_share"]
    w = b.merge(t[["commune_code", "procedure_field", "weight"]], on=["commune_code", "procedure_field"], how="left")
    out = satisfaction.drop(columns=["weight"], errors="ignore").merge(w[["ballot_id", "weight"]], on="ballot_id",
                                                                        how="left")
    return out, t.sort_values(["commune_code", "procedure_field"]).reset_index(drop=True)


def ballot_counts(ballots: pd.DataFrame, communes: pd.Series) -> pd.DataFrame:
    """Satisfaction ballots received / valid / excluded per commune (unmatched communes are not counted
    here; they are in the rejection log)."""
    st = ballots.groupby(["commune_code", "status"]).size().unstack(fill_value=0)
    out = pd.DataFrame({"commune_code": communes.values})
    out["ballots_valid"] = out["commune_code"].map(st.get("valid", pd.Series(dtype=int))).fillna(0).astype(int)
    out["ballots_excluded"] = out["commune_code"].map(st.get("excluded", pd.Series(dtype=int))).fillna(0).astype(int)
    out["ballots_received"] = out["ballots_valid"] + out["ballots_excluded"]
    return out[["commune_code", "ballots_received", "ballots_valid", "ballots_excluded"]]
