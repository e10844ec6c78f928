"""Every page and action refuses people outside its scope. The test walks the URL conf: a
new URL without an entry in ACCESS fails the suite."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from webcast import CastTestCase

from menshen.web.accounts.scope import build_access
from menshen.web.reports.models import Lookup, ReviewItem

# url name -> (method, who may pass, who must be refused). Refusal is 403 or 404 (a report
# outside one's scope is not even admitted to exist); anonymous users are sent to sign in.
ACCESS: dict[str, tuple[str, set[str], set[str]]] = {
    "reports:home": ("get", {"clerk1", "chief1", "outsider"}, set()),
    "reports:list": ("get", {"chief1", "auditor", "ethics"}, set()),
    "reports:overdue": ("get", {"chief1", "auditor"}, set()),
    "reports:detail": (
        "get",
        {"chief1", "head", "auditor", "ethics"},
        {"chief2", "clerk1", "outsider", "admin"},
    ),
    "reports:lookups": (
        "get",
        {"chief1", "auditor", "ethics"},
        {"chief2", "clerk1", "outsider", "admin"},
    ),
    "reports:item": ("get", {"chief1", "auditor"}, {"chief2", "clerk1", "outsider", "admin"}),
    "reports:decide": ("post", set(), {"chief2", "clerk1", "outsider", "admin"}),
    "reports:reveal_item": ("post", set(), {"chief2", "clerk1", "outsider", "admin"}),
    "reports:reveal_lookup": ("post", set(), {"chief2", "clerk1", "outsider", "admin"}),
    "reports:submit": ("post", set(), {"chief2", "clerk1", "outsider", "admin"}),
    "reports:justify_spot_checks": ("post", set(), {"chief2", "clerk1", "outsider", "admin"}),
    "reports:approve": ("post", set(), {"chief2", "clerk1", "outsider", "admin"}),
    "reports:return": ("post", set(), {"chief2", "clerk1", "outsider", "admin"}),
    "reports:export": ("get", set(), {"chief2", "clerk1", "outsider", "admin"}),
    "reports:my_lookups": ("get", {"clerk1", "outsider"}, set()),
    "investigations:inbox": ("get", {"clerk1", "outsider"}, set()),
    "investigations:answer": ("post", set(), {"clerk1", "chief1", "outsider", "ethics"}),
    "investigations:list": (
        "get",
        {"ethics"},
        {"chief1", "auditor", "clerk1", "admin", "outsider"},
    ),
    "investigations:detail": (
        "get",
        {"ethics"},
        {"chief1", "auditor", "clerk1", "admin", "outsider"},
    ),
    "investigations:close": ("post", set(), {"chief1", "auditor", "clerk1", "admin", "outsider"}),
    "privacy:access_log": ("get", {"ethics"}, {"chief1", "auditor", "clerk1", "admin", "outsider"}),
    "accounts:people": ("get", {"admin"}, {"chief1", "auditor", "ethics", "clerk1", "outsider"}),
    "accounts:unlock": ("post", set(), {"chief1", "auditor", "ethics", "clerk1", "outsider"}),
    "accounts:grant": ("post", set(), {"chief1", "auditor", "ethics", "clerk1", "outsider"}),
    "accounts:revoke": ("post", set(), {"chief1", "auditor", "ethics", "clerk1", "outsider"}),
    "accounts:reset_password": (
        "post",
        set(),
        {"chief1", "auditor", "ethics", "clerk1", "outsider"},
    ),
    # open to everyone by design
    "accounts:login": ("get", {"anonymous"}, set()),
    "accounts:logout": ("post", set(), set()),
    "accounts:reauth": ("get", {"clerk1"}, set()),
    "set_language": ("post", set(), set()),
    "static": ("get", {"anonymous"}, set()),
}
PUBLIC = {"accounts:login", "set_language", "static"}


def all_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, prefix: str = "") -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
                walk(pattern.url_patterns, ns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(prefix + pattern.name)

    walk(get_resolver().url_patterns)
    return names


def test_every_url_has_an_access_rule() -> None:
    missing = all_url_names() - set(ACCESS)
    assert not missing, f"URLs without an access test: {sorted(missing)}"
    assert not set(ACCESS) - all_url_names(), "ACCESS lists URLs that no longer exist"


class ScopingTests(CastTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        from menshen.web.reports import workflow

        item = ReviewItem.objects.get(report=cls.report, key="f-clerk1-a")
        workflow.decide(build_access(cls.people["chief1"].user), item, "improper", reason="x")
        asked = ReviewItem.objects.get(report=cls.report, key="f-clerk2-b")
        workflow.decide(build_access(cls.people["chief1"].user), asked, "ask", reason="?")
        cls.request = asked.requests.get()
        cls.case = item.investigation
        cls.lookup = Lookup.objects.filter(report=cls.report).first()

    def url_for(self, name: str) -> str:
        args = {
            "reports:detail": [self.report.pk],
            "reports:lookups": [self.report.pk],
            "reports:item": [self.report.pk, self.item("f-clerk1-a").pk],
            "reports:decide": [self.report.pk, self.item("f-clerk2-b").pk],
            "reports:reveal_item": [self.report.pk, self.item("f-clerk1-a").pk],
            "reports:reveal_lookup": [self.report.pk, self.lookup.pk],
            "reports:submit": [self.report.pk],
            "reports:justify_spot_checks": [self.report.pk],
            "reports:approve": [self.report.pk],
            "reports:return": [self.report.pk],
            "reports:export": [self.report.pk, "pdf"],
            "investigations:answer": [self.request.pk],
            "investigations:detail": [self.case.pk],
            "investigations:close": [self.case.pk],
            "accounts:unlock": [self.people["clerk1"].pk],
            "accounts:grant": [self.people["clerk1"].pk],
            "accounts:reset_password": [self.people["clerk1"].pk],
            "accounts:revoke": [self.people["chief1"].grants.get().pk],
            "static": ["menshen.css"],
        }.get(name, [])
        return reverse(name, args=args)

    def call(self, client: Client, name: str, method: str):
        data = {
            "decision": "justified",
            "reason": "r",
            "comment": "c",
            "note": "n",
            "answer": "a",
            "role": "admin",
            "password": "wrong",
        }
        if method == "post":
            return client.post(self.url_for(name), data)
        return client.get(self.url_for(name))

    def test_anonymous_visitors_are_sent_to_sign_in_everywhere_but_the_public_pages(self) -> None:
        for name, (method, _allowed, _refused) in ACCESS.items():
            if name in PUBLIC:
                continue
            response = self.call(Client(), name, method)
            assert response.status_code == 302, name
            assert reverse("accounts:login") in response["Location"], name

    def test_people_outside_the_scope_are_refused_on_every_page_and_action(self) -> None:
        for name, (method, _allowed, refused) in ACCESS.items():
            for who in sorted(refused):
                response = self.call(self.client_for(who), name, method)
                assert response.status_code in (403, 404), (name, who, response.status_code)

    def test_people_inside_the_scope_can_open_their_pages(self) -> None:
        for name, (method, allowed, _refused) in ACCESS.items():
            for who in sorted(allowed):
                client = Client() if who == "anonymous" else self.client_for(who)
                response = self.call(client, name, method)
                assert response.status_code == 200, (name, who, response.status_code)

    def test_refusals_change_nothing(self) -> None:
        self.test_people_outside_the_scope_are_refused_on_every_page_and_action()
        self.report.refresh_from_db()
        assert self.report.status == "open"
        assert self.item("f-clerk2-b").status == "asked"
        assert self.case.__class__.objects.get(pk=self.case.pk).status == "open"
        assert self.people["clerk1"].grants.count() == 0

    def test_a_reviewer_sees_only_the_reports_of_their_units_in_the_list(self) -> None:
        body = self.client_for("chief2").get(reverse("reports:list")).content.decode()
        assert f"/reports/{self.other_report.pk}/" in body
        assert f"/reports/{self.report.pk}/" not in body
        body = self.client_for("chief1").get(reverse("reports:list")).content.decode()
        assert f"/reports/{self.report.pk}/" in body
        assert f"/reports/{self.other_report.pk}/" not in body

    def test_an_account_not_linked_to_staff_sees_nothing(self) -> None:
        from django.contrib.auth import get_user_model

        stray = get_user_model().objects.create_superuser("root", password="x" * 20)
        client = Client()
        client.force_login(stray)
        assert client.get(reverse("reports:home")).status_code == 200
        assert list(client.get(reverse("reports:list")).context["page"]) == []
        assert client.get(reverse("reports:detail", args=[self.report.pk])).status_code == 404
        assert client.get(reverse("reports:my_lookups")).status_code == 403

    def test_an_escalated_supervisor_sees_the_report(self) -> None:
        from menshen.web.reports.models import Report

        Report.objects.filter(pk=self.other_report.pk).update(escalated_to=self.people["chief1"])
        response = self.client_for("chief1").get(
            reverse("reports:detail", args=[self.other_report.pk])
        )
        assert response.status_code == 200


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_pages_are_the_only_ones_without_a_login(name: str) -> None:
    assert name in ACCESS
