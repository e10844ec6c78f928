"""Two approvers clicking at the same moment, on real concurrent connections (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import TransactionTestCase
from webcast import make_cast, small_world

from menshen.web.accounts.scope import build_access
from menshen.web.reports import workflow
from menshen.web.reports.build import build
from menshen.web.reports.models import Report, ReviewItem


@pytest.mark.postgres
class ApproverRaceTests(TransactionTestCase):
    def test_two_approvers_at_the_same_moment_one_wins_one_gets_a_conflict(self) -> None:
        people = make_cast()
        build(*small_world())
        report = Report.objects.get(unit_id="U1")
        for item in ReviewItem.objects.filter(report=report):
            who = people["head"] if item.staff_id == "chief1" else people["chief1"]
            workflow.decide(build_access(who.user), item, "justified", reason="ok")
        workflow.submit(build_access(people["chief1"].user), report)
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def approve(staff_id: str) -> None:
            access = build_access(people[staff_id].user)
            stale = Report.objects.get(pk=report.pk)
            barrier.wait()
            try:
                workflow.approve(access, stale)
                outcomes[staff_id] = "won"
            except workflow.Conflict:
                outcomes[staff_id] = "conflict"
            finally:
                connection.close()

        threads = [threading.Thread(target=approve, args=(s,)) for s in ("auditor", "auditor2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes.values()) == ["conflict", "won"]
        report.refresh_from_db()
        winner = next(s for s, o in outcomes.items() if o == "won")
        assert report.approved_by == people[winner]
        assert report.events.filter(action="approved").count() == 1
