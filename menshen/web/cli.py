"""`menshen sync-staff`, `build-reports`, `serve`, `demo` and `manage`: the web app's
commands. Django is configured only when one of them runs."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from menshen import exitcodes
from menshen.config import env_int, menshen_home

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="證據庫目錄 / evidence store (default $MENSHEN_HOME or ./menshen-data).",
)


def setup_django(home: Path | None = None, migrate: bool = True) -> Path:
    """Point Django at the home's database, configure it, and bring the schema up to date."""
    resolved = menshen_home(home)
    os.environ["MENSHEN_HOME"] = str(resolved)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "menshen.web.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        resolved.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
    return resolved


def run_sync_staff(home: Path, roles: Path | None = None) -> None:
    from menshen.store import Store
    from menshen.web.accounts.sync import SyncError, sync

    snap = Store(home).snapshot()
    default_roles = home / "roles.csv"
    roles = roles or (default_roles if default_roles.is_file() else None)
    try:
        summary = sync(snap.reference("units"), snap.reference("staff"), roles)
    except SyncError as error:
        raise click.ClickException(str(error)) from None
    grants = ", ".join(f"{k} {v}" for k, v in sorted((summary.grants or {}).items())) or "—"
    click.echo(
        f"單位 {summary.units}、人員 {summary.people}、新帳號 {summary.users_created}；角色 {grants}\n"
        f"units {summary.units}, staff {summary.people}, new accounts "
        f"{summary.users_created}; roles {grants}"
    )


def run_build_reports(
    home: Path, start: dt.date | None = None, end: dt.date | None = None, escalate: bool = True
) -> None:
    from rich.progress import Progress

    from menshen.web.reports.build import BuildError, build_from_store
    from menshen.web.reports.overdue import escalate_overdue

    with Progress(transient=True) as progress:
        task = progress.add_task("稽核日報表 / reports", total=None)

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            summary = build_from_store(home, progress=step, start=start, end=end)
        except BuildError as error:
            raise click.ClickException(str(error)) from None
    # The demo escalates later, after it has decided the older reports: say nothing here then.
    escalated = escalate_overdue() if escalate else None
    zh_overdue = "" if escalated is None else f"；逾期陳報 {len(escalated)}"
    en_overdue = "" if escalated is None else f"; escalated {len(escalated)}"
    click.echo(
        f"新建 {summary.created}、重建 {summary.rebuilt}、未變 {summary.unchanged}、"
        f"已送審不重建 {summary.locked}；查詢 {summary.lookups} 筆、待審項目 {summary.items}"
        f"{zh_overdue}\n"
        f"created {summary.created}, rebuilt {summary.rebuilt}, unchanged {summary.unchanged}, "
        f"locked (not rebuilt) {summary.locked}; look-ups {summary.lookups}, items "
        f"{summary.items}{en_overdue}"
    )
    if summary.without_unit:
        click.echo(
            f"注意：{summary.without_unit} 筆查詢的帳號無法對應單位，未列入日報表 / "
            f"{summary.without_unit} look-ups of accounts without a unit are in no report "
            "(see `menshen findings`)",
            err=True,
        )
    if summary.unknown_units:
        click.echo(
            f"注意：未知單位 / unknown units (run `menshen sync-staff`): "
            f"{', '.join(sorted(summary.unknown_units))}",
            err=True,
        )


@click.command("sync-staff")
@home_option
@click.option(
    "--roles",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="角色表 CSV (staff_id,role,unit_id) / extra role grants; default $MENSHEN_HOME/roles.csv.",
)
def sync_staff(home: Path | None, roles: Path | None) -> None:
    """同步單位、人員與角色 / Sync units, staff and roles from the evidence store.

    Supervisors become reviewers of their unit and its sub-units; titles with 政風 make
    ethics officers, 稽核 approvers (else the agency's heads), 資訊 administrators.
    """
    resolved = setup_django(home)
    run_sync_staff(resolved, roles)


@click.command("build-reports")
@home_option
@click.option(
    "--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="起始日 / first report date"
)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="結束日 / last report date")
def build_reports(home: Path | None, start: dt.datetime | None, end: dt.datetime | None) -> None:
    """產生稽核日報表 / Build the daily audit reports from detection output (idempotent).

    Also escalates reports not submitted by the end of the next workday.
    """
    resolved = setup_django(home)
    run_build_reports(resolved, start.date() if start else None, end.date() if end else None)


def serve_forever(port: int, workers: int | None = None, threads: int | None = None) -> None:
    from menshen.web.server import DEFAULT_THREADS, default_workers, serve

    workers = workers or default_workers()
    threads = threads or env_int("MENSHEN_SERVE_THREADS", DEFAULT_THREADS)
    label = f"{workers} 個行程 / processes" if workers > 1 else "1 個行程 / process"
    click.echo(
        f"門神 menshen: http://127.0.0.1:{port}/  ({label}, {threads} requests at once each; "
        "Ctrl-C 結束 / to stop)"
    )
    try:
        serve("127.0.0.1", port, workers, threads=threads)
    except KeyboardInterrupt:
        click.echo("bye")
    except OSError as error:
        raise click.ClickException(f"127.0.0.1:{port}: {error.strerror or error}") from None


@click.command("serve")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="行程數 / server processes (default: the number of CPUs; 1 = a single process).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=None,
    help="每個行程同時處理的請求數 / requests each process runs at once (default "
    "$MENSHEN_SERVE_THREADS or 2); more connections wait, first come first served.",
)
@home_option
def serve(port: int, workers: int | None, threads: int | None, home: Path | None) -> None:
    """在本機提供網頁服務 / Serve the web app on 127.0.0.1 (threaded WSGI server).

    Uses Django's own threaded WSGI server (the one behind runserver, without
    autoreload), pre-forked: the socket is bound once and --workers processes (default:
    one per CPU) serve it, each with threads, at most --threads requests at once (a process
    that is full leaves new connections to the others). Put a TLS reverse proxy in front of
    it in production.
    """
    setup_django(home)
    serve_forever(port, workers, threads)


@click.command("demo")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("menshen-demo"),
    show_default=True,
    help="示範資料目錄（會重建）/ demo folder (rebuilt each time).",
)
@click.option("--events", type=click.IntRange(1000, 2_000_000), default=40_000, show_default=True)
@click.option("--days", type=click.IntRange(3, 120), default=14, show_default=True)
@click.option("--no-serve", is_flag=True, help="只建立示範資料 / build only, do not serve.")
def demo(port: int, home: Path, events: int, days: int, no_serve: bool) -> None:
    """示範：合成資料、匯入、偵測、日報表、開站 / Demo: synthetic world to running app.

    Builds a synthetic world, ingests it, detects, syncs staff, builds reports, creates one
    demo account per role (passwords printed) and serves on 127.0.0.1.
    """
    from menshen.web.demo import build_demo

    resolved = build_demo(home, events=events, days=days)
    if not no_serve:
        serve_forever(port)
    else:
        click.echo(f"示範資料在 / demo data in {resolved}")


@click.command(
    "manage",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Django 管理指令 / Django's manage.py for the web app (e.g. `menshen manage check`).

    Uses $MENSHEN_HOME for the database; `menshen manage help` lists the commands.
    """
    if args in {("-h",), ("--help",)}:
        click.echo(click.get_current_context().get_help())
        return
    setup_django(None, migrate=False)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["menshen manage", *args])
    sys.exit(exitcodes.OK)
