"""The PDF of the daily audit report, read back the way a person (or pdftotext) reads it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from menshen.testing.pdf import flat, font_family, pdf_fonts, pdf_pages, pdf_text
from menshen.web.exports import render_pdf
from menshen.web.exports.document import TAIPEI, ReportDocument, Signature
from menshen.web.exports.pdf import render_document


def test_it_contains_every_findings_evidence_and_decision(document: ReportDocument) -> None:
    text = flat(pdf_text(render_pdf(document)))
    for finding in document.findings:
        for sentence in finding.evidence_zh:
            assert flat(sentence) in text
        assert flat(finding.reason) in text
        assert finding.masked_subject in text
        assert flat(finding.staff_name) in text
    asked = document.findings[0].exchanges[0]
    assert flat(asked.question) in text and flat(asked.answer) in text


def test_it_lists_the_spot_checks_and_the_summary(document: ReportDocument) -> None:
    text = flat(pdf_text(render_pdf(document)))
    assert "抽查" in text
    for check in document.spot_checks:
        assert check.masked_subject in text
    assert flat("依民眾授權查詢勞保資料之求職登記表辦理") in text
    assert flat(f"{document.lookup_count:,}") in text


def test_it_never_prints_a_full_national_id(document: ReportDocument) -> None:
    text = pdf_text(render_pdf(document))
    assert all("****" in entry.masked_subject for entry in document.items)
    assert re.search(r"(?<![A-Za-z0-9])[A-Z][0-9]{9}(?![0-9])", text) is None


def test_its_header_names_the_agency_unit_and_roc_report_date(document: ReportDocument) -> None:
    text = flat(pdf_text(render_pdf(document)))
    assert "臺南市南化區公所" in text
    assert "戶政課" in text
    assert "稽核日報表" in text
    assert "115年11月27日" in text
    assert "2026-11-27" not in text and "2026/11/27" not in text


def test_pages_are_numbered_page_n_of_m() -> None:
    from menshen.web.exports.sample import sample_document

    long_report = sample_document(findings=12, spot_checks=40, lookups=0, seed=3)
    pdf, pages = render_document(long_report)
    assert pages == pdf_pages(pdf) and pages >= 3
    text = pdf_text(pdf)
    for page in range(1, pages + 1):
        assert f"第 {page} 頁／共 {pages} 頁" in text
    # pdftotext separates pages with form feeds: each page carries its own number.
    assert f"第 2 頁／共 {pages} 頁" in text.split("\f")[1]


def test_the_signature_block_names_reviewer_and_approver_with_roc_times(
    document: ReportDocument,
) -> None:
    text = flat(pdf_text(render_pdf(document)))
    reviewer, approver = document.reviewer, document.approver
    assert reviewer.at is not None and approver.at is not None
    for signature in (reviewer, approver):
        local = signature.at.astimezone(TAIPEI)
        assert flat(signature.name) in text
        assert flat(f"{local.year - 1911}年{local.month}月{local.day}日 {local:%H:%M}") in text
    assert flat("單位主管（審核）") in text and flat("稽核主管（批核）") in text


def test_an_unapproved_report_shows_an_empty_approver_line(document: ReportDocument) -> None:
    pending = dataclasses.replace(
        document, status="submitted", approver=Signature("稽核主管（批核）", "Approver")
    )
    text = flat(pdf_text(render_pdf(pending)))
    assert flat("尚未簽核") in text
    assert flat("已送審") in text


def test_times_are_printed_in_taipei_time_whatever_zone_they_come_in(
    document: ReportDocument,
) -> None:
    utc_time = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.UTC)  # 07:30 on the 28th in Taipei
    signed = dataclasses.replace(
        document, reviewer=dataclasses.replace(document.reviewer, at=utc_time)
    )
    assert "115年11月28日07:30" in flat(pdf_text(render_pdf(signed)))


def test_text_typed_by_users_is_printed_literally_not_as_markup(document: ReportDocument) -> None:
    entry = dataclasses.replace(document.findings[0], reason='<b>粗體</b> & "引號"')
    tricky = dataclasses.replace(document, findings=[entry, *document.findings[1:]])
    assert flat('<b>粗體</b>&"引號"') in flat(pdf_text(render_pdf(tricky)))


def test_it_embeds_exactly_one_font_family_noto_sans_cjk_tc(document: ReportDocument) -> None:
    fonts = pdf_fonts(render_pdf(document))
    assert fonts, "no fonts listed"
    assert {font_family(f["name"]) for f in fonts} == {"Noto-Sans-CJK-TC"}
    assert all(f["emb"] == "yes" and f["sub"] == "yes" for f in fonts)


def test_a_report_without_findings_says_so(document: ReportDocument) -> None:
    empty = dataclasses.replace(document, findings=[], spot_checks=[], history=[])
    text = flat(pdf_text(render_pdf(empty)))
    assert flat("本日無須審核之異常事項") in text
