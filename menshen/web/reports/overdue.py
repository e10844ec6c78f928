"""Reports not submitted by the end of the next workday are overdue; they escalate to the
reviewer's own supervisor (the reviewer of the unit's supervisor)."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from menshen.calendar import GovCalendar
from menshen.web.accounts.models import Person, Role, RoleGrant
from menshen.web.reports.models import Report, ReportEvent

PENDING = (Report.Status.OPEN, Report.Status.RETURNED)


def due_date(report_date: dt.date, calendar: GovCalendar | None = None) -> dt.date:
    """A report is due by the end of the workday after its report date."""
    return (calendar or GovCalendar()).next_workday(report_date)


def overdue(today: dt.date | None = None) -> QuerySet:
    today = today or timezone.localdate()
    return Report.objects.filter(status__in=PENDING, due_date__lt=today)


def unit_reviewers(unit_id: str) -> list[Person]:
    """Reviewers granted this very unit (the unit's own supervisors)."""
    return [
        grant.person
        for grant in RoleGrant.objects.filter(role=Role.REVIEWER, unit_id=unit_id)
        .select_related("person__supervisor")
        .order_by("person__staff_id")
    ]


def escalation_target(report: Report) -> Person | None:
    for reviewer in unit_reviewers(report.unit_id):
        if reviewer.supervisor is not None and reviewer.supervisor_id != reviewer.pk:
            return reviewer.supervisor
    return None


def escalate_overdue(today: dt.date | None = None) -> list[Report]:
    """Mark every overdue report not yet escalated; returns the reports escalated now."""
    escalated: list[Report] = []
    for report in overdue(today).filter(escalated_at__isnull=True).select_related("unit"):
        target = escalation_target(report)
        updated = Report.objects.filter(pk=report.pk, escalated_at__isnull=True).update(
            escalated_to=target, escalated_at=timezone.now()
        )
        if updated == 1:
            name = target.name if target else "—"
            ReportEvent.objects.create(
                report=report,
                action=ReportEvent.Action.ESCALATED,
                comment=f"逾期未送審，陳報 {name} / overdue, escalated to {name}",
            )
            report.escalated_to = target
            escalated.append(report)
    return escalated
