"""The access log, for ethics officers: who looked at which personal data, when."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from menshen import ids
from menshen.web.accounts.models import Role
from menshen.web.accounts.scope import access_for
from menshen.web.privacy.models import AccessLog


def access_log(request: HttpRequest) -> HttpResponse:
    access = access_for(request)
    if not access.has(Role.ETHICS):
        raise PermissionDenied(_("Only ethics officers may read the access log."))
    qs = AccessLog.objects.select_related("actor", "report__unit")
    units = access.units(Role.ETHICS)
    if units is not None:
        qs = qs.filter(actor__unit_id__in=units)
    who = request.GET.get("who", "").strip()
    if who:
        qs = qs.filter(username=who.lower())
    action = request.GET.get("action", "")
    if action in AccessLog.Action.values:
        qs = qs.filter(action=action)
    subject = request.GET.get("subject", "").strip()
    if subject:
        qs = qs.filter(subject_id=ids.normalize(subject))
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "privacy/access_log.html",
        {
            "page": page,
            "who": who,
            "action": action,
            "subject": subject,
            "actions": AccessLog.Action.choices,
            "querystring": params.urlencode(),
        },
    )
