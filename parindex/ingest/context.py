"""The settings of one cleaning run and the logs it keeps besides the rejection log.

:class:`Ingest` carries the ``ingest:`` parameters (limits, thresholds, the alias file) to the readers,
and collects what the readers changed or noticed: conversions (legacy encodings, label variants, total
rows skipped, headings found in two rows …), the personal data masked, the duplicate pairs and, per
commune and survey, the rows read. They become clean-stage tables (:data:`LOG_TABLES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .privacy import Screen
from .vocab import DEFAULT_ALIASES, Aliases, load_aliases
from .workbook import Limits

CONVERSION_COLUMNS = ["file", "sheet", "column", "kind", "detail", "count"]
DUPLICATE_COLUMNS = ["file", "row", "ballot_id", "first_row", "first_ballot_id", "matched_on", "scope"]
COVERAGE_COLUMNS = ["survey", "commune_code", "rows", "valid", "excluded"]
EXCLUSION_COLUMNS = ["survey", "file", "rows", "valid", "excluded"]
#: Kinds of the ``conversions`` table (labels: parindex.publish.labels.CONVERSION_LABELS): encoding,
#: header_encoding, csv_encoding, alias, normalised, total_row, two_level_header, heading, sheet_name,
#: formula, commune_by_name.


@dataclass
class Ingest:
    """Settings of the readers (from the ``ingest:`` parameters) and the logs they fill."""

    limits: Limits = field(default_factory=Limits)
    header_search_rows: int = 30
    unmatched_share: float = 0.05
    unmatched_min_count: int = 5
    max_dossiers: int = 10_000
    max_adjustment_points: float = 10.0
    duplicate_scope: str = "commune"
    aliases: Aliases | None = None
    #: leaf code → every maximum the known methodology versions give it (a form maximum must be one of them)
    known_maxima: dict[str, set[float]] | None = None
    conversions: list[tuple] = field(default_factory=list)
    duplicates: list[tuple] = field(default_factory=list)
    coverage: list[tuple] = field(default_factory=list)
    exclusions: list[tuple] = field(default_factory=list)
    screen: Screen = field(default_factory=Screen)
    last_sheet: object = field(default=None, repr=False)

    def __post_init__(self):
        if self.aliases is None:
            self.aliases = load_aliases(DEFAULT_ALIASES) if DEFAULT_ALIASES.is_file() else Aliases({}, {})

    @classmethod
    def from_params(cls, p, root: Path, methodology_dir: Path | None = None) -> "Ingest":
        """From ``RunParams.ingest`` (paths relative to ``root``); known maxima from the methodology files
        of ``methodology_dir``."""
        from ..params import project_path

        ip = p.ingest
        aliases = load_aliases(project_path(root, ip.aliases)) if ip.aliases else Aliases({}, {})
        limits = Limits(max_file_mb=ip.max_file_mb, max_unzipped_mb=ip.max_unzipped_mb, max_rows=ip.max_rows,
                        max_columns=ip.max_columns)
        return cls(limits=limits, header_search_rows=ip.header_search_rows, unmatched_share=ip.unmatched_share,
                   unmatched_min_count=ip.unmatched_min_count, max_dossiers=ip.max_dossiers,
                   max_adjustment_points=ip.max_adjustment_points, duplicate_scope=ip.duplicate_scope,
                   aliases=aliases, known_maxima=known_maxima(methodology_dir) if methodology_dir else None)

    # ---------------------------------------------------------------- logs
    def convert(self, file: str, sheet: str, column: str, kind: str, detail: str, count: int) -> None:
        self.conversions.append((file, sheet, column, kind, detail[:300], int(count)))

    def conversions_table(self) -> pd.DataFrame:
        df = pd.DataFrame(self.conversions, columns=CONVERSION_COLUMNS)
        return df.astype({"file": "str", "sheet": "str", "column": "str", "kind": "str", "detail": "str",
                          "count": "int64"}).reset_index(drop=True)


    def screened_conversions(self) -> pd.DataFrame:
        """:meth:`conversions_table` with personal data masked in its details (what leaves the clean stage)."""
        conv = self.conversions_table()
        conv["detail"] = self.screen.series(conv["detail"], "(nhật ký chuyển đổi)", "detail")
        return conv
    def duplicates_table(self) -> pd.DataFrame:
        df = pd.DataFrame(self.duplicates, columns=DUPLICATE_COLUMNS)
        return df.astype({"file": "str", "row": "int64", "ballot_id": "str", "first_row": "int64",
                          "first_ballot_id": "str", "matched_on": "str", "scope": "str"}).reset_index(drop=True)

    def coverage_table(self) -> pd.DataFrame:
        df = pd.DataFrame(self.coverage, columns=COVERAGE_COLUMNS)
        return df.astype({"survey": "str", "commune_code": "str", "rows": "int64", "valid": "int64",
                          "excluded": "int64"}).sort_values(["survey", "commune_code"]).reset_index(drop=True)

    def exclusions_table(self) -> pd.DataFrame:
        df = pd.DataFrame(self.exclusions, columns=EXCLUSION_COLUMNS)
        return df.astype({"survey": "str", "file": "str", "rows": "int64", "valid": "int64",
                          "excluded": "int64"}).reset_index(drop=True)

    # ---------------------------------------------------------------- sheets
    def sheet(self, path: Path, sheet: str, cols, **kw):
        """:func:`parindex.ingest.sheets.read_sheet` with these settings and logs; the sheet is kept as
        ``last_sheet`` (the fuzz test compares a reader's rows with it) until the next one is read."""
        from .sheets import read_sheet

        self.last_sheet = None
        self.last_sheet = read_sheet(path, sheet, cols, ing=self, **kw)
        return self.last_sheet


def known_maxima(methodology_dir: Path) -> dict[str, set[float]]:
    """Leaf code → the maxima every methodology file of ``methodology_dir`` gives it (a YAML file with a
    ``fields`` tree; others are skipped). Each file is read as every methodology file is, bounded and parsed
    once per content (:func:`parindex.methodology._parse_yaml`), and walked directly: the files are validated
    when they are used."""
    from ..methodology import MethodologyError, _parse_yaml, _read_bounded

    out: dict[str, set[float]] = {}

    def walk(nodes) -> None:
        for n in nodes or []:
            if not isinstance(n, dict):
                continue
            kids = n.get("criteria") or n.get("subcriteria")
            if kids:
                walk(kids)
            elif "code" in n and isinstance(n.get("points"), (int, float)):
                out.setdefault(str(n["code"]), set()).add(float(n["points"]))

    for f in sorted(Path(methodology_dir).glob("*.yaml")):
        try:
            d = _parse_yaml(_read_bounded(f), str(f))
        except MethodologyError:
            continue
        if isinstance(d, dict) and isinstance(d.get("fields"), list):
            walk(d["fields"])
    return out
