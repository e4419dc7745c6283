"""The documents the district issues, drafted from the run (issue 15): appraisal notices per commune with
their reply forms, the draft report on the index and the draft decision with its annex, in the
administrative layout of Decree 30/2020/NĐ-CP (Appendix I). Wording lives in ``templates/*.yaml``."""

from .build import write_documents
from .layout import DECREE_RANGES, AdminDoc, Format, FormatError, docx_bytes
from .templates import TemplateError

__all__ = ["DECREE_RANGES", "AdminDoc", "Format", "FormatError", "TemplateError", "docx_bytes", "write_documents"]
