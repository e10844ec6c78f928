"""`menshen demo`: a synthetic world, ingested, detected, synced and reported, with one
demo account per role. Uses only the other areas' public entry points (synth.generate and
the `menshen ingest` / `menshen detect` commands)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import time
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
    run_build_reports(home)
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
