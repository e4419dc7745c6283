"""The explanation round in the HTML report: both rounds' scores of every contested item and the communes
whose index or rank changed (the tables ``round2`` and ``round1_results`` of :mod:`parindex.rounds`).
Kept apart from :mod:`parindex.publish.report` (one call there, one include in the template)."""

from __future__ import annotations

import pandas as pd

from .labels import DECISION_LABELS, pct_text, points_text, rank_text, signed_text, text_cell


def _pts(x) -> str:
    return "–" if x is None or pd.isna(x) else points_text(float(x))


def rounds_section(tables: dict, results: pd.DataFrame) -> dict | None:
    """Data of the report's "Giải trình và thẩm định lại" section, None when the run had no explanation round."""
    items = tables.get("round2")
    if not isinstance(items, pd.DataFrame):
        return None
    names = dict(zip(results["commune_code"].astype(str), results["commune_name"].map(text_cell)))
    d = items["decision"]
    rows = [dict(commune=names.get(str(x.commune_code), text_cell(x.commune_code)), code=text_cell(x.code),
                 label=text_cell(x.label), self=_pts(x.self_points), round1=_pts(x.round1_points),
                 requested=_pts(x.requested_points), decision=DECISION_LABELS.get(x.decision, text_cell(x.decision)),
                 final=_pts(x.final_points), changed=bool(x.changed), explanation=text_cell(x.explanation),
                 reason=text_cell(x.decision_reason))
            for x in items.itertuples()]
    moved = []
    r1 = tables.get("round1_results")
    if isinstance(r1, pd.DataFrame):
        m = r1[(r1["index_change"].abs() > 1e-9) | (r1["rank_change"] != 0)]
        moved = [dict(commune=text_cell(x.commune_name), index1=pct_text(x.index_pct_round1), rank1=rank_text(x.rank_round1),
                      index=pct_text(x.index_pct), rank=rank_text(x.rank), change=signed_text(x.index_change),
                      move=signed_text(x.rank_change, 0)) for x in m.itertuples()]
    return dict(n=len(items), communes=int(items["commune_code"].nunique()), accepted=int((d == "accept").sum()),
                kept=int((d == "keep").sum()), pending=int((d == "pending").sum()), changed=int(items["changed"].sum()),
                rows=rows, moved=moved)
