"""Signing in: lockout after 5 failures for 15 minutes, re-authentication, the admin screen."""

from __future__ import annotations

import datetime as dt
from unittest import mock

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from webcast import CastTestCase, password_of

from menshen.web.accounts.models import LoginThrottle, RoleGrant


class LoginTests(CastTestCase):
    def login(self, username: str, password: str, client: Client | None = None):
        client = client or Client()
        return client.post(reverse("accounts:login"), {"username": username, "password": password})

    def test_a_correct_password_signs_in_and_lands_on_my_work(self) -> None:
        client = Client()
        response = self.login("clerk1", password_of("clerk1"), client)
        assert response.status_code == 302 and response["Location"] == "/"
        assert client.get("/").status_code == 200

    def test_five_failed_logins_lock_the_account_even_for_the_right_password(self) -> None:
        for attempt in range(4):
            response = self.login("clerk1", f"wrong-{attempt}")
            assert response.status_code == 401
        response = self.login("clerk1", "wrong-5")
        assert "15" in response.content.decode() or response.status_code == 401
        throttle = LoginThrottle.objects.get(username="clerk1")
        assert throttle.locked_until is not None
        assert throttle.locked_until - timezone.now() > dt.timedelta(minutes=14)
        response = self.login("clerk1", password_of("clerk1"))
        assert response.status_code == 401
        assert "_auth_user_id" not in response.wsgi_request.session

    def test_the_lock_ends_after_15_minutes(self) -> None:
        for attempt in range(5):
            self.login("clerk1", f"wrong-{attempt}")
        later = timezone.now() + dt.timedelta(minutes=15, seconds=5)
        with mock.patch("django.utils.timezone.now", return_value=later):
            response = self.login("clerk1", password_of("clerk1"))
        assert response.status_code == 302

    def test_a_success_resets_the_failure_count(self) -> None:
        for attempt in range(4):
            self.login("clerk1", f"wrong-{attempt}")
        assert self.login("clerk1", password_of("clerk1")).status_code == 302
        for attempt in range(4):
            self.login("clerk1", f"wrong-again-{attempt}")
        assert self.login("clerk1", password_of("clerk1")).status_code == 302

    def test_unknown_usernames_are_throttled_too(self) -> None:
        for attempt in range(5):
            self.login("nobody", f"x{attempt}")
        assert LoginThrottle.objects.get(username="nobody").locked_until is not None

    def test_the_login_page_refuses_an_offsite_next(self) -> None:
        client = Client()
        response = client.post(
            reverse("accounts:login"),
            {
                "username": "clerk1",
                "password": password_of("clerk1"),
                "next": "https://evil.example/",
            },
        )
        assert response["Location"] == "/"

    def test_sign_out_needs_a_post(self) -> None:
        client = self.client_for("clerk1")
        assert client.get(reverse("accounts:logout")).status_code == 405
        client.post(reverse("accounts:logout"))
        assert client.get("/").status_code == 302

    def test_an_expired_session_sends_the_user_back_to_sign_in(self) -> None:
        from django.conf import settings
        from django.contrib.sessions.models import Session

        assert settings.SESSION_COOKIE_AGE <= 8 * 3600 and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
        client = self.client_for("clerk1")
        assert client.get("/").status_code == 200
        Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
        response = client.get("/")
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]

    def test_reauth_with_a_wrong_password_counts_toward_the_lockout(self) -> None:
        client = self.client_for("chief1")
        for attempt in range(5):
            response = client.post(reverse("accounts:reauth"), {"password": f"bad{attempt}"})
            assert response.status_code == 401
        assert LoginThrottle.objects.get(username="chief1").locked_until is not None

    def test_reauth_with_the_password_returns_to_the_page(self) -> None:
        client = self.client_for("chief1")
        response = client.post(
            reverse("accounts:reauth"), {"password": password_of("chief1"), "next": "/reports/"}
        )
        assert response.status_code == 302 and response["Location"] == "/reports/"


class AdminScreenTests(CastTestCase):
    def test_an_administrator_unlocks_a_locked_account(self) -> None:
        LoginThrottle.objects.create(
            username="clerk1", failures=0, locked_until=timezone.now() + dt.timedelta(minutes=10)
        )
        client = self.client_for("admin")
        assert "解除鎖定" in client.get(reverse("accounts:people")).content.decode()
        client.post(reverse("accounts:unlock", args=[self.people["clerk1"].pk]))
        assert LoginThrottle.objects.get(username="clerk1").locked_until is None

    def test_an_administrator_grants_and_revokes_a_role(self) -> None:
        client = self.client_for("admin")
        client.post(
            reverse("accounts:grant", args=[self.people["clerk3"].pk]),
            {"role": "reviewer", "unit": "U2"},
        )
        grant = RoleGrant.objects.get(person=self.people["clerk3"])
        assert (grant.role, grant.unit_id, grant.source) == ("reviewer", "U2", "manual")
        client.post(reverse("accounts:revoke", args=[grant.pk]))
        assert not RoleGrant.objects.filter(person=self.people["clerk3"]).exists()

    def test_an_administrator_cannot_grant_themselves_a_role(self) -> None:
        client = self.client_for("admin")
        client.post(
            reverse("accounts:grant", args=[self.people["admin"].pk]),
            {"role": "approver", "unit": ""},
        )
        assert not RoleGrant.objects.filter(person=self.people["admin"], role="approver").exists()

    def test_a_one_time_password_needs_the_administrators_password(self) -> None:
        client = self.client_for("admin")
        url = reverse("accounts:reset_password", args=[self.people["clerk1"].pk])
        response = client.post(url, {"password": "wrong"})
        assert response.status_code == 302
        response = client.post(url, {"password": password_of("admin")})
        new_password = response.context["password"]
        assert Client().login(username="clerk1", password=new_password)
