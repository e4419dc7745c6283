"""The explanation round in the HTML report: both rounds' scores of every contested item and the communes
whose index or rank changed (the tables ``round2`` and ``round1_results`` of :mod:`parindex.rounds`).
Kept apart from :mod:`parindex.publish.report` (one call there, one include in the template)."""

from __future__ import annotations

import pandas as pd

from ..rounds import moved_by_round2, round2_counts
from .labels import DECISION_LABELS, pct_text, points_cell, rank_text, signed_text, text_cell


def rounds_section(tables: dict, results: pd.DataFrame) -> dict | None:
    """Data of the report's "Giải trình và thẩm định lại" section, None when the run had no explanation round."""
    items = tables.get("round2")
    if not isinstance(items, pd.DataFrame):
        return None
    names = dict(zip(results["commune_code"].astype(str), results["commune_name"].map(text_cell)))
    rows = [dict(commune=names.get(str(x.commune_code), text_cell(x.commune_code)), code=text_cell(x.code),
                 label=text_cell(x.label), self=points_cell(x.self_points), round1=points_cell(x.round1_points),
                 requested=points_cell(x.requested_points), decision=DECISION_LABELS.get(x.decision, text_cell(x.decision)),
                 final=points_cell(x.final_points), changed=bool(x.changed), explanation=text_cell(x.explanation),
                 reason=text_cell(x.decision_reason))
            for x in items.itertuples()]
    moved = []
    r1 = tables.get("round1_results")
    if isinstance(r1, pd.DataFrame):
        m = moved_by_round2(r1)
        moved = [dict(commune=text_cell(x.commune_name), index1=pct_text(x.index_pct_round1), rank1=rank_text(x.rank_round1),
                      index=pct_text(x.index_pct), rank=rank_text(x.rank), change=signed_text(x.index_change),
                      move=signed_text(x.rank_change, 0)) for x in m.itertuples()]
    c = round2_counts(items)
    return dict(n=c["contested"], communes=c["communes"], accepted=c["accepted"], kept=c["kept"], pending=c["pending"],
                changed=c["changed"], rows=rows, moved=moved)
