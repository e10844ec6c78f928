"""Lock a username for 15 minutes after 5 failed logins (資通系統防護基準). Counters are
changed with conditional UPDATEs so parallel attempts cannot slip past the limit."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from menshen.web.accounts.models import LoginThrottle


def _key(username: str) -> str:
    return username.strip().lower()[:150]


def locked_until(username: str) -> dt.datetime | None:
    row = LoginThrottle.objects.filter(username=_key(username)).first()
    if row and row.locked_until and row.locked_until > timezone.now():
        return row.locked_until
    return None


def record_failure(username: str) -> dt.datetime | None:
    """Count a failed attempt; returns the lock's end when this attempt locks the account."""
    key, now = _key(username), timezone.now()
    LoginThrottle.objects.get_or_create(username=key)
    LoginThrottle.objects.filter(username=key).update(
        failures=F("failures") + 1, last_failure_at=now
    )
    limit = settings.MENSHEN_LOCKOUT_FAILURES
    until = now + dt.timedelta(minutes=settings.MENSHEN_LOCKOUT_MINUTES)
    locked = LoginThrottle.objects.filter(username=key, failures__gte=limit).update(
        failures=0, locked_until=until
    )
    return until if locked else None


def record_success(username: str) -> None:
    LoginThrottle.objects.filter(username=_key(username)).update(failures=0, locked_until=None)


def unlock(username: str) -> None:
    record_success(username)
