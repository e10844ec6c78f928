"""Who may see what. Every view asks this module, and only this module, which units,
reports, look-ups and items the signed-in person may see; no view reads unscoped.

A role granted on a unit covers that unit and its sub-units; a grant without a unit covers
every unit. Staff see only their own look-ups and their own inbox. The supervisor a report
was escalated to also sees that report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from menshen.web.accounts.models import Person, Role, RoleGrant, Unit

ALL = None  # marker: every unit


def descendants(unit_ids: set[str]) -> set[str]:
    """The given units and all their sub-units."""
    children: dict[str, list[str]] = {}
    for unit_id, parent_id in Unit.objects.values_list("unit_id", "parent_id"):
        if parent_id:
            children.setdefault(parent_id, []).append(unit_id)
    seen: set[str] = set()
    todo = list(unit_ids)
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(children.get(current, []))
    return seen


@dataclass
class Access:
    person: Person | None
    # role -> set of unit ids, or None for every unit
    units_by_role: dict[str, set[str] | None] = field(default_factory=dict)

    @property
    def staff_id(self) -> str | None:
        return self.person.staff_id if self.person else None

    def has(self, role: str) -> bool:
        return role in self.units_by_role

    @property
    def roles(self) -> list[str]:
        return [r for r in Role.values if r in self.units_by_role]

    def units(self, *roles: str) -> set[str] | None:
        """Units covered by any of the roles; None means every unit."""
        result: set[str] = set()
        for role in roles:
            if role not in self.units_by_role:
                continue
            units = self.units_by_role[role]
            if units is ALL:
                return ALL
            result |= units
        return result

    def covers(self, role: str, unit_id: str) -> bool:
        if role not in self.units_by_role:
            return False
        units = self.units_by_role[role]
        return units is ALL or unit_id in units

    # Scoped querysets -------------------------------------------------------------
    def reports(self, qs: QuerySet | None = None) -> QuerySet:
        """Reports this person may open: reviewer, approver or ethics scope, or escalated."""
        from menshen.web.reports.models import Report

        qs = Report.objects.all() if qs is None else qs
        units = self.units(Role.REVIEWER, Role.APPROVER, Role.ETHICS)
        if units is ALL:
            return qs
        condition = Q(unit_id__in=units)
        if self.person is not None:
            condition |= Q(escalated_to=self.person)
        return qs.filter(condition)

    def report_role(self, report) -> set[str]:
        """The roles through which this person sees this report."""
        roles = {
            r for r in (Role.REVIEWER, Role.APPROVER, Role.ETHICS) if self.covers(r, report.unit_id)
        }
        if self.person is not None and report.escalated_to_id == self.person.pk:
            roles.add("escalated")
        return roles

    def own_lookups(self) -> QuerySet:
        from menshen.web.reports.models import Lookup

        if self.person is None:
            return Lookup.objects.none()
        return Lookup.objects.filter(staff_id=self.person.staff_id)

    def investigations(self) -> QuerySet:
        from menshen.web.investigations.models import Investigation

        units = self.units(Role.ETHICS)
        if not self.has(Role.ETHICS):
            return Investigation.objects.none()
        if units is ALL:
            return Investigation.objects.all()
        return Investigation.objects.filter(report__unit_id__in=units)


def build_access(user) -> Access:
    if not user.is_authenticated:
        return Access(person=None)
    person = Person.objects.filter(user=user).select_related("unit").first()
    access = Access(person=person)
    if person is None or not person.active:
        return Access(person=person)
    direct: dict[str, set[str] | None] = {}
    for role, unit_id in RoleGrant.objects.filter(person=person).values_list("role", "unit_id"):
        if unit_id is None:
            direct[role] = ALL
        elif direct.get(role, set()) is not ALL:
            direct.setdefault(role, set()).add(unit_id)  # type: ignore[union-attr]
    for role, units in direct.items():
        access.units_by_role[role] = ALL if units is ALL else descendants(units)
    return access


def access_for(request: HttpRequest) -> Access:
    """The signed-in person's access, computed once per request."""
    cached = getattr(request, "_menshen_access", None)
    if cached is None:
        cached = build_access(request.user)
        request._menshen_access = cached  # type: ignore[attr-defined]
    return cached
