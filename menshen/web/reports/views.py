"""Pages of the daily audit report. Every queryset starts from the scope helper
(menshen.web.accounts.scope); every page showing look-up details is logged."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from menshen import ids
from menshen.web.accounts import reauth
from menshen.web.accounts.models import Person, Role
from menshen.web.accounts.scope import access_for
from menshen.web.privacy.log import log_access
from menshen.web.privacy.models import AccessLog
from menshen.web.reports import overdue as overdue_mod
from menshen.web.reports.fragments import CardRenderer
from menshen.web.reports.models import ExplanationRequest, Lookup, Report, ReviewItem

SPOT_PAGE = 20
FINDING_PAGE = 20
SUMMARY_CACHE_SECONDS = 24 * 3600
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


def _ranked(qs):
    """Undecided first (pending, answered, asked), then decided; by risk within each."""
    rank = Case(
        *(When(status=status, then=Value(order)) for status, order in ITEM_ORDER.items()),
        default=Value(9),
        output_field=IntegerField(),
    )
    return qs.annotate(rank=rank).order_by("rank", "-risk_score", "pk")


def summary_html(report: Report) -> str:
    """The report's summary block (counts by staff member, system and purpose), rendered once
    and kept in the cache: it shows only what the builder stored (`Report.summary`, the
    counts), which changes only when the report is rebuilt, never with decisions. The key is
    a hash of exactly what the block shows, in the active language, so a rebuilt report (or
    any other change of those fields) gets a new key and a stale block is never served."""
    content = json.dumps(
        [report.pk, report.lookup_count, report.explained_count, report.summary],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    key = f"menshen:report-summary:v1:{get_language()}:{report.pk}:{digest}"
    html = cache.get(key)
    if html is None:
        html = render_to_string("reports/_summary.html", {"report": report})
        cache.set(key, html, SUMMARY_CACHE_SECONDS)
    return mark_safe(html)  # rendered (and escaped) by the template engine


def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The report page. Counts come from one GROUP BY; only the items shown are loaded:
    findings FINDING_PAGE at a time (undecided first, `?findings=N` for page N) and at most
    SPOT_PAGE undecided spot checks; `?spot=all` shows every item on one page."""
    report = scoped_report(request, pk)
    access = access_for(request)
    roles = access.report_role(report)
    counts: dict[tuple[str, str], int] = {
        (row["kind"], row["status"]): row["n"]
        for row in ReviewItem.objects.filter(report=report)
        .order_by()
        .values("kind", "status")
        .annotate(n=Count("id"))
    }

    def count(kind: str | None = None, statuses: tuple[str, ...] | None = None) -> int:
        return sum(
            n
            for (k, st), n in counts.items()
            if (kind is None or k == kind) and (statuses is None or st in statuses)
        )

    decided = tuple(str(s) for s in ReviewItem.DECIDED)
    undecided_states = tuple(s for s in ITEM_ORDER if s not in decided)
    show_all = request.GET.get("spot") == "all"
    items = _ranked(
        ReviewItem.objects.filter(report=report).select_related("staff_person", "decided_by")
    )
    finding_qs = items.filter(kind=ReviewItem.Kind.FINDING)
    findings_total = count("finding")
    if show_all:
        findings_page = None
        findings = list(finding_qs)
    else:
        paginator = Paginator(finding_qs, FINDING_PAGE)
        paginator.count = findings_total  # known from the GROUP BY: no COUNT query
        findings_page = paginator.get_page(request.GET.get("findings"))
        findings = list(findings_page.object_list)
    spot_qs = items.filter(kind=ReviewItem.Kind.SPOT_CHECK)
    spot_total = count("spot_check")
    spot_open = count("spot_check", undecided_states)
    if show_all:
        shown_spots = list(spot_qs)
    else:
        shown_spots = list(spot_qs.filter(status__in=undecided_states)[:SPOT_PAGE])
    shown = findings + shown_spots
    requests = {
        r.item_id: r
        for r in ExplanationRequest.objects.filter(item_id__in=[i.pk for i in shown]).order_by(
            "created_at"
        )
    }
    for item in shown:
        item.latest_request = requests.get(item.pk)
    me = access.person
    can_review = Role.REVIEWER in roles and report.status in ("open", "returned")
    can_reveal = bool(roles - {"escalated"})
    reauth_recent = reauth.is_recent(request)
    log_access(request, AccessLog.Action.VIEW_REPORT, report=report)
    return render(
        request,
        "reports/report_detail.html",
        {
            "report": report,
            # the cards are rendered in Python (menshen.web.reports.fragments): through an
            # included template they were two thirds of the page's CPU
            "cards": CardRenderer(
                request,
                # item URLs by concatenation: reverse() per card was a third of the page
                items_base=reverse("reports:detail", args=[report.pk]) + "items/",
                can_review=can_review,
                can_reveal=can_reveal,
                reauth_recent=reauth_recent,
                me_staff_id=me.staff_id if me is not None else None,
            ),
            "summary_html": summary_html(report),
            "findings": findings,
            "findings_total": findings_total,
            "findings_page": findings_page,
            "spot_checks": shown_spots,
            "spot_total": spot_total,
            "spot_open": spot_open,
            "spot_hidden": spot_total - len(shown_spots),
            "undecided": count(None, undecided_states),
            "justified_count": count(None, ("justified",)),
            "improper_count": count(None, ("improper",)),
            "can_review": can_review,
            "can_approve": Role.APPROVER in roles
            and report.status == "submitted"
            and (me is None or report.submitted_by_id != me.pk),
            "can_reveal": can_reveal,
            "events": report.events.select_related("actor").order_by("at", "id"),
            "me": me,
            "reauth_recent": reauth_recent,
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
