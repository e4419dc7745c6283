"""The bootstrap engine: stratified resampling of table rows, vectorised over blocks of replicates.

Rows are grouped into strata (e.g. commune × procedure field); a replicate draws, within each stratum, as many
rows as it has, with replacement. ``pad_strata`` lays the strata out as a padded (strata × rows) array of row
positions, ``resample_positions`` draws a block of replicates of it, ``bootstrap_blocks`` applies a statistic
block by block with bounded memory."""

from __future__ import annotations

import warnings

import numpy as np

CHUNK = 250            # bootstrap replicates processed at once at most …
MAX_CELLS = 4_000_000  # … and fewer when one gather would exceed this many cells (≈ 32 MB of floats);
#                        the draws come from one sequential stream, so the results depend on neither


def pad_strata(codes: np.ndarray, n_strata: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of each stratum padded into a (strata × max rows) array; -1 = padding."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_strata)
    width = max(int(counts.max(initial=0)), 1)
    pos = np.full((n_strata, width), -1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = np.arange(len(codes)) - np.repeat(starts, counts)
    pos[codes[order], within] = order
    return pos, counts


def nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    """Mean ignoring NaN; all-NaN slices give NaN without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def resample_positions(rng: np.random.Generator, pos: np.ndarray, counts: np.ndarray, n_boot: int) -> np.ndarray:
    """(n_boot × strata × width) row positions drawn with replacement within each stratum (-1 = padding)."""
    c, width = pos.shape
    u = rng.random((n_boot, c, width))
    pick = np.floor(u * np.maximum(counts, 1)[None, :, None]).astype(np.int64)
    rows = np.take_along_axis(np.broadcast_to(pos, (n_boot, c, width)), pick, axis=2)
    return np.where(np.arange(width)[None, None, :] < counts[None, :, None], rows, -1)


def bootstrap_blocks(rng: np.random.Generator, pos: np.ndarray, counts: np.ndarray, n_boot: int, per_row: int,
               stat) -> np.ndarray:
    """``stat(rows)`` over blocks of replicates, concatenated; a block's gather stays under MAX_CELLS."""
    step = int(max(1, min(CHUNK, MAX_CELLS // max(pos.size * per_row, 1))))
    return np.concatenate([stat(resample_positions(rng, pos, counts, min(step, n_boot - i)))
                           for i in range(0, n_boot, step)])
