"""Robustness of the ranking: how sure is each commune's rank?

Composite-index practice (EU JRC / OECD handbook): re-compute the index many times under reasonable
alternatives of the uncertain choices and report, per commune, the median rank with its 5–95 %
interval, the probability of each band and of the top *k*, the probability of outranking every other
commune, and the mean absolute rank shift against the published ranking; then attribute the variance
of that shift to the sources of uncertainty with Sobol indices (SALib).

Model
-----
For commune *c* and field *f* let ``p_cf`` be the field's points and ``m_cf`` its applicable maximum
(not-applicable leaves and survey questions without a valid answer count in neither). The published
index is ``(Σ_f p_cf + bonus_c − deduction_c) / Σ_f m_cf × 100``. With field weights ``w_f`` (the
field's share of the 100 points; nominal ``W_f`` = the field's points in the methodology) and
``λ_f = w_f / W_f`` the index of a draw is

* arithmetic: ``(Σ_f λ_f p_cf + offset_c) / Σ_f λ_f m_cf × 100``, i.e. ``Σ_f ω_cf r_cf + offset_c / D_c``
  with field ratios ``r_cf = p_cf / m_cf``, applicable weights ``ω_cf = λ_f m_cf / D_c`` and
  ``D_c = Σ_f λ_f m_cf``. This is "Σ_f w_f × (field points / field max) renormalised by the applicable
  weight", where a field's applicable weight is its weight times its applicable share; at the nominal
  weights it is exactly the published formula.
* geometric: ``Π_f r_cf ^ ω_cf × 100 + offset_c / D_c × 100`` (a field scored 0 gives 0).

``offset_c = bonus − deduction`` is taken from the published results and held fixed.

Sources of uncertainty (each switchable in :class:`RobustnessParams`)
----------------------------------------------------------------------
* **weights** — each field's share perturbed, ``w_f = W_f (1 + s U)``, ``U ~ U(−1, 1)``, ``s`` =
  ``weight_spread``, renormalised to the scale (100). With ``weight_dist="dirichlet"``:
  ``w ~ 100 · Dirichlet(κ W / 100)`` with ``κ = 3 (F − 1) / s² − 1``, so that a field of average share has
  the same coefficient of variation as under the uniform (s / √3). ``s = 0`` (allowed by the run
  parameters) fixes the weights: the source is then off, in the draws and in the Sobol factors.
* **sampling** — stratified bootstrap of both surveys, mirroring how each was drawn:

  - *officials' survey* — the same respondents (33 HĐND delegates + 1 MTTQ leader + 12 heads of
    departments, one ``ballot_id`` each, e.g. CB01…CB46) rate every commune, so the sampling unit is
    the respondent, not the respondent × commune ballot. A replicate draws, within each respondent
    group, as many respondents as the group has, with replacement, **once for all communes**: the
    same multiset of respondents scores every commune. A respondent is a (group, ``ballot_id``) pair;
    one who did not rate a commune, or whose ballot for it was excluded at cleaning, contributes
    nothing there, so a commune's number of answers varies between replicates (a question with no
    valid answer is handled as below). Why: a rater's severity is shared by all the communes they
    rate; resampling per commune would treat it as independent noise per commune and overstate the
    uncertainty of rank *differences*, in which a common rater effect cancels. With
    ``officials_joint=False`` the ballots of each commune are resampled independently within each
    respondent group (the former design; for the same seed it reproduces its results bit for bit).
  - *satisfaction survey* — different citizens in each commune: the ballots of each commune are
    resampled within each procedure field (the plan allocates the 50 ballots across fields).

  Mean answer weights per question, factor indices and SIPAS are recomputed. A question that gets no
  valid answer in a replicate leaves points and maximum, as the scoring rule says. The bootstrap is
  computed once as a pool of ``n_replicates`` replicates (default 2,000, capped by memory for very
  large inputs; the cap is reported) and each draw picks one replicate at random, independently of
  its weights and rules — the pool is the bootstrap's own resolution, the draws combine it with the
  other sources.
* **rules** — each draw picks one option per rule with probability ½: officials' survey pooled vs
  equal-weight groups (:func:`parindex.scoring.officials_mean_weight`); a satisfaction factor's index
  as the share of positive answers (4–5) vs the rescaled mean ``(mean − 1) / 4``; arithmetic vs
  geometric aggregation across fields.
* **leave one field out** — reported separately (``leave_one_out``), not part of the Monte Carlo.

Which survey options the published results used is detected from ``leaf_scores`` (the survey tables
must reproduce the published leaf scores, else a ``ValueError`` says where they differ).

Everything is vectorised over draws × communes, block by block (bounded memory): the satisfaction
ballots of all communes are laid out in padded arrays (communes × ballots × statistics) and a block
of bootstrap replicates is a matrix of resampling counts (communes × replicates × ballots) built with
one ``bincount`` and turned into survey sums with one batched matrix product. The officials' answers
are laid out per respondent group as a respondents × (communes · statistics) matrix (zero where a
respondent has no ballot for a commune); a block of replicates is a replicates × respondents count
matrix (one ``bincount``) and the sums of every commune come from one matrix product per group — no
loop over communes or replicates, and the counts take R × 46 numbers instead of C × R × 46. The
per-commune design of ``officials_joint=False`` uses the padded layout of the satisfaction survey. The
index of a block of
draws is a gather from the pool plus two batched matrix-vector products; ranks come from one
``argsort`` per block; the outranking counts from one broadcast comparison. Random numbers come from
independent streams per source and block (``SeedSequence(seed, spawn_key=(source, block))``), so the
results depend only on the inputs and the parameters, and the first *n* draws of a run with *2n*
draws are the draws of the run with *n* — the convergence check reuses them.

A draw's index is anchored on the published one: ``published + (draw − nominal)``, where *nominal* is
the same computation at the nominal choices, and differences below 1e-9 points are set to zero. An
unperturbed draw therefore reproduces the published index and ranking bit for bit (the recomputed
nominal index is checked against the published one to 1e-6 first).

Sobol design
------------
Each source that is switched on is one factor ``x ∈ [0, 1)`` of SALib's Saltelli/Sobol sequence
(``calc_second_order=False``, ``N = sobol_n`` base samples, ``N (k + 2)`` model runs). A factor's value
*selects* a realisation of its source from a pool: ``weights`` → weight vector ``⌊x P⌋`` among the
weight vectors of the first ``P = sobol_n`` Monte Carlo draws, ``sampling`` → bootstrap replicate
``⌊x R⌋`` of the pool of ``R`` replicates, ``rules`` → one of the 2³ rule combinations ``⌊8 x⌋``. Each source thus acts as one grouped factor
(a discrete uniform index over its realisations), and the model output is the mean absolute rank
shift over all communes against the published ranking. ``SALib.analyze.sobol`` gives the first-order
(S1) and total (ST) indices with bootstrap confidence intervals (95 %).

Convergence: the statistics are recomputed with 2 × ``n_draws`` draws (the first ``n_draws`` are shared)
and the change is reported; the main tables use ``n_draws`` draws.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

from ..methodology import TOL, Methodology

SOURCES_MC = ("weights", "sampling", "rules")
_STREAM = {"weights": 0, "sampling": 1, "rules": 2, "pool": 3, "sobol": 4}
_ZERO_DIFF = 1e-9          # index differences below this (points of %) are float noise
_CHECK_TOL = 1e-6          # recomputed vs published index / leaf scores
_BLOCK_ELEMS = 4_000_000   # elements per block of draws / of bootstrap replicates (bounds memory)
_POOL_BYTES = 512 * 2**20  # memory bound of the pool of bootstrap replicates
_POOL_BLOCK_ELEMS = 1_000_000  # elements per replicate block when building the pool (joint officials' design)
_JOINT_BYTES = 2 * 2**30   # memory bound of the officials' respondents × communes layout (joint bootstrap)
_MAX_BLOCK = 256
QUANTILE_METHOD = "linear"


# ------------------------------------------------------------------------------------------------
# Parameters and result
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RobustnessParams:
    n_draws: int = 1000
    seed: int = 2023
    weights: bool = True            # field weights perturbed
    weight_spread: float = 0.25     # ±25 % of each field's share of the 100 points
    weight_dist: str = "uniform"    # "uniform" or "dirichlet"
    sampling: bool = True           # stratified bootstrap of both surveys
    officials_joint: bool = True    # officials: resample respondents once for all communes (False: per commune)
    n_replicates: int = 2000        # bootstrap replicates in the pool the draws pick from
    rules: bool = True              # rule alternatives
    top_k: int = 3
    rank_decimals: int = 2
    sobol_n: int = 1024             # Saltelli base sample (power of 2) and size of the realisation pools
    sobol_resamples: int = 100      # bootstrap resamples for the Sobol confidence intervals
    outrank_max_communes: int = 2000  # the C × C outranking matrix is skipped above this many communes

    def sources_on(self) -> list[str]:
        """Sources of uncertainty that vary: ``weights`` with ``weight_spread`` 0 fixes the weights (as
        the run parameters allow), so it is not a source then."""
        return [s for s in SOURCES_MC if getattr(self, s) and not (s == "weights" and self.weight_spread == 0)]

    def validate(self) -> None:
        if int(self.n_draws) < 1:
            raise ValueError(f"n_draws must be at least 1, got {self.n_draws}")
        if self.weight_dist not in ("uniform", "dirichlet"):
            raise ValueError(f"weight_dist must be 'uniform' or 'dirichlet', got {self.weight_dist!r}")
        if not 0.0 <= self.weight_spread < 1.0:
            raise ValueError(f"weight_spread must lie in [0, 1), got {self.weight_spread}")
        if int(self.n_replicates) < 1:
            raise ValueError(f"n_replicates must be at least 1, got {self.n_replicates}")
        if int(self.top_k) < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")
        n = int(self.sobol_n)
        if n < 2 or n & (n - 1):
            raise ValueError(f"sobol_n must be a power of 2 (≥ 2), got {self.sobol_n}")


@dataclass
class RobustnessResult:
    per_commune: pd.DataFrame
    outrank: pd.DataFrame
    leave_one_out: pd.DataFrame
    sobol: pd.DataFrame
    convergence: pd.DataFrame
    summary: dict = field(default_factory=dict)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write robustness.csv, outrank.csv, leave_one_out.csv, sobol.csv, convergence.csv and
        robustness.json (summary) into ``out_dir``; returns the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {name: out / name for name in ("robustness.csv", "outrank.csv", "leave_one_out.csv",
                                              "sobol.csv", "convergence.csv", "robustness.json")}
        self.per_commune.to_csv(paths["robustness.csv"], index=False, lineterminator="\n")
        self.outrank.to_csv(paths["outrank.csv"], index=True, index_label="commune_code", lineterminator="\n")
        self.leave_one_out.to_csv(paths["leave_one_out.csv"], index=False, lineterminator="\n")
        self.sobol.to_csv(paths["sobol.csv"], index=False, lineterminator="\n")
        self.convergence.to_csv(paths["convergence.csv"], index=False, lineterminator="\n")
        paths["robustness.json"].write_text(
            json.dumps(_jsonable(self.summary), ensure_ascii=False, indent=2, sort_keys=True) + "\n",
            encoding="utf-8")
        return paths


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# ------------------------------------------------------------------------------------------------
# Vectorised helpers
# ------------------------------------------------------------------------------------------------
def rank_rows(values: np.ndarray, decimals: int = 2) -> np.ndarray:
    """Rank each row highest first; values equal at ``decimals`` share the best rank (1, 2, 2, 4) —
    the row-wise equivalent of :func:`parindex.scoring.rank_desc`."""
    v = np.round(np.asarray(values, dtype=float), decimals)
    n = v.shape[-1]
    order = np.argsort(-v, axis=-1, kind="stable")
    sv = np.take_along_axis(v, order, axis=-1)
    new = np.ones(sv.shape, dtype=bool)
    new[..., 1:] = sv[..., 1:] != sv[..., :-1]
    start = np.where(new, np.arange(n), 0)
    np.maximum.accumulate(start, axis=-1, out=start)
    ranks = np.empty(v.shape, dtype=np.int32)
    np.put_along_axis(ranks, order, (start + 1).astype(np.int32), axis=-1)
    return ranks


def band_index(values: np.ndarray, meth: Methodology, decimals: int = 2) -> np.ndarray:
    """Index into ``meth.bands`` (highest first) of each value as published: rounded half up to ``decimals``
    (:func:`parindex.text.round_half_up`; 89.995 → 90.00 → the "≥ 90" band) — the array equivalent of
    ``Methodology.band_of``."""
    from ..text import round_half_up

    v = round_half_up(np.asarray(values, dtype=float), decimals)
    idx = np.zeros(v.shape, dtype=np.int8)
    for b in meth.bands:
        idx += (v < b.min_pct - TOL)
    return np.minimum(idx, len(meth.bands) - 1)


def sobol_indices(model: Callable[[np.ndarray], np.ndarray], names: list[str], n_base: int, seed: int,
                  num_resamples: int = 100, conf_level: float = 0.95) -> pd.DataFrame:
    """First-order and total Sobol indices of ``model`` over independent U(0, 1) factors.

    ``model`` maps an (n, k) array of factor values to n outputs. Uses SALib's Sobol/Saltelli sample
    (``calc_second_order=False``, ``n_base (k + 2)`` runs) and ``SALib.analyze.sobol``. Returns
    source, S1, S1_conf, ST, ST_conf (conf = half width of the ``conf_level`` interval). When the
    output does not vary, the indices are undefined and reported as NaN."""
    problem = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    x = sobol_sample.sample(problem, int(n_base), calc_second_order=False, scramble=True, seed=int(seed))
    y = np.asarray(model(x), dtype=float)
    cols = ["source", "S1", "S1_conf", "ST", "ST_conf"]
    if y.size == 0 or np.ptp(y) == 0:
        return pd.DataFrame({"source": list(names), **{c: np.nan for c in cols[1:]}})[cols]
    si = sobol_analyze.analyze(problem, y, calc_second_order=False, num_resamples=int(num_resamples),
                               conf_level=conf_level, print_to_console=False, seed=int(seed))
    return pd.DataFrame({"source": list(names), "S1": si["S1"], "S1_conf": si["S1_conf"],
                         "ST": si["ST"], "ST_conf": si["ST_conf"]})[cols]


# ------------------------------------------------------------------------------------------------
# Survey designs: ballots in padded arrays, stratified bootstrap as resampling counts
# ------------------------------------------------------------------------------------------------
@dataclass
class _Design:
    """Ballots of one survey laid out for the bootstrap.

    Ballots are sorted by (block, commune, stratum). ``stats[b]`` is (C, L_b, K): the statistics of
    the ballots of aggregation block ``b`` (officials: respondent group; satisfaction: one block),
    padded to the largest count per commune. Each ballot is resampled within its stratum, which is a
    contiguous range ``[start, start + size)`` of its commune's row."""
    n_communes: int
    block_of: np.ndarray      # (N,) block of each ballot
    commune_of: np.ndarray    # (N,) commune index
    start: np.ndarray         # (N,) first position of the ballot's stratum in its row
    size: np.ndarray          # (N,) stratum size
    stats: list[np.ndarray]   # per block: (C, L_b, K)

    def __post_init__(self) -> None:
        self._size32 = self.size.astype(np.float32)

    @property
    def n_ballots(self) -> int:
        return len(self.commune_of)

    def original_sums(self) -> list[np.ndarray]:
        """Statistics summed over the ballots actually collected: per block (C, 1, K)."""
        return [s.sum(axis=1, keepdims=True) for s in self.stats]

    @property
    def n_slots(self) -> int:
        """Uniforms a bootstrap replicate consumes (one per ballot)."""
        return self.n_ballots

    def bootstrap_sums(self, u: np.ndarray) -> list[np.ndarray]:
        """Sums over bootstrap replicates. ``u``: (R, N) uniforms, one per ballot slot and replicate
        (slot i draws a ballot of slot i's stratum). Returns per block (C, R, K)."""
        r = u.shape[0]
        j = (u * self._size32).astype(np.int64)                  # (R, N) draw within the stratum
        np.minimum(j, self.size - 1, out=j)
        j += self.start
        out = []
        lo = 0
        for b, st in enumerate(self.stats):
            n_b = int((self.block_of == b).sum())
            c, lb, _ = st.shape
            sl = slice(lo, lo + n_b)
            lo += n_b
            flat = (self.commune_of[sl][None, :] * r + np.arange(r)[:, None]) * lb + j[:, sl]
            counts = np.bincount(flat.ravel(), minlength=c * r * lb).reshape(c, r, lb)
            out.append(np.matmul(counts.astype(np.float64), st))
        return out


@dataclass
class _JointDesign:
    """Officials' ballots laid out for the joint bootstrap: respondents, not ballots, are resampled.

    Each respondent (one ballot id within one respondent group) rates every commune, so a replicate
    draws, within each group, as many respondents as the group has, with replacement, once for all
    communes. ``stats[b]`` is (n_b, C · K): the statistics of respondent r of block (group) b for
    commune c at ``[r, c · K : (c + 1) · K]`` — zero where the respondent did not rate the commune or
    the ballot was excluded, so such a respondent contributes nothing there. Respondents are sorted by
    block; ``size[b]`` is the number of respondents of block b."""
    n_communes: int
    n_stats: int              # K
    size: np.ndarray          # (n_blocks,) respondents per block
    stats: list[np.ndarray]   # per block: (max(n_b, 1), C · K)

    @property
    def n_slots(self) -> int:
        """Uniforms a bootstrap replicate consumes (one per respondent)."""
        return int(self.size.sum())

    def communes_rated(self) -> np.ndarray:
        """Number of communes each respondent gave at least one valid answer for (respondent order)."""
        q = self.n_stats // 2
        return np.concatenate([(st.reshape(-1, self.n_communes, self.n_stats)[:n_b, :, :q].sum(axis=2) > 0)
                               .sum(axis=1) for n_b, st in zip(self.size.tolist(), self.stats)]).astype(np.int64)

    def original_sums(self) -> list[np.ndarray]:
        """Statistics summed over all respondents: per block (C, 1, K)."""
        return [s.sum(axis=0).reshape(self.n_communes, 1, self.n_stats) for s in self.stats]

    def bootstrap_sums(self, u: np.ndarray) -> list[np.ndarray]:
        """Sums over bootstrap replicates. ``u``: (R, n_slots) uniforms; slot i of block b draws one of
        the block's respondents, the same for every commune. Returns per block (C, R, K): the counts of
        each respondent (R, n_b) times the respondents' statistics, one matrix product per block."""
        r = u.shape[0]
        out = []
        lo = 0
        for n_b, st in zip(self.size.tolist(), self.stats):
            if n_b == 0:
                out.append(np.zeros((self.n_communes, r, self.n_stats)))
                continue
            j = (u[:, lo:lo + n_b] * np.float32(n_b)).astype(np.int64)     # (R, n_b) respondent drawn
            lo += n_b
            np.minimum(j, n_b - 1, out=j)
            flat = np.arange(r)[:, None] * n_b + j
            counts = np.bincount(flat.ravel(), minlength=r * n_b).reshape(r, n_b).astype(np.float64)
            out.append((counts @ st).reshape(r, self.n_communes, self.n_stats).transpose(1, 0, 2))
        return out


def _joint_design(block: np.ndarray, respondent: np.ndarray, commune: np.ndarray, question: np.ndarray,
                  answered: np.ndarray, weight: np.ndarray, n_communes: int, n_blocks: int, n_questions: int
                  ) -> _JointDesign:
    """Officials' answer rows → joint design. One entry per answer row: ``block`` (group),
    ``respondent`` (integer code of the ballot id, shared across communes), ``commune``, ``question``,
    ``answered`` (1 if a valid answer) and ``weight`` (its answer weight, 0 if none). A respondent is a
    (block, respondent) pair; statistics K = 2 Q: answered counts in columns ``q``, weights in ``Q + q``."""
    n_r = int(respondent.max(initial=0)) + 1
    key = block * n_r + respondent
    present = np.zeros(n_blocks * n_r, dtype=bool)
    present[key] = True
    rank = np.cumsum(present) - 1                               # respondents numbered in (block, id) order
    size = present.reshape(n_blocks, n_r).sum(axis=1).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    rpos = rank[key] - first[block]                             # position of the row's respondent in its block
    K = 2 * n_questions
    width = n_communes * K
    if int(size.sum()) * width * 8 > _JOINT_BYTES:
        raise ValueError(
            f"table 'officials': {int(size.sum()):,} respondents (distinct ballot_id per group) × {n_communes:,} "
            f"communes is too large for the joint bootstrap ({int(size.sum()) * width * 8 / 2**30:.1f} GiB); it "
            "assumes the same respondents rate every commune (the same ballot_id on each commune's row). If each "
            "commune has its own respondents, run with officials_joint=False")
    stats = []
    for b in range(n_blocks):
        m = block == b
        n = max(int(size[b]), 1) * width
        flat = (rpos[m] * n_communes + commune[m]) * K + question[m]
        st = np.bincount(flat, weights=answered[m], minlength=n)
        st += np.bincount(flat + n_questions, weights=weight[m], minlength=n)
        stats.append(st.reshape(-1, width))
    return _JointDesign(n_communes, K, size, stats)


def _design(keys: pd.DataFrame, stats: np.ndarray, n_communes: int, n_blocks: int) -> _Design:
    """``keys``: one row per ballot with integer columns commune, block, stratum (already sorted by
    block, commune, stratum); ``stats``: (N, K)."""
    com = keys["commune"].to_numpy(np.int64)
    blk = keys["block"].to_numpy(np.int64)
    pos = keys.groupby(["block", "commune"], sort=False).cumcount().to_numpy(np.int64)
    grp = keys.groupby(["block", "commune", "stratum"], sort=False)
    size = grp["commune"].transform("size").to_numpy(np.int64)
    start = pos - grp.cumcount().to_numpy(np.int64)
    padded = []
    k = stats.shape[1]
    for b in range(n_blocks):
        m = blk == b
        lb = int(pos[m].max()) + 1 if m.any() else 1
        arr = np.zeros((n_communes, lb, k))
        arr[com[m], pos[m]] = stats[m]
        padded.append(arr)
    return _Design(n_communes, blk, com, start, size, padded)


# ------------------------------------------------------------------------------------------------
# Preparation of the inputs
# ------------------------------------------------------------------------------------------------
def _lut(values: pd.Series, mapping: dict, missing):
    """``mapping[v]`` for each value (``missing`` when absent), through a factorisation of the column
    (fast on long text columns: the dictionary is consulted once per distinct value)."""
    k, uniq = pd.factorize(values, use_na_sentinel=True)
    dtype = np.int64 if isinstance(missing, int) else float
    lut = np.array([mapping.get(u, missing) for u in uniq] + [missing], dtype=dtype)
    return lut[k]          # k = −1 (missing value) picks the trailing ``missing``


def _require(df: pd.DataFrame, name: str, cols: list[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks column(s) {missing}; expected at least {cols}")


@dataclass
class _Prep:
    codes: np.ndarray            # (C,) commune codes, published order
    fields: list[str]            # field codes
    W: np.ndarray                # (F,) nominal field points
    A: np.ndarray                # (C, F) appraisal points
    AM: np.ndarray               # (C, F) appraisal max
    offset: np.ndarray           # (C,) bonus − deduction
    pub_index: np.ndarray        # (C,) published index %
    pub_rank: np.ndarray         # (C,) published rank
    q_points: np.ndarray         # (Q,) officials leaf points
    q_field: np.ndarray          # (Q, F) 0/1 map of officials leaves to fields
    off: _Design | _JointDesign | None
    n_groups: int
    groups: list[str]            # officials' group codes, block order
    s_points: float              # satisfaction leaf points (0 if none)
    s_field: int                 # field index of the satisfaction leaf
    sat: _Design | None
    n_factors: int
    pub_equal_groups: bool       # officials: published with equal-weight groups
    base_index: np.ndarray = None  # (C,) nominal recomputation


def _prepare(meth: Methodology, leaf_scores: pd.DataFrame, officials: pd.DataFrame,
             satisfaction: pd.DataFrame, results: pd.DataFrame, decimals: int,
             officials_joint: bool = True) -> _Prep:
    """Inputs as arrays; the officials' design is joint (respondents resampled once for all
    communes) or per commune according to ``officials_joint``."""
    _require(results, "results", ["commune_code", "index_pct", "rank", "bonus", "deduction"])
    _require(leaf_scores, "leaf_scores", ["commune_code", "code", "field_code", "source", "max_points", "points"])
    _require(officials, "officials", ["ballot_id", "group", "commune_code", "question", "answer"])
    _require(satisfaction, "satisfaction", ["ballot_id", "commune_code", "procedure_field", "question", "answer"])
    if results["commune_code"].duplicated().any():
        dup = results.loc[results["commune_code"].duplicated(), "commune_code"].tolist()
        raise ValueError(f"table 'results': commune_code {dup} appears more than once")
    idx = results["index_pct"].astype(float)
    if not np.isfinite(idx).all():
        bad = results.loc[~np.isfinite(idx), "commune_code"].tolist()
        raise ValueError(f"table 'results': index_pct of commune(s) {bad} is missing; robustness needs every index")
    codes = results["commune_code"].astype(str).to_numpy()
    cpos = pd.Series(np.arange(len(codes)), index=codes)
    C = len(codes)
    fields = [f.code for f in meth.fields]
    fpos = {f: i for i, f in enumerate(fields)}
    F = len(fields)

    ls = leaf_scores[leaf_scores["commune_code"].astype(str).isin(cpos.index)]
    unknown = set(leaf_scores["commune_code"].astype(str)) - set(codes)
    if unknown:
        raise ValueError(f"table 'leaf_scores' has commune(s) {sorted(unknown)[:10]} that are not in 'results'")
    app = ls[ls["source"] == "appraisal"]
    ci = cpos[app["commune_code"].astype(str)].to_numpy()
    fi = app["field_code"].map(fpos)
    if fi.isna().any():
        raise ValueError(f"table 'leaf_scores': field_code {sorted(set(app.loc[fi.isna(), 'field_code']))} "
                         "is not a field of the methodology")
    fi = fi.to_numpy(np.int64)
    A = np.zeros((C, F))
    AM = np.zeros((C, F))
    np.add.at(A, (ci, fi), app["points"].astype(float).to_numpy())
    np.add.at(AM, (ci, fi), app["max_points"].astype(float).to_numpy())

    leaves = meth.leaves()
    # --- officials' survey -------------------------------------------------------------------
    ql = leaves[leaves.source == "officials_survey"].reset_index(drop=True)
    qpos = {q: i for i, q in enumerate(ql["code"])}
    Q = len(ql)
    q_field = np.zeros((Q, F))
    q_field[np.arange(Q), ql["field_code"].map(fpos).to_numpy(np.int64)] = 1.0
    groups = [g.code for g in meth.officials_survey.groups]
    cmap = {c: i for i, c in enumerate(codes)}
    off_design = None
    oq, oc = _lut(officials["question"], qpos, -1), _lut(officials["commune_code"], cmap, -1)
    keep = (oq >= 0) & (oc >= 0)
    if Q and keep.any():
        o = officials[keep]
        oq, oc = oq[keep], oc[keep]
        gk, guniq = pd.factorize(o["group"].astype(str))
        groups = groups + sorted(set(guniq) - set(groups))
        block = _lut(pd.Series(guniq), {g: i for i, g in enumerate(groups)}, -1)[gk]
        w = _lut(o["answer"], meth.officials_survey.answer_weights, np.nan)
        bk, buniq = pd.factorize(o["ballot_id"].astype(str), sort=True)
        if officials_joint:
            # Respondent = ballot id within group, the same id across communes.
            off_design = _joint_design(block, bk, oc, oq, (~np.isnan(w)).astype(float), np.nan_to_num(w),
                                       C, len(groups), Q)
        else:
            nb = max(len(buniq), 1)
            uniq, row = np.unique((block * C + oc) * nb + bk, return_inverse=True)
            ballots = pd.DataFrame({"block": uniq // (C * nb), "commune": (uniq // nb) % C, "stratum": 0})
            stats = np.zeros((len(ballots), 2 * Q))
            np.add.at(stats, (row, oq), ~np.isnan(w))
            np.add.at(stats, (row, Q + oq), np.nan_to_num(w))
            off_design = _design(ballots, stats, C, len(groups))

    # --- satisfaction survey -----------------------------------------------------------------
    sl = leaves[leaves.source == "satisfaction_survey"]
    sv = meth.satisfaction_survey
    fac = {f.code: i for i, f in enumerate(sv.factors)}
    qfac = {q.code: i for i, f in enumerate(sv.factors) for q in f.questions}
    K = len(fac)
    sat_design = None
    s_points, s_field = 0.0, 0
    if len(sl):
        s_points = float(sl["points"].iloc[0])
        s_field = fpos[sl["field_code"].iloc[0]]
        k, sc = _lut(satisfaction["question"], qfac, -1), _lut(satisfaction["commune_code"], cmap, -1)
        keep = (k >= 0) & (sc >= 0)
        if keep.any():
            s = satisfaction[keep]
            k, sc = k[keep], sc[keep]
            a = s["answer"].astype("Float64")
            valid = a.notna().to_numpy()
            av = a.fillna(0).to_numpy(float)
            wt = s["weight"].astype(float).to_numpy() if "weight" in s.columns else np.ones(len(s))
            wv = np.where(valid, wt, 0.0)
            pos_ = np.isin(av, sv.positive_answers) & valid
            resc = (av - sv.scale.min) / (sv.scale.max - sv.scale.min)
            bk, buniq = pd.factorize(s["ballot_id"].astype(str), sort=True)
            pk, _ = pd.factorize(s["procedure_field"].astype(str), sort=True)
            nb, npf = max(len(buniq), 1), int(pk.max()) + 1
            # One procedure field per ballot (that of its first row) defines its stratum.
            ub, first, inv = np.unique(sc * nb + bk, return_index=True, return_inverse=True)
            pf = pk[first]
            order = np.argsort((ub // nb * npf + pf) * nb + ub % nb, kind="stable")
            row = np.empty(len(ub), dtype=np.int64)
            row[order] = np.arange(len(ub))
            row = row[inv]
            ballots = pd.DataFrame({"block": 0, "commune": (ub // nb)[order], "stratum": pf[order]})
            stats = np.zeros((len(ballots), 3 * K))
            np.add.at(stats, (row, k), wv)
            np.add.at(stats, (row, K + k), wv * pos_)
            np.add.at(stats, (row, 2 * K + k), wv * resc)
            sat_design = _design(ballots, stats, C, 1)

    rk = results["rank"].to_numpy()
    prep = _Prep(codes=codes, fields=fields, W=np.array([f.points for f in meth.fields], float), A=A, AM=AM,
                 offset=(results["bonus"].astype(float) - results["deduction"].astype(float)).to_numpy(),
                 pub_index=idx.to_numpy(), pub_rank=rk.astype(np.int64),
                 q_points=ql["points"].to_numpy(float), q_field=q_field, off=off_design, n_groups=len(groups),
                 groups=list(groups),
                 s_points=s_points, s_field=s_field, sat=sat_design, n_factors=K, pub_equal_groups=False)
    _check_published(prep, ls, ql, sl, decimals)
    return prep


def _check_published(prep: _Prep, ls: pd.DataFrame, ql: pd.DataFrame, sl: pd.DataFrame, decimals: int) -> None:
    """Detect the published officials' option and check that the tables reproduce the published
    leaf scores, index and ranking."""
    C = len(prep.codes)
    cpos = pd.Series(np.arange(C), index=prep.codes)
    # Officials' leaves.
    if len(ql):
        qcodes = ql["code"].tolist()
        pub = np.zeros((C, len(qcodes)))
        o = ls[ls["source"] == "officials_survey"]
        qpos = {q: i for i, q in enumerate(qcodes)}
        np.add.at(pub, (cpos[o["commune_code"].astype(str)].to_numpy(), o["code"].map(qpos).to_numpy(np.int64)),
                  o["points"].astype(float).to_numpy())
        sums = prep.off.original_sums() if prep.off is not None else None
        diffs = {}
        for equal in (False, True):
            pts = _officials_points(prep, sums, equal)[:, 0, :] if sums else np.zeros_like(pub)
            diffs[equal] = np.abs(pts - pub)
        if diffs[False].max(initial=0) <= _CHECK_TOL:
            prep.pub_equal_groups = False
        elif diffs[True].max(initial=0) <= _CHECK_TOL:
            prep.pub_equal_groups = True
        else:
            c, q = np.unravel_index(np.argmax(diffs[False]), pub.shape)
            pts = _officials_points(prep, sums, False)[c, 0, q] if sums else 0.0
            raise ValueError(
                f"table 'officials' does not reproduce 'leaf_scores': commune {prep.codes[c]}, question "
                f"{qcodes[q]} scores {pts:.6g} from the ballots (pooled groups) but {pub[c, q]:.6g} in leaf_scores "
                "(and the equal-weight-groups option does not match either); pass the tables of the same run")
    # Satisfaction leaf.
    if len(sl):
        s = ls[ls["source"] == "satisfaction_survey"]
        pub = np.zeros(C)
        np.add.at(pub, cpos[s["commune_code"].astype(str)].to_numpy(), s["points"].astype(float).to_numpy())
        pts = _sipas(prep, prep.sat.original_sums() if prep.sat else None, mean_score=False)[0][:, 0]
        d = np.abs(pts - pub)
        if d.max(initial=0) > _CHECK_TOL:
            c = int(np.argmax(d))
            raise ValueError(
                f"table 'satisfaction' does not reproduce 'leaf_scores': commune {prep.codes[c]} has SIPAS points "
                f"{pts[c]:.6g} from the ballots but {pub[c]:.6g} in leaf_scores; pass the tables of the same run")
    # Whole index and ranking.
    bits = np.array([[prep.pub_equal_groups, False, False]])
    base = _index(prep, np.ones((1, len(prep.fields))), bits, np.zeros(1, dtype=np.int64), _original_arrays(prep),
                  anchor=False)[0]
    d = np.abs(base - prep.pub_index)
    if d.max(initial=0) > _CHECK_TOL:
        c = int(np.argmax(d))
        raise ValueError(
            f"table 'results': index_pct of commune {prep.codes[c]} is {prep.pub_index[c]:.6g} but leaf_scores and "
            f"bonus − deduction give {base[c]:.6g}; pass the tables of the same scoring run")
    prep.base_index = base
    rk = rank_rows(prep.pub_index[None, :], decimals)[0]
    if not np.array_equal(rk, prep.pub_rank):
        c = int(np.argmax(rk != prep.pub_rank))
        raise ValueError(
            f"table 'results': rank of commune {prep.codes[c]} is {prep.pub_rank[c]} but ranking index_pct at "
            f"{decimals} decimals gives {rk[c]}; set rank_decimals to the precision used for publication")


# ------------------------------------------------------------------------------------------------
# Model: survey arrays and index for a block of draws
# ------------------------------------------------------------------------------------------------
def _officials_points(prep: _Prep, sums: list[np.ndarray] | None, equal: bool) -> np.ndarray:
    """Officials' points per commune × replicate × question (0 where no valid answer)."""
    Q = len(prep.q_points)
    n = [s[..., :Q] for s in sums]
    w = [s[..., Q:] for s in sums]
    with np.errstate(invalid="ignore", divide="ignore"):
        if equal:
            has = [ng > 0 for ng in n]
            total = sum(np.where(h, wg / np.where(h, ng, 1.0), 0.0) for h, ng, wg in zip(has, n, w))
            k = sum(h.astype(np.int64) for h in has)
            mean = total / np.maximum(k, 1)
        else:
            nt = sum(n)
            mean = np.where(nt > 0, sum(w) / np.where(nt > 0, nt, 1.0), 0.0)
    return mean * prep.q_points


def _sipas(prep: _Prep, sums: list[np.ndarray] | None, mean_score: bool) -> tuple[np.ndarray, np.ndarray]:
    """SIPAS points and maximum per commune × replicate."""
    if sums is None:
        z = np.zeros((len(prep.codes), 1))
        return z, z
    K = prep.n_factors
    s = sums[0]
    W = s[..., :K]
    num = s[..., 2 * K:3 * K] if mean_score else s[..., K:2 * K]
    has = W > 0
    idx = np.where(has, num / np.where(has, W, 1.0), 0.0)
    k = has.sum(axis=-1)
    sipas = np.where(k > 0, idx.sum(axis=-1) / np.maximum(k, 1), 0.0)
    return sipas * prep.s_points, (k > 0) * prep.s_points


def _survey_arrays(prep: _Prep, off_sums: list[np.ndarray] | None, sat_sums: list[np.ndarray] | None
                   ) -> dict[str, np.ndarray]:
    """Points per replicate × commune (× field) for both options of each survey rule.

    ``PA`` (2R, C, F): appraisal + officials' points per field, officials pooled over groups (rows
    0..R-1) then equal-weight groups; ``MA`` (R, C, F): their applicable maximum; ``S`` (2R, C): SIPAS
    points, share of positive answers then rescaled mean; ``SM`` (R, C): SIPAS maximum. Sums are
    (C, R, K) as from :class:`_Design`."""
    C, F = prep.A.shape
    R = (off_sums or sat_sums or [np.zeros((C, 1, 0))])[0].shape[1]
    if off_sums is not None:
        Q = len(prep.q_points)
        pooled = _officials_points(prep, off_sums, False) @ prep.q_field
        equal = _officials_points(prep, off_sums, True) @ prep.q_field
        appl = (sum(s[..., :Q] for s in off_sums) > 0) * prep.q_points
        PA = np.concatenate([pooled.transpose(1, 0, 2), equal.transpose(1, 0, 2)]) + prep.A
        MA = (appl @ prep.q_field).transpose(1, 0, 2) + prep.AM
    else:
        PA = np.broadcast_to(prep.A, (2 * R, C, F))
        MA = np.broadcast_to(prep.AM, (R, C, F))
    share, SM = _sipas(prep, sat_sums, False)
    mean, _ = _sipas(prep, sat_sums, True)
    S = np.concatenate([np.broadcast_to(share.T, (R, C)), np.broadcast_to(mean.T, (R, C))])
    return dict(PA=np.ascontiguousarray(PA), MA=np.ascontiguousarray(MA), S=S,
                SM=np.ascontiguousarray(np.broadcast_to(SM.T, (R, C))))


def _original_arrays(prep: _Prep) -> dict[str, np.ndarray]:
    """Survey arrays of the ballots as collected (one replicate)."""
    return _survey_arrays(prep, prep.off.original_sums() if prep.off else None,
                          prep.sat.original_sums() if prep.sat else None)


def _index(prep: _Prep, lam: np.ndarray, bits: np.ndarray, rep: np.ndarray, surv: dict[str, np.ndarray],
           anchor: bool = True) -> np.ndarray:
    """Index % per draw × commune (R, C).

    ``lam`` (R, F): weight multipliers; ``bits`` (R, 3): rule options (officials equal groups,
    satisfaction mean score, geometric aggregation); ``rep`` (R,): the replicate of ``surv`` (a pool
    from :func:`_survey_arrays`) each draw uses."""
    B = surv["MA"].shape[0]
    eq, mean_score, geo = bits[:, 0], bits[:, 1], bits[:, 2]
    sf = prep.s_field
    P = surv["PA"][rep + B * eq]                  # (R, C, F), SIPAS not yet added
    M = surv["MA"][rep]
    s = surv["S"][rep + B * mean_score]           # (R, C)
    sm = surv["SM"][rep]
    lam = np.ascontiguousarray(lam, dtype=float)
    ls = lam[:, sf, None]
    num = np.matmul(P, lam[:, :, None])[..., 0] + ls * s
    den = np.matmul(M, lam[:, :, None])[..., 0] + ls * sm
    with np.errstate(invalid="ignore", divide="ignore"):
        off = prep.offset / den
        value = (num / den + off) * 100.0
        if geo.any():
            g = np.flatnonzero(geo)
            Pg, Mg = P[g], M[g]
            Pg[..., sf] += s[g]
            Mg[..., sf] += sm[g]
            has = Mg > 0
            logr = np.log(np.maximum(np.where(has, Pg / np.where(has, Mg, 1.0), 1.0), 1e-300))
            lm = lam[g, None, :] * Mg
            value[g] = (np.exp(np.matmul(lm[..., None, :], logr[..., None])[..., 0, 0] / den[g]) + off[g]) * 100.0
    if anchor:
        d = value - prep.base_index
        value = prep.pub_index + np.where(np.abs(d) <= _ZERO_DIFF, 0.0, d)
    return value


# ------------------------------------------------------------------------------------------------
# Random draws, block by block
# ------------------------------------------------------------------------------------------------
class _Draws:
    """Random choices from independent streams, one per source and block of draws, and the pool of
    bootstrap replicates the draws pick from."""

    def __init__(self, prep: _Prep, params: RobustnessParams):
        self.prep, self.p = prep, params
        if prep.off is not None and isinstance(prep.off, _JointDesign) != bool(params.officials_joint):
            raise ValueError("the officials' design was prepared with officials_joint="
                             f"{isinstance(prep.off, _JointDesign)} but the parameters say {params.officials_joint}")
        C, F = prep.A.shape
        self.block = int(max(1, min(_MAX_BLOCK, _BLOCK_ELEMS // (C * F))))   # draws per block
        self.pub_bits = np.array([prep.pub_equal_groups, False, False])
        self.pool, self.n_replicates = self._build_pool()

    def _rng(self, stream: int, k: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(int(self.p.seed), spawn_key=(stream, k)))

    def _build_pool(self) -> tuple[dict[str, np.ndarray], int]:
        prep = self.prep
        if not self.p.sampling or (prep.off is None and prep.sat is None):
            return _original_arrays(prep), 1
        C, F = prep.A.shape
        per_rep = (3 * F + 3) * C * 8
        n_rep = int(max(1, min(int(self.p.n_replicates), _POOL_BYTES // per_rep)))
        n_o = prep.off.n_slots if prep.off else 0
        n_s = prep.sat.n_slots if prep.sat else 0
        if isinstance(prep.off, _JointDesign):
            # Elements per replicate of the largest intermediates (officials' sums C × K, satisfaction counts
            # ≈ one per ballot); smaller blocks stay in cache and run faster.
            blk = int(max(1, min(_MAX_BLOCK, _POOL_BLOCK_ELEMS // (C * prep.off.n_stats + n_s))))
        else:   # the former sizing, so that officials_joint=False reproduces the former results bit for bit
            blk = int(max(1, min(_MAX_BLOCK, _BLOCK_ELEMS // (n_o + n_s))))
        pool = dict(PA=np.empty((2 * n_rep, C, F)), MA=np.empty((n_rep, C, F)), S=np.empty((2 * n_rep, C)),
                    SM=np.empty((n_rep, C)))
        for k in range(-(-n_rep // blk)):
            lo, hi = k * blk, min((k + 1) * blk, n_rep)
            u = self._rng(_STREAM["pool"], k).random((blk, n_o + n_s), dtype=np.float32)[: hi - lo]
            arr = _survey_arrays(prep, prep.off.bootstrap_sums(u[:, :n_o]) if prep.off else None,
                                 prep.sat.bootstrap_sums(u[:, n_o:]) if prep.sat else None)
            m = hi - lo
            for key in ("PA", "S"):
                pool[key][lo:hi], pool[key][n_rep + lo:n_rep + hi] = arr[key][:m], arr[key][m:]
            pool["MA"][lo:hi], pool["SM"][lo:hi] = arr["MA"], arr["SM"]
        return pool, n_rep

    def weights(self, k: int) -> np.ndarray:
        """Weight multipliers λ_f = w_f / W_f of the draws of block k, (block, F)."""
        F = len(self.prep.fields)
        if "weights" not in self.p.sources_on():
            return np.ones((self.block, F))
        rng = self._rng(_STREAM["weights"], k)
        W = self.prep.W
        s = float(self.p.weight_spread)
        scale = W.sum()
        if self.p.weight_dist == "uniform":
            w = W * (1.0 + s * rng.uniform(-1.0, 1.0, size=(self.block, F)))
        else:
            kappa = 3.0 * (F - 1) / s ** 2 - 1.0
            w = rng.dirichlet(np.maximum(kappa * W / scale, 1e-9), size=self.block) * scale
        w = w / w.sum(axis=1, keepdims=True) * scale
        return np.where(W > 0, w / np.where(W > 0, W, 1.0), 1.0)

    def rules(self, k: int) -> np.ndarray:
        if not self.p.rules:
            return np.broadcast_to(self.pub_bits, (self.block, 3)).copy()
        return self._rng(_STREAM["rules"], k).integers(0, 2, size=(self.block, 3)).astype(bool)

    def replicates(self, k: int) -> np.ndarray:
        if self.n_replicates == 1:
            return np.zeros(self.block, dtype=np.int64)
        return self._rng(_STREAM["sampling"], k).integers(0, self.n_replicates, size=self.block)


# ------------------------------------------------------------------------------------------------
# Main entry point
# ------------------------------------------------------------------------------------------------
def run_robustness(meth: Methodology, leaf_scores: pd.DataFrame, officials: pd.DataFrame,
                   satisfaction: pd.DataFrame, results: pd.DataFrame,
                   params: RobustnessParams = RobustnessParams()) -> RobustnessResult:
    """Monte Carlo + Sobol robustness of the published ranking (see the module docstring)."""
    params.validate()
    dec = int(params.rank_decimals)
    prep = _prepare(meth, leaf_scores, officials, satisfaction, results, dec,
                    officials_joint=bool(params.officials_joint))
    draws = _Draws(prep, params)
    C = len(prep.codes)
    n = int(params.n_draws)
    n2 = 2 * n
    nb = len(meth.bands)
    do_outrank = C <= int(params.outrank_max_communes)

    rank_dtype = np.int16 if C < np.iinfo(np.int16).max else np.int32
    ranks_all = np.empty((n2, C), dtype=rank_dtype)
    acc = {h: dict(band=np.zeros((C, nb), np.int64), shift=np.zeros(C, np.int64), top=np.zeros(C, np.int64),
                   out=np.zeros((C, C), np.int64) if do_outrank else None) for h in (0, 1)}
    B = draws.block
    for k in range(-(-n2 // B)):
        lo, hi = k * B, min((k + 1) * B, n2)
        m = hi - lo
        val = _index(prep, draws.weights(k)[:m], draws.rules(k)[:m], draws.replicates(k)[:m], draws.pool)
        rk = rank_rows(val, dec)
        bi = band_index(val, meth, dec)
        ranks_all[lo:hi] = rk
        cut = max(0, min(m, n - lo))            # rows [0, cut) belong to the first n draws
        for h, sl in ((0, slice(0, cut)), (1, slice(cut, m))):
            r, b = rk[sl], bi[sl]
            if len(r) == 0:
                continue
            a = acc[h]
            a["band"] += np.bincount((np.arange(C) * nb + b).ravel(), minlength=C * nb).reshape(C, nb)
            a["shift"] += np.abs(r - prep.pub_rank).sum(axis=0)
            a["top"] += (r <= params.top_k).sum(axis=0)
            if do_outrank:
                _outrank_counts(r, a["out"])

    stats_n = _stats(ranks_all[:n], acc[0], n, meth, do_outrank)
    tot = {key: (acc[0][key] + acc[1][key]) if acc[0][key] is not None else None for key in acc[0]}
    stats_2n = _stats(ranks_all, tot, n2, meth, do_outrank)

    names = results.set_index(results["commune_code"].astype(str))
    front = pd.DataFrame({"commune_code": pd.array(prep.codes, dtype="str")})
    if "commune_name" in results.columns:
        front["commune_name"] = pd.array(names.loc[prep.codes, "commune_name"].astype(str).to_numpy(), dtype="str")
    front["rank"] = prep.pub_rank
    front["index_pct"] = prep.pub_index
    if "band" in results.columns:
        front["band"] = pd.array(names.loc[prep.codes, "band"].astype(str).to_numpy(), dtype="str")
    per_commune = pd.concat([front, stats_n["per_commune"]], axis=1)

    idx = pd.Index(prep.codes, name="commune_code", dtype="str")
    outrank = (pd.DataFrame(stats_n["outrank"], index=idx, columns=pd.Index(prep.codes, dtype="str"))
               if do_outrank else pd.DataFrame(index=idx[:0]))

    on = params.sources_on()
    sob = _sobol(prep, draws, params, on)
    conv = _convergence(stats_n, stats_2n, prep, meth)
    loo = _leave_one_out(prep, dec)
    summary = dict(
        n_draws=n, n_draws_convergence=n2, seed=int(params.seed), sources_on=on,
        weight_dist=params.weight_dist if "weights" in on else None,
        weight_spread=float(params.weight_spread) if "weights" in on else None,
        mean_abs_rank_shift=float(per_commune["mean_abs_shift"].mean()),
        n_communes=C, top_k=int(params.top_k), rank_decimals=dec, quantile_method=QUANTILE_METHOD,
        officials_groups_published="equal" if prep.pub_equal_groups else "pooled",
        bootstrap_replicates=draws.n_replicates if params.sampling else 0,
        sampling_design=(("stratified bootstrap: officials' respondents within respondent group, drawn once for "
                          "all communes; " if params.officials_joint else
                          "stratified bootstrap: officials' ballots within respondent group, per commune; ")
                         + "satisfaction ballots within procedure field, per commune"),
        officials_resampling="joint" if params.officials_joint else "per_commune",
        **_respondent_summary(prep),
        sobol_n=int(params.sobol_n), sobol_runs=int(params.sobol_n) * (len(on) + 2) if on else 0,
        sobol_output="mean absolute rank shift against the published ranking",
        outrank_computed=bool(do_outrank),
        methodology_id=meth.meta.id, methodology_sha256=meth.sha256,
    )
    if params.sampling and draws.n_replicates < int(params.n_replicates):
        summary["note_replicates"] = (f"the bootstrap pool was limited to {draws.n_replicates} replicates "
                                      f"by memory ({C} communes)")
    if not do_outrank:
        summary["note_outrank"] = (f"{C} communes exceed outrank_max_communes={params.outrank_max_communes}: "
                                   "the outranking matrix was not computed")
    if len(sob) and sob["S1"].isna().all():
        summary["note_sobol"] = "the mean absolute rank shift does not vary: Sobol indices are undefined"
    return RobustnessResult(per_commune=per_commune, outrank=outrank, leave_one_out=loo, sobol=sob,
                            convergence=conv, summary=summary)


def _respondent_summary(prep: _Prep) -> dict:
    """Officials' respondents per group and communes rated per respondent (joint design only)."""
    if not isinstance(prep.off, _JointDesign):
        return {}
    rated = prep.off.communes_rated()
    if len(rated) == 0:
        rated = np.zeros(1, dtype=np.int64)
    return dict(officials_respondents={g: int(n) for g, n in zip(prep.groups, prep.off.size.tolist()) if n},
                officials_communes_per_respondent=dict(min=int(rated.min()), mean=float(rated.mean()),
                                                       max=int(rated.max())))


def _outrank_counts(r: np.ndarray, out: np.ndarray) -> None:
    """Add, for every pair (i, j), the number of draws (rows of r) in which i ranks strictly better."""
    C = r.shape[1]
    step = int(min(255, max(1, 16_000_000 // max(C * C, 1))))   # counts of ≤ 255 draws fit in uint8
    for lo in range(0, len(r), step):
        x = r[lo:lo + step]
        out += np.add.reduce((x[:, :, None] < x[:, None, :]).view(np.uint8), axis=0, dtype=np.uint8)


def _stats(ranks: np.ndarray, acc: dict, n: int, meth: Methodology, do_outrank: bool) -> dict:
    C = ranks.shape[1]
    q = np.empty((3, C))
    step = max(1, 50_000_000 // max(n, 1))
    for lo in range(0, C, step):
        q[:, lo:lo + step] = np.quantile(ranks[:, lo:lo + step], [0.5, 0.05, 0.95], axis=0, method=QUANTILE_METHOD)
    per = pd.DataFrame({"rank_median": q[0], "rank_p05": q[1], "rank_p95": q[2]})
    for i, b in enumerate(meth.bands):
        per[f"p_band_{b.code}"] = acc["band"][:, i] / n
    per["p_top_k"] = acc["top"] / n
    per["mean_abs_shift"] = acc["shift"] / n
    return dict(per_commune=per, outrank=acc["out"] / n if do_outrank else None)


def _convergence(s1: dict, s2: dict, prep: _Prep, meth: Methodology) -> pd.DataFrame:
    """Key statistics at n and 2n draws: overall values, then for each per-commune statistic the
    commune whose value changed most."""
    a, b = s1["per_commune"], s2["per_commune"]
    rows = [
        dict(statistic="mean_abs_shift_overall", commune_code="", value_n=a["mean_abs_shift"].mean(),
             value_2n=b["mean_abs_shift"].mean()),
        dict(statistic="mean_rank_interval_width", commune_code="",
             value_n=(a["rank_p95"] - a["rank_p05"]).mean(), value_2n=(b["rank_p95"] - b["rank_p05"]).mean()),
    ]
    cols = ["rank_median", "rank_p05", "rank_p95"] + [f"p_band_{x.code}" for x in meth.bands] + [
        "p_top_k", "mean_abs_shift"]
    for c in cols:
        i = int(np.argmax((b[c] - a[c]).abs().to_numpy()))
        rows.append(dict(statistic=f"{c} (largest change)", commune_code=str(prep.codes[i]),
                         value_n=float(a[c].iloc[i]), value_2n=float(b[c].iloc[i])))
    if s1["outrank"] is not None:
        i, j = np.unravel_index(int(np.argmax(np.abs(s2["outrank"] - s1["outrank"]))), s1["outrank"].shape)
        rows.append(dict(statistic=f"outrank vs {prep.codes[j]} (largest change)", commune_code=str(prep.codes[i]),
                         value_n=float(s1["outrank"][i, j]), value_2n=float(s2["outrank"][i, j])))
    out = pd.DataFrame(rows)
    out["change"] = out["value_2n"] - out["value_n"]
    return out


def _leave_one_out(prep: _Prep, dec: int) -> pd.DataFrame:
    """Rank of each commune when one field is left out (nominal weights, rules and ballots)."""
    F = len(prep.fields)
    lam = np.ones((F, F)) - np.eye(F)          # row f: field f weighted 0
    bits = np.broadcast_to(np.array([prep.pub_equal_groups, False, False]), (F, 3))
    val = _index(prep, lam, bits, np.zeros(F, dtype=np.int64), _original_arrays(prep), anchor=False)
    rk = rank_rows(val, dec)
    out = pd.DataFrame({"commune_code": pd.array(prep.codes, dtype="str"), "rank": prep.pub_rank})
    for i, f in enumerate(prep.fields):
        out[f"rank_without_{f}"] = rk[i]
    return out


def _sobol(prep: _Prep, draws: _Draws, params: RobustnessParams, on: list[str]) -> pd.DataFrame:
    """Sobol indices of the mean absolute rank shift, one grouped factor per source switched on."""
    cols = ["source", "S1", "S1_conf", "ST", "ST_conf"]
    if not on:
        return pd.DataFrame({c: pd.Series(dtype="str" if c == "source" else float) for c in cols})
    P = int(params.sobol_n)
    B = draws.block
    wpool = np.concatenate([draws.weights(k) for k in range(-(-P // B))])[:P]
    F = len(prep.fields)
    dec = int(params.rank_decimals)

    def model(x: np.ndarray) -> np.ndarray:
        r = len(x)
        col = {s: x[:, i] for i, s in enumerate(on)}
        lam = wpool[np.minimum((col["weights"] * P).astype(np.int64), P - 1)] if "weights" in col else np.ones((r, F))
        if "sampling" in col:
            nr = draws.n_replicates
            rep = np.minimum((col["sampling"] * nr).astype(np.int64), nr - 1)
        else:
            rep = np.zeros(r, dtype=np.int64)
        if "rules" in col:
            combo = np.minimum((col["rules"] * 8).astype(np.int64), 7)
            bits = ((combo[:, None] >> np.arange(3)) & 1).astype(bool)
        else:
            bits = np.broadcast_to(draws.pub_bits, (r, 3))
        y = np.empty(r)
        for lo in range(0, r, B):
            s = slice(lo, lo + B)
            val = _index(prep, lam[s], bits[s], rep[s], draws.pool)
            y[s] = np.abs(rank_rows(val, dec) - prep.pub_rank).mean(axis=1)
        return y

    seed = int(np.random.SeedSequence(int(params.seed), spawn_key=(_STREAM["sobol"],)).generate_state(1)[0])
    return sobol_indices(model, on, P, seed, num_resamples=int(params.sobol_resamples))
