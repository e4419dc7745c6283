"""Survey weights and ballot counts.

* The satisfaction estimator (declared by the methodology, ``satisfaction_survey.estimator``):
  ``plain_share`` — every valid ballot weighs 1 (the rule as written); ``dossier_weighted`` —
  post-stratification by procedure field: a valid ballot of field f in commune c weighs
  (D_cf / D_c) / (n_cf / n_c), where D are the dossiers of the year and n the valid ballots, both over
  the fields that have valid ballots in c. Weights average 1 within each commune. A field with ballots
  but no dossiers gets weight 0; a commune without dossier counts (absent from the dossier file, or 0
  dossiers in every field it has ballots of) keeps weight 1 for all its ballots. Both cases, and the
  fields with dossiers but no valid ballot, are listed with their effect in the score stage's
  ``adjustment_log`` (:func:`dossier_gaps`, :func:`parindex.scoring.adjustment_log`).
* ballots received / valid / excluded per commune.

The intervals of the survey scores are in :mod:`parindex.uncertainty.intervals`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .methodology import ESTIMATORS

WEIGHT_TABLE_COLUMNS = ["commune_code", "procedure_field", "ballots", "dossiers", "ballot_share", "dossier_share",
                        "weight"]


def _dossiers_or_empty(dossiers: pd.DataFrame | None) -> pd.DataFrame:
    if dossiers is None:
        return pd.DataFrame({"commune_code": pd.Series(dtype="str"), "procedure_field": pd.Series(dtype="str"),
                             "dossiers": pd.Series(dtype="int64")})
    return dossiers


def poststratify(satisfaction: pd.DataFrame, dossiers: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (satisfaction with its ``weight`` column set to the dossier weights, table of weights per
    commune × field with valid ballots: ballots, dossiers, ballot_share, dossier_share, weight)."""
    dossiers = _dossiers_or_empty(dossiers)
    b = satisfaction.drop_duplicates("ballot_id")[["ballot_id", "commune_code", "procedure_field"]]
    n = b.groupby(["commune_code", "procedure_field"]).size().rename("ballots").reset_index()
    d = dossiers.groupby(["commune_code", "procedure_field"])["dossiers"].sum().reset_index()
    t = n.merge(d, on=["commune_code", "procedure_field"], how="left").fillna({"dossiers": 0})
    t["dossiers"] = t["dossiers"].astype("int64")
    t["ballot_share"] = t["ballots"] / t.groupby("commune_code")["ballots"].transform("sum")
    tot = t.groupby("commune_code")["dossiers"].transform("sum")
    t["dossier_share"] = np.where(tot > 0, t["dossiers"] / tot.where(tot > 0, 1), t["ballot_share"])
    t["weight"] = t["dossier_share"] / t["ballot_share"]
    w = b.merge(t[["commune_code", "procedure_field", "weight"]], on=["commune_code", "procedure_field"], how="left")
    out = satisfaction.drop(columns=["weight"], errors="ignore").merge(w[["ballot_id", "weight"]], on="ballot_id",
                                                                        how="left")
    return out, t.sort_values(["commune_code", "procedure_field"])[WEIGHT_TABLE_COLUMNS].reset_index(drop=True)


def apply_estimator(satisfaction: pd.DataFrame, dossiers: pd.DataFrame | None, estimator: str
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The satisfaction table with the ``weight`` column of ``estimator`` (1 for every ballot under
    ``plain_share``; the dossier weights under ``dossier_weighted``), and the table of dossier weights per
    commune × field (always computed: the score stage shows the other estimator beside the published one)."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"satisfaction estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    weighted, table = poststratify(satisfaction, dossiers)
    if estimator == "dossier_weighted":
        return weighted, table
    return satisfaction.assign(weight=1.0), table


def dossier_gaps(satisfaction: pd.DataFrame, dossiers: pd.DataFrame | None,
                 table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Where the dossier counts and the valid satisfaction ballots do not meet, per commune (× field):

    * ``commune_without_dossiers`` — a commune with valid ballots but no dossier count (``absent``: not in
      the dossier file; ``zero``: 0 dossiers in every field it has ballots of): dossier weighting cannot
      weight its ballots and leaves them at 1 (the plain share);
    * ``field_without_dossiers`` — ballots of a field with 0 dossiers in a commune that has dossiers: dossier
      weighting gives them weight 0;
    * ``field_without_ballots`` — dossiers of a field without any valid ballot: no ballot speaks for them;
      dossier weighting shares the weight among the fields that have ballots.

    ``table``: the weights table :func:`poststratify` gives for these tables, when already computed.
    Returns commune_code, kind, procedure_field ("" for a commune), ballots, dossiers, reason."""
    dossiers = _dossiers_or_empty(dossiers)
    t = table if table is not None else poststratify(satisfaction, dossiers)[1]
    cols = ["commune_code", "kind", "procedure_field", "ballots", "dossiers", "reason"]
    tot = t.groupby("commune_code").agg(ballots=("ballots", "sum"), dossiers=("dossiers", "sum")).reset_index()
    listed = set(dossiers["commune_code"].astype(str))
    c = tot[tot["dossiers"] == 0].assign(kind="commune_without_dossiers", procedure_field="")
    c["reason"] = np.where(c["commune_code"].astype(str).isin(listed), "zero", "absent")
    f = t[(t["dossiers"] == 0) & t["commune_code"].isin(tot.loc[tot["dossiers"] > 0, "commune_code"])]
    f = f.assign(kind="field_without_dossiers", reason="zero")
    d = dossiers.groupby(["commune_code", "procedure_field"])["dossiers"].sum().reset_index()
    d = d[d["dossiers"] > 0].merge(t[["commune_code", "procedure_field", "ballots"]],
                                   on=["commune_code", "procedure_field"], how="left")
    active = set(t["commune_code"].astype(str))
    d = d[d["ballots"].isna() & d["commune_code"].astype(str).isin(active)]
    d = d.assign(kind="field_without_ballots", ballots=0, reason="no_ballots")
    out = pd.concat([c[cols], f[cols], d[cols]], ignore_index=True)
    out = out.astype({"commune_code": "str", "kind": "str", "procedure_field": "str", "reason": "str"})
    return out.astype({"ballots": "int64", "dossiers": "int64"}).sort_values(
        ["commune_code", "kind", "procedure_field"]).reset_index(drop=True)


def ballot_counts(ballots: pd.DataFrame, communes: pd.Series) -> pd.DataFrame:
    """Satisfaction ballots received / valid / excluded per commune (unmatched communes are not counted
    here; they are in the rejection log)."""
    st = ballots.groupby(["commune_code", "status"]).size().unstack(fill_value=0)
    out = pd.DataFrame({"commune_code": communes.values})
    out["ballots_valid"] = out["commune_code"].map(st.get("valid", pd.Series(dtype=int))).fillna(0).astype(int)
    out["ballots_excluded"] = out["commune_code"].map(st.get("excluded", pd.Series(dtype=int))).fillna(0).astype(int)
    out["ballots_received"] = out["ballots_valid"] + out["ballots_excluded"]
    return out[["commune_code", "ballots_received", "ballots_valid", "ballots_excluded"]]
