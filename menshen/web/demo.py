"""`menshen demo`: a synthetic world, ingested, detected, synced and reported, with one
demo account per role. Uses only the other areas' public entry points (synth.generate and
the `menshen ingest` / `menshen detect` commands)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import click

from menshen import exitcodes

MARKER = ".menshen-demo"


def _prepare_home(home: Path) -> Path:
    home = home.expanduser().resolve()
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            raise click.ClickException(
                f"{home} 已有資料且不是示範目錄，不會刪除 / exists and is not a demo folder; "
                "choose another --home"
            )
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / MARKER).write_text("created by menshen demo\n", encoding="utf-8")
    return home


def _run(args: list[str]) -> None:
    """Run another menshen command in-process; exit 4 (rows quarantined) is fine for a demo."""
    from menshen.cli import main

    try:
        main.main(args, standalone_mode=False)
    except SystemExit as stop:
        if stop.code not in (None, exitcodes.OK, exitcodes.PARTIAL):
            raise click.ClickException(f"menshen {' '.join(args)}: exit {stop.code}") from None


def build_demo(home: Path, events: int = 40_000, days: int = 14) -> Path:
    from menshen.synth import generate

    started = time.monotonic()
    home = _prepare_home(home)
    os.environ["MENSHEN_HOME"] = str(home)
    dataset = home / "dataset"
    click.echo(f"1/6 合成資料 / synthetic world: {events} events, {days} days → {dataset}")
    # End the world yesterday: recent reports are still due, older ones show as overdue.
    start = dt.date.today() - dt.timedelta(days=days)
    generate(dataset, seed=1, events=events, days=days, start=start)
    click.echo("2/6 匯入 / ingest")
    _run(["ingest", str(dataset)])
    click.echo("3/6 偵測 / detect")
    _run(["detect"])
    from menshen.web.cli import run_build_reports, run_sync_staff, setup_django

    setup_django(home)
    click.echo("4/6 同步人員 / sync staff")
    run_sync_staff(home)
    click.echo("5/6 稽核日報表 / build reports")
    run_build_reports(home, escalate=False)
    history = seed_history(dataset / "labels.csv")
    from menshen.web.reports.overdue import escalate_overdue

    escalated = escalate_overdue()
    click.echo(
        f"示範歷史：{history.approved} 份日報表已審核並核定（{history.improper} 項不當、"
        f"{history.justified} 項合理），{len(history.open_dates)} 日待審"
        f"（{', '.join(str(d) for d in history.open_dates)}），逾期陳報 {len(escalated)}\n"
        f"demo history: {history.approved} reports reviewed and approved ({history.improper} "
        f"improper, {history.justified} justified); {len(history.open_dates)} recent days open; "
        f"{len(escalated)} overdue reports escalated"
    )
    click.echo("6/6 示範帳號 / demo accounts")
    accounts = create_demo_accounts()
    lines = [f"{role:9} {user:14} {password}   {label}" for role, user, password, label in accounts]
    text = "\n".join(["role      username       password", *lines])
    credentials = home / "demo-accounts.txt"
    credentials.write_text(text + "\n", encoding="utf-8")
    credentials.chmod(0o600)
    click.echo(text)
    click.echo(f"({time.monotonic() - started:.0f} s; 帳號另存於 / also in {credentials})")
    return home


@dataclass
class History:
    approved: int = 0
    justified: int = 0
    improper: int = 0
    open_dates: list[dt.date] = field(default_factory=list)


HISTORY_REASON = {
    "justified": "（示範）經查為承辦業務所需 / demo: the look-up served the staff member's work",
    "improper": "（示範）查無業務需要，移送政風 / demo: no business need; referred to ethics",
}


def _labelled_misuse(labels: Path) -> set[str]:
    """`system:event_id` of every look-up the synthetic world labels as misuse."""
    if not labels.is_file():
        return set()
    with labels.open(encoding="utf-8", newline="") as handle:
        return {
            f"{row['system']}:{row['event_id']}"
            for row in csv.DictReader(handle)
            if row.get("misuse") == "1"
        }


def seed_history(labels: Path, open_days: int = 3) -> History:
    """Make the demo look like an agency that has used menshen for a while: every report but
    those of the last `open_days` report dates was reviewed by a reviewer of its unit and
    approved by an approver, through the real workflow (so separation of duties holds), and
    dated the workday after its report date. Items are decided by the world's labels: a
    finding holding a look-up labelled misuse is improper (which opens an investigation),
    everything else justified. Reports no eligible reviewer or approver can act on stay open.
    The most recent report dates stay open: due today, or overdue and escalated."""
    from django.db import transaction
    from django.utils import timezone

    from menshen.web.accounts.models import Person, Role, RoleGrant
    from menshen.web.accounts.scope import Access, build_access
    from menshen.web.investigations.models import Investigation
    from menshen.web.reports import workflow
    from menshen.web.reports.models import Lookup, Report, ReportEvent, ReviewItem
    from menshen.web.reports.overdue import due_date

    history = History()
    dates = sorted(set(Report.objects.values_list("report_date", flat=True)), reverse=True)
    history.open_dates = sorted(dates[:open_days])
    misuse = _labelled_misuse(labels)

    def people(role: str) -> list[tuple[Person, Access]]:
        """(person, access) of everyone holding `role`; unit-level grants first."""
        grants = (
            RoleGrant.objects.filter(role=role, person__user__isnull=False)
            .select_related("person__user")
            .order_by("unit_id", "person__staff_id")
        )
        seen: dict[int, tuple[Person, Access]] = {}
        for grant in grants:
            seen.setdefault(grant.person.pk, (grant.person, build_access(grant.person.user)))
        return list(seen.values())

    reviewers, approvers = people(Role.REVIEWER), people(Role.APPROVER)
    old = Report.objects.filter(report_date__lt=history.open_dates[0], status=Report.Status.OPEN)
    for report in old.order_by("report_date", "unit_id"):
        items = list(ReviewItem.objects.filter(report=report).select_related("report"))
        in_report = set(
            Lookup.objects.filter(report=report).values_list("staff_id", flat=True).distinct()
        )
        # the unit's own supervisor first, else one above who is not the only approver
        # (nobody decides their own items; the approver cannot be the reviewer)
        approver_ids = {person.pk for person, _ in approvers}
        eligible = sorted(
            (
                (person, access)
                for person, access in reviewers
                if access.covers(Role.REVIEWER, report.unit_id)
                and all(i.staff_id != person.staff_id for i in items)
            ),
            key=lambda pa: (
                pa[0].unit_id != report.unit_id,
                pa[0].pk in approver_ids,
                pa[0].staff_id,
            ),
        )
        pair = next(
            (
                (reviewer_access, approver_access)
                for reviewer, reviewer_access in eligible
                for person, approver_access in approvers
                if person.pk != reviewer.pk
                and person.staff_id not in in_report
                and approver_access.covers(Role.APPROVER, report.unit_id)
            ),
            None,
        )
        if pair is None:
            continue
        reviewer_access, approver_access = pair
        built = timezone.make_aware(
            dt.datetime.combine(report.report_date + dt.timedelta(days=1), dt.time(2, 0))
        )
        moment = timezone.make_aware(
            dt.datetime.combine(due_date(report.report_date), dt.time(10, 30))
        )
        approved_at = moment + dt.timedelta(hours=2)
        with transaction.atomic():
            for item in items:
                bad = any(key in misuse for key in item.event_keys)
                decision = "improper" if bad else "justified"
                workflow.decide(reviewer_access, item, decision, HISTORY_REASON[decision])
                if bad:
                    history.improper += 1
                else:
                    history.justified += 1
            workflow.submit(reviewer_access, report)
            workflow.approve(approver_access, report)
            ReviewItem.objects.filter(report=report).update(decided_at=moment)
            Report.objects.filter(pk=report.pk).update(
                built_at=built, submitted_at=moment, approved_at=approved_at
            )
            events = ReportEvent.objects.filter(report=report)
            events.filter(action=ReportEvent.Action.BUILT).update(at=built)
            events.filter(action=ReportEvent.Action.APPROVED).update(at=approved_at)
            events.exclude(
                action__in=(ReportEvent.Action.BUILT, ReportEvent.Action.APPROVED)
            ).update(at=moment)
            Investigation.objects.filter(report=report).update(opened_at=moment)
        history.approved += 1
    return history


def create_demo_accounts() -> list[tuple[str, str, str, str]]:
    """One account per role around the report with the most findings to decide."""
    from django.db.models import Count, Q

    from menshen.web.accounts.models import Person, Role, RoleGrant
    from menshen.web.reports.models import Lookup, Report, ReviewItem

    reports = (
        Report.objects.filter(status=Report.Status.OPEN)
        .annotate(findings=Count("items", filter=Q(items__kind=ReviewItem.Kind.FINDING)))
        .order_by("-findings", "-report_date")
    )
    chosen: dict[str, Person] = {}
    chosen_report = None
    for report in reports[:50]:
        reviewers = [
            g.person
            for g in RoleGrant.objects.filter(role=Role.REVIEWER, unit_id=report.unit_id)
            .select_related("person__user")
            .order_by("person__staff_id")
            if g.person.user_id
        ]
        items = list(ReviewItem.objects.filter(report=report).select_related("staff_person"))
        for reviewer in reviewers:
            if any(i.staff_id == reviewer.staff_id for i in items):
                continue  # the reviewer could not decide every item of this report alone
            staff = next(
                (i.staff_person for i in items if i.staff_person and i.kind == "finding"), None
            )
            if staff is not None and staff.user_id:
                chosen["reviewer"], chosen["staff"] = reviewer, staff
                chosen_report = report
                break
        if chosen:
            break
    if not chosen:
        raise click.ClickException("找不到可示範的日報表 / no report suitable for the demo")
    taken = {p.pk for p in chosen.values()}
    # nobody approves a report holding their own look-ups
    in_report = set(
        Lookup.objects.filter(report=chosen_report).values_list("staff_id", flat=True).distinct()
    )
    taken |= set(Person.objects.filter(staff_id__in=in_report).values_list("pk", flat=True))

    def pick(role: str) -> Person:
        grant = (
            RoleGrant.objects.filter(role=role, person__user__isnull=False)
            .exclude(person__in=taken)
            .select_related("person")
            .order_by("person__staff_id")
            .first()
        )
        if grant is not None:
            return grant.person
        person = (
            Person.objects.filter(user__isnull=False, active=True)
            .exclude(pk__in=taken)
            .exclude(unit_id=chosen["reviewer"].unit_id)
            .order_by("staff_id")
            .first()
        )
        if person is None:
            raise click.ClickException(f"沒有人可擔任 {role} / nobody for role {role}")
        RoleGrant.objects.get_or_create(
            person=person, role=role, unit=None, defaults={"source": RoleGrant.Source.DEMO}
        )
        return person

    for role in (Role.APPROVER, Role.ETHICS, Role.ADMIN):
        chosen[str(role)] = pick(role)
        taken.add(chosen[str(role)].pk)
    labels = {
        "staff": "承辦人 staff",
        "reviewer": "單位主管 reviewer",
        "approver": "稽核主管 approver",
        "ethics": "政風人員 ethics officer",
        "admin": "系統管理者 administrator",
    }
    result = []
    for role in ("staff", "reviewer", "approver", "ethics", "admin"):
        person = chosen[role]
        password = secrets.token_urlsafe(9)
        person.user.set_password(password)
        person.user.save(update_fields=["password"])
        result.append((role, person.user.username, password, f"{labels[role]} · {person.name}"))
    return result
