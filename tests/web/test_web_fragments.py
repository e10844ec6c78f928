"""The report page's item cards and the look-up list's rows are rendered in Python
(menshen.web.reports.fragments) for speed; they must stay exactly what the templates they
replaced rendered. The templates are kept here as the reference (tests/web/reference/):
change the markup in both places, or this test fails. Also: the cached summary block."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from pathlib import Path

import pytest
from django.template import engines
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from webcast import CastTestCase

from menshen.web.accounts.models import Person
from menshen.web.reports.fragments import CardRenderer, lookup_rows
from menshen.web.reports.models import ExplanationRequest, Lookup, Report, ReviewItem

REFERENCE = Path(__file__).parent / "reference"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
NASTY = "<b>&'\"x"


def reference(name: str):  # type: ignore[no-untyped-def]
    return engines["django"].from_string((REFERENCE / name).read_text(encoding="utf-8"))


def without_tokens(html: str) -> str:
    return CSRF.sub('name="csrfmiddlewaretoken" value="…"', str(html))


def sample_items(rng: random.Random):  # type: ignore[no-untyped-def]
    at = timezone.make_aware(dt.datetime(2026, 11, 25, 9, 5))
    for kind, status, person, subject, request in itertools.product(
        ("finding", "spot_check"),
        ("pending", "asked", "answered", "justified", "improper"),
        (True, False),
        ("A123456789", ""),
        (None, "open", "answered"),
    ):
        decided = status in ("justified", "improper")
        item = ReviewItem(
            pk=rng.randint(1, 99999),
            kind=kind,
            status=status,
            staff_id=rng.choice(["clerk1", ""]),
            staff_person=Person(name=f"王小明{NASTY}", staff_id="clerk1") if person else None,
            account=f"acc{NASTY}",
            subject_id=subject,
            first_at=at,
            last_at=rng.choice([at, at + dt.timedelta(hours=2)]),
            event_count=rng.choice([1, 2, 39]),
            rules=rng.choice([[], ["unexplained", "repeat"], ["off-hours"], [NASTY]]),
            severity=rng.choice(["high", "low", NASTY]),
            risk_score=rng.choice([62.5, 63.49, 0.0, 99.99]),
            evidence_zh=[f"證據{NASTY}", "證據二"],
            evidence_en=rng.choice([[], [f"evidence {NASTY}"]]),
            reason=rng.choice(["", f"reason {NASTY}"]),
            decided_by=Person(name=f"主管{NASTY}") if decided and rng.random() < 0.8 else None,
            decided_at=at if decided else None,
        )
        item.latest_request = (
            None
            if request is None
            else ExplanationRequest(
                question=f"why {NASTY}?", answer="" if request == "open" else f"because {NASTY}"
            )
        )
        yield item


@pytest.mark.parametrize("language", ["zh-hant", "en"])
def test_item_cards_are_what_the_card_template_rendered(language: str) -> None:
    template = reference("item_card.html")
    rng = random.Random(20261130)
    compared = 0
    with translation.override(language):
        for item in sample_items(rng):
            for can_review, can_reveal, recent, me in itertools.product(
                (True, False), (True, False), (True, False), (None, "clerk1", "other")
            ):
                request = RequestFactory().get("/reports/7/?findings=2")
                context = {
                    "item": item,
                    "can_review": can_review,
                    "can_reveal": can_reveal,
                    "reauth_recent": recent,
                    "me": None if me is None else Person(staff_id=me),
                    "items_base": "/reports/7/items/",
                }
                expected = template.render(context, request)
                card = CardRenderer(
                    request,
                    items_base="/reports/7/items/",
                    can_review=can_review,
                    can_reveal=can_reveal,
                    reauth_recent=recent,
                    me_staff_id=me,
                ).render(item)
                assert without_tokens(card) == without_tokens(expected), (item.status, context)
                compared += 1
    assert compared > 1000
    assert NASTY not in expected and "&lt;b&gt;" in expected  # values are escaped


@pytest.mark.parametrize("language", ["zh-hant", "en"])
@pytest.mark.parametrize("reveal", [True, False])
def test_look_up_rows_are_what_the_list_template_rendered(language: str, reveal: bool) -> None:
    template = reference("lookup_rows.html")
    at = timezone.make_aware(dt.datetime(2026, 11, 24, 23, 59, 58), dt.UTC)
    rows = [
        Lookup(
            pk=n,
            system=f"HR{NASTY}" if n == 3 else "HR",
            occurred_at=at + dt.timedelta(minutes=n),
            staff_id=["clerk1", "clerk2", ""][n % 3],
            account=f"acc{NASTY}",
            subject_id="A123456789",
            action="query",
            purpose_code=f"P{NASTY}",
            record_ref="" if n % 2 else "115-000001",
            explanation="" if n % 4 == 0 else "own_record",
            explanation_zh="承辦人自己的業務案件" if n % 4 else "",
            explanation_en=f"a record {NASTY}" if n % 4 == 1 else "",
            finding_id="f-1" if n % 5 == 0 else "",
        )
        for n in range(12)
    ]
    names = {"clerk1": f"王小明{NASTY}"}
    request = RequestFactory().get("/reports/7/lookups/?page=2")
    with translation.override(language):
        expected = template.render(
            {
                "page": rows,
                "names": names,
                "report": Report(pk=7),
                "can_reveal": reveal,
                "reauth_recent": True,
            },
            request,
        )
        rendered = lookup_rows(request, 7, rows, names, reveal, True)
    assert without_tokens(rendered) == without_tokens(expected)
    assert ("/reports/7/lookups/3/reveal/" in rendered) == reveal
    assert NASTY not in rendered


class SummaryCacheTests(CastTestCase):
    def page(self, language: str = "zh-hant") -> str:
        client = self.client_for("chief1")
        client.cookies["django_language"] = language
        response = client.get(reverse("reports:detail", args=[self.report.pk]))
        assert response.status_code == 200
        return response.content.decode()

    def test_a_rebuilt_summary_is_shown_at_once_in_each_language(self) -> None:
        assert "h-summary" in self.page()  # now in the cache
        Report.objects.filter(pk=self.report.pk).update(
            summary={
                "by_staff": [{"staff_id": "clerk1", "name": "重建後", "count": 77,
                              "explained": 70}],
                "by_system": [{"system": "QQ", "count": 77, "explained": 70}],
                "by_purpose": [],
            },
            lookup_count=77,
            explained_count=70,
        )  # fmt: skip
        for language, caption in (("zh-hant", "依承辦人"), ("en", "By staff member")):
            text = self.page(language)
            summary = text[text.index('id="h-summary"') :]
            assert "重建後" in summary and "?system=QQ" in summary, language
            assert 'data-testid="lookup-count">77<' in summary
            assert caption in summary, language

    def test_every_view_is_still_logged(self) -> None:
        from menshen.web.privacy.models import AccessLog

        before = AccessLog.objects.filter(action="view_report").count()
        for _ in range(3):
            self.page()
        assert AccessLog.objects.filter(action="view_report").count() == before + 3
