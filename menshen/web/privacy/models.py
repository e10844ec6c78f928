"""The log of every view of personal data inside menshen: look-up lists and details, id
reveals, exports. Ethics officers read it; nobody edits it (no update or delete view)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from menshen.web.accounts.models import Person


class AccessLog(models.Model):
    class Action(models.TextChoices):
        VIEW_REPORT = "view_report", _("Viewed a report")
        VIEW_LOOKUPS = "view_lookups", _("Viewed the look-up list")
        VIEW_ITEM = "view_item", _("Viewed an item's look-ups")
        VIEW_OWN = "view_own", _("Viewed own look-ups")
        REVEAL_ID = "reveal_id", _("Revealed a full national id")
        EXPORT = "export", _("Exported a report")

    actor = models.ForeignKey(Person, null=True, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    report = models.ForeignKey(
        "reports.Report", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_id = models.CharField(max_length=32, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ("-at", "-id")
