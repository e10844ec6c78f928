"""Pages of the daily audit report. Every queryset starts from the scope helper
(menshen.web.accounts.scope); every page showing look-up details is logged."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from menshen import ids
from menshen.web.accounts import reauth
from menshen.web.accounts.models import Person, Role
from menshen.web.accounts.scope import access_for
from menshen.web.privacy.log import log_access
from menshen.web.privacy.models import AccessLog
from menshen.web.reports import overdue as overdue_mod
from menshen.web.reports.models import ExplanationRequest, Lookup, Report, ReviewItem

SPOT_PAGE = 20
ITEM_ORDER = {"pending": 0, "answered": 1, "asked": 2, "improper": 3, "justified": 4}


def scoped_report(request: HttpRequest, pk: int) -> Report:
    """The report, if this person may see it; 404 otherwise (no hint that it exists)."""
    report = access_for(request).reports(Report.objects.select_related("unit")).filter(pk=pk)
    found = report.select_related("submitted_by", "approved_by", "escalated_to").first()
    if found is None:
        raise Http404(_("No such report."))
    return found


def scoped_item(request: HttpRequest, pk: int, item_pk: int) -> ReviewItem:
    report = scoped_report(request, pk)
    item = (
        ReviewItem.objects.filter(report=report, pk=item_pk).select_related("staff_person").first()
    )
    if item is None:
        raise Http404(_("No such item."))
    item.report = report
    return item


def home(request: HttpRequest) -> HttpResponse:
    access = access_for(request)
    context: dict[str, object] = {}
    visible = access.reports(Report.objects.select_related("unit"))
    if access.has(Role.REVIEWER):
        units = access.units(Role.REVIEWER)
        qs = visible.filter(status__in=overdue_mod.PENDING)
        if units is not None:
            qs = qs.filter(unit_id__in=units)
        context["to_review"] = qs.order_by("report_date", "unit_id")[:50]
    if access.has(Role.APPROVER):
        units = access.units(Role.APPROVER)
        qs = visible.filter(status=Report.Status.SUBMITTED)
        if units is not None:
            qs = qs.filter(unit_id__in=units)
        context["to_approve"] = qs.order_by("report_date", "unit_id")[:50]
    if access.person is not None:
        context["inbox_open"] = ExplanationRequest.objects.filter(
            staff=access.person, status=ExplanationRequest.Status.OPEN
        ).count()
        context["escalated"] = visible.filter(
            escalated_to=access.person, status__in=overdue_mod.PENDING
        ).select_related("unit")[:50]
    if access.has(Role.ETHICS):
        context["open_investigations"] = access.investigations().filter(status="open").count()
    return render(request, "reports/home.html", context)


def report_list(request: HttpRequest) -> HttpResponse:
    access = access_for(request)
    qs = access.reports(Report.objects.select_related("unit"))
    status = request.GET.get("status", "")
    if status in Report.Status.values:
        qs = qs.filter(status=status)
    unit = request.GET.get("unit", "")
    if unit:
        qs = qs.filter(unit_id=unit)
    page = Paginator(qs.order_by("-report_date", "unit_id"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/report_list.html",
        {"page": page, "status": status, "unit": unit, "statuses": Report.Status.choices},
    )


def overdue_list(request: HttpRequest) -> HttpResponse:
    access = access_for(request)
    qs = access.reports(overdue_mod.overdue()).select_related("unit", "escalated_to")
    return render(
        request,
        "reports/overdue.html",
        {"reports": qs.order_by("due_date", "unit_id")[:500], "today": timezone.localdate()},
    )


def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = scoped_report(request, pk)
    access = access_for(request)
    roles = access.report_role(report)
    items = sorted(
        ReviewItem.objects.filter(report=report).select_related("staff_person", "decided_by"),
        key=lambda i: (i.kind != "finding", ITEM_ORDER.get(i.status, 9), -i.risk_score, i.pk),
    )
    requests = {
        r.item_id: r
        for r in ExplanationRequest.objects.filter(item__report=report).order_by("created_at")
    }
    for item in items:
        item.latest_request = requests.get(item.pk)
    undecided = sum(1 for i in items if not i.is_decided)
    # A 20,000-look-up day has 200 spot checks: show the undecided ones a page at a time.
    spot_checks = [i for i in items if i.kind == "spot_check"]
    show_all = request.GET.get("spot") == "all"
    spot_open = [i for i in spot_checks if not i.is_decided]
    shown_spots = spot_checks if show_all else spot_open[:SPOT_PAGE]
    me = access.person
    log_access(request, AccessLog.Action.VIEW_REPORT, report=report)
    return render(
        request,
        "reports/report_detail.html",
        {
            "report": report,
            "items": items,
            "findings": [i for i in items if i.kind == "finding"],
            "spot_checks": shown_spots,
            "spot_total": len(spot_checks),
            "spot_open": len(spot_open),
            "spot_hidden": len(spot_checks) - len(shown_spots),
            "undecided": undecided,
            "justified_count": sum(1 for i in items if i.status == "justified"),
            "improper_count": sum(1 for i in items if i.status == "improper"),
            "can_review": Role.REVIEWER in roles and report.status in ("open", "returned"),
            "can_approve": Role.APPROVER in roles
            and report.status == "submitted"
            and (me is None or report.submitted_by_id != me.pk),
            "can_reveal": bool(roles - {"escalated"}),
            "events": report.events.select_related("actor", "item").order_by("at", "id"),
            "me": me,
            "reauth_recent": reauth.is_recent(request),
        },
    )


def lookup_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The full look-up list: paged with LIMIT, filtered on indexed columns, searchable."""
    report = scoped_report(request, pk)
    qs = Lookup.objects.filter(report=report)
    staff = request.GET.get("staff", "").strip()
    system = request.GET.get("system", "").strip()
    explained = request.GET.get("explained", "")
    query = request.GET.get("q", "").strip()
    if staff:
        qs = qs.filter(staff_id=staff)
    if system:
        qs = qs.filter(system=system)
    if explained == "yes":
        qs = qs.exclude(explanation="")
    elif explained == "no":
        qs = qs.filter(explanation="")
    elif explained == "flagged":
        qs = qs.exclude(finding_id="")
    if query:
        normalized = ids.normalize(query)
        qs = qs.filter(
            Q(subject_id=normalized) | Q(event_id=query) | Q(record_ref=query) | Q(account=query)
        )
    qs = qs.order_by("occurred_at", "id")
    page = Paginator(qs, settings.MENSHEN_REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    names = dict(
        Person.objects.filter(staff_id__in={r.staff_id for r in page}).values_list(
            "staff_id", "name"
        )
    )
    log_access(
        request,
        AccessLog.Action.VIEW_LOOKUPS,
        report=report,
        detail=f"page={page.number} staff={staff} system={system} explained={explained} q={query}",
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "reports/lookup_list.html",
        {
            "report": report,
            "page": page,
            "names": names,
            "staff": staff,
            "system": system,
            "explained": explained,
            "q": query,
            "querystring": params.urlencode(),
            "staff_choices": report.summary.get("by_staff", []),
            "system_choices": report.summary.get("by_system", []),
            "can_reveal": bool(access_for(request).report_role(report) - {"escalated"}),
            "reauth_recent": reauth.is_recent(request),
        },
    )


def item_detail(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    item = scoped_item(request, pk, item_pk)
    event_ids = [k.split(":", 1)[1] for k in item.event_keys if ":" in k]
    systems = {tuple(k.split(":", 1)) for k in item.event_keys if ":" in k}
    lookups = [
        lk
        for lk in Lookup.objects.filter(report=item.report, event_id__in=event_ids)
        if (lk.system, lk.event_id) in systems
    ]
    log_access(
        request,
        AccessLog.Action.VIEW_ITEM,
        report=item.report,
        subject_id=item.subject_id,
        detail=f"item={item.pk} {item.kind} {item.key}",
    )
    roles = access_for(request).report_role(item.report)
    return render(
        request,
        "reports/item_detail.html",
        {
            "report": item.report,
            "item": item,
            "lookups": lookups,
            "requests": item.requests.select_related("staff", "requested_by").order_by(
                "created_at"
            ),
            "events": item.events.select_related("actor").order_by("at", "id"),
            "can_reveal": bool(roles - {"escalated"}),
        },
    )


def my_lookups(request: HttpRequest) -> HttpResponse:
    """A member of staff's own look-up history, with the explanation of each."""
    access = access_for(request)
    if access.person is None:
        raise PermissionDenied(_("Your account is not linked to a member of staff."))
    qs = access.own_lookups().order_by("-occurred_at", "-id")
    page = Paginator(qs, settings.MENSHEN_REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    log_access(request, AccessLog.Action.VIEW_OWN, detail=f"page={page.number}")
    return render(request, "reports/my_lookups.html", {"page": page})
