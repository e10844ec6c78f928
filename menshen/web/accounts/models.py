"""People, units and roles. Staff and units are synced from the evidence store's reference
tables (`menshen sync-staff`); roles come from the org chart (supervisors review their
unit), from titles (see menshen.web.accounts.sync) and from manual grants."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from menshen import ids


class Unit(models.Model):
    unit_id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )

    class Meta:
        ordering = ("unit_id",)

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    staff_id = models.CharField(max_length=64, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    name = models.CharField(max_length=200)
    national_id = models.CharField(max_length=16, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="people")
    title = models.CharField(max_length=200, blank=True)
    employment = models.CharField(max_length=32, blank=True)
    supervisor = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports_to_me"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ("staff_id",)

    def __str__(self) -> str:
        return f"{self.name} ({self.staff_id})"

    @property
    def masked_national_id(self) -> str:
        return ids.mask(self.national_id) if self.national_id else ""


class Role(models.TextChoices):
    REVIEWER = "reviewer", _("Reviewer (unit supervisor)")
    APPROVER = "approver", _("Approver (audit supervisor)")
    ETHICS = "ethics", _("Ethics officer")
    ADMIN = "admin", _("Administrator")


class RoleGrant(models.Model):
    """A role over a unit and its sub-units; unit null = every unit."""

    class Source(models.TextChoices):
        SYNC = "sync", _("From the org chart")
        MANUAL = "manual", _("Granted by an administrator")
        DEMO = "demo", _("Demo")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=16, choices=Role.choices)
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["person", "role", "unit"], name="unique_role_grant"),
        )

    def __str__(self) -> str:
        return f"{self.person} {self.role} {self.unit_id or '*'}"


class LoginThrottle(models.Model):
    """Failed logins per username (known or not, so probing names learns nothing)."""

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
