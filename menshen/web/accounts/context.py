from __future__ import annotations

from django.http import HttpRequest

from menshen.web.accounts.scope import access_for


def roles(request: HttpRequest) -> dict[str, object]:
    """`access` (the signed-in person's roles and units) for every template."""
    if not hasattr(request, "user"):
        return {}
    return {"access": access_for(request)}
