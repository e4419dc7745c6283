"""Survey weights, ballot counts and the uncertainty of survey scores.

* Post-stratification of satisfaction ballots by procedure field: a valid ballot of field f in commune c
  weighs (D_cf / D_c) / (n_cf / n_c), where D are the dossiers of the year and n the valid ballots, both
  over the fields that have valid ballots in c (a field with ballots but no dossiers gets weight 0 and is
  listed in the notes). Weights average 1 within each commune.
* 95 % intervals: percentile bootstrap over ballots (satisfaction, resampled within commune and
  procedure field, so that the allocation of the 50 ballots and the post-stratification weights are
  kept) and over respondents (officials' survey, resampled within commune and respondent group, so that
  the 33 / 1 / 12 design is kept) — the same strata as the robustness stage. Vectorised: one array
  operation over a block of replicates × strata × ballots.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .methodology import Methodology
from .scoring import satisfaction_factors


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


CHUNK = 250            # bootstrap replicates processed at once at most …
MAX_CELLS = 4_000_000  # … and fewer when one gather would exceed this many cells (≈ 32 MB of floats);
#                        the draws come from one sequential stream, so the results depend on neither


def _pad(codes: np.ndarray, n_strata: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of each stratum padded into a (strata × max rows) array; -1 = padding."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_strata)
    width = max(int(counts.max(initial=0)), 1)
    pos = np.full((n_strata, width), -1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = np.arange(len(codes)) - np.repeat(starts, counts)
    pos[codes[order], within] = order
    return pos, counts


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    """Mean ignoring NaN; all-NaN slices give NaN without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def _resample(rng: np.random.Generator, pos: np.ndarray, counts: np.ndarray, n_boot: int) -> np.ndarray:
    """(n_boot × strata × width) row positions drawn with replacement within each stratum (-1 = padding)."""
    c, width = pos.shape
    u = rng.random((n_boot, c, width))
    pick = np.floor(u * np.maximum(counts, 1)[None, :, None]).astype(np.int64)
    rows = np.take_along_axis(np.broadcast_to(pos, (n_boot, c, width)), pick, axis=2)
    return np.where(np.arange(width)[None, None, :] < counts[None, :, None], rows, -1)


def _bootstrap(rng: np.random.Generator, pos: np.ndarray, counts: np.ndarray, n_boot: int, per_row: int,
               stat) -> np.ndarray:
    """``stat(rows)`` over blocks of replicates, concatenated; a block's gather stays under MAX_CELLS."""
    step = int(max(1, min(CHUNK, MAX_CELLS // max(pos.size * per_row, 1))))
    return np.concatenate([stat(_resample(rng, pos, counts, min(step, n_boot - i)))
                           for i in range(0, n_boot, step)])


def satisfaction_interval(satisfaction: pd.DataFrame, meth: Methodology, communes: pd.Series,
                          n_boot: int = 2000, seed: int = 2023, level: float = 0.95) -> pd.DataFrame:
    """Satisfaction index (%) per commune with a percentile-bootstrap interval over its valid ballots.

    Ballots are resampled within commune × procedure field (the plan allocates each commune's ballots
    across the fields, and the post-stratification weights assume those counts), as the robustness
    stage does. The index is computed exactly as in scoring (weighted share of 4–5 answers per factor,
    mean over factors). Returns commune_code, sat_index_pct, sat_ci_low, sat_ci_high."""
    sv = meth.satisfaction_survey
    q = meth.satisfaction_questions()
    factors = [f.code for f in sv.factors]
    codes = list(communes)
    first = satisfaction.drop_duplicates("ballot_id")
    first = first[first["commune_code"].isin(codes)].reset_index(drop=True)
    wide = satisfaction.pivot_table(index="ballot_id", columns="question", values="answer", aggfunc="first")
    wide = wide.reindex(index=first["ballot_id"], columns=q["question"]).astype("Float64").to_numpy(
        dtype=float, na_value=np.nan)
    w = first["weight"].to_numpy(dtype=float) if "weight" in first.columns else np.ones(len(first))
    valid = ~np.isnan(wide)
    positive = np.isin(wide, sv.positive_answers) & valid
    onehot = (np.array([factors.index(f) for f in q["factor"]])[:, None] == np.arange(len(factors))).astype(float)
    # per ballot × factor: weighted valid and weighted positive answers; a last row of zeros for padding (-1)
    nv = np.vstack([(valid @ onehot) * w[:, None], np.zeros(len(factors))])
    npos = np.vstack([(positive @ onehot) * w[:, None], np.zeros(len(factors))])
    cidx = pd.Categorical(first["commune_code"], categories=codes).codes.astype(np.int64)
    field = first["procedure_field"] if "procedure_field" in first.columns else pd.Series("", index=first.index)
    fidx, funiq = pd.factorize(field.astype(str), sort=True)
    used, strata = np.unique(cidx * max(len(funiq), 1) + fidx, return_inverse=True)
    to_commune = (used[:, None] // max(len(funiq), 1) == np.arange(len(codes))).astype(float)  # strata × communes
    pos, counts = _pad(strata.astype(np.int64), len(used))

    def stat(rows: np.ndarray) -> np.ndarray:                       # rows: b × strata × width
        sums_v = np.einsum("bsf,sc->bcf", nv[rows].sum(axis=2), to_commune)
        sums_p = np.einsum("bsf,sc->bcf", npos[rows].sum(axis=2), to_commune)
        with np.errstate(invalid="ignore", divide="ignore"):
            return _nanmean(sums_p / sums_v, axis=2) * 100          # b × communes

    boot = _bootstrap(np.random.default_rng(seed), pos, counts, n_boot, len(factors), stat)
    point = satisfaction_factors(satisfaction, meth).groupby("commune_code")["index"].mean() * 100
    a = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a commune without any valid ballot: NaN interval
        lo, hi = np.nanquantile(boot, [a, 1 - a], axis=0)
    return pd.DataFrame({"commune_code": codes, "sat_index_pct": communes.map(point).to_numpy(dtype=float),
                         "sat_ci_low": lo, "sat_ci_high": hi})


def officials_interval(officials: pd.DataFrame, meth: Methodology, communes: pd.Series, group_weighting: str = "pooled",
                       n_boot: int = 2000, seed: int = 2023, level: float = 0.95) -> pd.DataFrame:
    """Officials' survey points per commune with a percentile-bootstrap interval over respondents
    (resampled within commune × respondent group). A commune without any valid answer gets no interval
    (NaN), as it gets no officials' survey score. Returns commune_code, officials_ci_low, officials_ci_high."""
    if group_weighting not in ("pooled", "equal"):
        raise ValueError(f"group_weighting must be 'pooled' or 'equal', got {group_weighting!r}")
    leaves = meth.leaves()
    leaves = leaves[leaves.source == "officials_survey"]
    qcodes = leaves["code"].tolist()
    pts = leaves["points"].to_numpy(dtype=float)
    codes = list(communes)
    wmap = meth.officials_survey.answer_weights
    o = officials[officials["commune_code"].isin(codes)]
    resp = o.drop_duplicates(["ballot_id", "commune_code"])[["ballot_id", "commune_code", "group"]].reset_index(
        drop=True)
    wide = o.assign(w=o["answer"].map(wmap)).pivot_table(index=["ballot_id", "commune_code"], columns="question",
                                                         values="w", aggfunc="first")
    wide = wide.reindex(index=pd.MultiIndex.from_frame(resp[["ballot_id", "commune_code"]]), columns=qcodes)
    # respondents × questions (NaN = blank), and a last all-NaN row for padding (-1)
    x = np.vstack([wide.to_numpy(dtype=float), np.full(len(qcodes), np.nan)])
    groups = sorted(resp["group"].unique())
    G, C, Q = max(len(groups), 1), len(codes), len(qcodes)
    cidx = pd.Categorical(resp["commune_code"], categories=codes).codes.astype(np.int64)
    gidx = pd.Categorical(resp["group"], categories=groups).codes.astype(np.int64)
    pos, counts = _pad(cidx * G + gidx, C * G)
    answered = np.bincount(cidx, weights=(~np.isnan(x[:-1])).any(axis=1), minlength=C) > 0

    def stat(rows: np.ndarray) -> np.ndarray:                       # rows: b × (C·G) × width
        vals = x[rows].reshape(rows.shape[0], C, G, -1, Q)
        valid = ~np.isnan(vals)
        s = np.where(valid, vals, 0.0).sum(axis=3)                  # b × C × G × Q
        n = valid.sum(axis=3)
        with np.errstate(invalid="ignore", divide="ignore"):
            if group_weighting == "equal":
                mean = _nanmean(s / np.where(n > 0, n, np.nan), axis=2)  # b × C × Q
            else:
                mean = s.sum(axis=2) / n.sum(axis=2)
        return np.where(np.isnan(mean), 0.0, mean) @ pts            # b × C

    boot = _bootstrap(np.random.default_rng(seed), pos, counts, n_boot, Q, stat)
    a = (1 - level) / 2
    lo, hi = np.quantile(boot, [a, 1 - a], axis=0)
    return pd.DataFrame({"commune_code": codes, "officials_ci_low": np.where(answered, lo, np.nan),
                         "officials_ci_high": np.where(answered, hi, np.nan)})


def survey_columns(results: pd.DataFrame, satisfaction: pd.DataFrame, officials: pd.DataFrame,
                   ballots: pd.DataFrame, meth: Methodology, *, group_weighting: str = "pooled",
                   n_boot: int = 2000, seed: int = 2023) -> pd.DataFrame:
    """Results with the survey columns of the output contract: sat_index_pct, sat_ci_low, sat_ci_high,
    officials_points, officials_ci_low, officials_ci_high, ballots_received, ballots_valid, ballots_excluded."""
    codes = results["commune_code"]
    sat = satisfaction_interval(satisfaction, meth, codes, n_boot=n_boot, seed=seed)
    off = officials_interval(officials, meth, codes, group_weighting, n_boot=n_boot, seed=seed + 1)
    counts = ballot_counts(ballots, codes)
    out = results.drop(columns=[c for c in SURVEY_COLUMNS if c in results.columns])
    out = out.merge(sat, on="commune_code", how="left").merge(off, on="commune_code", how="left").merge(
        counts, on="commune_code", how="left")
    out["officials_points"] = out["officials_survey_points"]
    return out


SURVEY_COLUMNS = ["sat_index_pct", "sat_ci_low", "sat_ci_high", "officials_points", "officials_ci_low",
                  "officials_ci_high", "ballots_received", "ballots_valid", "ballots_excluded"]
