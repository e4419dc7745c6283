"""95 % percentile-bootstrap intervals of the survey scores (satisfaction index, officials' points).

Satisfaction ballots are resampled within commune and procedure field (the allocation of the 50 ballots and the
post-stratification weights are kept); officials' ballots within commune and respondent group (the 33 / 1 / 12
design is kept; a commune's interval depends on its own ballots only). The replicates come from the bootstrap
engine (:mod:`parindex.uncertainty.bootstrap`, ``padded`` layout, see *Draws* below), the scores from the
array rules (:mod:`parindex.uncertainty.rules`) — both shared with the robustness stage.

Cost. Each ballot carries a few sums (valid and positive answers per factor; valid answers and answer weights per
question); a block of replicates becomes how many times each ballot was drawn (one ``bincount``), and one sparse
matrix product adds the drawn ballots' sums up per commune (satisfaction) or per commune × respondent group
(officials) (:func:`segment_sums`). The work is replicates × ballots (× statistics), linear in the number of communes,
with no strata × communes matrix; at national scale (about a million ballots, 2,000 replicates: two billion draws)
it is the largest part of the score stage.

Draws. The replicates are the engine's ``padded`` layout, the draws the survey intervals have always used, so the
intervals of earlier runs are reproduced (until 2026-11 the drawn ballots' statistics were gathered into a strata ×
largest-stratum grid and multiplied by a dense strata × communes matrix: ~20 s for the 235 communes of a province,
beyond memory for the country; the sums now add up in another order, so a bound can differ in its last bits — a
published two-decimal figure only if it lay within about 1e-12 of a rounding edge). The ``compact`` layout (one float32 uniform per ballot, about 4 × fewer random numbers, as
the robustness stage) is the parameter ``survey.ci_layout: compact``, for runs of thousands of communes: it moves
every bound by Monte Carlo noise (measured on the 2023 demo district: up to 0.32 points of % for the satisfaction
index, whose intervals are 5.3 points wide), so it is not the default."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..methodology import Methodology
from ..scoring import satisfaction_factors
from ..surveys import ballot_counts
from .alternatives import check_option
from .bootstrap import MAX_CELLS, Layout, StratifiedDesign, block_size
from .rules import answer_values, mean_answer_weight, satisfaction_index


def segment_sums(design: StratifiedDesign, stats: np.ndarray, segment: np.ndarray, n_segments: int, n_boot: int,
                 seed: int, stat, layout: Layout = "padded") -> np.ndarray:
    """``stat`` of ``n_boot`` bootstrap replicates of ``design`` (``layout`` of the engine's draws, ``padded`` by
    default: the survey intervals' draws), each replicate given as the sums
    of ``stats`` (units × K) over the units drawn in each segment: ``stat`` receives (block × n_segments × K) and
    returns (block × …); the results of the blocks are concatenated.

    ``segment``: (units,) segment of each unit, 0 … n_segments − 1 — a segment is a union of whole strata (a
    commune, or one stratum), so a unit is only ever drawn in its own segment. A block of replicates is turned
    into how many times each unit was drawn (one ``bincount``, as
    :func:`parindex.uncertainty.bootstrap.unit_counts` without its padding mask: these draws have none), and the sums come from one sparse matrix product: (segments · K) × units, each unit's K
    statistics in its segment's rows, times the counts. Memory per block: the drawn slots and the counts, at most
    ``4 × MAX_CELLS`` of each (and at least one replicate)."""
    from scipy import sparse

    stats = np.asarray(stats, dtype=float)
    n, k = stats.shape
    seg = np.asarray(segment, dtype=np.int64)
    rows = (seg[:, None] * k + np.arange(k)[None, :]).ravel()
    m = sparse.csr_matrix((stats.ravel(), (rows, np.repeat(np.arange(n), k))), shape=(n_segments * k, n))
    step = block_size(max(n, design.n_slots(layout), 1), max_cells=4 * MAX_CELLS)
    out = []
    for drawn in design.replicates(n_boot, seed, layout=layout, block=step, units=layout == "padded"):
        b = drawn.shape[0]
        drawn += (np.arange(b) * n)[:, None]                                 # no padding: every slot draws
        counts = np.bincount(drawn.ravel(), minlength=b * n).reshape(b, n).astype(float)   # b × units
        sums = np.asarray(m @ counts.T).reshape(n_segments, k, b).transpose(2, 0, 1)
        out.append(stat(sums))
    return np.concatenate(out) if out else np.zeros((0, n_segments))


@dataclass
class SatisfactionDesign:
    """The satisfaction ballots of a set of communes as the bootstrap sees them (shared by the survey intervals
    and the commune profiles' factor intervals): one row per ballot (``first``, table order), its commune
    (``commune``: position in ``codes``), its stratum commune × procedure field (``strata``, numbered in the
    order of ``used`` = commune-major codes), the engine's design, and ``stats`` (ballots × 2F): per factor
    the weighted valid answers, then per factor the weighted positive (4–5) answers."""

    codes: list[str]
    first: pd.DataFrame
    commune: np.ndarray
    strata: np.ndarray
    used: np.ndarray
    n_fields: int
    design: StratifiedDesign
    stats: np.ndarray
    n_factors: int


def satisfaction_design(satisfaction: pd.DataFrame, meth: Methodology, communes) -> SatisfactionDesign:
    """:class:`SatisfactionDesign` of the valid ballots of ``communes`` (their ``weight`` column, 1 without)."""
    sv = meth.satisfaction_survey
    q = meth.satisfaction_questions()
    factors = [f.code for f in sv.factors]
    codes = [str(c) for c in communes]
    first = satisfaction.drop_duplicates("ballot_id")
    first = first[first["commune_code"].astype(str).isin(codes)].reset_index(drop=True)
    wide = satisfaction.pivot_table(index="ballot_id", columns="question", values="answer", aggfunc="first")
    wide = wide.reindex(index=first["ballot_id"], columns=q["question"]).astype("Float64").to_numpy(
        dtype=float, na_value=np.nan)
    w = first["weight"].to_numpy(dtype=float) if "weight" in first.columns else np.ones(len(first))
    valid = ~np.isnan(wide)
    positive = np.nan_to_num(answer_values(wide, "share_positive", sv.positive_answers, sv.scale.min, sv.scale.max))
    onehot = (np.array([factors.index(f) for f in q["factor"]])[:, None] == np.arange(len(factors))).astype(float)
    stats = np.hstack([(valid @ onehot) * w[:, None], (positive @ onehot) * w[:, None]])
    cidx = pd.Categorical(first["commune_code"].astype(str), categories=codes).codes.astype(np.int64)
    field = first["procedure_field"] if "procedure_field" in first.columns else pd.Series("", index=first.index)
    fidx, funiq = pd.factorize(field.astype(str), sort=True)
    k = max(len(funiq), 1)
    used, strata = np.unique(cidx * k + fidx, return_inverse=True)   # commune-major strata
    strata = strata.astype(np.int64).reshape(-1)
    return SatisfactionDesign(codes=codes, first=first, commune=cidx, strata=strata, used=used, n_fields=k,
                              design=StratifiedDesign(strata, len(used)), stats=stats, n_factors=len(factors))


def satisfaction_interval(satisfaction: pd.DataFrame, meth: Methodology, communes: pd.Series, *,
                          n_boot: int, seed: int, level: float = 0.95, layout: Layout = "padded") -> pd.DataFrame:
    """Satisfaction index (%) per commune with a percentile-bootstrap interval over its valid ballots.

    Ballots are resampled within commune × procedure field (the plan allocates each commune's ballots
    across the fields, and the post-stratification weights assume those counts), as the robustness
    stage does. The index is computed exactly as in scoring (weighted share of 4–5 answers per factor,
    mean over factors). Returns commune_code, sat_index_pct, sat_ci_low, sat_ci_high."""
    d = satisfaction_design(satisfaction, meth, communes)
    codes, F = d.codes, d.n_factors

    def stat(sums: np.ndarray) -> np.ndarray:                      # sums: b × communes × (valid, positive)
        return satisfaction_index(sums[..., :F], sums[..., F:], axis=2) * 100    # b × communes

    boot = segment_sums(d.design, d.stats, d.commune, len(codes), n_boot, seed, stat, layout)
    point = satisfaction_factors(satisfaction, meth).groupby("commune_code")["index"].mean() * 100
    a = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a commune without any valid ballot: NaN interval
        lo, hi = np.nanquantile(boot, [a, 1 - a], axis=0)
    return pd.DataFrame({"commune_code": codes, "sat_index_pct": communes.map(point).to_numpy(dtype=float),
                         "sat_ci_low": lo, "sat_ci_high": hi})


def officials_interval(officials: pd.DataFrame, meth: Methodology, communes: pd.Series, group_weighting: str, *,
                       n_boot: int, seed: int, level: float = 0.95, layout: Layout = "padded") -> pd.DataFrame:
    """Officials' survey points per commune with a percentile-bootstrap interval over respondents
    (resampled within commune × respondent group). A commune without any valid answer gets no interval
    (NaN), as it gets no officials' survey score. Returns commune_code, officials_ci_low, officials_ci_high."""
    check_option("officials_groups", group_weighting)
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
    valid = ~np.isnan(x)
    stats = np.hstack([valid.astype(float), np.where(valid, x, 0.0)])  # per ballot: valid answers, answer weights
    groups = sorted(resp["group"].unique())
    G, C, Q = max(len(groups), 1), len(codes), len(qcodes)
    cidx = pd.Categorical(resp["commune_code"], categories=codes).codes.astype(np.int64)
    gidx = pd.Categorical(resp["group"], categories=groups).codes.astype(np.int64)
    design = StratifiedDesign(cidx * G + gidx, C * G)
    answered = np.bincount(cidx, weights=valid.any(axis=1), minlength=C) > 0

    def stat(sums: np.ndarray) -> np.ndarray:                      # sums: b × (C·G) × (valid, weights)
        sums = sums.reshape(sums.shape[0], C, G, 2 * Q)
        mean = mean_answer_weight(sums[..., :Q], sums[..., Q:], group_weighting, axis=2)    # b × C × Q
        return np.where(np.isnan(mean), 0.0, mean) @ pts            # b × C

    boot = segment_sums(design, stats, cidx * G + gidx, C * G, n_boot, seed, stat, layout)
    a = (1 - level) / 2
    lo, hi = np.quantile(boot, [a, 1 - a], axis=0)
    return pd.DataFrame({"commune_code": codes, "officials_ci_low": np.where(answered, lo, np.nan),
                         "officials_ci_high": np.where(answered, hi, np.nan)})


def survey_columns(results: pd.DataFrame, satisfaction: pd.DataFrame, officials: pd.DataFrame,
                   ballots: pd.DataFrame, meth: Methodology, *, group_weighting: str, n_boot: int,
                   seed: int, layout: Layout = "padded") -> pd.DataFrame:
    """Results with the survey columns of the output contract: sat_index_pct, sat_ci_low, sat_ci_high,
    officials_points, officials_ci_low, officials_ci_high, ballots_received, ballots_valid, ballots_excluded."""
    codes = results["commune_code"]
    sat = satisfaction_interval(satisfaction, meth, codes, n_boot=n_boot, seed=seed, layout=layout)
    off = officials_interval(officials, meth, codes, group_weighting, n_boot=n_boot, seed=seed + 1, layout=layout)
    counts = ballot_counts(ballots, codes)
    out = results.drop(columns=[c for c in SURVEY_COLUMNS if c in results.columns])
    out = out.merge(sat, on="commune_code", how="left").merge(off, on="commune_code", how="left").merge(
        counts, on="commune_code", how="left")
    out["officials_points"] = out["officials_survey_points"]
    return out


SURVEY_COLUMNS = ["sat_index_pct", "sat_ci_low", "sat_ci_high", "officials_points", "officials_ci_low",
                  "officials_ci_high", "ballots_received", "ballots_valid", "ballots_excluded"]
