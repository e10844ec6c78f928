"""The daily audit report as an OpenDocument spreadsheet (ODF, CNS 15251), with odfpy —
the editable format Taiwanese government documents are exchanged in."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape

from odf import element, number
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Style, TableCellProperties, TableColumnProperties, TextProperties
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import P

from menshen.web.exports.document import ReportDocument
from menshen.web.exports.tables import Cell, Sheet, sheets

_ILLEGAL = {c: None for c in range(32) if c not in (9, 10, 13)}


class _Styles:
    """The few styles the sheets use, registered once per document."""

    def __init__(self, doc: OpenDocumentSpreadsheet) -> None:
        self.header = Style(name="header", family="table-cell")
        self.header.addElement(TextProperties(fontweight="bold"))
        self.header.addElement(TableCellProperties(backgroundcolor="#dddddd"))
        doc.automaticstyles.addElement(self.header)

        self.title = Style(name="title", family="table-cell")
        self.title.addElement(TextProperties(fontweight="bold", fontsize="12pt"))
        doc.automaticstyles.addElement(self.title)

        self.wrap = Style(name="wrap", family="table-cell")
        self.wrap.addElement(TableCellProperties(wrapoption="wrap", verticalalign="top"))
        doc.automaticstyles.addElement(self.wrap)

        datetime_format = number.DateStyle(name="iso-datetime")
        for part in (
            number.Year(style="long"), number.Text(text="-"), number.Month(style="long"),
            number.Text(text="-"), number.Day(style="long"), number.Text(text=" "),
            number.Hours(style="long"), number.Text(text=":"), number.Minutes(style="long"),
            number.Text(text=":"), number.Seconds(style="long"),
        ):  # fmt: skip
            datetime_format.addElement(part)
        doc.automaticstyles.addElement(datetime_format)
        self.datetime = Style(name="datetime", family="table-cell", datastylename="iso-datetime")
        doc.automaticstyles.addElement(self.datetime)

        date_format = number.DateStyle(name="iso-date")
        for part in (
            number.Year(style="long"), number.Text(text="-"), number.Month(style="long"),
            number.Text(text="-"), number.Day(style="long"),
        ):  # fmt: skip
            date_format.addElement(part)
        doc.automaticstyles.addElement(date_format)
        self.date = Style(name="date", family="table-cell", datastylename="iso-date")
        doc.automaticstyles.addElement(self.date)
        self.columns: dict[float, Style] = {}
        self._doc = doc

    def column(self, width_chars: int) -> Style:
        width_cm = round(max(width_chars, 4) * 0.22, 2)
        if width_cm not in self.columns:
            style = Style(name=f"col{len(self.columns)}", family="table-column")
            style.addElement(TableColumnProperties(columnwidth=f"{width_cm}cm"))
            self._doc.automaticstyles.addElement(style)
            self.columns[width_cm] = style
        return self.columns[width_cm]


def _cell(value: Cell, styles: _Styles, style: Style | None = None) -> TableCell:
    if value is None or value == "":
        return TableCell()
    if isinstance(value, bool):
        value = "是" if value else "否"
    if isinstance(value, dt.datetime):
        cell = TableCell(
            valuetype="date", datevalue=value.strftime("%Y-%m-%dT%H:%M:%S"),
            stylename=style or styles.datetime,
        )  # fmt: skip
        cell.addElement(P(text=value.strftime("%Y-%m-%d %H:%M:%S")))
        return cell
    if isinstance(value, dt.date):
        cell = TableCell(
            valuetype="date", datevalue=value.isoformat(), stylename=style or styles.date
        )
        cell.addElement(P(text=value.isoformat()))
        return cell
    if isinstance(value, int | float):
        cell = (
            TableCell(valuetype="float", value=value, stylename=style)
            if style
            else TableCell(valuetype="float", value=value)
        )
        cell.addElement(P(text=str(value)))
        return cell
    text = str(value).translate(_ILLEGAL)
    lines = text.split("\n")
    if style is None and len(lines) > 1:
        style = styles.wrap
    cell = (
        TableCell(valuetype="string", stylename=style) if style else TableCell(valuetype="string")
    )
    for line in lines:
        cell.addElement(P(text=line))
    return cell


class _RawXml(element.Text):
    """Pre-serialised table rows. odfpy builds a Python object per cell and attribute, which
    takes ~20 s for a 20,000-row sheet; the data rows are written as XML text instead."""

    def toXml(self, level: int, f: Any) -> None:  # odfpy's method name
        f.write(self.data)


def _xml_cell(value: Cell) -> str:
    if value is None or value == "":
        return "<table:table-cell/>"
    if isinstance(value, bool):
        value = "是" if value else "否"
    if isinstance(value, dt.datetime):
        shown = value.strftime("%Y-%m-%d %H:%M:%S")
        return (
            '<table:table-cell table:style-name="datetime" office:value-type="date" '
            f'office:date-value="{value.strftime("%Y-%m-%dT%H:%M:%S")}"><text:p>{shown}</text:p>'
            "</table:table-cell>"
        )
    if isinstance(value, dt.date):
        return (
            '<table:table-cell table:style-name="date" office:value-type="date" '
            f'office:date-value="{value.isoformat()}"><text:p>{value.isoformat()}</text:p>'
            "</table:table-cell>"
        )
    if isinstance(value, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value!r}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    lines = str(value).translate(_ILLEGAL).split("\n")
    style = ' table:style-name="wrap"' if len(lines) > 1 else ""
    paragraphs = "".join(f"<text:p>{escape(line)}</text:p>" for line in lines)
    return f'<table:table-cell{style} office:value-type="string">{paragraphs}</table:table-cell>'


def _xml_rows(rows: Iterable[Sequence[Cell]]) -> str:
    return "".join(
        "<table:table-row>" + "".join(_xml_cell(v) for v in values) + "</table:table-row>"
        for values in rows
    )


def _row(values: Any, styles: _Styles, style: Style | None = None) -> TableRow:
    row = TableRow()
    for value in values:
        row.addElement(_cell(value, styles, style))
    return row


def _table(sheet: Sheet, styles: _Styles) -> Table:
    table = Table(name=sheet.name)
    for width in sheet.widths:
        table.addElement(TableColumn(stylename=styles.column(width)))
    for number_, block in enumerate(sheet.blocks):
        if number_:
            table.addElement(TableRow())
        if block.title:
            table.addElement(_row([block.title], styles, styles.title))
        table.addElement(_row(block.header, styles, styles.header))
        table.appendChild(_RawXml(_xml_rows(block.rows)))
    return table


def render_document(doc: ReportDocument) -> bytes:
    ods = OpenDocumentSpreadsheet()
    # odfpy keeps only the automatic styles it sees referenced by its own elements; the raw
    # rows reference them too (datetime, date, wrap), so keep every one we defined.
    ods._used_auto_styles = lambda segments: [  # type: ignore[method-assign]
        e for e in ods.automaticstyles.childNodes if isinstance(e, element.Element)
    ]
    ods.meta.addElement(_meta_title(doc.title))
    styles = _Styles(ods)
    for sheet in sheets(doc):
        ods.spreadsheet.addElement(_table(sheet, styles))
    buffer = io.BytesIO()
    ods.write(buffer)
    return buffer.getvalue()


def _meta_title(title: str) -> Any:
    from odf.dc import Title

    return Title(text=title)


def render_ods(report: Any) -> bytes:
    """The report as ODS. Takes a ReportDocument or the web app's Report model instance."""
    from menshen.web.exports.document import from_report

    doc = report if isinstance(report, ReportDocument) else from_report(report)
    return render_document(doc)
