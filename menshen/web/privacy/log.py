"""One function every view calls to record a view of personal data."""

from __future__ import annotations

from django.http import HttpRequest

from menshen.web.accounts.scope import access_for
from menshen.web.privacy.models import AccessLog


def log_access(
    request: HttpRequest,
    action: str,
    *,
    report=None,
    subject_id: str = "",
    detail: str = "",
) -> AccessLog:
    access = access_for(request)
    return AccessLog.objects.create(
        actor=access.person,
        username=request.user.get_username(),
        action=action,
        report=report,
        subject_id=subject_id,
        detail=detail[:500],
        ip=request.META.get("REMOTE_ADDR") or None,
    )
