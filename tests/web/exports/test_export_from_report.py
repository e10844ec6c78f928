"""Exports of a real Report model instance after review and approval in the web app."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
from webcast import REPORT_DAY, SUBJECTS, CastTestCase

from menshen.testing.pdf import flat, pdf_text
from menshen.web.accounts.scope import build_access
from menshen.web.exports import from_report, render_ods, render_pdf, render_xlsx
from menshen.web.reports import workflow
from menshen.web.reports.models import ExplanationRequest, Report, ReviewItem


class ExportFromReportTests(CastTestCase):
    def setUp(self) -> None:
        access = {who: build_access(self.people[who].user) for who in ("chief1", "head", "clerk1")}
        items = ReviewItem.objects.filter(report=self.report).order_by("pk")
        self.asked = items.get(key="f-clerk1-a")
        workflow.decide(access["chief1"], self.asked, "ask", question="請說明查詢目的")
        request = ExplanationRequest.objects.get(item=self.asked)
        workflow.answer(access["clerk1"], request, "民眾臨櫃申請，案件隔日補登")
        for item in items.exclude(pk=self.asked.pk):
            who = "head" if item.staff_id == "chief1" else "chief1"
            workflow.decide(access[who], item, "justified", reason=f"業務需要 {item.key}")
        workflow.decide(access["chief1"], ReviewItem.objects.get(pk=self.asked.pk), "justified",
                        reason="說明合理")  # fmt: skip
        workflow.submit(access["chief1"], Report.objects.get(pk=self.report.pk))
        workflow.approve(
            build_access(self.people["auditor"].user), Report.objects.get(pk=self.report.pk)
        )
        self.approved = Report.objects.get(pk=self.report.pk)

    def test_the_document_carries_the_reports_people_decisions_and_look_ups(self) -> None:
        doc = from_report(self.approved)
        assert doc.agency == "南區區公所" and doc.unit_name == "戶籍課"
        assert doc.report_date == REPORT_DAY and doc.status == "approved"
        assert doc.reviewer.name == self.people["chief1"].name and doc.reviewer.at is not None
        assert doc.approver.name == self.people["auditor"].name and doc.approver.at is not None
        assert len(doc.findings) == self.approved.items.filter(kind="finding").count()
        assert len(doc.lookups) == self.approved.lookup_count
        asked = next(e for e in doc.findings if e.exchanges)
        assert asked.exchanges[0].answer == "民眾臨櫃申請，案件隔日補登"
        assert asked.status == "justified" and asked.reason == "說明合理"
        assert [h.action for h in doc.history][-2:] == ["submitted", "approved"]

    def test_no_export_shows_a_full_national_id(self) -> None:
        full_ids = set(SUBJECTS)
        text = pdf_text(render_pdf(self.approved))
        assert not full_ids & set(re.findall(r"[A-Z][0-9]{9}", text))
        workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(self.approved)))
        cells = {
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        }
        assert not full_ids & cells
        with zipfile.ZipFile(io.BytesIO(render_ods(self.approved))) as archive:
            content = archive.read("content.xml").decode("utf-8")
        assert "****" in content
        assert not full_ids & set(re.findall(r"[A-Z][0-9]{9}", content))

    def test_the_pdf_of_the_model_holds_the_evidence_and_the_signatures(self) -> None:
        text = flat(pdf_text(render_pdf(self.approved)))
        assert flat("未見該民眾之業務案件紀錄") in text
        assert (
            flat(self.people["chief1"].name) in text and flat(self.people["auditor"].name) in text
        )
        assert flat("請說明查詢目的") in text and flat("民眾臨櫃申請，案件隔日補登") in text
        assert "114年3月3日" in text
