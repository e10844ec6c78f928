"""The daily audit report (稽核日報表) of a unit for a workday, its look-ups, the items a
reviewer must decide, explanation requests and the history. Status changes happen only in
menshen.web.reports.workflow, through conditional UPDATEs."""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from menshen import ids
from menshen.web.accounts.models import Person, Unit
from menshen.web.roc import roc_date


class Report(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting review")
        SUBMITTED = "submitted", _("Submitted for approval")
        RETURNED = "returned", _("Returned")
        APPROVED = "approved", _("Approved")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="reports")
    report_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # sha256 of the detection output the report was built from: same input, no rebuild.
    fingerprint = models.CharField(max_length=64)
    chain_hash = models.CharField(max_length=64, blank=True)
    rule_hashes = models.JSONField(default=dict)
    lookup_count = models.PositiveIntegerField(default=0)
    explained_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict)
    built_at = models.DateTimeField()
    due_date = models.DateField(help_text="end of the next workday")
    submitted_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_chain_hash = models.CharField(max_length=64, blank=True)
    return_comment = models.TextField(blank=True)
    escalated_to = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="escalations"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-report_date", "unit_id")
        constraints = (
            models.UniqueConstraint(fields=["unit", "report_date"], name="one_report_per_unit_day"),
        )
        indexes = (models.Index(fields=["status", "due_date"]),)

    def __str__(self) -> str:
        return f"{self.unit_id} {self.report_date}"

    @property
    def roc_date(self) -> str:
        return roc_date(self.report_date)

    @property
    def explained_share(self) -> float:
        return self.explained_count / self.lookup_count if self.lookup_count else 1.0

    @property
    def is_locked(self) -> bool:
        return self.status in {self.Status.SUBMITTED, self.Status.APPROVED}


class Lookup(models.Model):
    """One look-up in a report; lean on purpose (a unit-day can hold 20,000)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="lookups")
    system = models.CharField(max_length=32)
    event_id = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    staff_id = models.CharField(max_length=64, blank=True)
    account = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=32)
    action = models.CharField(max_length=16, default="query")
    purpose_code = models.CharField(max_length=64, blank=True)
    record_ref = models.CharField(max_length=128, blank=True)
    explanation = models.CharField(max_length=32, blank=True)
    explanation_zh = models.CharField(max_length=300, blank=True)
    explanation_en = models.CharField(max_length=300, blank=True)
    finding_id = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ("occurred_at", "id")
        indexes = (
            models.Index(fields=["report", "occurred_at"]),
            models.Index(fields=["report", "staff_id", "occurred_at"]),
            models.Index(fields=["report", "system", "occurred_at"]),
            models.Index(fields=["report", "explanation", "occurred_at"]),
            models.Index(fields=["report", "subject_id"]),
            models.Index(fields=["report", "event_id"]),
            models.Index(fields=["staff_id", "occurred_at"]),
        )

    @property
    def masked_subject(self) -> str:
        return ids.mask(self.subject_id)

    @property
    def is_explained(self) -> bool:
        return bool(self.explanation)

    @property
    def explanation_text(self) -> str:
        """The explanation sentence in the reader's language."""
        english = (get_language() or "").startswith("en")
        return (self.explanation_en if english else self.explanation_zh) or self.explanation


class ReviewItem(models.Model):
    """A must-review finding or a spot-checked explained look-up: the reviewer decides it."""

    class Kind(models.TextChoices):
        FINDING = "finding", _("Finding")
        SPOT_CHECK = "spot_check", _("Spot check")

    class Status(models.TextChoices):
        PENDING = "pending", _("Not decided")
        ASKED = "asked", _("Asked the staff member to explain")
        ANSWERED = "answered", _("Staff member answered")
        JUSTIFIED = "justified", _("Justified")
        IMPROPER = "improper", _("Improper")

    DECIDED = (Status.JUSTIFIED, Status.IMPROPER)
    DECIDABLE = (Status.PENDING, Status.ANSWERED)

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=128, help_text="finding_id, or system:event_id")
    staff_id = models.CharField(max_length=64, blank=True)
    staff_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    account = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=32, blank=True)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    event_count = models.PositiveIntegerField(default=1)
    rules = models.JSONField(default=list)
    severity = models.CharField(max_length=16, blank=True)
    risk_score = models.FloatField(default=0.0)
    evidence_zh = models.JSONField(default=list)
    evidence_en = models.JSONField(default=list)
    rule_hashes = models.JSONField(default=dict)
    event_keys = models.JSONField(default=list, help_text='["system:event_id", ...]')
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("report", "kind", "-risk_score", "first_at", "id")
        constraints = (
            models.UniqueConstraint(
                fields=["report", "kind", "key"], name="unique_item_per_report"
            ),
        )

    @property
    def masked_subject(self) -> str:
        return ids.mask(self.subject_id) if self.subject_id else ""

    @property
    def is_decided(self) -> bool:
        return self.status in self.DECIDED

    @property
    def staff(self) -> Person | None:
        """The staff member behind the look-ups (alias of `staff_person`)."""
        return self.staff_person

    @property
    def evidence(self) -> list[str]:
        """Evidence sentences in the reader's language."""
        english = (get_language() or "").startswith("en")
        return list((self.evidence_en if english else self.evidence_zh) or self.evidence_zh)


class ExplanationRequest(models.Model):
    """請承辦人說明: a question to the staff member; their answer goes back to the reviewer."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting the answer")
        ANSWERED = "answered", _("Answered")

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="requests")
    staff = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="inbox")
    requested_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    question = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")


class ReportEvent(models.Model):
    """The history of a report: who did what, when."""

    class Action(models.TextChoices):
        BUILT = "built", _("Built")
        REBUILT = "rebuilt", _("Rebuilt from new detection output")
        DECIDED = "decided", _("Decided an item")
        ASKED = "asked", _("Asked the staff member to explain")
        ANSWERED = "answered", _("Staff member answered")
        SUBMITTED = "submitted", _("Submitted online for approval")
        RETURNED = "returned", _("Returned")
        APPROVED = "approved", _("Approved")
        ESCALATED = "escalated", _("Overdue: escalated")

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="events")
    item = models.ForeignKey(
        ReviewItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    actor = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ("at", "id")
