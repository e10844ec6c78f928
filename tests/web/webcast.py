"""The cast and a small hand-made world for the web tests.

Agency 南區區公所 (AG) with 戶籍課 (U1), 役政課 (U2) and 政風室 (ETH). The head supervises
both unit chiefs; the U1 chief (reviewer) supervises two clerks. Approvers, an ethics
officer, an administrator and an outsider (a U2 clerk without roles) complete it.
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
from django.contrib.auth import get_user_model
from django.test import Client, TestCase

from menshen import ids
from menshen.web.accounts.models import Person, Role, RoleGrant, Unit
from menshen.web.reports.build import build
from menshen.web.reports.models import Report, ReviewItem

RNG = random.Random(20251103)
SUBJECTS = [ids.generate_national_id(RNG) for _ in range(400)]
REPORT_DAY = dt.date(2025, 3, 3)  # a Monday
SATURDAY = dt.date(2025, 3, 1)
HASH = {"unexplained": "a" * 64, "off-hours": "b" * 64}


def password_of(username: str) -> str:
    return f"pw-{username}-Secret-2025"


def lookup_row(
    n: int,
    staff_id: str,
    unit_id: str,
    occurred_at: dt.datetime,
    *,
    explanation: str | None = "own_record",
    finding_id: str | None = None,
    subject: str | None = None,
    report_date: dt.date = REPORT_DAY,
    system: str = "HR",
) -> dict:
    return {
        "system": system,
        "event_id": f"E{n:06d}",
        "occurred_at": occurred_at,
        "occurred_date": occurred_at.date(),
        "report_date": report_date,
        "account": f"acc-{staff_id}",
        "staff_id": staff_id,
        "unit_id": unit_id,
        "subject_id": subject or SUBJECTS[n % len(SUBJECTS)],
        "subject_id_valid": True,
        "action": "query",
        "purpose_code": "P01",
        "record_ref": f"R{n:05d}" if explanation else None,
        "deliberate": True,
        "explanation": explanation,
        "explanation_strength": "strong" if explanation else None,
        "explanation_record_id": f"R{n:05d}" if explanation else None,
        "explanation_zh": "承辦人自己的業務案件" if explanation else None,
        "explanation_en": "a record the user handled" if explanation else None,
        "finding_id": finding_id,
    }


def finding_row(
    finding_id: str,
    staff_id: str,
    unit_id: str,
    subject: str,
    first_at: dt.datetime,
    *,
    rules: tuple[str, ...] = ("unexplained",),
    must_review: bool = True,
    report_date: dt.date = REPORT_DAY,
    events: int = 1,
) -> dict:
    return {
        "finding_id": finding_id,
        "report_date": report_date,
        "unit_id": unit_id,
        "staff_id": staff_id,
        "account": f"acc-{staff_id}",
        "subject_id": subject,
        "first_at": first_at,
        "last_at": first_at + dt.timedelta(minutes=5),
        "event_count": events,
        "rules": list(rules),
        "severity": "high",
        "risk_score": 70.0,
        "must_review": must_review,
        "evidence_zh": ["未見該民眾之業務案件紀錄"],
        "evidence_en": ["no business record for this person"],
        "rule_hashes": '{"unexplained": "' + HASH["unexplained"] + '"}',
        "risk_factors": [],
    }


def small_world(lookups_per_clerk: int = 60) -> tuple[pa.Table, pa.Table, pa.Table]:
    """One U1 report day: two clerks' explained look-ups, three must-review findings (one
    of the reviewer's own look-ups), one finding not to review, a Saturday look-up rolled
    into Monday's report, and a U2 report."""
    base = dt.datetime.combine(REPORT_DAY, dt.time(9, 0))
    rows: list[dict] = []
    n = 0
    for staff in ("clerk1", "clerk2"):
        for _ in range(lookups_per_clerk):
            rows.append(lookup_row(n, staff, "U1", base + dt.timedelta(minutes=n)))
            n += 1
    flagged = [
        ("f-clerk1-a", "clerk1", SUBJECTS[300]),
        ("f-clerk2-b", "clerk2", SUBJECTS[301]),
        ("f-chief1-c", "chief1", SUBJECTS[302]),
        ("f-low-d", "clerk1", SUBJECTS[303]),
    ]
    findings = []
    events = []
    for fid, staff, subject in flagged:
        at = base + dt.timedelta(hours=3, minutes=n)
        rows.append(
            lookup_row(n, staff, "U1", at, explanation=None, finding_id=fid, subject=subject)
        )
        findings.append(finding_row(fid, staff, "U1", subject, at, must_review=fid != "f-low-d"))
        events.append(
            {"finding_id": fid, "system": "HR", "event_id": f"E{n:06d}", "rules": ["unexplained"]}
        )
        n += 1
    saturday = dt.datetime.combine(SATURDAY, dt.time(10, 0))
    rows.append(lookup_row(n, "clerk1", "U1", saturday))
    n += 1
    for _ in range(10):
        rows.append(lookup_row(n, "clerk3", "U2", base + dt.timedelta(minutes=n)))
        n += 1
    return pa.Table.from_pylist(rows), pa.Table.from_pylist(findings), pa.Table.from_pylist(events)


def make_cast() -> dict[str, Person]:
    units = {
        "AG": Unit.objects.create(unit_id="AG", name="南區區公所"),
    }
    units["U1"] = Unit.objects.create(unit_id="U1", name="戶籍課", parent=units["AG"])
    units["U2"] = Unit.objects.create(unit_id="U2", name="役政課", parent=units["AG"])
    units["ETH"] = Unit.objects.create(unit_id="ETH", name="政風室", parent=units["AG"])
    user_model = get_user_model()
    people: dict[str, Person] = {}
    spec = [
        ("head", "AG", "區長", None),
        ("chief1", "U1", "課長", "head"),
        ("chief2", "U2", "課長", "head"),
        ("clerk1", "U1", "課員", "chief1"),
        ("clerk2", "U1", "約僱人員", "chief1"),
        ("clerk3", "U2", "課員", "chief2"),
        ("outsider", "U2", "課員", "chief2"),
        ("auditor", "AG", "稽核主管", "head"),
        ("auditor2", "AG", "稽核主管", "head"),
        ("ethics", "ETH", "政風室主任", "head"),
        ("admin", "AG", "資訊管理員", "head"),
    ]
    for i, (staff_id, unit_id, title, boss) in enumerate(spec):
        user = user_model.objects.create_user(staff_id, password=password_of(staff_id))
        people[staff_id] = Person.objects.create(
            staff_id=staff_id,
            user=user,
            name=f"{title}{staff_id}",
            national_id=ids.generate_national_id(random.Random(i)),
            unit=units[unit_id],
            title=title,
            supervisor=people.get(boss) if boss else None,
        )
    grants = [
        ("head", Role.REVIEWER, "AG"),
        ("chief1", Role.REVIEWER, "U1"),
        ("chief2", Role.REVIEWER, "U2"),
        ("auditor", Role.APPROVER, None),
        ("auditor2", Role.APPROVER, None),
        ("ethics", Role.ETHICS, None),
        ("admin", Role.ADMIN, None),
    ]
    for staff_id, role, unit_id in grants:
        RoleGrant.objects.create(person=people[staff_id], role=role, unit_id=unit_id)
    return people


class CastTestCase(TestCase):
    """Creates the cast and the reports of the small world once per class."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.people = make_cast()
        cls.build_summary = build(*small_world())
        cls.report = Report.objects.get(unit_id="U1", report_date=REPORT_DAY)
        cls.other_report = Report.objects.get(unit_id="U2", report_date=REPORT_DAY)

    def client_for(self, staff_id: str) -> Client:
        client = Client()
        client.force_login(self.people[staff_id].user)
        return client

    def item(self, key: str) -> ReviewItem:
        return ReviewItem.objects.get(report=self.report, key=key)
