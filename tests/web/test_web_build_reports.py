"""Building daily audit reports from detection output: idempotent, never rebuilding a
submitted report, a deterministic 1% spot check, overdue escalation."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from webcast import REPORT_DAY, SATURDAY, CastTestCase, lookup_row, small_world

from menshen.web.accounts.scope import build_access
from menshen.web.reports import workflow
from menshen.web.reports.build import build, spot_check_sample
from menshen.web.reports.models import Lookup, Report, ReportEvent, ReviewItem
from menshen.web.reports.overdue import escalate_overdue, overdue


def snapshot_of_reports() -> list[tuple]:
    return [
        (r.unit_id, r.report_date, r.status, r.fingerprint, r.lookup_count, r.built_at)
        for r in Report.objects.order_by("unit_id", "report_date")
    ]


class BuildTests(CastTestCase):
    def test_one_report_per_unit_and_report_day_with_summary_and_share_explained(self) -> None:
        assert Report.objects.count() == 2
        report = self.report
        # 120 explained + 4 flagged + the Saturday look-up
        assert report.lookup_count == 125 and report.explained_count == 121
        by_staff = {row["staff_id"]: row for row in report.summary["by_staff"]}
        assert by_staff["clerk1"]["count"] == 63 and by_staff["clerk1"]["name"] == "課員clerk1"
        assert report.summary["by_system"] == [{"system": "HR", "count": 125, "explained": 121}]
        assert report.roc_date == "114年3月3日"

    def test_a_saturday_look_up_rolls_into_mondays_report(self) -> None:
        saturday = Lookup.objects.get(report=self.report, occurred_at__date=SATURDAY)
        assert saturday.report.report_date == REPORT_DAY
        assert not Report.objects.filter(report_date=SATURDAY).exists()

    def test_must_review_findings_become_items_and_the_others_do_not(self) -> None:
        keys = set(
            ReviewItem.objects.filter(report=self.report, kind="finding").values_list(
                "key", flat=True
            )
        )
        assert keys == {"f-clerk1-a", "f-clerk2-b", "f-chief1-c"}
        item = self.item("f-clerk1-a")
        assert item.evidence_zh == ["未見該民眾之業務案件紀錄"] and item.rules == ["unexplained"]
        assert item.staff_person == self.people["clerk1"] and item.event_keys

    def test_the_spot_check_samples_one_percent_of_look_ups_from_explained_ones(self) -> None:
        checks = ReviewItem.objects.filter(report=self.report, kind="spot_check")
        assert checks.count() == 1  # 125 look-ups -> 1
        lookup = Lookup.objects.get(report=self.report, event_id=checks[0].key.split(":")[1])
        assert lookup.explanation and not lookup.finding_id
        assert ReviewItem.objects.filter(report=self.other_report, kind="spot_check").count() == 1

    def test_the_sample_is_one_percent_at_least_one_and_deterministic(self) -> None:
        rows = [
            lookup_row(n, "clerk1", "U1", dt.datetime(2025, 3, 3, 9) + dt.timedelta(seconds=n))
            for n in range(2500)
        ]
        first = spot_check_sample("U1", REPORT_DAY, rows)
        assert len(first) == 25
        assert first == spot_check_sample("U1", REPORT_DAY, list(reversed(rows)))
        assert first != spot_check_sample("U1", dt.date(2025, 3, 4), rows)
        assert len(spot_check_sample("U1", REPORT_DAY, rows[:7])) == 1
        unexplained = [dict(r, explanation=None) for r in rows[:50]]
        assert spot_check_sample("U1", REPORT_DAY, unexplained) == []

    def test_running_again_on_the_same_input_changes_nothing(self) -> None:
        before = snapshot_of_reports()
        lookups, items = Lookup.objects.count(), ReviewItem.objects.count()
        events = ReportEvent.objects.count()
        summary = build(*small_world())
        assert (summary.created, summary.rebuilt, summary.unchanged) == (0, 0, 2)
        assert snapshot_of_reports() == before
        assert (Lookup.objects.count(), ReviewItem.objects.count()) == (lookups, items)
        assert ReportEvent.objects.count() == events

    def test_new_detection_output_rebuilds_an_open_report_and_keeps_decisions(self) -> None:
        workflow.decide(
            build_access(self.people["chief1"].user),
            self.item("f-clerk1-a"),
            "justified",
            reason="ok",
        )
        explanations, findings, events = small_world()
        extra = lookup_row(9999, "clerk2", "U1", dt.datetime(2025, 3, 3, 16, 0))
        explanations = pa.concat_tables(
            [explanations, pa.Table.from_pylist([extra], schema=explanations.schema)]
        )
        summary = build(explanations, findings, events)
        assert (summary.rebuilt, summary.unchanged) == (1, 1)
        report = Report.objects.get(pk=self.report.pk)
        assert report.lookup_count == 126
        assert self.item("f-clerk1-a").status == "justified"
        assert report.events.filter(action="rebuilt").count() == 1

    def test_a_submitted_report_is_never_rebuilt(self) -> None:
        access = build_access(self.people["chief1"].user)
        for item in ReviewItem.objects.filter(report=self.report):
            who = access if item.staff_id != "chief1" else build_access(self.people["head"].user)
            workflow.decide(who, item, "justified", reason="ok")
        workflow.submit(access, self.report)
        explanations, findings, events = small_world(lookups_per_clerk=70)
        summary = build(explanations, findings, events)
        assert summary.locked == 1
        report = Report.objects.get(pk=self.report.pk)
        assert report.lookup_count == 125 and report.status == "submitted"


class OverdueTests(CastTestCase):
    def test_the_report_is_due_at_the_end_of_the_next_workday(self) -> None:
        assert self.report.due_date == dt.date(2025, 3, 4)
        friday = Report.objects.create(
            unit_id="U2",
            report_date=dt.date(2025, 3, 7),
            fingerprint="x",
            built_at=self.report.built_at,
            due_date=dt.date(2025, 3, 10),
        )
        assert not overdue(dt.date(2025, 3, 10)).filter(pk=friday.pk).exists()
        assert overdue(dt.date(2025, 3, 11)).filter(pk=friday.pk).exists()

    def test_an_overdue_report_escalates_to_the_reviewers_own_supervisor_once(self) -> None:
        assert not overdue(dt.date(2025, 3, 4)).exists()
        escalated = escalate_overdue(dt.date(2025, 3, 5))
        assert {r.pk for r in escalated} == {self.report.pk, self.other_report.pk}
        report = Report.objects.get(pk=self.report.pk)
        assert report.escalated_to == self.people["head"]
        assert report.events.filter(action="escalated").count() == 1
        assert escalate_overdue(dt.date(2025, 3, 6)) == []

    def test_a_submitted_report_is_not_overdue(self) -> None:
        Report.objects.filter(pk=self.report.pk).update(status="submitted")
        assert not overdue(dt.date(2025, 3, 20)).filter(pk=self.report.pk).exists()

    def test_the_overdue_page_lists_it_for_the_supervisor(self) -> None:
        from django.urls import reverse

        escalate_overdue(dt.date(2025, 3, 5))
        response = self.client_for("head").get(reverse("reports:overdue"))
        assert self.report in list(response.context["reports"])
        assert "逾期" in response.content.decode()
