"""The bootstrap engine: stratified resampling with replacement, drawn block by block from one seeded stream.

A :class:`StratifiedDesign` is a set of *units* (rows of a table), each in one *stratum*. A replicate draws,
within each stratum, as many units as the stratum has, uniformly with replacement: the size of every stratum
is kept and units never cross strata. Every bootstrap of the project is such a design:

======================================  ==========================  =====================================
survey, user                            unit                        stratum
======================================  ==========================  =====================================
satisfaction (intervals, robustness)    ballot                      commune × procedure field
officials, per commune (intervals;      ballot (respondent ×        commune × respondent group
robustness with officials_joint=False)  commune)
officials, joint (robustness, default)  respondent (ballot id)      respondent group — the same draw
                                                                    serves every commune the respondent
                                                                    rated (a rater's severity is shared)
======================================  ==========================  =====================================

Drawing. A replicate is a set of *slots*, each drawing one unit of its stratum with a uniform ``u`` as unit
``⌊u · n_s⌋`` of the stratum's ``n_s`` units (in table order). Two layouts of the slots:

* ``"padded"`` — the cells of the (strata × largest stratum) grid, one float64 uniform per cell, padding
  cells included (they draw nothing: −1). The survey intervals use it: it is the layout they have always
  used, so published intervals, and replays of earlier runs, stay bit for bit the same.
* ``"compact"`` — one float32 uniform per unit (the unit's own slot, in stratum order): fewer and cheaper
  random numbers when strata are uneven (about 4 × faster for the 50 ballots × 235 communes of a province).
  The robustness stage uses it.

Either way the uniforms come from one sequential stream (``numpy.random.default_rng(seed)``), replicate after
replicate, so the replicates depend neither on the size of the blocks they are drawn in nor on how many are
drawn after them: the first *n* replicates of *2n* are the *n* replicates.

Blocks. :meth:`StratifiedDesign.replicates` yields the replicates in blocks of at most ``block`` (see
:func:`block_size`: at most :data:`MAX_BLOCK` replicates and :data:`MAX_CELLS` cells of the user's largest
intermediate per block, so memory stays bounded whatever the number of replicates). A block is an array of
drawn units per slot — (replicates × strata × width) for ``padded``, (replicates × units) for ``compact`` —
that the user turns into statistics: by gathering the units' statistics (:func:`gather`-style indexing, the
survey intervals) or through how many times each unit was drawn (:func:`unit_counts`, the robustness stage).
"""

from __future__ import annotations

from typing import Iterator, Literal

import numpy as np

Layout = Literal["padded", "compact"]

MAX_BLOCK = 250        # replicates per block at most …
MAX_CELLS = 4_000_000  # … and fewer when the user's largest intermediate would exceed this many cells (≈ 32 MB of
#                        floats); the draws come from one sequential stream, so the results depend on neither


def block_size(cells_per_replicate: int, max_cells: int | None = None, max_block: int | None = None) -> int:
    """Replicates per block so that a block's largest intermediate (``cells_per_replicate`` cells per replicate)
    stays under ``max_cells`` (default :data:`MAX_CELLS`), at most ``max_block`` (default :data:`MAX_BLOCK`)."""
    max_cells = MAX_CELLS if max_cells is None else max_cells
    max_block = MAX_BLOCK if max_block is None else max_block
    return int(max(1, min(max_block, max_cells // max(int(cells_per_replicate), 1))))


class StratifiedDesign:
    """Units in strata, resampled with replacement within each stratum (see the module docstring).

    ``strata``: (N,) integer stratum of each unit, ``0 … n_strata − 1`` (``n_strata`` defaults to the largest
    code + 1; a stratum without units is allowed and draws nothing)."""

    def __init__(self, strata: np.ndarray, n_strata: int | None = None):
        codes = np.asarray(strata, dtype=np.int64)
        if codes.ndim != 1:
            raise ValueError("strata must be a 1-d array of stratum codes, one per unit")
        if len(codes) and codes.min() < 0:
            raise ValueError("stratum codes must be ≥ 0")
        n = int(codes.max(initial=-1)) + 1 if n_strata is None else int(n_strata)
        if len(codes) and codes.max() >= n:
            raise ValueError(f"stratum code {int(codes.max())} ≥ n_strata = {n}")
        self.strata = codes
        self.n_strata = n
        self.size = np.bincount(codes, minlength=n).astype(np.int64)       # units per stratum
        self.start = np.concatenate([[0], np.cumsum(self.size)[:-1]]).astype(np.int64)
        self.order = np.argsort(codes, kind="stable")                      # units in stratum order
        self.is_sorted = bool(np.all(codes[1:] >= codes[:-1]))
        self.width = max(int(self.size.max(initial=0)), 1)
        self._pos: np.ndarray | None = None
        self._slot: tuple[np.ndarray, np.ndarray] | None = None
        self._cells: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def n_units(self) -> int:
        return len(self.strata)

    @property
    def positions(self) -> np.ndarray:
        """(strata × width) unit positions of each stratum in table order, padded with −1."""
        if self._pos is None:
            within = np.arange(self.n_units) - np.repeat(self.start, self.size)
            pos = np.full((self.n_strata, self.width), -1, dtype=np.int64)
            pos[self.strata[self.order], within] = self.order
            self._pos = pos
        return self._pos

    def n_slots(self, layout: Layout) -> int:
        """Uniforms one replicate consumes."""
        return self.n_strata * self.width if layout == "padded" else self.n_units

    def draw(self, rng: np.random.Generator, n: int, layout: Layout = "padded", units: bool = False) -> np.ndarray:
        """``n`` replicates of drawn units: (n × strata × width) for ``padded`` (−1 in padding cells),
        (n × units) for ``compact`` (slot *k* = the *k*-th unit in stratum order); unit numbers are table rows.

        ``units=True`` (``padded`` only): the same draws without the padding cells, (n × units) in stratum order
        like ``compact`` — the uniforms of the padding cells are still consumed, only the drawn units are built
        (for users that count draws, :func:`unit_counts`)."""
        if layout == "padded":
            pos, size = self.positions, self.size
            c, width = pos.shape
            u = rng.random((n, c, width))
            if units:
                cells, cell_size, cell_start, last = self._padded_cells()
                j = (u.reshape(n, c * width)[:, cells] * cell_size).astype(np.int64)   # position in the stratum
                np.minimum(j, last, out=j)
                j += cell_start
                return j if self.is_sorted else self.order[j]
            pick = np.floor(u * np.maximum(size, 1)[None, :, None]).astype(np.int64)
            rows = np.take_along_axis(np.broadcast_to(pos, (n, c, width)), pick, axis=2)
            return np.where(np.arange(width)[None, None, :] < size[None, :, None], rows, -1)
        if layout != "compact":
            raise ValueError(f"layout must be 'padded' or 'compact', got {layout!r}")
        if units:
            raise ValueError("units=True applies to the padded layout (compact draws have no padding)")
        if self._slot is None:
            s = np.repeat(self.size, self.size)
            self._slot = (s.astype(np.float32), np.repeat(self.start, self.size), s - 1)
        size32, start, last = self._slot
        j = (rng.random((n, self.n_units), dtype=np.float32) * size32).astype(np.int64)
        np.minimum(j, last, out=j)             # float32 rounding may give n_s itself
        j += start
        return j if self.is_sorted else self.order[j]

    def _padded_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The non-padding cells of the padded grid in stratum order (flat cell numbers), their stratum's size
        (float64, as the padded draw multiplies), first position in stratum order and last position."""
        if self._cells is None:
            s = np.repeat(np.arange(self.n_strata), self.size)
            k = np.arange(self.n_units) - np.repeat(self.start, self.size)
            size = np.repeat(self.size, self.size)
            start = np.repeat(self.start, self.size)
            self._cells = (s * self.width + k, size.astype(np.float64), start, size - 1)
        return self._cells

    def replicates(self, n: int, seed: int | np.random.SeedSequence, *, layout: Layout = "padded",
                   block: int | None = None, units: bool = False) -> Iterator[np.ndarray]:
        """``n`` replicates in blocks of at most ``block`` (default: :func:`block_size` of one slot per cell),
        all from the one stream ``default_rng(seed)`` (``units``: see :meth:`draw`)."""
        rng = np.random.default_rng(seed)
        step = block_size(self.n_slots(layout)) if block is None else max(1, int(block))
        for lo in range(0, int(n), step):
            yield self.draw(rng, min(step, int(n) - lo), layout, units)


def unit_counts(drawn: np.ndarray, n_units: int) -> np.ndarray:
    """How many times each unit was drawn in each replicate: (replicates × n_units) from a block of drawn
    units of either layout (−1 = padding, ignored)."""
    r = drawn.shape[0]
    flat = drawn.reshape(r, -1)
    ok = flat >= 0
    idx = (np.arange(r)[:, None] * n_units + flat)[ok]
    return np.bincount(idx, minlength=r * n_units).reshape(r, n_units)
