"""The daily audit report as an Excel workbook (openpyxl, write-only: 20,000 look-ups stream)."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from menshen.web.exports.document import ReportDocument
from menshen.web.exports.tables import Cell, Sheet, sheets

_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
_WRAP = Alignment(wrap_text=True, vertical="top")
_DATETIME = "yyyy-mm-dd hh:mm:ss"
_DATE = "yyyy-mm-dd"
# Characters XML 1.0 cannot hold; openpyxl refuses them.
_ILLEGAL = {c: None for c in range(32) if c not in (9, 10, 13)}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _value(ws: Any, value: Cell, bold: bool = False, fill: bool = False) -> WriteOnlyCell:
    if isinstance(value, str):
        value = value.translate(_ILLEGAL)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text typed by a user is never a formula
    if isinstance(value, dt.datetime):
        cell.number_format = _DATETIME
    elif isinstance(value, dt.date):
        cell.number_format = _DATE
    elif isinstance(value, str) and "\n" in value:
        cell.alignment = _WRAP
    if bold:
        cell.font = _BOLD
    if fill:
        cell.fill = _HEADER_FILL
    return cell


def _plain(ws: Any, value: Cell) -> Any:
    """Data cells: plain values are ~5x faster to stream than styled cells; datetimes get
    openpyxl's default date-time format; only text that needs care gets a styled cell."""
    if isinstance(value, str) and (
        value.startswith("=") or "\n" in value or _needs_cleaning(value)
    ):
        return _value(ws, value)
    return value


def _needs_cleaning(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _write_sheet(workbook: Workbook, sheet: Sheet) -> None:
    ws = workbook.create_sheet(title=sheet.name[:31])
    for index, width in enumerate(sheet.widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2" if len(sheet.blocks) == 1 else None
    for number, block in enumerate(sheet.blocks):
        if number:
            ws.append([])
        if block.title:
            ws.append([_value(ws, block.title, bold=True)])
        ws.append([_value(ws, h, bold=True, fill=True) for h in block.header])
        for row in block.rows:
            ws.append([_plain(ws, v) for v in row])


def render_document(doc: ReportDocument) -> bytes:
    workbook = Workbook(write_only=True)
    workbook.properties.title = doc.title
    workbook.properties.creator = "menshen"
    for sheet in sheets(doc):
        _write_sheet(workbook, sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render_xlsx(report: Any) -> bytes:
    """The report as XLSX. Takes a ReportDocument or the web app's Report model instance."""
    from menshen.web.exports.document import from_report

    doc = report if isinstance(report, ReportDocument) else from_report(report)
    return render_document(doc)
