"""Personal data inside menshen: ids masked by default, reveal needs re-authentication and
is logged, every view of look-up details is logged, ethics officers read the log."""

from __future__ import annotations

from django.urls import reverse
from webcast import SUBJECTS, CastTestCase, password_of

from menshen import ids
from menshen.web.privacy.models import AccessLog
from menshen.web.reports.models import Lookup


class PrivacyTests(CastTestCase):
    def test_the_report_page_shows_masked_ids_only(self) -> None:
        body = self.client_for("chief1").get(reverse("reports:detail", args=[self.report.pk]))
        text = body.content.decode()
        assert ids.mask(SUBJECTS[300]) in text
        assert SUBJECTS[300] not in text and SUBJECTS[301] not in text

    def test_the_look_up_list_shows_masked_ids_and_is_logged(self) -> None:
        client = self.client_for("chief1")
        text = client.get(reverse("reports:lookups", args=[self.report.pk])).content.decode()
        shown = Lookup.objects.filter(report=self.report).order_by("occurred_at", "id")[:50]
        for lookup in shown:
            assert lookup.subject_id not in text
        assert ids.mask(shown[0].subject_id) in text
        entry = AccessLog.objects.get(action="view_lookups")
        assert entry.actor == self.people["chief1"] and entry.report == self.report

    def test_a_search_by_full_id_finds_the_look_up_without_showing_the_id(self) -> None:
        client = self.client_for("chief1")
        response = client.get(
            reverse("reports:lookups", args=[self.report.pk]), {"q": SUBJECTS[300].lower()}
        )
        assert response.context["page"].paginator.count == 1
        assert SUBJECTS[300] not in response.content.decode()

    def test_revealing_an_id_without_the_password_is_refused_and_not_logged(self) -> None:
        item = self.item("f-clerk1-a")
        client = self.client_for("chief1")
        response = client.post(
            reverse("reports:reveal_item", args=[self.report.pk, item.pk]), {"password": "nope"}
        )
        assert response.status_code == 302
        assert not AccessLog.objects.filter(action="reveal_id").exists()

    def test_revealing_an_id_with_the_password_shows_it_and_logs_it(self) -> None:
        item = self.item("f-clerk1-a")
        client = self.client_for("chief1")
        response = client.post(
            reverse("reports:reveal_item", args=[self.report.pk, item.pk]),
            {"password": password_of("chief1")},
        )
        assert response.status_code == 200 and SUBJECTS[300] in response.content.decode()
        entry = AccessLog.objects.get(action="reveal_id")
        assert entry.subject_id == SUBJECTS[300] and entry.actor == self.people["chief1"]
        # re-authentication stays valid for a few minutes: a second reveal needs no password
        lookup = Lookup.objects.filter(report=self.report).first()
        response = client.post(reverse("reports:reveal_lookup", args=[self.report.pk, lookup.pk]))
        assert response.status_code == 200 and lookup.subject_id in response.content.decode()
        assert AccessLog.objects.filter(action="reveal_id").count() == 2

    def test_the_ethics_officer_reads_the_log_and_others_cannot(self) -> None:
        self.client_for("chief1").get(
            reverse("reports:item", args=[self.report.pk, self.item("f-clerk1-a").pk])
        )
        response = self.client_for("ethics").get(reverse("privacy:access_log"))
        assert response.status_code == 200
        rows = list(response.context["page"])
        assert any(r.action == "view_item" and r.actor == self.people["chief1"] for r in rows)
        assert SUBJECTS[300] not in response.content.decode()  # the log masks ids too
        assert self.client_for("auditor").get(reverse("privacy:access_log")).status_code == 403

    def test_a_staff_member_sees_their_own_look_ups_masked(self) -> None:
        response = self.client_for("clerk2").get(reverse("reports:my_lookups"))
        page = response.context["page"]
        assert page.paginator.count == 61
        assert all(lk.staff_id == "clerk2" for lk in page)
        assert AccessLog.objects.filter(action="view_own", actor=self.people["clerk2"]).exists()
