"""Investigation records (調查案件) for the ethics officer (政風人員), opened when a reviewer
decides a look-up was improper (不當)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from menshen import ids
from menshen.web.accounts.models import Person
from menshen.web.reports.models import Report, ReviewItem


class Investigation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    item = models.OneToOneField(ReviewItem, on_delete=models.PROTECT, related_name="investigation")
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="investigations")
    staff_id = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=32, blank=True)
    opened_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-opened_at", "-id")

    @property
    def masked_subject(self) -> str:
        return ids.mask(self.subject_id) if self.subject_id else ""
