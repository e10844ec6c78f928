"""Sign in (with lockout), sign out, re-authentication, and the administrator's people
screen (roles, unlocking, one-time passwords)."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from menshen.web.accounts import lockout, reauth
from menshen.web.accounts.models import LoginThrottle, Person, Role, RoleGrant, Unit
from menshen.web.accounts.scope import access_for


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@login_not_required
def login_view(request: HttpRequest) -> HttpResponse:
    error = ""
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        until = lockout.locked_until(username)
        if until:
            error = _("Too many failed sign-ins: this account is locked until %(time)s.") % {
                "time": timezone.localtime(until).strftime("%H:%M")
            }
        else:
            user = authenticate(request, username=username, password=password)
            if user is None:
                locked = lockout.record_failure(username)
                error = (
                    _("Too many failed sign-ins: this account is locked until %(time)s.")
                    % {"time": timezone.localtime(locked).strftime("%H:%M")}
                    if locked
                    else _("Wrong username or password.")
                )
            else:
                lockout.record_success(username)
                login(request, user)
                return redirect(_safe_next(request, "/"))
    status = 200 if not error else 401
    return render(
        request,
        "accounts/login.html",
        {"error": error, "username": username, "next": _safe_next(request, "")},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


def reauth_view(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        if reauth.confirm(request, request.POST.get("password", "")):
            return redirect(_safe_next(request, "/"))
        error = _("Wrong password, or the account is locked.")
    return render(
        request,
        "accounts/reauth.html",
        {"error": error, "next": _safe_next(request, "/")},
        status=401 if error else 200,
    )


def _require_admin(request: HttpRequest) -> None:
    if not access_for(request).has(Role.ADMIN):
        raise PermissionDenied(_("Only an administrator may manage accounts."))


def _people(request: HttpRequest):
    """The people this administrator manages: their units, or everyone."""
    _require_admin(request)
    units = access_for(request).units(Role.ADMIN)
    qs = Person.objects.all()
    return qs if units is None else qs.filter(unit_id__in=units)


def people(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    qs = _people(request).select_related("unit", "user").prefetch_related("grants__unit")
    if query:
        qs = qs.filter(name__icontains=query) | qs.filter(staff_id__icontains=query)
    page = Paginator(qs.order_by("unit_id", "staff_id"), 50).get_page(request.GET.get("page"))
    locks = {
        t.username: t.locked_until
        for t in LoginThrottle.objects.filter(locked_until__gt=timezone.now())
    }
    rows = [(p, locks.get(p.user.username) if p.user else None) for p in page]
    return render(
        request,
        "accounts/people.html",
        {
            "page": page,
            "rows": rows,
            "q": query,
            "roles": Role.choices,
            "units": Unit.objects.all(),
        },
    )


@require_POST
def unlock(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(_people(request), pk=pk, user__isnull=False)
    lockout.unlock(person.user.username)
    messages.success(request, _("Unlocked %(name)s.") % {"name": person.name})
    return redirect("accounts:people")


@require_POST
def grant(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(_people(request), pk=pk)
    if person == access_for(request).person:
        messages.error(request, _("Nobody changes their own roles."))
        return redirect("accounts:people")
    role = request.POST.get("role", "")
    unit_id = request.POST.get("unit") or None
    if role not in Role.values or (unit_id and not Unit.objects.filter(pk=unit_id).exists()):
        messages.error(request, _("Choose a role and a unit."))
        return redirect("accounts:people")
    RoleGrant.objects.get_or_create(
        person=person, role=role, unit_id=unit_id, defaults={"source": RoleGrant.Source.MANUAL}
    )
    messages.success(request, _("Role granted."))
    return redirect("accounts:people")


@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    grant_ = get_object_or_404(RoleGrant, pk=pk, person__in=_people(request))
    if grant_.person == access_for(request).person:
        messages.error(request, _("Nobody changes their own roles."))
        return redirect("accounts:people")
    grant_.delete()
    messages.success(request, _("Role revoked."))
    return redirect("accounts:people")


@require_POST
def reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    """A one-time password, shown once to the administrator who hands it over."""
    person = get_object_or_404(_people(request), pk=pk, user__isnull=False)
    if not reauth.ensure(request):
        messages.error(request, _("Enter your password again to confirm this action."))
        return redirect("accounts:people")
    password = secrets.token_urlsafe(12)
    person.user.set_password(password)
    person.user.save(update_fields=["password"])
    lockout.unlock(person.user.username)
    return render(request, "accounts/password_shown.html", {"person": person, "password": password})
