"""Cleaning stage: the raw files officials produce → clean tables + a rejection log.

Four raw files per year (docs/ARCHITECTURE.md, "Raw files"), each as .xlsx, .xlsm, .xls or .csv (UTF-8,
UTF-8 with BOM, UTF-16, Windows-1258, TCVN3 or VNI):

* ``tu_danh_gia_tham_dinh_<year>`` (sheet ``ChamDiem``): self-assessment and appraisal scores;
* ``phieu_can_bo_<year>`` (sheet ``PhieuCanBo``): the officials' survey, one row per respondent × commune;
* ``phieu_hai_long_<year>`` (sheet ``PhieuHaiLong``): the satisfaction (SIPAS) survey, one row per ballot;
* ``so_ho_so_<year>`` (sheet ``HoSo``): dossiers per commune × procedure field.

Two kinds of trouble are told apart:

* a file that cannot be used (missing, wrong sheet, missing column, blank, unreadable encoding, a column
  mixing encodings, a formula without its saved value, a limit of :class:`Ingest` passed, too many
  unmatched values in a coded column) and any problem row in the score or dossier tables (unknown
  commune or criterion, bad or out-of-range score, implausible count, duplicate row) raise
  :class:`InputError`, listing every problem with file, sheet, row and column — a human fixes the file,
  the run refuses (keeping its diagnosis, :mod:`parindex.ingest.diagnosis`);
* an invalid survey ballot is excluded and logged in ``rejections`` with one rule code
  (:data:`BALLOT_RULES`), never silently dropped.

What was converted or recognised on the way (legacy encodings, aliases, total rows, two-level headers
…) is logged in ``CleanData.log["conversions"]``. Respondents' names, phone numbers and ID numbers are
read only to detect duplicates (as salted SHA-256 hashes) and to mask them in free text; they never reach
a clean table or the rejection log.
"""

from .clean import LOG_TABLES, RAW_FILES, SCHEMAS, TABLES, CleanData, clean_year, find_raw_file
from .context import Ingest
from .log import BALLOT_RULES, REJECTION_COLUMNS, InputError, Problem
from .readers import (
           COMMUNE_HEADINGS,
           read_assessment,
           read_dossiers,
           read_officials,
           read_satisfaction,
)
from .sheets import Col, Sheet, cell_text, head_key, read_sheet

__all__ = ["LOG_TABLES", "Ingest", "BALLOT_RULES", "COMMUNE_HEADINGS", "RAW_FILES", "REJECTION_COLUMNS", "SCHEMAS", "TABLES", "CleanData", "Col",
           "InputError", "Problem", "Sheet", "cell_text", "clean_year", "find_raw_file", "head_key", "read_assessment",
           "read_dossiers", "read_officials", "read_satisfaction", "read_sheet"]
