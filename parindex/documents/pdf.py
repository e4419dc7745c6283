"""PDF and PNG pages of the drafts, to look at them without Word: LibreOffice (Debian's ``libreoffice-writer``)
converts each .docx to PDF, ``pdftoppm`` (``poppler-utils``) renders its pages as PNG.

``make documents-pdf`` installs both with apt when missing and runs::

    python -m parindex.documents.pdf reports/<year>/van_ban

which writes ``van_ban/pdf/<name>.pdf`` and ``van_ban/png/<name>-<page>.png``. LibreOffice runs headless with
a private, temporary user profile (no clash with a LibreOffice the user has open). Times New Roman is drawn
with a metric-compatible font (Liberation Serif, ``fonts-liberation``) when the Microsoft font is absent, so
line breaks and page breaks are those of Word.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOFFICE = ("soffice", "libreoffice")


class ConversionError(RuntimeError):
    """LibreOffice or pdftoppm missing or failing."""


def soffice() -> str | None:
    return next((p for p in (shutil.which(n) for n in SOFFICE) if p), None)


def to_pdf(docx: list[Path], out_dir: Path, timeout: float = 600) -> list[Path]:
    """Convert .docx files to PDF in ``out_dir`` (one LibreOffice process for all); returns the PDF paths."""
    exe = soffice()
    if exe is None:
        raise ConversionError("LibreOffice không có trên máy (soffice not found): chạy `make documents-pdf`, "
                              "lệnh này cài gói Debian libreoffice-writer")
    out_dir.mkdir(parents=True, exist_ok=True)
    if not docx:
        return []
    with tempfile.TemporaryDirectory(prefix="parindex-lo-") as profile:
        cmd = [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--convert-to", "pdf",
               "--outdir", str(out_dir), *[str(p) for p in docx]]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    pdfs = [out_dir / (p.stem + ".pdf") for p in docx]
    missing = [p.name for p in pdfs if not p.is_file()]
    if res.returncode != 0 or missing:
        raise ConversionError(f"LibreOffice không chuyển được {', '.join(missing) or 'tệp'} sang PDF "
                              f"(conversion failed, exit {res.returncode}): {res.stderr.strip()[-500:]}")
    return pdfs


def to_png(pdf: Path, out_dir: Path, dpi: int = 80, first: int | None = None, last: int | None = None) -> list[Path]:
    """Render the pages of ``pdf`` as ``<out_dir>/<stem>-<page>.png``; returns them in page order."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise ConversionError("pdftoppm không có trên máy (not found): cài gói Debian poppler-utils")
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "-png", "-r", str(dpi)]
    if first:
        cmd += ["-f", str(first)]
    if last:
        cmd += ["-l", str(last)]
    subprocess.run(cmd + [str(pdf), str(out_dir / pdf.stem)], check=True, capture_output=True, timeout=300)
    return sorted(out_dir.glob(f"{pdf.stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def pdf_pages(pdf: Path) -> tuple[int, tuple[float, float]]:
    """(number of pages, page size in mm) of a PDF, read with ``pdfinfo`` (poppler-utils)."""
    exe = shutil.which("pdfinfo")
    if exe is None:
        raise ConversionError("pdfinfo không có trên máy (not found): cài gói Debian poppler-utils")
    out = subprocess.run([exe, str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(next(ln.split(":", 1)[1] for ln in out.splitlines() if ln.startswith("Pages:")))
    size = next(ln.split(":", 1)[1] for ln in out.splitlines() if ln.startswith("Page size:"))
    w, h = (float(v) for v in size.split("pts")[0].split("x"))
    return pages, (w * 25.4 / 72, h * 25.4 / 72)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m parindex.documents.pdf",
                                 description="PDF and PNG pages of the .docx drafts of a folder (LibreOffice, pdftoppm)")
    ap.add_argument("folder", type=Path, help="folder of the .docx files, e.g. reports/2023/van_ban")
    ap.add_argument("--dpi", type=int, default=80)
    a = ap.parse_args(argv)
    docx = sorted(a.folder.glob("*.docx"))
    if not docx:
        print(f"Không có tệp .docx trong {a.folder} (no .docx files): chạy `make report` trước", file=sys.stderr)
        return 1
    try:
        pdfs = to_pdf(docx, a.folder / "pdf")
        n = 0
        for pdf in pdfs:
            for old in (a.folder / "png").glob(f"{pdf.stem}-*.png"):
                old.unlink()
            n += len(to_png(pdf, a.folder / "png", a.dpi))
    except ConversionError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{len(pdfs)} tệp PDF trong {a.folder / 'pdf'}, {n} trang PNG trong {a.folder / 'png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
