"""Re-confirm identity before sensitive actions (revealing a full id, approving): the
password, entered again, is valid for MENSHEN_REAUTH_MINUTES."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest

from menshen.web.accounts import lockout

SESSION_KEY = "menshen_reauth_at"


def is_recent(request: HttpRequest) -> bool:
    at = request.session.get(SESSION_KEY)
    return bool(at) and time.time() - float(at) < settings.MENSHEN_REAUTH_MINUTES * 60


def confirm(request: HttpRequest, password: str) -> bool:
    """Check the password again; a wrong one counts toward the lockout."""
    user = request.user
    if lockout.locked_until(user.get_username()):
        return False
    if password and user.check_password(password):
        request.session[SESSION_KEY] = time.time()
        return True
    lockout.record_failure(user.get_username())
    return False


def ensure(request: HttpRequest) -> bool:
    """True when re-authentication is recent or the posted `password` confirms it now."""
    return is_recent(request) or confirm(request, request.POST.get("password", ""))
