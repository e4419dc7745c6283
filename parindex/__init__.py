"""parindex — the commune-level Administrative Reform Index (Chỉ số CCHC cấp xã), computed from raw
files, checked and published as an offline interactive report."""

__version__ = "0.1.0"

import os as _os

# openpyxl writes other (equally valid) xlsx bytes when lxml is installed, and python-docx (the drafts of
# parindex.documents) brings lxml: keep openpyxl's standard-library XML writer so that every xlsx the project
# writes stays byte-identical whatever else is installed (this must run before openpyxl is imported).
_os.environ.setdefault("OPENPYXL_LXML", "False")
