"""Every state change of a report and its items. Each transition is one conditional UPDATE
(`filter(pk=…, status=…).update(…)`) whose row count says whether this caller won: two
approvers clicking at once cannot both approve. Views call these functions and nothing else
changes a status."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from menshen.web.accounts.models import Person, Role
from menshen.web.accounts.scope import Access
from menshen.web.investigations.models import Investigation
from menshen.web.reports.models import (
    ExplanationRequest,
    Lookup,
    Report,
    ReportEvent,
    ReviewItem,
)

EDITABLE = (Report.Status.OPEN, Report.Status.RETURNED)
UNDECIDED = (ReviewItem.Status.PENDING, ReviewItem.Status.ASKED, ReviewItem.Status.ANSWERED)
# An improper decision opened an investigation: it is final. Others may be revised while
# the report is still with the reviewer (e.g. after the approver returned it).
REVISABLE = (ReviewItem.Status.PENDING, ReviewItem.Status.ANSWERED, ReviewItem.Status.JUSTIFIED)


class WorkflowError(Exception):
    """A refused transition; the message is shown to the user as is."""


class Conflict(WorkflowError):
    """Someone else changed the report or item first."""


def _require_person(access: Access) -> Person:
    if access.person is None:
        raise WorkflowError(_("Your account is not linked to a member of staff."))
    return access.person


def _require_reviewer(access: Access, report: Report) -> Person:
    person = _require_person(access)
    if not access.covers(Role.REVIEWER, report.unit_id):
        raise WorkflowError(_("Only a reviewer of this unit may do this."))
    return person


def _require_approver(access: Access, report: Report) -> Person:
    person = _require_person(access)
    if not access.covers(Role.APPROVER, report.unit_id):
        raise WorkflowError(_("Only an approver of this unit may do this."))
    if report.submitted_by_id == person.pk:
        raise WorkflowError(_("The approver of a report cannot be its reviewer."))
    if ReviewItem.objects.filter(report=report, decided_by=person).exists():
        raise WorkflowError(_("You decided items in this report, so you cannot approve it."))
    if Lookup.objects.filter(report=report, staff_id=person.staff_id).exists():
        raise WorkflowError(_("This report contains your own look-ups; another approver must act."))
    return person


def decide(
    access: Access, item: ReviewItem, decision: str, reason: str = "", question: str = ""
) -> ReviewItem:
    """Record a reviewer's decision: justified, ask (the staff member to explain) or improper."""
    report = item.report
    person = _require_reviewer(access, report)
    if item.staff_id and item.staff_id == person.staff_id:
        raise WorkflowError(_("Nobody reviews their own look-ups."))
    reason = reason.strip()
    now = timezone.now()
    editable = Report.objects.filter(pk=report.pk, status__in=EDITABLE)
    if decision == ReviewItem.Status.JUSTIFIED:
        if not reason:
            raise WorkflowError(_("Give the reason why the look-up was justified."))
        new_status, action = ReviewItem.Status.JUSTIFIED, ReportEvent.Action.DECIDED
    elif decision == ReviewItem.Status.IMPROPER:
        new_status, action = ReviewItem.Status.IMPROPER, ReportEvent.Action.DECIDED
    elif decision == "ask":
        if item.staff_person is None:
            raise WorkflowError(
                _("The staff member behind this account is unknown; decide it yourself.")
            )
        new_status, action = ReviewItem.Status.ASKED, ReportEvent.Action.ASKED
    else:
        raise WorkflowError(_("Unknown decision."))
    with transaction.atomic():
        if not editable.exists():
            raise Conflict(_("This report is no longer open for review."))
        updated = ReviewItem.objects.filter(pk=item.pk, status__in=REVISABLE).update(
            status=new_status,
            reason=reason,
            decided_by=person if new_status != ReviewItem.Status.ASKED else None,
            decided_at=now if new_status != ReviewItem.Status.ASKED else None,
        )
        if updated != 1:
            raise Conflict(_("This item was already decided or is waiting for an answer."))
        if new_status == ReviewItem.Status.ASKED:
            ExplanationRequest.objects.create(
                item=item,
                staff=item.staff_person,
                requested_by=person,
                question=question.strip() or reason or _("Please explain this look-up."),
            )
        if new_status == ReviewItem.Status.IMPROPER:
            Investigation.objects.create(
                item=item,
                report=report,
                staff_id=item.staff_id,
                subject_id=item.subject_id,
                opened_by=person,
                reason=reason,
            )
        ReportEvent.objects.create(
            report=report,
            item=item,
            actor=person,
            action=action,
            comment=f"{new_status}: {reason or question}".strip(),
        )
    item.refresh_from_db()
    return item


def answer(access: Access, request: ExplanationRequest, text: str) -> ExplanationRequest:
    """The staff member answers an explanation request; the item goes back to the reviewer."""
    person = _require_person(access)
    text = text.strip()
    if not text:
        raise WorkflowError(_("Write your explanation before sending it."))
    if request.staff_id != person.pk:
        raise WorkflowError(_("This request is addressed to someone else."))
    with transaction.atomic():
        updated = ExplanationRequest.objects.filter(
            pk=request.pk, staff=person, status=ExplanationRequest.Status.OPEN
        ).update(status=ExplanationRequest.Status.ANSWERED, answer=text, answered_at=timezone.now())
        if updated != 1:
            raise Conflict(_("This request was already answered."))
        ReviewItem.objects.filter(pk=request.item_id, status=ReviewItem.Status.ASKED).update(
            status=ReviewItem.Status.ANSWERED
        )
        ReportEvent.objects.create(
            report_id=request.item.report_id,
            item_id=request.item_id,
            actor=person,
            action=ReportEvent.Action.ANSWERED,
            comment=text,
        )
    request.refresh_from_db()
    return request


def submit(access: Access, report: Report) -> Report:
    """線上送審: only when every item is decided (checked in the same UPDATE)."""
    person = _require_reviewer(access, report)
    undecided = ReviewItem.objects.filter(report=OuterRef("pk"), status__in=UNDECIDED)
    with transaction.atomic():
        updated = (
            Report.objects.filter(pk=report.pk, status__in=EDITABLE)
            .exclude(Exists(undecided))
            .update(
                status=Report.Status.SUBMITTED,
                submitted_by=person,
                submitted_at=timezone.now(),
            )
        )
        if updated != 1:
            report.refresh_from_db()
            if report.status not in EDITABLE:
                raise Conflict(_("This report was already submitted."))
            raise WorkflowError(_("Decide every item before submitting."))
        ReportEvent.objects.create(report=report, actor=person, action=ReportEvent.Action.SUBMITTED)
    report.refresh_from_db()
    return report


def approve(access: Access, report: Report, comment: str = "") -> Report:
    """批核: locks the report with the evidence-chain hash and rule versions it was built on."""
    person = _require_approver(access, report)
    with transaction.atomic():
        updated = Report.objects.filter(pk=report.pk, status=Report.Status.SUBMITTED).update(
            status=Report.Status.APPROVED,
            approved_by=person,
            approved_at=timezone.now(),
            approved_chain_hash=report.chain_hash,
        )
        if updated != 1:
            raise Conflict(_("This report is not waiting for approval (someone acted first?)."))
        ReportEvent.objects.create(
            report=report, actor=person, action=ReportEvent.Action.APPROVED, comment=comment.strip()
        )
    report.refresh_from_db()
    return report


def return_report(access: Access, report: Report, comment: str) -> Report:
    """退回: back to the reviewer with a comment."""
    person = _require_approver(access, report)
    comment = comment.strip()
    if not comment:
        raise WorkflowError(_("Say why the report is returned."))
    with transaction.atomic():
        updated = Report.objects.filter(pk=report.pk, status=Report.Status.SUBMITTED).update(
            status=Report.Status.RETURNED, return_comment=comment
        )
        if updated != 1:
            raise Conflict(_("This report is not waiting for approval (someone acted first?)."))
        ReportEvent.objects.create(
            report=report, actor=person, action=ReportEvent.Action.RETURNED, comment=comment
        )
    report.refresh_from_db()
    return report
