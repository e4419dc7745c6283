"""The scoring rules as array functions — the one definition the survey intervals and the robustness stage use.

:mod:`parindex.scoring` scores one set of tables with pandas; these functions apply the same rules to arrays
that carry extra leading axes (bootstrap replicates, Monte Carlo draws, communes), from sums over ballots:

* :func:`mean_answer_weight` — officials' survey: mean answer weight per question over valid answers,
  every answer counting once (``pooled``) or each respondent group weighing the same (``equal``)
  (:func:`parindex.scoring.officials_mean_weight`);
* :func:`satisfaction_index` — SIPAS: each factor's index is the weighted mean of its valid answers' values
  (share of positive answers: value 1 for 4–5, else 0), SIPAS the mean over the factors that have an answer
  (:func:`parindex.scoring.satisfaction_factors`, :func:`parindex.scoring.score_satisfaction`);
  :func:`answer_values` gives an answer's value under each option of the ``satisfaction_factor`` rule;
* :func:`field_totals`, :func:`index_pct` — points and applicable maximum per field, the index
  (:func:`parindex.scoring.aggregate`), arithmetic or geometric across fields;
* :func:`rank_rows`, :func:`band_index` — ranks with ties at the published precision and bands
  (:func:`parindex.scoring.rank_desc`, :meth:`parindex.methodology.Methodology.band_of`).

A question or commune without any valid answer gives NaN (the scoring rule leaves it out of points and
maximum). The robustness stage checks on every run that these functions reproduce the published leaf scores,
index and ranking (``_check_published`` in :mod:`parindex.uncertainty.robustness`), and
``tests/test_robustness.py`` checks them against :mod:`parindex.scoring` on random tables.
"""

from __future__ import annotations

import numpy as np

from ..methodology import TOL, Methodology
from ..text import round_half_up


def _mean_of_ratios(num: np.ndarray, den: np.ndarray, axis: int) -> np.ndarray:
    """Mean over ``axis`` of num / den over the entries with den > 0; NaN where there is none. The same
    numbers as ``nanmean(num / den)`` (sum of the defined ratios in order, divided by their count) without
    its temporary copies."""
    has = den > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(has, num / np.where(has, den, 1), 0.0)
        k = has.sum(axis=axis)
        return np.where(k > 0, ratio.sum(axis=axis) / k, np.nan)


# ------------------------------------------------------------------------------------------------
# Officials' survey
# ------------------------------------------------------------------------------------------------
def mean_answer_weight(n: np.ndarray, w: np.ndarray, officials_groups: str = "pooled", axis: int = 0) -> np.ndarray:
    """Mean answer weight per question from per-group sums over ballots: ``n`` valid answers and ``w`` the sum
    of their weights, respondent groups along ``axis`` (removed in the result).

    ``pooled``: Σ w / Σ n, every valid answer counts once. ``equal``: the mean over the groups that have an
    answer of each group's mean w / n. NaN where no group has a valid answer."""
    if officials_groups == "equal":
        return _mean_of_ratios(w, n, axis)
    if officials_groups == "pooled":
        with np.errstate(invalid="ignore", divide="ignore"):
            return w.sum(axis=axis) / n.sum(axis=axis)
    raise ValueError(f"officials_groups must be 'pooled' or 'equal', got {officials_groups!r}")


# ------------------------------------------------------------------------------------------------
# Satisfaction survey
# ------------------------------------------------------------------------------------------------
def answer_values(answers: np.ndarray, satisfaction_factor: str, positive: list[int], scale_min: float,
                  scale_max: float) -> np.ndarray:
    """Value of each answer in its factor's index: ``share_positive`` 1 for a positive answer (4–5) else 0
    (the rule); ``rescaled_mean`` the answer rescaled to 0–1, (a − min) / (max − min). NaN stays NaN."""
    a = np.asarray(answers, dtype=float)
    if satisfaction_factor == "share_positive":
        return np.where(np.isnan(a), np.nan, np.isin(a, positive).astype(float))
    if satisfaction_factor == "rescaled_mean":
        return (a - scale_min) / (scale_max - scale_min)
    raise ValueError(f"satisfaction_factor must be 'share_positive' or 'rescaled_mean', got {satisfaction_factor!r}")


def satisfaction_index(valid: np.ndarray, value: np.ndarray, axis: int = -1) -> np.ndarray:
    """SIPAS (0–1) from per-factor sums over ballots, factors along ``axis``: ``valid`` the (weighted) number
    of valid answers, ``value`` the (weighted) sum of their values (:func:`answer_values`). A factor's index
    is value / valid; SIPAS is the mean over the factors that have a valid answer, NaN when none has."""
    return _mean_of_ratios(value, valid, axis)


# ------------------------------------------------------------------------------------------------
# Fields, index, rank, band
# ------------------------------------------------------------------------------------------------
def field_totals(leaf_values: np.ndarray, leaf_field: np.ndarray) -> np.ndarray:
    """Sum of leaf values (points or applicable maxima, leaves on the last axis) per field; ``leaf_field`` is
    the (leaves × fields) 0/1 map of leaves to their field."""
    return leaf_values @ leaf_field


def index_pct(points: np.ndarray, maxima: np.ndarray, offset: np.ndarray, lam: np.ndarray | None = None,
              aggregation: str = "arithmetic") -> np.ndarray:
    """Index (%) from points and applicable maxima per field (fields on the last axis, e.g. draws × communes ×
    fields), ``offset`` = bonus − deduction per commune, ``lam`` field weight multipliers (draws × fields;
    ``None`` = the methodology's weights).

    ``arithmetic`` (the rule): (Σ_f λ_f p_f + offset) / Σ_f λ_f m_f × 100. ``geometric``:
    Π_f (p_f / m_f) ^ ω_f × 100 + offset / D × 100 with ω_f = λ_f m_f / D, D = Σ_f λ_f m_f (a field
    without applicable maximum has weight 0; a field scored 0 gives 0)."""
    p = np.asarray(points, dtype=float)
    m = np.asarray(maxima, dtype=float)
    if lam is None:
        lam = np.ones(p.shape[-1])
    lam = np.asarray(lam, dtype=float)
    lv = lam[..., None]                        # (F, 1), or (R, F, 1) against points (R, C, F)
    num = np.matmul(p, lv)[..., 0]
    den = np.matmul(m, lv)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        if aggregation == "arithmetic":
            return (num + offset) / den * 100.0
        if aggregation == "geometric":
            has = m > 0
            logr = np.log(np.maximum(np.where(has, p / np.where(has, m, 1.0), 1.0), 1e-300))
            lw = (lam[:, None, :] if lam.ndim == 2 else lam) * m
            return (np.exp(np.einsum("...f,...f->...", lw, logr) / den) + offset / den) * 100.0
    raise ValueError(f"aggregation must be 'arithmetic' or 'geometric', got {aggregation!r}")


def rank_rows(values: np.ndarray, decimals: int) -> np.ndarray:
    """Rank each row highest first; values equal at ``decimals`` share the best rank (1, 2, 2, 4) — the
    row-wise :func:`parindex.scoring.rank_desc` (the index as published: rounded half up to ``decimals``)."""
    v = round_half_up(np.asarray(values, dtype=float), decimals)
    n = v.shape[-1]
    order = np.argsort(-v, axis=-1)        # the order within a tie does not matter: ties get the group's first rank
    sv = np.take_along_axis(v, order, axis=-1)
    new = np.ones(sv.shape, dtype=bool)
    new[..., 1:] = sv[..., 1:] != sv[..., :-1]
    start = np.where(new, np.arange(n), 0)
    np.maximum.accumulate(start, axis=-1, out=start)
    ranks = np.empty(v.shape, dtype=np.int32)
    np.put_along_axis(ranks, order, (start + 1).astype(np.int32), axis=-1)
    return ranks


def band_index(values: np.ndarray, meth: Methodology, decimals: int) -> np.ndarray:
    """Index into ``meth.bands`` (highest first) of each value as published: rounded half up to ``decimals``
    (:func:`parindex.text.round_half_up`; 89.995 → 90.00 → the "≥ 90" band) — the array
    :meth:`parindex.methodology.Methodology.band_of`."""
    v = round_half_up(np.asarray(values, dtype=float), decimals)
    idx = np.zeros(v.shape, dtype=np.int8)
    for b in meth.bands:
        idx += (v < b.min_pct - TOL)
    return np.minimum(idx, len(meth.bands) - 1)
