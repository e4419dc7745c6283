"""Survey weights, ballot counts and the uncertainty of survey scores.

* Post-stratification of satisfaction ballots by procedure field: a valid ballot of field f in commune c
  weighs (D_cf / D_c) / (n_cf / n_c), where D are the dossiers of the year and n the valid ballots, both
  over the fields that have valid ballots in c (a field with ballots but no dossiers gets weight 0 and is
  listed in the notes). Weights average 1 within each commune.
* 95 % intervals: percentile bootstrap over ballots (satisfaction, resampled within commune) and over
  respondents (officials' survey, resampled within commune and respondent group, so that the 33 / 1 / 12
  design is kept). Vectorised: one array operation over replicates × communes × ballots.
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


CHUNK = 250  # bootstrap replicates processed at once (bounds memory; results do not depend on it)


def _pad(codes: np.ndarray, n_communes: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of each commune padded into a (communes × max rows) array; -1 = padding."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_communes)
    width = max(int(counts.max(initial=0)), 1)
    pos = np.full((n_communes, width), -1, dtype=np.int64)
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
    """(n_boot × communes × width) row positions drawn with replacement within each commune (-1 = padding)."""
    c, width = pos.shape
    u = rng.random((n_boot, c, width))
    pick = np.floor(u * np.maximum(counts, 1)[None, :, None]).astype(np.int64)
    rows = np.take_along_axis(np.broadcast_to(pos, (n_boot, c, width)), pick, axis=2)
    return np.where(np.arange(width)[None, None, :] < counts[None, :, None], rows, -1)


def satisfaction_interval(satisfaction: pd.DataFrame, meth: Methodology, communes: pd.Series,
                          n_boot: int = 2000, seed: int = 2023, level: float = 0.95) -> pd.DataFrame:
    """Satisfaction index (%) per commune with a percentile-bootstrap interval over its valid ballots.

    The index is computed exactly as in scoring (weighted share of 4–5 answers per factor, mean over
    factors). Returns commune_code, sat_index_pct, sat_ci_low, sat_ci_high."""
    sv = meth.satisfaction_survey
    q = meth.satisfaction_questions()
    factors = [f.code for f in sv.factors]
    codes = list(communes)
    ballots = satisfaction.drop_duplicates("ballot_id")[["ballot_id", "commune_code"]].reset_index(drop=True)
    ballots = ballots[ballots["commune_code"].isin(codes)].reset_index(drop=True)
    wide = satisfaction.pivot_table(index="ballot_id", columns="question", values="answer", aggfunc="first")
    wide = wide.reindex(index=ballots["ballot_id"], columns=q["question"]).astype("Float64").to_numpy(
        dtype=float, na_value=np.nan)
    w = (satisfaction.drop_duplicates("ballot_id").set_index("ballot_id")["weight"].reindex(ballots["ballot_id"])
         .to_numpy(dtype=float) if "weight" in satisfaction.columns else np.ones(len(ballots)))
    valid = ~np.isnan(wide)
    pos_ans = np.isin(wide, sv.positive_answers) & valid
    fidx = np.array([factors.index(f) for f in q["factor"]])
    # per ballot × factor: weighted valid answers and weighted positive answers
    nv = np.zeros((len(ballots), len(factors)))
    npos = np.zeros((len(ballots), len(factors)))
    for j in range(len(factors)):
        cols = fidx == j
        nv[:, j] = valid[:, cols].sum(axis=1) * w
        npos[:, j] = pos_ans[:, cols].sum(axis=1) * w
    cidx = pd.Categorical(ballots["commune_code"], categories=codes).codes.astype(np.int64)
    pos, counts = _pad(cidx, len(codes))
    rng = np.random.default_rng(seed)

    def chunk(b: int) -> np.ndarray:
        rows = _resample(rng, pos, counts, b)                       # b × C × W
        pad = rows < 0
        safe = np.where(pad, 0, rows)
        sv_ = np.where(pad[..., None], 0.0, nv[safe])               # b × C × W × F
        sp_ = np.where(pad[..., None], 0.0, npos[safe])
        with np.errstate(invalid="ignore", divide="ignore"):
            fi = sp_.sum(axis=2) / sv_.sum(axis=2)                  # b × C × F
        return _nanmean(fi, axis=2) * 100                           # b × C

    boot = np.concatenate([chunk(min(CHUNK, n_boot - i)) for i in range(0, n_boot, CHUNK)])
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
    (resampled within commune × respondent group). Returns commune_code, officials_ci_low, officials_ci_high."""
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
    x = wide.to_numpy(dtype=float)                                  # respondents × questions (NaN = blank)
    groups = sorted(resp["group"].unique())
    cidx = pd.Categorical(resp["commune_code"], categories=codes).codes.astype(np.int64)
    gidx = pd.Categorical(resp["group"], categories=groups).codes.astype(np.int64)
    strata = cidx * len(groups) + gidx
    pos, counts = _pad(strata, len(codes) * len(groups))
    rng = np.random.default_rng(seed)

    def chunk(b: int) -> np.ndarray:
        rows = _resample(rng, pos, counts, b)                       # b × (C·G) × W
        pad = rows < 0
        vals = np.where(pad[..., None], np.nan, x[np.where(pad, 0, rows)])  # b × (C·G) × W × Q
        vals = vals.reshape(b, len(codes), len(groups), -1, len(qcodes))
        valid = ~np.isnan(vals)
        s = np.where(valid, vals, 0.0).sum(axis=3)                  # b × C × G × Q
        n = valid.sum(axis=3)
        with np.errstate(invalid="ignore", divide="ignore"):
            if group_weighting == "equal":
                mean = _nanmean(s / np.where(n > 0, n, np.nan), axis=2)  # b × C × Q
            else:
                mean = s.sum(axis=2) / n.sum(axis=2)
        return np.where(np.isnan(mean), 0.0, mean) @ pts            # b × C

    boot = np.concatenate([chunk(min(CHUNK, n_boot - i)) for i in range(0, n_boot, CHUNK)])
    a = (1 - level) / 2
    lo, hi = np.quantile(boot, [a, 1 - a], axis=0)
    return pd.DataFrame({"commune_code": codes, "officials_ci_low": lo, "officials_ci_high": hi})


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
