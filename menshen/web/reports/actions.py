"""POST-only actions on a report: decide, submit, approve, return, reveal, export.
Each one checks scope first, then calls menshen.web.reports.workflow."""

from __future__ import annotations

import importlib

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from menshen import ids
from menshen.web.accounts import reauth
from menshen.web.accounts.models import Role
from menshen.web.accounts.scope import access_for
from menshen.web.privacy.log import log_access
from menshen.web.privacy.models import AccessLog
from menshen.web.reports import workflow
from menshen.web.reports.models import Lookup, ReviewItem
from menshen.web.reports.views import scoped_item, scoped_report

EXPORTS = {
    "pdf": ("render_pdf", "application/pdf"),
    "ods": ("render_ods", "application/vnd.oasis.opendocument.spreadsheet"),
    "xlsx": (
        "render_xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
}


def _back(report_pk: int, anchor: str = "") -> HttpResponse:
    url = reverse("reports:detail", args=[report_pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


@require_POST
def decide(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item = scoped_item(request, pk, item_pk)
    try:
        workflow.decide(
            access_for(request),
            item,
            request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
            question=request.POST.get("question", ""),
        )
        messages.success(request, _("Decision recorded."))
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    return _back(pk, f"item-{item.pk}")


@require_POST
def justify_spot_checks(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the selected spot checks justified with one reason (抽查相符)."""
    report = scoped_report(request, pk)
    access = access_for(request)
    if not access.covers(Role.REVIEWER, report.unit_id):
        raise PermissionDenied(_("Only a reviewer of this unit may do this."))
    chosen = [int(v) for v in request.POST.getlist("items") if v.isdigit()]
    items = ReviewItem.objects.filter(
        report=report, kind=ReviewItem.Kind.SPOT_CHECK, pk__in=chosen
    ).select_related("report", "staff_person")
    done, errors = 0, set()
    for item in items:
        try:
            workflow.decide(access, item, "justified", reason=request.POST.get("reason", ""))
            done += 1
        except workflow.WorkflowError as error:
            errors.add(str(error))
    if done:
        messages.success(request, _("%(n)d spot checks marked justified.") % {"n": done})
    for error in sorted(errors):
        messages.error(request, error)
    if not chosen:
        messages.error(request, _("Select the spot checks first."))
    return _back(pk, "h-spot")


@require_POST
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    report = scoped_report(request, pk)
    try:
        workflow.submit(access_for(request), report)
        messages.success(request, _("The report was submitted for approval."))
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    return _back(pk)


@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    report = scoped_report(request, pk)
    access = access_for(request)
    if not access.covers(Role.APPROVER, report.unit_id):
        raise PermissionDenied(_("Only an approver of this unit may do this."))
    if not reauth.ensure(request):
        messages.error(request, _("Enter your password again to confirm this action."))
        return _back(pk, "approve")
    try:
        workflow.approve(access, report, request.POST.get("comment", ""))
        messages.success(request, _("The report was approved and locked."))
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    return _back(pk)


@require_POST
def return_report(request: HttpRequest, pk: int) -> HttpResponse:
    report = scoped_report(request, pk)
    try:
        workflow.return_report(access_for(request), report, request.POST.get("comment", ""))
        messages.success(request, _("The report was returned to the reviewer."))
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    return _back(pk)


def _reveal(request: HttpRequest, report, subject_id: str, label: str) -> HttpResponse:
    roles = access_for(request).report_role(report) - {"escalated"}
    if not roles:
        raise PermissionDenied(_("You may not reveal ids in this report."))
    if not reauth.ensure(request):
        messages.error(request, _("Enter your password again to reveal a full id."))
        return _back(report.pk)
    log_access(
        request, AccessLog.Action.REVEAL_ID, report=report, subject_id=subject_id, detail=label
    )
    return render(
        request,
        "reports/revealed.html",
        {
            "report": report,
            "subject_id": subject_id,
            "masked": ids.mask(subject_id),
            "label": label,
        },
    )


@require_POST
def reveal_item(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item = scoped_item(request, pk, item_pk)
    if not item.subject_id:
        raise Http404(_("This item has no single subject."))
    return _reveal(request, item.report, item.subject_id, f"item={item.pk}")


@require_POST
def reveal_lookup(request: HttpRequest, pk: int, lookup_pk: int) -> HttpResponse:
    report = scoped_report(request, pk)
    lookup = Lookup.objects.filter(report=report, pk=lookup_pk).first()
    if lookup is None:
        raise Http404(_("No such look-up."))
    return _reveal(request, report, lookup.subject_id, f"lookup={lookup.system}:{lookup.event_id}")


def export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    report = scoped_report(request, pk)
    if fmt not in EXPORTS:
        raise Http404(_("Unknown export format."))
    function_name, content_type = EXPORTS[fmt]
    try:
        module = importlib.import_module("menshen.web.exports")
        render_fn = getattr(module, function_name)
    except (ImportError, AttributeError):
        return HttpResponse(
            _("This export is not available yet."), status=503, content_type="text/plain"
        )
    body = render_fn(report)
    log_access(request, AccessLog.Action.EXPORT, report=report, detail=fmt)
    response = HttpResponse(body, content_type=content_type)
    filename = f"audit-report-{report.unit_id}-{report.report_date.isoformat()}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
