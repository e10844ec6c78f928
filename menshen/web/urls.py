"""URL configuration. tests/web/test_scoping.py walks every pattern: a new URL without an
access test fails the suite."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.i18n import set_language

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


@login_not_required
@cache_control(max_age=3600, public=True)
def static_file(request: HttpRequest, name: str) -> HttpResponse:
    """The app's few static files, served by the app itself (no separate web server)."""
    target = (STATIC_DIR / name).resolve()
    if (
        STATIC_DIR not in target.parents
        or target.suffix not in STATIC_TYPES
        or not target.is_file()
    ):
        raise Http404(name)
    return HttpResponse(target.read_bytes(), content_type=STATIC_TYPES[target.suffix])


urlpatterns = [
    path("", include("menshen.web.reports.urls")),
    path("accounts/", include("menshen.web.accounts.urls")),
    path("", include("menshen.web.investigations.urls")),
    path("", include("menshen.web.privacy.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("static/<path:name>", static_file, name="static"),
]
