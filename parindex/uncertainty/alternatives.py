"""The scoring-rule alternatives of the robustness stage, by name.

Each alternative is a named choice of the scoring rules with a fixed list of options; the first option of each
is the rule :mod:`parindex.scoring` publishes by default. The array model (:mod:`parindex.uncertainty.rules`)
applies an alternative in one *part* of the computation, by passing the chosen option as the keyword argument
named after the alternative to that part's rule function:

==================  ===================================  =============  =======================================
alternative         options                              part           rule function (keyword)
==================  ===================================  =============  =======================================
officials_groups    pooled, equal                        officials      rules.mean_answer_weight
satisfaction_factor share_positive, rescaled_mean        satisfaction   rules.answer_values
satisfaction_       plain_share, dossier_weighted        satisfaction   (ballot weights of the layout)
estimator
aggregation         arithmetic, geometric                index          rules.index_pct
==================  ===================================  =============  =======================================

The run parameters list, per alternative, the options the draws pick from
(``robustness.alternatives.<name>``, :class:`parindex.params.Alternatives`); the published option is
detected from the published tables (and must be among them). :class:`RuleSpace` enumerates the
combinations: a Monte Carlo draw picks one combination uniformly (so one option per alternative, each
equally likely), Sobol's ``rules`` factor indexes them.

Adding an alternative: an entry here, its option as a keyword of its part's rule function in
:mod:`parindex.uncertainty.rules` (the survey statistics it needs in the robustness layouts), a field of
:class:`parindex.params.Alternatives` and its label in ``PARAM_LABELS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..methodology import ESTIMATORS

PARTS = ("officials", "satisfaction", "index")


@dataclass(frozen=True)
class Alternative:
    name: str
    options: tuple[str, ...]      # the first is the rule scoring publishes by default
    part: str                     # one of PARTS
    description: str


ALTERNATIVES: dict[str, Alternative] = {a.name: a for a in (
    Alternative("officials_groups", ("pooled", "equal"), "officials",
                "officials' survey: every valid answer counts once, or each respondent group weighs the same"),
    Alternative("satisfaction_factor", ("share_positive", "rescaled_mean"), "satisfaction",
                "a satisfaction factor's index: share of positive answers (4–5), or the mean answer rescaled "
                "to 0–1, (mean − 1) / 4"),
    Alternative("satisfaction_estimator", ESTIMATORS, "satisfaction",
                "the satisfaction index: plain share over the valid answers (the rule), or weighted by the "
                "commune's dossiers per procedure field (post-stratification)"),
    Alternative("aggregation", ("arithmetic", "geometric"), "index",
                "aggregation across fields: weighted arithmetic mean (the rule), or weighted geometric mean"),
)}
assert all(a.part in PARTS for a in ALTERNATIVES.values())


def check_option(name: str, option: str) -> str:
    """``option`` if it is an option of alternative ``name``; a ValueError naming the valid ones otherwise."""
    if name not in ALTERNATIVES:
        raise ValueError(f"unknown rule alternative {name!r}; valid alternatives: {', '.join(ALTERNATIVES)}")
    opts = ALTERNATIVES[name].options
    if option not in opts:
        raise ValueError(f"{name}: unknown option {option!r}; valid options: {', '.join(opts)}")
    return option


def part_of(part: str) -> list[str]:
    """Names of the alternatives applied in ``part`` (registry order)."""
    return [a.name for a in ALTERNATIVES.values() if a.part == part]


def combinations(options: dict[str, tuple[str, ...]]) -> list[dict[str, str]]:
    """Every combination of the given options, the first name varying fastest."""
    out: list[dict[str, str]] = [{}]
    for name, opts in options.items():
        out = [{**c, name: o} for o in opts for c in out]
    return out


class RuleSpace:
    """The rule combinations the draws pick from.

    ``options``: for every registered alternative, the options in play (registry order); ``published``: the
    option each alternative was published with. Combination *k* is read in mixed radix, the first alternative
    of the registry varying fastest. Each part of the array model computes its *variants* — the combinations
    of its own alternatives' options — and :meth:`variant` maps combinations to them."""

    def __init__(self, options: dict[str, tuple[str, ...]], published: dict[str, str]):
        self.names = list(ALTERNATIVES)
        self.options = {n: tuple(options[n]) for n in self.names}
        for n in self.names:
            if not self.options[n]:
                raise ValueError(f"alternative {n}: no option in play")
            for o in self.options[n]:
                check_option(n, o)
            if published[n] not in self.options[n]:
                raise ValueError(f"alternative {n}: the published option {published[n]!r} is not among the "
                                 f"options in play {list(self.options[n])}")
        self.published = {n: published[n] for n in self.names}
        self.radix = np.array([len(self.options[n]) for n in self.names], dtype=np.int64)
        self.n_combos = int(math.prod(self.radix.tolist()))
        self._place = np.concatenate([[1], np.cumprod(self.radix)[:-1]]).astype(np.int64)

    def varying(self) -> dict[str, list[str]]:
        """The alternatives with more than one option in play, with their options."""
        return {n: list(o) for n, o in self.options.items() if len(o) > 1}

    def choice(self, combo: np.ndarray) -> dict[str, np.ndarray]:
        """Option index of each alternative for each combination."""
        c = np.asarray(combo, dtype=np.int64)
        return {n: (c // p) % r for n, p, r in zip(self.names, self._place.tolist(), self.radix.tolist())}

    def published_combo(self) -> int:
        return int(sum(self.options[n].index(self.published[n]) * p
                       for n, p in zip(self.names, self._place.tolist())))

    def variants(self, part: str) -> list[dict[str, str]]:
        """The combinations of the options of ``part``'s alternatives (the first varying fastest)."""
        return combinations({n: self.options[n] for n in part_of(part)})

    def variant(self, part: str, combo: np.ndarray) -> np.ndarray:
        """Index into :meth:`variants` of ``part`` for each combination."""
        ch = self.choice(combo)
        out = np.zeros(np.shape(combo), dtype=np.int64)
        place = 1
        for n in part_of(part):
            out += ch[n] * place
            place *= len(self.options[n])
        return out
