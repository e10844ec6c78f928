"""The review flow through the web pages, as a reviewer, a staff member and an approver
click through it; and zh-Hant by default with English switchable."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

from django.test import Client
from django.urls import reverse
from webcast import SUBJECTS, CastTestCase, password_of

from menshen import ids
from menshen.web.reports.models import ExplanationRequest, Report, ReviewItem

LOCALE = (
    Path(__file__).resolve().parents[2] / "menshen" / "web" / "locale" / "zh_Hant" / "LC_MESSAGES"
)


class FlowTests(CastTestCase):
    def decide(self, client: Client, key: str, decision: str, reason: str = "業務需要"):
        item = self.item(key)
        return client.post(
            reverse("reports:decide", args=[self.report.pk, item.pk]),
            {"decision": decision, "reason": reason},
        )

    def test_the_report_page_puts_findings_first_with_evidence_and_decision_buttons(self) -> None:
        response = self.client_for("chief1").get(reverse("reports:detail", args=[self.report.pk]))
        text = response.content.decode()
        assert "戶籍課" in text and "114年3月3日" in text
        first_finding = text.index('data-kind="finding"')
        assert first_finding < text.index('data-kind="spot_check"') < text.index("摘要")
        assert "未見該民眾之業務案件紀錄" in text
        item = self.item("f-clerk1-a")
        for testid in ("decide-justified", "decide-ask", "decide-improper", "reason"):
            assert f'data-testid="{testid}-{item.pk}"' in text
        # the reviewer's own look-up has no decision form for them
        own = self.item("f-chief1-c")
        assert f'data-testid="decide-form-{own.pk}"' not in text
        assert 'data-testid="submit-report" disabled' in text

    def test_a_full_review_ask_answer_submit_return_and_approve(self) -> None:
        chief, head, clerk2 = (
            self.client_for("chief1"),
            self.client_for("head"),
            self.client_for("clerk2"),
        )
        self.decide(chief, "f-clerk1-a", "justified")
        self.decide(chief, "f-clerk2-b", "ask", "請說明為何查詢此人")
        self.decide(head, "f-chief1-c", "justified")
        spot = ReviewItem.objects.get(report=self.report, kind="spot_check")
        chief.post(
            reverse("reports:decide", args=[self.report.pk, spot.pk]),
            {"decision": "justified", "reason": "抽查相符"},
        )
        # not yet: one item waits for the staff member
        chief.post(reverse("reports:submit", args=[self.report.pk]))
        assert Report.objects.get(pk=self.report.pk).status == "open"
        inbox = clerk2.get(reverse("investigations:inbox")).content.decode()
        assert "請說明為何查詢此人" in inbox
        assert ids.mask(SUBJECTS[301]) in inbox and SUBJECTS[301] not in inbox
        request = ExplanationRequest.objects.get(staff=self.people["clerk2"])
        clerk2.post(reverse("investigations:answer", args=[request.pk]), {"answer": "民眾電話申請"})
        page = chief.get(reverse("reports:detail", args=[self.report.pk])).content.decode()
        assert "民眾電話申請" in page
        self.decide(chief, "f-clerk2-b", "justified", "說明合理")
        chief.post(reverse("reports:submit", args=[self.report.pk]))
        assert Report.objects.get(pk=self.report.pk).status == "submitted"

        auditor = self.client_for("auditor")
        auditor.post(
            reverse("reports:return", args=[self.report.pk]), {"comment": "請補充抽查說明"}
        )
        assert Report.objects.get(pk=self.report.pk).status == "returned"
        assert (
            "請補充抽查說明"
            in chief.get(reverse("reports:detail", args=[self.report.pk])).content.decode()
        )
        chief.post(reverse("reports:submit", args=[self.report.pk]))

        # approving needs the password again
        auditor.post(reverse("reports:approve", args=[self.report.pk]), {"password": "wrong"})
        assert Report.objects.get(pk=self.report.pk).status == "submitted"
        auditor.post(
            reverse("reports:approve", args=[self.report.pk]), {"password": password_of("auditor")}
        )
        report = Report.objects.get(pk=self.report.pk)
        assert report.status == "approved" and report.approved_by == self.people["auditor"]
        history = auditor.get(reverse("reports:detail", args=[self.report.pk])).content.decode()
        for label in ("線上送審", "退回", "批核", "請承辦人說明", "承辦人已說明"):
            assert label in history
        assert 'data-testid="approved-lock"' in history
        assert "合理 4 項．不當 0 項．未決定 0 項" in history
        assert 'data-testid="decide-form-' not in history

    def test_ticked_spot_checks_are_justified_together_with_one_reason(self) -> None:
        spot = ReviewItem.objects.get(report=self.report, kind="spot_check")
        finding = self.item("f-clerk1-a")
        client = self.client_for("chief1")
        page = client.get(reverse("reports:detail", args=[self.report.pk])).content.decode()
        assert f'data-testid="bulk-spot-item-{spot.pk}"' in page
        client.post(
            reverse("reports:justify_spot_checks", args=[self.report.pk]),
            {"items": [spot.pk, finding.pk], "reason": "經核對業務案件，查詢與案件相符。"},
        )
        spot.refresh_from_db()
        assert spot.status == "justified" and spot.reason.startswith("經核對")
        assert self.item("f-clerk1-a").status == "pending"  # findings are never bulk-decided

    def test_a_big_day_shows_undecided_spot_checks_a_page_at_a_time(self) -> None:
        from menshen.web.reports.views import SPOT_PAGE

        spot = ReviewItem.objects.get(report=self.report, kind="spot_check")
        for n in range(SPOT_PAGE + 5):
            ReviewItem.objects.create(
                report=self.report,
                kind="spot_check",
                key=f"HR:extra{n}",
                staff_id="clerk1",
                first_at=spot.first_at,
                last_at=spot.last_at,
            )
        client = self.client_for("chief1")
        response = client.get(reverse("reports:detail", args=[self.report.pk]))
        assert len(response.context["spot_checks"]) == SPOT_PAGE
        assert response.context["spot_hidden"] == 6
        response = client.get(reverse("reports:detail", args=[self.report.pk]), {"spot": "all"})
        assert len(response.context["spot_checks"]) == SPOT_PAGE + 6
        # the undecided count still covers every item, so submit stays disabled
        assert response.context["undecided"] == SPOT_PAGE + 6 + 3

    def test_the_look_up_list_is_paged_and_filtered(self) -> None:
        client = self.client_for("chief1")
        url = reverse("reports:lookups", args=[self.report.pk])
        response = client.get(url)
        assert response.context["page"].paginator.count == 125
        assert len(response.context["page"].object_list) == 50
        assert client.get(url, {"staff": "clerk2"}).context["page"].paginator.count == 61
        assert client.get(url, {"explained": "no"}).context["page"].paginator.count == 4
        assert client.get(url, {"explained": "flagged"}).context["page"].paginator.count == 4
        third = client.get(url, {"page": 3})
        assert len(third.context["page"].object_list) == 25

    def test_the_look_up_list_runs_a_fixed_number_of_queries(self) -> None:
        client = self.client_for("chief1")
        url = reverse("reports:lookups", args=[self.report.pk])
        client.get(url)
        with self.assertNumQueries(10):
            client.get(url, {"page": 2})

    def test_exports_are_offered_and_logged(self) -> None:
        from menshen.web.privacy.models import AccessLog

        client = self.client_for("chief1")
        signatures = {"pdf": b"%PDF", "ods": b"PK", "xlsx": b"PK"}
        for fmt, magic in signatures.items():
            response = client.get(reverse("reports:export", args=[self.report.pk, fmt]))
            assert response.status_code == 200, fmt
            assert response.content.startswith(magic), fmt
            assert f"U1-2025-03-03.{fmt}" in response["Content-Disposition"]
        logged = AccessLog.objects.filter(action="export", report=self.report)
        assert sorted(logged.values_list("detail", flat=True)) == ["ods", "pdf", "xlsx"]
        assert (
            client.get(reverse("reports:export", args=[self.report.pk, "doc"])).status_code == 404
        )


class LanguageTests(CastTestCase):
    def test_pages_are_in_traditional_chinese_by_default(self) -> None:
        text = Client().get(reverse("accounts:login")).content.decode()
        assert 'lang="zh-Hant-TW"' in text and "登入" in text and "帳號" in text

    def test_english_is_one_click_away(self) -> None:
        client = self.client_for("chief1")
        client.post(reverse("set_language"), {"language": "en", "next": "/"})
        text = client.get(reverse("reports:detail", args=[self.report.pk])).content.decode()
        assert "Findings to decide" in text and "Submit online for approval" in text
        assert "no business record for this person" in text  # evidence in English too

    def test_every_message_has_a_translation_and_the_compiled_catalogue_is_current(self) -> None:
        po = (LOCALE / "django.po").read_text(encoding="utf-8")
        assert "#, fuzzy" not in po
        entries = parse_po(po)
        assert len(entries) > 200
        untranslated = [msgid for msgid, msgstr in entries.items() if not msgstr]
        assert not untranslated, f"untranslated: {untranslated[:5]}"
        with (LOCALE / "django.mo").open("rb") as handle:
            compiled = gettext.GNUTranslations(handle)
        stale = [m for m, s in entries.items() if compiled.gettext(m) != s and "\x00" not in m]
        assert not stale, f"django.mo is older than django.po (run msgfmt): {stale[:3]}"


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr (msgstr[0] for plurals) of a .po file; the header is skipped."""
    entries: dict[str, str] = {}
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            match = re.match(r'^(msgid|msgid_plural|msgstr|msgstr\[0\]) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            unescape = lambda v: v.encode().decode("unicode_escape").encode("latin-1").decode()  # noqa: E731
            value = fields.get("msgstr", fields.get("msgstr[0]", ""))
            entries[unescape(fields["msgid"])] = unescape(value)
    return entries
