"""`menshen sync-staff`: units, staff and roles from the evidence store's latest `units` and
`staff` reference tables.

How roles are assigned (documented in menshen/web/README.md):
- reviewer (單位主管): anyone who is some active staff member's supervisor_id, over their
  own unit and its sub-units;
- ethics officer (政風人員): title or unit name containing 政風, over every unit;
- approver (稽核主管): title containing 稽核, over every unit; when nobody has such a title,
  the heads of the agency (supervisors without a supervisor) approve every unit;
- administrator (系統管理者): title containing 資訊 or 系統管理;
- plus the rows of an optional roles file (`staff_id,role,unit_id`, empty unit = every
  unit): `--roles FILE`, else `$MENSHEN_HOME/roles.csv` when it exists.
Grants from the org chart are recomputed on every sync; grants an administrator made by
hand (source `manual`) and demo grants are kept.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from django.contrib.auth import get_user_model
from django.db import transaction

from menshen.web.accounts.models import Person, Role, RoleGrant, Unit


class SyncError(Exception):
    pass


@dataclass
class SyncSummary:
    units: int = 0
    people: int = 0
    users_created: int = 0
    grants: dict[str, int] | None = None


def _rows(path: Path | None, table: str) -> list[dict]:
    if path is None:
        raise SyncError(
            f"證據庫沒有 {table} 參考表，請先匯入資料 / the evidence store has no {table} "
            "table: run `menshen ingest` first"
        )
    return pq.read_table(path).to_pylist()


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def read_roles_file(path: Path, known_units: set[str]) -> list[tuple[str, str, str | None]]:
    """staff_id,role,unit_id rows; errors name the file, line and column."""
    result: list[tuple[str, str, str | None]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"staff_id", "role"} - set(reader.fieldnames or [])
        if missing:
            raise SyncError(f"{path}:1: 缺少欄位 / missing columns: {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            role = _text(row.get("role")).lower()
            if role not in Role.values:
                raise SyncError(
                    f"{path}:{line}: column role: 未知角色 / unknown role {role!r} "
                    f"(expected one of {', '.join(Role.values)})"
                )
            unit = _text(row.get("unit_id")) or None
            if unit is not None and unit not in known_units:
                raise SyncError(f"{path}:{line}: column unit_id: 未知單位 / unknown unit {unit!r}")
            result.append((_text(row.get("staff_id")), role, unit))
    return result


@transaction.atomic
def sync(
    units_path: Path | None,
    staff_path: Path | None,
    roles_path: Path | None = None,
    today: dt.date | None = None,
) -> SyncSummary:
    today = today or dt.date.today()
    unit_rows = _rows(units_path, "units")
    staff_rows = _rows(staff_path, "staff")
    summary = SyncSummary()

    existing_units = {u.unit_id: u for u in Unit.objects.all()}
    for row in unit_rows:
        unit_id = _text(row.get("unit_id"))
        if not unit_id:
            continue
        unit = existing_units.get(unit_id) or Unit(unit_id=unit_id)
        unit.name = _text(row.get("name")) or unit_id
        unit.save()
        existing_units[unit_id] = unit
    for row in unit_rows:
        unit_id, parent_id = _text(row.get("unit_id")), _text(row.get("parent_unit_id"))
        if unit_id and parent_id in existing_units and parent_id != unit_id:
            Unit.objects.filter(pk=unit_id).update(parent_id=parent_id)
    summary.units = len(unit_rows)

    people = {p.staff_id: p for p in Person.objects.all()}
    user_model = get_user_model()
    usernames = set(user_model.objects.values_list("username", flat=True))
    for row in staff_rows:
        staff_id = _text(row.get("staff_id"))
        unit_id = _text(row.get("unit_id"))
        if not staff_id or unit_id not in existing_units:
            continue
        person = people.get(staff_id) or Person(staff_id=staff_id)
        person.name = _text(row.get("name")) or staff_id
        person.national_id = _text(row.get("national_id")).upper()
        person.unit_id = unit_id
        person.title = _text(row.get("title"))
        person.employment = _text(row.get("employment"))
        active_to = row.get("active_to")
        person.active = active_to is None or active_to >= today
        if person.user_id is None:
            username = staff_id.lower()
            if username in usernames:
                person.user = user_model.objects.get(username=username)
            else:
                user = user_model(username=username, first_name=person.name[:150])
                user.set_unusable_password()
                user.save()
                usernames.add(username)
                person.user = user
                summary.users_created += 1
        person.save()
        if person.user is not None and person.user.is_active != person.active:
            # departed staff cannot sign in; returning staff can again
            user_model.objects.filter(pk=person.user_id).update(is_active=person.active)
        people[staff_id] = person
    supervised: set[str] = set()
    for row in staff_rows:
        staff_id, boss = _text(row.get("staff_id")), _text(row.get("supervisor_id"))
        person = people.get(staff_id)
        if person is None:
            continue
        target = people.get(boss) if boss and boss != staff_id else None
        if person.supervisor_id != (target.pk if target else None):
            Person.objects.filter(pk=person.pk).update(supervisor=target)
            person.supervisor = target
        if target is not None and person.active:
            supervised.add(target.staff_id)
    summary.people = len(staff_rows)

    grants: list[tuple[str, str, str | None]] = []
    for staff_id in sorted(supervised):
        grants.append((staff_id, Role.REVIEWER, people[staff_id].unit_id))
    approvers = []
    for person in people.values():
        unit_name = existing_units[person.unit_id].name
        if "政風" in person.title or "政風" in unit_name:
            grants.append((person.staff_id, Role.ETHICS, None))
        if "稽核" in person.title:
            approvers.append(person.staff_id)
        if "資訊" in person.title or "系統管理" in person.title:
            grants.append((person.staff_id, Role.ADMIN, None))
    if not approvers:
        approvers = [
            s for s in sorted(supervised) if people[s].supervisor_id is None and people[s].active
        ]
    grants.extend((s, Role.APPROVER, None) for s in approvers)
    if roles_path is not None:
        grants.extend(read_roles_file(roles_path, set(existing_units)))

    RoleGrant.objects.filter(source=RoleGrant.Source.SYNC).delete()
    seen: set[tuple[str, str, str | None]] = set()
    counts: dict[str, int] = {}
    for staff_id, role, unit_id in grants:
        person = people.get(staff_id)
        if person is None or not person.active or (staff_id, role, unit_id) in seen:
            continue
        seen.add((staff_id, role, unit_id))
        RoleGrant.objects.get_or_create(
            person=person, role=role, unit_id=unit_id, defaults={"source": RoleGrant.Source.SYNC}
        )
        counts[role] = counts.get(role, 0) + 1
    summary.grants = counts
    return summary
