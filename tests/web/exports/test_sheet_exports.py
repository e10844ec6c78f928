"""The ODS (CNS 15251) and XLSX exports open in a spreadsheet program and hold every row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from odf.namespaces import OFFICENS
from odf.opendocument import load
from odf.table import Table, TableCell, TableRow

from menshen.web.exports import render_ods, render_xlsx
from menshen.web.exports.document import ReportDocument

SHEETS = [
    "摘要 Summary",
    "異常事項 Findings",
    "決定 Decisions",
    "歷程 History",
    "查詢清單 Look-ups",
]


def ods_tables(data: bytes) -> dict[str, list[list[str]]]:
    """Sheet name -> rows of cell texts, as an ODF reader sees them."""
    document = load(io.BytesIO(data))
    tables = {}
    for table in document.spreadsheet.getElementsByType(Table):
        rows = []
        for row in table.getElementsByType(TableRow):
            rows.append(
                [
                    "\n".join(str(p) for p in cell.childNodes)
                    for cell in row.getElementsByType(TableCell)
                ]
            )
        tables[table.getAttribute("name")] = rows
    return tables


def test_the_ods_is_an_odf_spreadsheet_with_the_right_mimetype(document: ReportDocument) -> None:
    data = render_ods(document)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        assert "content.xml" in archive.namelist()


def test_the_ods_has_every_sheet_and_every_lookup(document: ReportDocument) -> None:
    tables = ods_tables(render_ods(document))
    assert list(tables) == SHEETS
    lookups = tables["查詢清單 Look-ups"]
    assert len(lookups) == 1 + len(document.lookups)
    event_ids = {row[2] for row in lookups[1:]}
    assert event_ids == {row.event_id for row in document.lookups}
    findings = tables["異常事項 Findings"]
    assert len(findings) == 1 + len(document.items)
    assert document.findings[0].evidence_zh[0] in findings[1][12]


def test_the_ods_types_times_as_dates_and_counts_as_numbers(document: ReportDocument) -> None:
    data = render_ods(document)
    table = load(io.BytesIO(data)).spreadsheet.getElementsByType(Table)[4]
    first_data_row = table.getElementsByType(TableRow)[1]
    when = first_data_row.getElementsByType(TableCell)[0]
    assert when.attributes[(OFFICENS, "value-type")] == "date"
    expected = document.lookups[0].occurred_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert when.attributes[(OFFICENS, "date-value")] == expected.strftime("%Y-%m-%dT%H:%M:%S")
    summary = load(io.BytesIO(data)).spreadsheet.getElementsByType(Table)[0]
    values = [
        c.attributes.get((OFFICENS, "value"))
        for r in summary.getElementsByType(TableRow)
        for c in r.getElementsByType(TableCell)
        if c.attributes.get((OFFICENS, "value-type")) == "float"
    ]
    assert str(document.lookup_count) in values


def test_the_ods_keeps_markup_and_control_characters_out_of_the_xml(
    document: ReportDocument,
) -> None:
    entry = dataclasses.replace(document.findings[0], reason="<x>&y\x07 第二行\n第三行")
    tricky = dataclasses.replace(document, findings=[entry, *document.findings[1:]])
    decisions = ods_tables(render_ods(tricky))["決定 Decisions"]
    assert decisions[1][4] == "<x>&y 第二行\n第三行"


def test_the_xlsx_has_every_sheet_and_every_lookup(document: ReportDocument) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(document)))
    assert workbook.sheetnames == SHEETS
    rows = list(workbook["查詢清單 Look-ups"].iter_rows(values_only=True))
    assert len(rows) == 1 + len(document.lookups)
    first = document.lookups[0]
    assert rows[1][0] == first.occurred_at.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(
        tzinfo=None
    )
    assert rows[1][2] == first.event_id and rows[1][5] == first.masked_subject
    decisions = list(workbook["決定 Decisions"].iter_rows(values_only=True))
    assert [row[3] for row in decisions[1:]] == [e.status_label for e in document.items]


def test_the_xlsx_summary_gives_the_roc_date_and_the_signatures(document: ReportDocument) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(document)))
    facts = {
        row[0]: row[1]
        for row in workbook["摘要 Summary"].iter_rows(values_only=True)
        if row and row[0]
    }
    assert facts["報表日期 Report date"] == "115年11月27日"
    assert facts["單位主管 Reviewer"] == document.reviewer.name
    assert facts["稽核主管 Approver"] == document.approver.name
    assert facts["查詢筆數 Look-ups"] == document.lookup_count


@pytest.mark.parametrize("reason", ['=HYPERLINK("http://x")', "=1+1"])
def test_the_xlsx_never_turns_typed_text_into_a_formula(
    document: ReportDocument, reason: str
) -> None:
    entry = dataclasses.replace(document.findings[0], reason=reason)
    tricky = dataclasses.replace(document, findings=[entry, *document.findings[1:]])
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(tricky)))["決定 Decisions"]
    cell = sheet.cell(row=2, column=5)
    assert cell.value == reason and cell.data_type == "s"
