"""The staff member's inbox of explanation requests, and the ethics officer's
investigations (調查案件)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from menshen.web.accounts.models import Role
from menshen.web.accounts.scope import access_for
from menshen.web.investigations.models import Investigation
from menshen.web.privacy.log import log_access
from menshen.web.privacy.models import AccessLog
from menshen.web.reports import workflow
from menshen.web.reports.models import ExplanationRequest, Lookup


def inbox(request: HttpRequest) -> HttpResponse:
    access = access_for(request)
    if access.person is None:
        raise PermissionDenied(_("Your account is not linked to a member of staff."))
    qs = (
        ExplanationRequest.objects.filter(staff=access.person)
        .select_related("item__report__unit", "requested_by")
        .order_by("status", "-created_at")
    )
    rows = list(qs[:200])
    # Show the staff member the look-ups they are asked about (their own; no reveal needed),
    # fetched in one query for the whole inbox.
    wanted = {(r.item.report_id, key) for r in rows for key in r.item.event_keys}
    found: dict[tuple[int, str], Lookup] = {}
    if wanted:
        event_ids = {key.split(":", 1)[1] for _, key in wanted if ":" in key}
        for lk in Lookup.objects.filter(
            report_id__in={r for r, _ in wanted}, event_id__in=event_ids
        ):
            found[(lk.report_id, f"{lk.system}:{lk.event_id}")] = lk
    for req in rows:
        keys = [(req.item.report_id, key) for key in req.item.event_keys]
        req.lookups = [found[k] for k in keys if k in found][:20]
    log_access(request, AccessLog.Action.VIEW_OWN, detail=f"inbox requests={len(rows)}")
    return render(request, "investigations/inbox.html", {"requests": rows})


@require_POST
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    access = access_for(request)
    req = ExplanationRequest.objects.filter(pk=pk, staff=access.person).first()
    if access.person is None or req is None:
        raise Http404(_("No such request."))
    try:
        workflow.answer(access, req, request.POST.get("answer", ""))
        messages.success(request, _("Your explanation was sent to your supervisor."))
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    return redirect("investigations:inbox")


def _require_ethics(request: HttpRequest) -> None:
    if not access_for(request).has(Role.ETHICS):
        raise PermissionDenied(_("Only ethics officers may see investigations."))


def investigation_list(request: HttpRequest) -> HttpResponse:
    _require_ethics(request)
    qs = (
        access_for(request)
        .investigations()
        .select_related("report__unit", "opened_by", "item__staff_person")
    )
    status = request.GET.get("status", "open")
    if status in Investigation.Status.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "investigations/list.html", {"page": page, "status": status})


def investigation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_ethics(request)
    case = (
        access_for(request)
        .investigations()
        .select_related("report__unit", "item", "opened_by", "closed_by")
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise Http404(_("No such investigation."))
    others = (
        access_for(request)
        .investigations()
        .filter(Q(staff_id=case.staff_id) & ~Q(pk=case.pk))
        .select_related("report__unit")
        .order_by("-opened_at")[:20]
        if case.staff_id
        else []
    )
    log_access(
        request,
        AccessLog.Action.VIEW_ITEM,
        report=case.report,
        subject_id=case.subject_id,
        detail=f"investigation={case.pk}",
    )
    return render(request, "investigations/detail.html", {"case": case, "others": others})


@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    _require_ethics(request)
    access = access_for(request)
    case = access.investigations().filter(pk=pk).first()
    if case is None:
        raise Http404(_("No such investigation."))
    note = request.POST.get("note", "").strip()
    if not note:
        messages.error(request, _("Write the outcome before closing the investigation."))
        return redirect("investigations:detail", pk=pk)
    updated = Investigation.objects.filter(pk=pk, status=Investigation.Status.OPEN).update(
        status=Investigation.Status.CLOSED,
        note=note,
        closed_by=access.person,
        closed_at=timezone.now(),
    )
    if updated != 1:
        messages.error(request, _("This investigation was already closed."))
    else:
        messages.success(request, _("The investigation was closed."))
    return redirect("investigations:detail", pk=pk)
