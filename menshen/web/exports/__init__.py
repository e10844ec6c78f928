"""Exports of the daily audit report (稽核日報表): PDF for printing and signing, ODS (ODF,
CNS 15251) and XLSX for editing. Each renderer takes the web app's `Report` model instance
or a plain `ReportDocument`, and returns the file's bytes.

    from menshen.web.exports import render_pdf, render_ods, render_xlsx
    pdf_bytes = render_pdf(report)
"""

from __future__ import annotations

from menshen.web.exports.document import ReportDocument, from_report
from menshen.web.exports.ods import render_ods
from menshen.web.exports.pdf import render_pdf
from menshen.web.exports.xlsx import render_xlsx

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

__all__ = [
    "CONTENT_TYPES",
    "ReportDocument",
    "from_report",
    "render_ods",
    "render_pdf",
    "render_xlsx",
]
