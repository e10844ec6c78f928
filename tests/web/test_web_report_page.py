"""The report page under load: the summary is read from what the builder stored, findings
come a page at a time (undecided first), the number of queries does not grow with the
items; and `menshen serve --workers N` pre-forks on one socket."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from webcast import CastTestCase

from menshen.web.reports.models import Lookup, Report, ReviewItem
from menshen.web.reports.views import FINDING_PAGE, SPOT_PAGE


def item_cards(text: str) -> list[tuple[int, str, str]]:
    """(pk, kind, status) of every item card, in page order."""
    return [
        (int(pk), kind, status)
        for pk, kind, status in re.findall(
            r'data-testid="item-(\d+)" data-kind="(\w+)" data-status="(\w+)"', text
        )
    ]


class ReportPageTests(CastTestCase):
    def add_findings(self, n: int) -> list[ReviewItem]:
        now = timezone.now()
        return ReviewItem.objects.bulk_create(
            ReviewItem(
                report=self.report,
                kind=ReviewItem.Kind.FINDING,
                key=f"extra-{i:03d}",
                staff_id="clerk1",
                staff_person=self.people["clerk1"],
                subject_id="A123456789",
                first_at=now,
                last_at=now,
                risk_score=float(i),
                evidence_zh=[f"第 {i} 項"],
                evidence_en=[f"item {i}"],
            )
            for i in range(n)
        )

    def get(self, staff_id: str = "chief1", query: str = "") -> str:
        response = self.client_for(staff_id).get(
            reverse("reports:detail", args=[self.report.pk]) + query
        )
        assert response.status_code == 200
        return response.content.decode()

    def test_the_summary_shown_is_the_one_stored_at_build_time(self) -> None:
        stored = self.report.summary
        assert stored["by_staff"] and stored["by_system"] and stored["by_purpose"]
        assert {"staff_id", "name", "count", "explained"} <= set(stored["by_staff"][0])
        # the page does not count look-ups: it shows what the builder wrote
        Report.objects.filter(pk=self.report.pk).update(
            summary={
                "by_staff": [{"staff_id": "clerk1", "name": "預先計算", "count": 4242,
                              "explained": 4000}],
                "by_system": [{"system": "ZZ", "count": 4242, "explained": 4000}],
                "by_purpose": [],
            }
        )  # fmt: skip
        text = self.get()
        assert "預先計算" in text and "4242" in text and "?system=ZZ" in text

    def test_findings_come_twenty_a_page_undecided_first(self) -> None:
        extra = self.add_findings(45)
        decided = extra[-1]  # the riskiest: first if it were undecided
        ReviewItem.objects.filter(pk=decided.pk).update(
            status="justified", reason="ok", decided_by=self.people["chief1"]
        )
        total = ReviewItem.objects.filter(report=self.report, kind="finding").count()
        text = self.get()
        findings = [c for c in item_cards(text) if c[1] == "finding"]
        assert len(findings) == FINDING_PAGE
        assert f'data-testid="findings-total">{total}<' in text
        assert 'data-testid="findings-pager"' in text and 'data-testid="findings-next"' in text
        assert all(status == "pending" for _, _, status in findings)
        pages = -(-total // FINDING_PAGE)
        seen: list[tuple[int, str, str]] = []
        for number in range(1, pages + 1):
            page = self.get(query=f"?findings={number}")
            seen += [c for c in item_cards(page) if c[1] == "finding"]
        assert len(seen) == total and len({pk for pk, _, _ in seen}) == total
        assert seen[-1][0] == decided.pk, "decided findings come last"
        assert 'data-testid="findings-prev"' in page
        everything = self.get(query="?spot=all")
        assert len([c for c in item_cards(everything) if c[1] == "finding"]) == total
        assert 'data-testid="findings-pager"' not in everything

    def test_the_page_makes_the_same_number_of_queries_however_many_items(self) -> None:
        client = self.client_for("chief1")
        url = reverse("reports:detail", args=[self.report.pk])
        client.get(url)
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        self.add_findings(60)
        with CaptureQueriesContext(connection) as many:
            text = client.get(url).content.decode()
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
        assert len([c for c in item_cards(text) if c[1] == "finding"]) == FINDING_PAGE
        assert not any("reports_lookup" in q["sql"] for q in many.captured_queries)
        assert SPOT_PAGE == 20

    def test_the_look_up_list_filters_use_an_index(self) -> None:
        report = self.report.pk
        for where in ("staff_id = 'clerk1'", "system = 'HR'", "explanation = ''"):
            with connection.cursor() as cursor:
                if connection.vendor != "sqlite":
                    pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
                cursor.execute(
                    f"EXPLAIN QUERY PLAN SELECT * FROM {Lookup._meta.db_table} "
                    f"WHERE report_id = %s AND {where} ORDER BY occurred_at, id LIMIT 50",
                    [report],
                )
                plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "USING INDEX" in plan and "SCAN reports_lookup" not in plan, (where, plan)


def test_serve_with_two_workers_preforks_and_stops_cleanly(tmp_path: Path) -> None:
    """`menshen serve --workers 2`: one socket, two children answering, none left after."""
    from menshen.testing.browser import ServedHome

    served = ServedHome(tmp_path / "home", tmp_path / "serve.log", args=("--workers", "2"))
    url = f"{served.url}/accounts/login/"
    try:
        served.wait(120.0)
        children = Path(f"/proc/{served.process.pid}/task/{served.process.pid}/children")
        if children.is_file():
            assert len(children.read_text().split()) == 2
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(6):
            with opener.open(url, timeout=30) as response:
                assert response.status == 200
    finally:
        code = served.stop()
    assert code == 0, (tmp_path / "serve.log").read_text(errors="replace")
    text = (tmp_path / "serve.log").read_text(errors="replace")
    assert "2 個行程 / processes" in text
    with pytest.raises(OSError):
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=5)


def test_warm_up_loads_what_the_first_requests_would_all_wait_for() -> None:
    from menshen.web.reports.templatetags.menshen_tags import _rule_titles
    from menshen.web.server import warm_up

    assert warm_up() >= 10  # every template of the app is compiled
    assert _rule_titles.cache_info().currsize == 1
