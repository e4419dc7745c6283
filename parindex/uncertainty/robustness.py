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

``offset_c = bonus − deduction`` is taken from the published results and held fixed. Every rule of this
model — mean answer weights, factor indices and SIPAS, field totals, the index, ranks and bands — is the
array function of :mod:`parindex.uncertainty.rules`, the one the survey intervals use as well.

Sources of uncertainty (each switchable in :class:`parindex.params.Robustness`)
--------------------------------------------------------------------------------
* **weights** — each field's share perturbed, ``w_f = W_f (1 + s U)``, ``U ~ U(−1, 1)``, ``s`` =
  ``weight_spread``, renormalised to the scale (100). With ``weight_dist="dirichlet"``:
  ``w ~ 100 · Dirichlet(κ W / 100)`` with ``κ = 3 (F − 1) / s² − 1``, so that a field of average share has
  the same coefficient of variation as under the uniform (s / √3). ``s = 0`` (allowed by the run
  parameters) fixes the weights: the source is then off, in the draws and in the Sobol factors.
* **sampling** — stratified bootstrap of both surveys, mirroring how each was drawn, with the bootstrap
  engine of :mod:`parindex.uncertainty.bootstrap` (``compact`` layout):

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
    respondent group (the strata of the survey intervals).
  - *satisfaction survey* — different citizens in each commune: the ballots of each commune are
    resampled within each procedure field (the plan allocates the 50 ballots across fields).

  Mean answer weights per question, factor indices and SIPAS are recomputed. A question that gets no
  valid answer in a replicate leaves points and maximum, as the scoring rule says. The bootstrap is
  computed once as a pool of ``n_replicates`` replicates (default 2,000, capped by memory for very
  large inputs; the cap is reported) and each draw picks one replicate at random, independently of
  its weights and rules — the pool is the bootstrap's own resolution, the draws combine it with the
  other sources.
* **rules** — the named rule alternatives of :mod:`parindex.uncertainty.alternatives`
  (``robustness.alternatives``: officials' groups pooled or equal-weight, a satisfaction factor's index
  as the share of positive answers or the rescaled mean ``(mean − 1) / 4``, arithmetic or geometric
  aggregation across fields). Each draw picks one combination of the listed options uniformly, i.e. one
  option per alternative, each equally likely.
* **leave one field out** — reported separately (``leave_one_out``), not part of the Monte Carlo.

Which option of each alternative the published results used is detected: the survey tables must
reproduce the published leaf scores and index under one of them (else a ``ValueError`` says where they
differ); an option the caller declares (``published=``, e.g. ``survey.group_weighting``) is checked.

Everything is vectorised over draws × communes, block by block (bounded memory): the satisfaction
ballots of all communes are laid out in padded arrays (communes × ballots × statistics) and a block
of bootstrap replicates is a matrix of resampling counts (communes × replicates × ballots) built with
one ``bincount`` from the engine's draws and turned into survey sums with one batched matrix product.
The officials' answers are laid out per respondent group as a respondents × (communes · statistics)
matrix (zero where a respondent has no ballot for a commune); a block of replicates is a replicates ×
respondents count matrix (one ``bincount``) and the sums of every commune come from one matrix product
per group — no loop over communes or replicates, and the counts take R × 46 numbers instead of
C × R × 46. The per-commune design of ``officials_joint=False`` uses the padded layout of the
satisfaction survey. The pool keeps, per replicate, the survey points under every option of the rule
alternatives that act on the surveys. The index of a block of draws is a gather from the pool plus
batched matrix-vector products; ranks come from one ``argsort`` per block; the outranking counts from
one broadcast comparison. Random numbers come from independent streams per source and block
(``SeedSequence(seed, spawn_key=(source, block))``; the bootstrap pool from one stream per survey), so
the results depend only on the inputs and the parameters, and the first *n* draws of a run with *2n*
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
``⌊x R⌋`` of the pool of ``R`` replicates, ``rules`` → combination ``⌊x K⌋`` of the ``K`` combinations
of the listed options (:class:`parindex.uncertainty.alternatives.RuleSpace`). Each source thus acts as one
grouped factor (a discrete uniform index over its realisations), and the model output is the mean
absolute rank shift over all communes against the published ranking. ``SALib.analyze.sobol`` gives the
first-order (S1) and total (ST) indices with bootstrap confidence intervals (95 %).

Convergence: the statistics are recomputed with 2 × ``n_draws`` draws (the first ``n_draws`` are shared)
and the change is reported; the main tables use ``n_draws`` draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample
from threadpoolctl import threadpool_limits

from ..methodology import Methodology
from ..params import Robustness
from ..scoring import lookup as _lut
from . import rules
from .alternatives import ALTERNATIVES, RuleSpace, combinations, part_of
from .bootstrap import StratifiedDesign, block_size

SOURCES_MC = ("weights", "sampling", "rules")
_STREAM = {"weights": 0, "sampling": 1, "rules": 2, "pool": 3, "sobol": 4}
_ZERO_DIFF = 1e-9          # index differences below this (points of %) are float noise
_CHECK_TOL = 1e-6          # recomputed vs published index / leaf scores
_BLOCK_ELEMS = 4_000_000   # elements per block of draws (bounds memory)
_POOL_BYTES = 512 * 2**20  # memory bound of the pool of bootstrap replicates
_POOL_BLOCK_ELEMS = 1_000_000  # elements per block of replicates when building the pool
_JOINT_BYTES = 2 * 2**30   # memory bound of the officials' respondents × communes layout (joint bootstrap)
_MAX_BLOCK = 256
_OUTRANK_CELLS = 1_000_000  # pairwise comparisons per sub-block of the outranking counts (stays in cache)
# BLAS threads during the analysis: its matrix products are many and small (blocks of draws / replicates), and
# multi-threaded OpenBLAS spends more on waking and spinning its threads than it gains — on 2 cores with other
# work running, one thread halves both the CPU and the wall time of the whole analysis.
_BLAS_THREADS = 1
QUANTILE_METHOD = "linear"


def sources_on(params: Robustness) -> list[str]:
    """Sources of uncertainty that vary: ``weights`` with ``weight_spread`` 0 fixes the weights (as the run
    parameters allow), and ``rules`` varies only when some alternative lists more than one option."""
    on = {"weights": params.weights and params.weight_spread > 0,
          "sampling": params.sampling,
          "rules": params.rules and any(len(getattr(params.alternatives, n)) > 1 for n in ALTERNATIVES)}
    return [s for s in SOURCES_MC if on[s]]


def rule_space(params: Robustness, published: dict[str, str]) -> RuleSpace:
    """The rule combinations of the draws: per alternative the listed options (registry order), or the
    published option alone when ``rules`` is off or the list is empty. The published option must be listed."""
    options = {}
    for name, alt in ALTERNATIVES.items():
        listed = list(getattr(params.alternatives, name))
        if not params.rules or not listed:
            options[name] = (published[name],)
            continue
        if published[name] not in listed:
            raise ValueError(
                f"robustness.alternatives.{name} lists {listed} but the published results use {published[name]!r}: "
                "the draws vary the rules around the published ones, so list the published option too (or leave "
                "the list empty to hold the alternative at it)")
        options[name] = tuple(o for o in alt.options if o in listed)
    return RuleSpace(options, published)


# ------------------------------------------------------------------------------------------------
# Result
# ------------------------------------------------------------------------------------------------
@dataclass
class RobustnessResult:
    per_commune: pd.DataFrame
    outrank: pd.DataFrame
    leave_one_out: pd.DataFrame
    sobol: pd.DataFrame
    convergence: pd.DataFrame
    summary: dict = field(default_factory=dict)



# ------------------------------------------------------------------------------------------------
# Sobol indices
# ------------------------------------------------------------------------------------------------
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
# Survey layouts: units of the bootstrap engine, statistics summed per commune
# ------------------------------------------------------------------------------------------------
@dataclass
class _CommuneLayout:
    """Ballots of one survey laid out per commune for the bootstrap (satisfaction; officials per commune).

    Ballots are the engine's units, sorted by (block, commune, stratum), and ``design`` has increasing
    stratum codes in that order. ``stats[b]`` is (C, L_b, K): the statistics of the ballots of aggregation
    block ``b`` (officials: respondent group; satisfaction: one block), padded to the largest count per
    commune; ``rowbase`` is, per ballot, the unit number of the first ballot of its (block, commune) row."""
    n_communes: int
    design: StratifiedDesign
    block_of: np.ndarray      # (N,) block of each ballot
    commune_of: np.ndarray    # (N,) commune index
    rowbase: np.ndarray       # (N,) first unit of the ballot's (block, commune) row
    stats: list[np.ndarray]   # per block: (C, L_b, K)

    def __post_init__(self) -> None:
        bounds = np.searchsorted(self.block_of, np.arange(len(self.stats) + 1))
        self._slices = [slice(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]

    @property
    def n_units(self) -> int:
        return len(self.commune_of)

    def original_sums(self) -> np.ndarray:
        """Statistics summed over the ballots actually collected: (blocks, C, 1, K)."""
        return np.stack([s.sum(axis=1, keepdims=True) for s in self.stats])

    def sums(self, drawn: np.ndarray) -> np.ndarray:
        """Sums over a block of replicates. ``drawn``: (R, N) ballots drawn per slot (the engine's compact
        layout; slot i draws a ballot of ballot i's stratum, so of its block and commune). Returns
        (blocks, C, R, K): per block the draw counts (C, R, L_b), one ``bincount``, times the statistics, one
        batched product."""
        r = drawn.shape[0]
        out = np.empty((len(self.stats), self.n_communes, r, self.stats[0].shape[2]))
        for b, (sl, st) in enumerate(zip(self._slices, self.stats)):
            c, lb, _ = st.shape
            off = self.commune_of[sl] * (r * lb) - self.rowbase[sl]
            flat = drawn[:, sl] + off[None, :]
            flat += (np.arange(r) * lb)[:, None]
            counts = np.bincount(flat.ravel(), minlength=c * r * lb).reshape(c, r, lb)
            np.matmul(counts.astype(np.float64), st, out=out[b])
        return out


@dataclass
class _JointLayout:
    """Officials' answers laid out for the joint bootstrap: respondents, not ballots, are the units.

    Each respondent (one ballot id within one respondent group) rates every commune, so a replicate
    draws, within each group (the stratum), as many respondents as the group has, with replacement, once
    for all communes. ``stats[b]`` is (n_b, C · K): the statistics of respondent r of block (group) b for
    commune c at ``[r, c · K : (c + 1) · K]`` — zero where the respondent did not rate the commune or
    the ballot was excluded, so such a respondent contributes nothing there. Respondents are sorted by
    block; ``size[b]`` is the number of respondents of block b."""
    n_communes: int
    n_stats: int              # K
    size: np.ndarray          # (n_blocks,) respondents per block
    stats: list[np.ndarray]   # per block: (max(n_b, 1), C · K)

    def __post_init__(self) -> None:
        self.design = StratifiedDesign(np.repeat(np.arange(len(self.size)), self.size), len(self.size))
        self._first = self.design.start

    @property
    def n_units(self) -> int:
        return int(self.size.sum())

    def communes_rated(self) -> np.ndarray:
        """Number of communes each respondent gave at least one valid answer for (respondent order)."""
        q = self.n_stats // 2
        return np.concatenate([(st.reshape(-1, self.n_communes, self.n_stats)[:n_b, :, :q].sum(axis=2) > 0)
                               .sum(axis=1) for n_b, st in zip(self.size.tolist(), self.stats)]).astype(np.int64)

    def original_sums(self) -> np.ndarray:
        """Statistics summed over all respondents: (blocks, C, 1, K)."""
        return np.stack([s.sum(axis=0).reshape(self.n_communes, 1, self.n_stats) for s in self.stats])

    def sums(self, drawn: np.ndarray) -> np.ndarray:
        """Sums over a block of replicates. ``drawn``: (R, respondents) respondents drawn per slot (compact
        layout; the same draw for every commune). Returns (blocks, C, R, K): per block the counts of each
        respondent (R, n_b) times the respondents' statistics, one matrix product."""
        r = drawn.shape[0]
        out = np.zeros((len(self.stats), self.n_communes, r, self.n_stats))
        for b, (n_b, first, st) in enumerate(zip(self.size.tolist(), self._first.tolist(), self.stats)):
            if n_b == 0:
                continue
            flat = drawn[:, first:first + n_b] + (np.arange(r) * n_b - first)[:, None]
            counts = np.bincount(flat.ravel(), minlength=r * n_b).reshape(r, n_b).astype(np.float64)
            out[b] = (counts @ st).reshape(r, self.n_communes, self.n_stats).transpose(1, 0, 2)
        return out


def _joint_layout(block: np.ndarray, respondent: np.ndarray, commune: np.ndarray, question: np.ndarray,
                  answered: np.ndarray, weight: np.ndarray, n_communes: int, n_blocks: int, n_questions: int
                  ) -> _JointLayout:
    """Officials' answer rows → joint layout. One entry per answer row: ``block`` (group),
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
    return _JointLayout(n_communes, K, size, stats)


def _commune_layout(keys: pd.DataFrame, stats: np.ndarray, n_communes: int, n_blocks: int) -> _CommuneLayout:
    """``keys``: one row per ballot with integer columns commune, block, stratum (already sorted by
    block, commune, stratum); ``stats``: (N, K)."""
    com = keys["commune"].to_numpy(np.int64)
    blk = keys["block"].to_numpy(np.int64)
    pos = keys.groupby(["block", "commune"], sort=False).cumcount().to_numpy(np.int64)
    strata = keys.groupby(["block", "commune", "stratum"], sort=False).ngroup().to_numpy(np.int64)
    padded = []
    k = stats.shape[1]
    for b in range(n_blocks):
        m = blk == b
        lb = int(pos[m].max()) + 1 if m.any() else 1
        arr = np.zeros((n_communes, lb, k))
        arr[com[m], pos[m]] = stats[m]
        padded.append(arr)
    return _CommuneLayout(n_communes, StratifiedDesign(strata), blk, com, np.arange(len(com)) - pos, padded)


# ------------------------------------------------------------------------------------------------
# Preparation of the inputs
# ------------------------------------------------------------------------------------------------
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
    off: _CommuneLayout | _JointLayout | None
    n_groups: int
    groups: list[str]            # officials' group codes, block order
    s_points: float              # satisfaction leaf points (0 if none)
    s_field: int                 # field index of the satisfaction leaf
    sat: _CommuneLayout | None
    n_factors: int
    sat_columns: dict[str, slice]  # statistics of the satisfaction layout by name (see _prepare)
    published: dict[str, str] = field(default_factory=dict)  # option of each rule alternative, as published
    base_index: np.ndarray = None  # (C,) nominal recomputation


def _prepare(meth: Methodology, leaf_scores: pd.DataFrame, officials: pd.DataFrame,
             satisfaction: pd.DataFrame, results: pd.DataFrame, decimals: int,
             officials_joint: bool, published: dict[str, str] | None = None,
             dossier_weights: pd.DataFrame | None = None) -> _Prep:
    """Inputs as arrays; the officials' design is joint (respondents resampled once for all
    communes) or per commune according to ``officials_joint``. The published option of each rule
    alternative is detected (``published`` declares some: they are checked instead)."""
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
            off_design = _joint_layout(block, bk, oc, oq, (~np.isnan(w)).astype(float), np.nan_to_num(w),
                                       C, len(groups), Q)
        else:
            nb = max(len(buniq), 1)
            uniq, row = np.unique((block * C + oc) * nb + bk, return_inverse=True)
            ballots = pd.DataFrame({"block": uniq // (C * nb), "commune": (uniq // nb) % C, "stratum": 0})
            stats = np.zeros((len(ballots), 2 * Q))
            np.add.at(stats, (row, oq), ~np.isnan(w))
            np.add.at(stats, (row, Q + oq), np.nan_to_num(w))
            off_design = _commune_layout(ballots, stats, C, len(groups))

    # --- satisfaction survey -----------------------------------------------------------------
    sl = leaves[leaves.source == "satisfaction_survey"]
    sv = meth.satisfaction_survey
    fac = {f.code: i for i, f in enumerate(sv.factors)}
    qfac = {q.code: i for i, f in enumerate(sv.factors) for q in f.questions}
    K = len(fac)
    # Statistics of a satisfaction ballot, K columns each (one per factor), under each option <e> of
    # satisfaction_estimator (the ballot's weight: 1 for plain_share, its dossier weight for dossier_weighted):
    # "valid:<e>" its weighted valid answers, "value:<o>:<e>" the weighted sum of their values under each option
    # <o> of satisfaction_factor (rules.answer_values). An alternative of the satisfaction part adds its columns here.
    estimators = ALTERNATIVES["satisfaction_estimator"].options
    names = [f"valid:{e}" for e in estimators] + [
        f"value:{o}:{e}" for e in estimators for o in ALTERNATIVES["satisfaction_factor"].options]
    sat_columns = {n: slice(i * K, (i + 1) * K) for i, n in enumerate(names)}
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
            av = s["answer"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            valid = ~np.isnan(av)
            base = {"plain_share": np.ones(len(s)), "dossier_weighted": _dossier_weight(s, dossier_weights)}
            wv = {e: np.where(valid, base[e], 0.0) for e in estimators}
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
            stats = np.zeros((len(ballots), len(sat_columns) * K))
            for name, cols in sat_columns.items():
                if name.startswith("valid:"):
                    val = wv[name.split(":", 1)[1]]
                else:
                    _, opt, est = name.split(":")
                    val = wv[est] * np.nan_to_num(rules.answer_values(av, opt, sv.positive_answers, sv.scale.min,
                                                                      sv.scale.max))
                np.add.at(stats, (row, cols.start + k), val)
            sat_design = _commune_layout(ballots, stats, C, 1)

    rk = results["rank"].to_numpy()
    prep = _Prep(codes=codes, fields=fields, W=np.array([f.points for f in meth.fields], float), A=A, AM=AM,
                 offset=(results["bonus"].astype(float) - results["deduction"].astype(float)).to_numpy(),
                 pub_index=idx.to_numpy(), pub_rank=rk.astype(np.int64),
                 q_points=ql["points"].to_numpy(float), q_field=q_field, off=off_design, n_groups=len(groups),
                 groups=list(groups),
                 s_points=s_points, s_field=s_field, sat=sat_design, n_factors=K, sat_columns=sat_columns)
    _check_published(prep, ls, ql, sl, decimals, published or {})
    return prep


def _detect(candidates: list[dict[str, str]], diff: Callable[[dict[str, str]], np.ndarray],
            declared: dict[str, str]) -> tuple[dict[str, str] | None, dict[str, str], np.ndarray]:
    """The first candidate variant (registry order) whose recomputation reproduces the published values
    (``diff`` = absolute differences), among those that agree with the declared options. Returns (the
    variant or None, the first candidate tried, its differences)."""
    tried = [v for v in candidates if all(declared.get(n, o) == o for n, o in v.items())] or candidates
    first = None
    for v in tried:
        d = diff(v)
        if first is None:
            first = (v, d)
        if d.max(initial=0) <= _CHECK_TOL:
            return v, v, d
    return None, first[0], first[1]


def _all_variants(part: str) -> list[dict[str, str]]:
    return combinations({n: ALTERNATIVES[n].options for n in part_of(part)})


def _opts_text(v: dict[str, str]) -> str:
    return ", ".join(f"{n}={o!r}" for n, o in v.items())


def _check_published(prep: _Prep, ls: pd.DataFrame, ql: pd.DataFrame, sl: pd.DataFrame, decimals: int,
                     declared: dict[str, str]) -> None:
    """Detect the published option of each rule alternative — the one under which the tables reproduce the
    published leaf scores and index — and check that they reproduce the published index and ranking. An
    option in ``declared`` (e.g. the run's ``survey.group_weighting``) is the only one tried for its
    alternative."""
    for n, o in declared.items():
        if n not in ALTERNATIVES or o not in ALTERNATIVES[n].options:
            raise ValueError(f"published option {n}={o!r}: valid options are "
                             f"{ALTERNATIVES[n].options if n in ALTERNATIVES else list(ALTERNATIVES)}")
    C = len(prep.codes)
    cpos = pd.Series(np.arange(C), index=prep.codes)
    published: dict[str, str] = {}
    # Officials' leaves.
    cands = _all_variants("officials")
    if len(ql):
        qcodes = ql["code"].tolist()
        pub = np.zeros((C, len(qcodes)))
        o = ls[ls["source"] == "officials_survey"]
        qpos = {q: i for i, q in enumerate(qcodes)}
        np.add.at(pub, (cpos[o["commune_code"].astype(str)].to_numpy(), o["code"].map(qpos).to_numpy(np.int64)),
                  o["points"].astype(float).to_numpy())
        sums = prep.off.original_sums() if prep.off is not None else None

        def pts(v):
            return _officials_part(prep, sums, **v)[0][:, 0, :] if sums is not None else np.zeros_like(pub)

        found, first, d = _detect(cands, lambda v: np.abs(pts(v) - pub), declared)
        if found is None:
            c, q = np.unravel_index(np.argmax(d), pub.shape)
            raise ValueError(
                f"table 'officials' does not reproduce 'leaf_scores': commune {prep.codes[c]}, question "
                f"{qcodes[q]} scores {pts(first)[c, q]:.6g} from the ballots ({_opts_text(first)}) but "
                f"{pub[c, q]:.6g} in leaf_scores"
                + (" (the option the parameters declare)" if any(n in declared for n in first) else
                   f" (nor under any other option of {', '.join(part_of('officials'))})")
                + "; pass the tables and parameters of the same run")
        published.update(found)
    else:
        published.update(cands[0])
    # Satisfaction leaf.
    cands = _all_variants("satisfaction")
    if len(sl):
        s = ls[ls["source"] == "satisfaction_survey"]
        pub = np.zeros(C)
        np.add.at(pub, cpos[s["commune_code"].astype(str)].to_numpy(), s["points"].astype(float).to_numpy())
        sums = prep.sat.original_sums() if prep.sat else None

        def sip(v):
            return _satisfaction_part(prep, sums, **v)[0][:, 0]

        found, first, d = _detect(cands, lambda v: np.abs(sip(v) - pub), declared)
        if found is None:
            c = int(np.argmax(d))
            raise ValueError(
                f"table 'satisfaction' does not reproduce 'leaf_scores': commune {prep.codes[c]} has SIPAS points "
                f"{sip(first)[c]:.6g} from the ballots ({_opts_text(first)}) but {pub[c]:.6g} in leaf_scores; "
                "pass the tables of the same run")
        published.update(found)
    else:
        published.update(cands[0])
    # Whole index and ranking.
    one = np.ones((1, len(prep.fields)))

    def base(v):
        space = RuleSpace({n: ((v | published)[n],) for n in ALTERNATIVES}, v | published)
        return _index(prep, space, one, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64),
                      _original_pool(prep, space), anchor=False)[0]

    found, first, d = _detect(_all_variants("index"), lambda v: np.abs(base(v) - prep.pub_index), declared)
    if found is None:
        c = int(np.argmax(d))
        raise ValueError(
            f"table 'results': index_pct of commune {prep.codes[c]} is {prep.pub_index[c]:.6g} but leaf_scores and "
            f"bonus − deduction give {base(first)[c]:.6g} ({_opts_text(first)}); pass the tables of the same "
            "scoring run")
    published.update(found)
    prep.published = {n: published[n] for n in ALTERNATIVES}
    prep.base_index = base(found)
    rk = rules.rank_rows(prep.pub_index[None, :], decimals)[0]
    if not np.array_equal(rk, prep.pub_rank):
        c = int(np.argmax(rk != prep.pub_rank))
        raise ValueError(
            f"table 'results': rank of commune {prep.codes[c]} is {prep.pub_rank[c]} but ranking index_pct at "
            f"{decimals} decimals gives {rk[c]}; set rank_decimals to the precision used for publication")


# ------------------------------------------------------------------------------------------------
# Model: the parts of the array model (one per part of the rule alternatives), the pool, the index
# ------------------------------------------------------------------------------------------------
def _officials_part(prep: _Prep, sums: np.ndarray, officials_groups: str) -> tuple[np.ndarray, np.ndarray]:
    """Officials' points and applicability per commune × replicate × question from per-group sums
    (groups, C, R, 2Q) — :func:`rules.mean_answer_weight` × the leaf's points; a question without a valid
    answer scores 0 of 0."""
    Q = len(prep.q_points)
    n, w = sums[..., :Q], sums[..., Q:]
    mean = rules.mean_answer_weight(n, w, officials_groups, axis=0)
    has = ~np.isnan(mean)
    return np.where(has, mean, 0.0) * prep.q_points, has


def _dossier_weight(s: pd.DataFrame, dossier_weights: pd.DataFrame | None) -> np.ndarray:
    """Dossier weight of each satisfaction row: its commune × procedure field in ``dossier_weights`` (1 where the
    table has none, as :func:`parindex.surveys.poststratify` leaves a commune without dossiers); without a table,
    the satisfaction table's own ``weight`` column (1 when it has none)."""
    if dossier_weights is None:
        return s["weight"].astype(float).to_numpy() if "weight" in s.columns else np.ones(len(s))
    key = pd.MultiIndex.from_frame(dossier_weights[["commune_code", "procedure_field"]].astype(str))
    w = pd.Series(dossier_weights["weight"].astype(float).to_numpy(), index=key)
    w = w[~w.index.duplicated()]
    rows = pd.MultiIndex.from_arrays([s["commune_code"].astype(str), s["procedure_field"].astype(str)])
    return w.reindex(rows).fillna(1.0).to_numpy(dtype=float)


def _satisfaction_part(prep: _Prep, sums: np.ndarray | None, satisfaction_factor: str,
                       satisfaction_estimator: str = "plain_share") -> tuple[np.ndarray, np.ndarray]:
    """SIPAS points and maximum per commune × replicate (:func:`rules.satisfaction_index` × the leaf's
    points); a commune without a valid answer scores 0 of 0."""
    if sums is None:
        z = np.zeros((len(prep.codes), 1))
        return z, z
    s, col = sums[0], prep.sat_columns
    idx = rules.satisfaction_index(s[..., col[f"valid:{satisfaction_estimator}"]],
                                   s[..., col[f"value:{satisfaction_factor}:{satisfaction_estimator}"]])
    has = ~np.isnan(idx)
    return np.where(has, idx, 0.0) * prep.s_points, has * prep.s_points


@dataclass
class _Pool:
    """Survey points of ``n_rep`` bootstrap replicates under each variant of the survey parts.

    ``PA`` (V_off · R, C, F): appraisal + officials' points per field, variant-major (variant v of the
    officials part at rows v R … v R + R − 1); ``MA`` (R, C, F): their applicable maximum (a question is
    applicable when it has a valid answer, whatever the option); ``S`` (V_sat · R, C): SIPAS points per
    variant of the satisfaction part; ``SM`` (R, C): SIPAS maximum."""
    PA: np.ndarray
    MA: np.ndarray
    S: np.ndarray
    SM: np.ndarray
    n_rep: int

    @staticmethod
    def empty(n_rep: int, C: int, F: int, v_off: int, v_sat: int) -> "_Pool":
        return _Pool(np.empty((v_off * n_rep, C, F)), np.empty((n_rep, C, F)), np.empty((v_sat * n_rep, C)),
                     np.empty((n_rep, C)), n_rep)

    def put(self, lo: int, arr: "_Pool") -> None:
        """Store the replicates of ``arr`` (a block from :func:`_survey_arrays`) from replicate ``lo`` on."""
        m, R = arr.n_rep, self.n_rep
        for key in ("PA", "S"):
            src, dst = getattr(arr, key), getattr(self, key)
            for v in range(len(src) // m):
                dst[v * R + lo:v * R + lo + m] = src[v * m:(v + 1) * m]
        self.MA[lo:lo + m], self.SM[lo:lo + m] = arr.MA, arr.SM


def _survey_arrays(prep: _Prep, space: RuleSpace, off_sums: np.ndarray | None, sat_sums: np.ndarray | None
                   ) -> _Pool:
    """Points per replicate × commune (× field) under every variant of the survey parts of ``space``, from
    sums (blocks, C, R, K) as from the layouts."""
    C, F = prep.A.shape
    R = next((x.shape[2] for x in (off_sums, sat_sums) if x is not None), 1)
    vo, vs = space.variants("officials"), space.variants("satisfaction")
    if off_sums is not None:
        PA, has = [], None
        for v in vo:
            pts, has = _officials_part(prep, off_sums, **v)
            PA.append(rules.field_totals(pts, prep.q_field).transpose(1, 0, 2) + prep.A)
        PA = np.concatenate(PA)
        MA = rules.field_totals(has * prep.q_points, prep.q_field).transpose(1, 0, 2) + prep.AM
    else:
        PA = np.broadcast_to(prep.A, (len(vo) * R, C, F))
        MA = np.broadcast_to(prep.AM, (R, C, F))
    S, SM = [], None
    for v in vs:
        pts, SM = _satisfaction_part(prep, sat_sums, **v)
        S.append(np.broadcast_to(pts.T, (R, C)))
    return _Pool(np.ascontiguousarray(PA), np.ascontiguousarray(MA), np.concatenate(S),
                 np.ascontiguousarray(np.broadcast_to(SM.T, (R, C))), R)


def _original_pool(prep: _Prep, space: RuleSpace) -> _Pool:
    """Survey arrays of the ballots as collected (one replicate)."""
    return _survey_arrays(prep, space, prep.off.original_sums() if prep.off else None,
                          prep.sat.original_sums() if prep.sat else None)


def _index(prep: _Prep, space: RuleSpace, lam: np.ndarray, combo: np.ndarray, rep: np.ndarray, pool: _Pool,
           anchor: bool = True) -> np.ndarray:
    """Index % per draw × commune (R, C).

    ``lam`` (R, F): weight multipliers; ``combo`` (R,): the rule combination of each draw (``space``);
    ``rep`` (R,): the replicate of ``pool`` each draw uses."""
    R = pool.n_rep
    sf = prep.s_field
    P = pool.PA[rep + R * space.variant("officials", combo)]       # (R, C, F), gathered: a copy
    M = pool.MA[rep]
    P[..., sf] += pool.S[rep + R * space.variant("satisfaction", combo)]
    M[..., sf] += pool.SM[rep]
    lam = np.ascontiguousarray(lam, dtype=float)
    variants, vi = space.variants("index"), space.variant("index", combo)
    value = rules.index_pct(P, M, prep.offset, lam, **variants[0])
    for v in range(1, len(variants)):
        g = np.flatnonzero(vi == v)
        if len(g):
            value[g] = rules.index_pct(P[g], M[g], prep.offset, lam[g], **variants[v])
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

    def __init__(self, prep: _Prep, params: Robustness, seed: int):
        self.prep, self.p, self.seed = prep, params, int(seed)
        if prep.off is not None and isinstance(prep.off, _JointLayout) != bool(params.officials_joint):
            raise ValueError("the officials' design was prepared with officials_joint="
                             f"{isinstance(prep.off, _JointLayout)} but the parameters say {params.officials_joint}")
        self.on = sources_on(params)
        self.space = rule_space(params, prep.published)
        self.published_combo = self.space.published_combo()
        C, F = prep.A.shape
        self.block = int(max(1, min(_MAX_BLOCK, _BLOCK_ELEMS // (C * F))))   # draws per block
        self.pool, self.n_replicates = self._build_pool()

    def _rng(self, stream: int, k: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(stream, k)))

    def _build_pool(self) -> tuple[_Pool, int]:
        prep, space = self.prep, self.space
        if not self.p.sampling or (prep.off is None and prep.sat is None):
            return _original_pool(prep, space), 1
        C, F = prep.A.shape
        vo, vs = len(space.variants("officials")), len(space.variants("satisfaction"))
        per_rep = ((vo + 1) * F + vs + 1) * C * 8
        n_rep = int(max(1, min(int(self.p.n_replicates), _POOL_BYTES // per_rep)))
        layouts = [x for x in (prep.off, prep.sat) if x is not None]
        # Cells per replicate of the largest intermediates: the draws (one per unit) and the sums per commune.
        cells = sum(x.n_units for x in layouts) + C * sum(
            (x.n_stats if isinstance(x, _JointLayout) else x.stats[0].shape[2]) * len(x.stats) for x in layouts)
        blk = block_size(cells, max_cells=_POOL_BLOCK_ELEMS, max_block=_MAX_BLOCK)
        streams = [x.design.replicates(n_rep, np.random.SeedSequence(self.seed, spawn_key=(_STREAM["pool"], i)),
                                       layout="compact", block=blk) for i, x in enumerate((prep.off, prep.sat))
                   if x is not None]
        pool = _Pool.empty(n_rep, C, F, vo, vs)
        lo = 0
        for drawn in zip(*streams):
            it = iter(drawn)
            off = prep.off.sums(next(it)) if prep.off is not None else None
            sat = prep.sat.sums(next(it)) if prep.sat is not None else None
            arr = _survey_arrays(prep, space, off, sat)
            pool.put(lo, arr)
            lo += arr.n_rep
        return pool, n_rep

    def weights(self, k: int) -> np.ndarray:
        """Weight multipliers λ_f = w_f / W_f of the draws of block k, (block, F)."""
        F = len(self.prep.fields)
        if "weights" not in self.on:
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
        """Rule combination of the draws of block k, (block,): uniform over the combinations in play."""
        if "rules" not in self.on or self.space.n_combos == 1:
            return np.full(self.block, self.published_combo, dtype=np.int64)
        return self._rng(_STREAM["rules"], k).integers(0, self.space.n_combos, size=self.block)

    def replicates(self, k: int) -> np.ndarray:
        if self.n_replicates == 1:
            return np.zeros(self.block, dtype=np.int64)
        return self._rng(_STREAM["sampling"], k).integers(0, self.n_replicates, size=self.block)


# ------------------------------------------------------------------------------------------------
# Main entry point
# ------------------------------------------------------------------------------------------------
def run_robustness(meth: Methodology, leaf_scores: pd.DataFrame, officials: pd.DataFrame,
                   satisfaction: pd.DataFrame, results: pd.DataFrame, params: Robustness, *, seed: int,
                   rank_decimals: int, published: dict[str, str] | None = None,
                   dossier_weights: pd.DataFrame | None = None) -> RobustnessResult:
    """Monte Carlo + Sobol robustness of the published ranking (see the module docstring).

    ``params``: the run's ``robustness`` parameters; ``seed`` and ``rank_decimals``: the run's seed and
    ``scoring.rank_decimals``; ``published``: options of rule alternatives known to have been used for the
    published results (e.g. ``{"officials_groups": survey.group_weighting}``) — checked, the others detected;
    ``dossier_weights``: the dossier weight of each commune × procedure field (the clean stage's
    ``satisfaction_weights``), which the ``dossier_weighted`` option of ``satisfaction_estimator`` applies
    (without it, every ballot weighs 1 under both options)."""
    with threadpool_limits(limits=_BLAS_THREADS, user_api="blas"):
        return _run(meth, leaf_scores, officials, satisfaction, results, params, int(seed), int(rank_decimals),
                    published, dossier_weights)


def _run(meth: Methodology, leaf_scores: pd.DataFrame, officials: pd.DataFrame, satisfaction: pd.DataFrame,
         results: pd.DataFrame, params: Robustness, seed: int, rank_decimals: int,
         published: dict[str, str] | None, dossier_weights: pd.DataFrame | None = None) -> RobustnessResult:
    dec = rank_decimals
    prep = _prepare(meth, leaf_scores, officials, satisfaction, results, dec,
                    officials_joint=bool(params.officials_joint), published=published,
                    dossier_weights=dossier_weights)
    draws = _Draws(prep, params, seed)
    space = draws.space
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
        val = _index(prep, space, draws.weights(k)[:m], draws.rules(k)[:m], draws.replicates(k)[:m], draws.pool)
        rk = rules.rank_rows(val, dec)
        bi = rules.band_index(val, meth, dec)
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

    on = draws.on
    sob = _sobol(prep, draws, params, on, seed, dec)
    conv = _convergence(stats_n, stats_2n, prep, meth)
    loo = _leave_one_out(prep, dec)
    summary = dict(
        n_draws=n, n_draws_convergence=n2, seed=int(seed), sources_on=on,
        weight_dist=params.weight_dist if "weights" in on else None,
        weight_spread=float(params.weight_spread) if "weights" in on else None,
        mean_abs_rank_shift=float(per_commune["mean_abs_shift"].mean()),
        n_communes=C, top_k=int(params.top_k), rank_decimals=dec, quantile_method=QUANTILE_METHOD,
        rules_published=dict(prep.published),
        rule_alternatives=space.varying() if "rules" in on else {},
        rule_combinations=space.n_combos if "rules" in on else 1,
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
    if not isinstance(prep.off, _JointLayout):
        return {}
    rated = prep.off.communes_rated()
    if len(rated) == 0:
        rated = np.zeros(1, dtype=np.int64)
    return dict(officials_respondents={g: int(n) for g, n in zip(prep.groups, prep.off.size.tolist()) if n},
                officials_communes_per_respondent=dict(min=int(rated.min()), mean=float(rated.mean()),
                                                       max=int(rated.max())))


def _outrank_counts(r: np.ndarray, out: np.ndarray) -> None:
    """Add, for every pair (i, j), the number of draws (rows of r) in which i ranks strictly better.

    The comparisons of a few draws at a time (a sub-block of about 1 MB, which stays in cache) are summed into
    a uint8 accumulator (≤ 255 draws), which is added to ``out``."""
    C = r.shape[1]
    sub = int(min(255, max(1, _OUTRANK_CELLS // max(C * C, 1))))
    buf = np.empty((sub, C, C), dtype=bool)
    acc = np.zeros((C, C), dtype=np.uint8)
    held = 0
    for lo in range(0, len(r), sub):
        x = r[lo:lo + sub]
        m = len(x)
        if held + m > 255:
            out += acc
            acc[:] = 0
            held = 0
        np.less(x[:, :, None], x[:, None, :], out=buf[:m])
        acc += np.add.reduce(buf[:m].view(np.uint8), axis=0, dtype=np.uint8)
        held += m
    out += acc


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
    """Rank of each commune when one field is left out (nominal weights, published rules, ballots as
    collected)."""
    F = len(prep.fields)
    lam = np.ones((F, F)) - np.eye(F)          # row f: field f weighted 0
    space = RuleSpace({n: (o,) for n, o in prep.published.items()}, prep.published)
    val = _index(prep, space, lam, np.zeros(F, dtype=np.int64), np.zeros(F, dtype=np.int64),
                 _original_pool(prep, space), anchor=False)
    rk = rules.rank_rows(val, dec)
    out = pd.DataFrame({"commune_code": pd.array(prep.codes, dtype="str"), "rank": prep.pub_rank})
    for i, f in enumerate(prep.fields):
        out[f"rank_without_{f}"] = rk[i]
    return out


def _sobol(prep: _Prep, draws: _Draws, params: Robustness, on: list[str], seed: int, dec: int) -> pd.DataFrame:
    """Sobol indices of the mean absolute rank shift, one grouped factor per source switched on."""
    cols = ["source", "S1", "S1_conf", "ST", "ST_conf"]
    if not on:
        return pd.DataFrame({c: pd.Series(dtype="str" if c == "source" else float) for c in cols})
    P = int(params.sobol_n)
    B = draws.block
    wpool = np.concatenate([draws.weights(k) for k in range(-(-P // B))])[:P]
    F = len(prep.fields)
    K = draws.space.n_combos

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
            combo = np.minimum((col["rules"] * K).astype(np.int64), K - 1)
        else:
            combo = np.full(r, draws.published_combo, dtype=np.int64)
        y = np.empty(r)
        for lo in range(0, r, B):
            s = slice(lo, lo + B)
            val = _index(prep, draws.space, lam[s], combo[s], rep[s], draws.pool)
            y[s] = np.abs(rules.rank_rows(val, dec) - prep.pub_rank).mean(axis=1)
        return y

    ss = int(np.random.SeedSequence(int(seed), spawn_key=(_STREAM["sobol"],)).generate_state(1)[0])
    return sobol_indices(model, on, P, ss, num_resamples=int(params.sobol_resamples))
