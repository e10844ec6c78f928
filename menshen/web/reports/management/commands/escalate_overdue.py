from __future__ import annotations

from django.core.management.base import BaseCommand

from menshen.web.reports.overdue import escalate_overdue


class Command(BaseCommand):
    help = "Escalate reports not submitted by the end of the next workday (run daily)."

    def handle(self, *args, **options) -> None:
        for report in escalate_overdue():
            target = report.escalated_to.name if report.escalated_to else "—"
            self.stdout.write(f"{report.unit_id} {report.report_date}: → {target}")
