"""One entry point for every report format."""

from __future__ import annotations

from pathlib import Path

from microgrid.errors import ReportError
from microgrid.reports.summary import ReportSummary

FORMATS = ("csv", "xlsx", "pdf", "html")


def output_path(fmt: str, path: str | Path) -> Path:
    """``path`` as a Path, once ``fmt`` is a known format and its folder exists.

    Raises
    ------
    ReportError
        Unknown format, or the output folder does not exist.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not path.parent.is_dir():
        raise ReportError(f"output folder {str(path.parent)!r} does not exist")
    return path


def write_report(summary: ReportSummary, fmt: str, path: str | Path) -> Path:
    """Render ``summary`` as ``fmt`` (csv, xlsx, pdf, html) into ``path``.

    Raises
    ------
    ReportError
        Unknown format, or the output folder does not exist.
    """
    path = output_path(fmt, path)
    if fmt == "csv":
        from microgrid.reports.csv_export import write_csv as write
    elif fmt == "xlsx":
        from microgrid.reports.xlsx_export import write_xlsx as write
    elif fmt == "html":
        from microgrid.reports.html_export import write_html as write
    else:
        from microgrid.reports.pdf_export import write_pdf as write
    return write(summary, path)


def format_from_path(path: str | Path) -> str | None:
    """The format a file name asks for (by suffix), or None."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"htm": "html"}.get(suffix, suffix) if suffix in (*FORMATS, "htm") else None
