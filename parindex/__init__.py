"""parindex — the commune-level Administrative Reform Index (Chỉ số CCHC cấp xã), computed from raw
files, checked and published as an offline interactive report."""

__version__ = "0.1.0"
