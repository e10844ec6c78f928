"""A big unit-day for the web benchmark: one unit's daily audit report with N look-ups
(99% explained, a few dozen must-review findings), N reviewers of that unit with known
passwords, built straight into a home's web database through the web app's own report
builder (`menshen.web.reports.build.build`), so the benchmark does not depend on the size
of a synthetic world. Needs Django configured for the home (`menshen.web.cli.setup_django`).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from menshen import ids

UNIT_ID = "BENCH-U1"
AGENCY_ID = "BENCH-AG"
REPORT_DAY = dt.date(2026, 11, 25)  # a Wednesday, a workday
RULE_HASH = "0" * 64
PURPOSES = ("P01", "P02", "P03", "P04")
SYSTEMS = ("HR", "LI", "PR")
MARKER = "bench-web-world.json"
WORLD_VERSION = 2  # bump when the generated unit-day changes: old homes are rebuilt


@dataclass(frozen=True)
class BenchWorld:
    report_id: int
    lookups: int
    reviewers: list[tuple[str, str]]  # (username, password)

    def save(self, home: Path) -> None:
        path = home / MARKER
        path.write_text(
            json.dumps({"version": WORLD_VERSION, "report_id": self.report_id,
                        "lookups": self.lookups, "reviewers": self.reviewers}),
            encoding="utf-8",
        )  # fmt: skip
        path.chmod(0o600)

    @classmethod
    def load(cls, home: Path) -> BenchWorld | None:
        path = home / MARKER
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != WORLD_VERSION:
            return None
        return cls(data["report_id"], data["lookups"], [tuple(r) for r in data["reviewers"]])


def _tables(lookups: int, staff_ids: list[str], seed: int) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Every 500 look-ups, one must-review finding of two look-ups of one person by one staff
    member (0.4% of look-ups flagged: the review load detection aims at)."""
    rng = random.Random(seed)
    start = dt.datetime.combine(REPORT_DAY, dt.time(8, 0))
    step = (9.5 * 3600) / max(lookups, 1)
    rows, findings, events = [], [], []
    pair_gap = len(staff_ids)  # look-ups n - gap and n have the same staff member
    flagged_subjects: dict[int, str] = {}
    for n in range(lookups):
        staff_id = staff_ids[n % len(staff_ids)]
        at = start + dt.timedelta(seconds=n * step)
        system = SYSTEMS[n % len(SYSTEMS)]
        second = n % 500 == 499 and n >= pair_gap
        first = (n + pair_gap) % 500 == 499 and n + pair_gap < lookups
        finding_id = f"bench{(n if second else n + pair_gap):011d}" if first or second else None
        subject = ids.generate_national_id(rng)
        if first:
            flagged_subjects[n + pair_gap] = subject
        if second:
            subject = flagged_subjects.pop(n, subject)
        explained = finding_id is None and rng.random() > 0.01
        rows.append({
            "system": system, "event_id": f"{system}-{n:08d}", "occurred_at": at,
            "occurred_date": REPORT_DAY, "report_date": REPORT_DAY,
            "account": f"acc-{staff_id}", "staff_id": staff_id, "unit_id": UNIT_ID,
            "subject_id": subject, "subject_id_valid": True, "action": "query",
            "purpose_code": PURPOSES[n % len(PURPOSES)],
            "record_ref": f"115-{n:06d}" if explained else None, "deliberate": True,
            "explanation": "own_record" if explained else None,
            "explanation_strength": "strong" if explained else None,
            "explanation_record_id": f"R{n:07d}" if explained else None,
            "explanation_zh": "承辦人自己的業務案件" if explained else None,
            "explanation_en": "a record the user handled" if explained else None,
            "finding_id": finding_id,
        })  # fmt: skip
        if finding_id:
            events.append({"finding_id": finding_id, "system": system,
                           "event_id": f"{system}-{n:08d}", "rules": ["unexplained", "repeat"]})  # fmt: skip
        if second:
            findings.append({
                "finding_id": finding_id, "report_date": REPORT_DAY, "unit_id": UNIT_ID,
                "staff_id": staff_id, "account": f"acc-{staff_id}", "subject_id": subject,
                "first_at": at - dt.timedelta(seconds=pair_gap * step), "last_at": at,
                "event_count": 2, "rules": ["unexplained", "repeat"], "severity": "high",
                "risk_score": 60.0 + n % 30, "must_review": True,
                "evidence_zh": ["未見該民眾之業務案件紀錄", "同日查詢同一民眾 2 次"],
                "evidence_en": ["no business record for this person",
                                "the same person looked up twice in one day"],
                "rule_hashes": json.dumps({"unexplained": RULE_HASH, "repeat": RULE_HASH}),
                "risk_factors": [],
            })  # fmt: skip
    return pa.Table.from_pylist(rows), pa.Table.from_pylist(findings), pa.Table.from_pylist(events)


def build_bench_world(lookups: int = 20_000, reviewers: int = 20, seed: int = 7) -> BenchWorld:
    """Create the unit, its staff and reviewers, and the report (Django must be set up)."""
    from django.contrib.auth import get_user_model

    from menshen.web.accounts.models import Role, RoleGrant, Unit
    from menshen.web.reports.build import build
    from menshen.web.reports.models import Report

    rng = random.Random(seed)
    agency, _ = Unit.objects.get_or_create(unit_id=AGENCY_ID, defaults={"name": "效能測試區公所"})
    unit, _ = Unit.objects.get_or_create(
        unit_id=UNIT_ID, defaults={"name": "戶籍課（效能測試）", "parent": agency}
    )
    user_model = get_user_model()
    chief = _person(user_model, "bench-chief", "課長", unit, None, rng)
    staff_ids = []
    for i in range(40):
        clerk = _person(user_model, f"bench-clerk{i:02d}", "課員", unit, chief, rng)
        staff_ids.append(clerk.staff_id)
    accounts = []
    for i in range(reviewers):
        reviewer = _person(user_model, f"bench-reviewer{i:02d}", "課長", unit, None, rng)
        RoleGrant.objects.get_or_create(person=reviewer, role=Role.REVIEWER, unit=unit)
        password = secrets.token_urlsafe(12)
        reviewer.user.set_password(password)
        reviewer.user.save(update_fields=["password"])
        accounts.append((reviewer.user.username, password))
    build(*_tables(lookups, staff_ids, seed), chain_hash="f" * 64)
    report = Report.objects.get(unit_id=UNIT_ID, report_date=REPORT_DAY)
    return BenchWorld(report.pk, report.lookup_count, accounts)


def _person(user_model, staff_id, title, unit, supervisor, rng):  # type: ignore[no-untyped-def]
    from menshen.web.accounts.models import Person

    user, _ = user_model.objects.get_or_create(username=staff_id)
    person, _ = Person.objects.get_or_create(
        staff_id=staff_id,
        defaults={
            "user": user, "name": f"測試{staff_id[-2:]}", "unit": unit, "title": title,
            "national_id": ids.generate_national_id(rng), "supervisor": supervisor,
        },
    )  # fmt: skip
    return person
