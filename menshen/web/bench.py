"""`menshen bench web`: concurrent reviewers against a real server process on loopback.

Builds (or reuses) a unit-day with 20,000 look-ups in a home, serves it with
`menshen serve` in a process of its own, logs in N reviewers (threads, each with its own
session cookie), and has each open the report page and pages of the full look-up list
(plain, filtered by staff member or system) until it has made its share of requests or the
time is up. Prints requests, errors, throughput and p50/p95/p99 latency, overall and per page.
"""

from __future__ import annotations

import http.cookiejar
import random
import re
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from menshen.testing.webworld import BenchWorld

TARGET_P95_MS = 500.0
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Sample:
    page: str
    seconds: float
    ok: bool


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample, error: str | None = None) -> None:
        with self.lock:
            self.samples.append(sample)
            if error:
                self.errors.append(error)


class Reviewer:
    """One reviewer's browser: a cookie jar, loopback only, no proxies."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar)
        )

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base_url + path, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def login(self, username: str, password: str) -> None:
        status, body = self.get("/accounts/login/")
        match = CSRF_INPUT.search(body.decode("utf-8", errors="replace"))
        if status != 200 or match is None:
            raise RuntimeError(f"login page: HTTP {status}, no CSRF token")
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1)}
        ).encode()
        request = urllib.request.Request(
            self.base_url + "/accounts/login/",
            data=form,
            headers={"Origin": self.base_url, "Referer": self.base_url + "/accounts/login/"},
        )
        with self.opener.open(request, timeout=self.timeout) as response:
            final = response.geturl()
        if "/accounts/login/" in final:
            raise RuntimeError(f"login of {username} refused")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return ordered[rank - 1]


def _paths(
    report_id: int, lookups: int, page_size: int, rng: random.Random
) -> list[tuple[str, str]]:
    pages = max(1, -(-lookups // page_size))
    base = f"/reports/{report_id}"
    return [
        ("report", f"{base}/"),
        ("lookups", f"{base}/lookups/?page={rng.randint(1, pages)}"),
        ("lookups-staff", f"{base}/lookups/?staff=bench-clerk{rng.randrange(40):02d}&page=2"),
        ("lookups-system", f"{base}/lookups/?system={rng.choice(['HR', 'LI', 'PR'])}&page="
                           f"{rng.randint(1, max(1, pages // 3))}"),
    ]  # fmt: skip


def run_reviewer(
    base_url: str,
    account: tuple[str, str],
    report_id: int,
    lookups: int,
    requests: int,
    duration: float,
    think: float,
    results: Results,
    start: threading.Barrier,
    seed: int,
) -> None:
    reviewer = Reviewer(base_url, timeout=30.0)
    try:
        reviewer.login(*account)
    except (RuntimeError, OSError) as error:
        results.add(Sample("login", 0.0, False), f"{account[0]}: {error}")
        start.wait()
        return
    rng = random.Random(seed)
    start.wait()  # logins (Argon2) are done; the clock starts for everyone at once
    if think:
        # Reviewers who think between clicks do not click in lockstep either: each starts
        # within one think time. Back to back (think 0), all 20 fire at once: the worst case.
        time.sleep(rng.uniform(0, think))
    deadline = time.monotonic() + duration
    made = 0
    while made < requests and time.monotonic() < deadline:
        for page, path in _paths(report_id, lookups, 50, rng):
            if made >= requests or time.monotonic() >= deadline:
                break
            began = time.perf_counter()
            try:
                status, body = reviewer.get(path)
                ok = status == 200 and b"csrfmiddlewaretoken" in body
                error = None if ok else f"{path}: HTTP {status}"
            except OSError as failure:
                ok, error = False, f"{path}: {failure}"
            results.add(Sample(page, time.perf_counter() - began, ok), error)
            made += 1
            if think:
                time.sleep(rng.uniform(0.5 * think, 1.5 * think))


def _line(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"  {name:<15} {len(ms):>6}  p50 {statistics.median(ms):7.1f} ms  "
        f"p95 {percentile(ms, 0.95):7.1f} ms  p99 {percentile(ms, 0.99):7.1f} ms  "
        f"max {max(ms):7.1f} ms"
    )


def prepare_home(home: Path, lookups: int, reviewers: int) -> tuple[Path, BenchWorld]:
    from menshen.testing.webworld import BenchWorld, build_bench_world
    from menshen.web.cli import setup_django

    setup_django(home)
    world = BenchWorld.load(home)
    if world is not None and world.lookups == lookups and len(world.reviewers) >= reviewers:
        click.echo(f"重用 / reusing the unit-day in {home} ({lookups:,} look-ups)")
        return home, world
    click.echo(f"建立 / building a unit-day with {lookups:,} look-ups in {home} …")
    began = time.monotonic()
    world = build_bench_world(lookups=lookups, reviewers=reviewers)
    world.save(home)
    click.echo(f"  built in {time.monotonic() - began:.1f} s")
    from django.db import connections

    connections.close_all()
    return home, world


@click.command("web")
@click.option("--users", type=click.IntRange(1, 200), default=20, show_default=True,
              help="同時上線的審核者 / concurrent reviewers")  # fmt: skip
@click.option("--lookups", type=click.IntRange(100, 1_000_000), default=20_000, show_default=True,
              help="日報表查詢筆數 / look-ups in the unit-day")  # fmt: skip
@click.option("--requests", "per_user", type=click.IntRange(1, 10_000), default=40,
              show_default=True, help="每位審核者的請求數 / requests per reviewer")  # fmt: skip
@click.option("--duration", type=click.FloatRange(1, 3600), default=120.0, show_default=True,
              help="最長秒數 / stop after this many seconds")  # fmt: skip
@click.option("--think", type=click.FloatRange(0, 60), default=0.0, show_default=True,
              help="每次點擊間的平均思考秒數（0 = 連續請求）/ mean pause between a reviewer's "
                   "clicks (0 = back to back, the worst case)")  # fmt: skip
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="重用的目錄 / home to build in or reuse (default: a temporary one)")  # fmt: skip
def bench_web(
    users: int, lookups: int, per_user: int, duration: float, think: float, home: Path | None
) -> None:
    """網頁負載量測 / Load benchmark: concurrent reviewers on a big unit-day.

    Serves the app with `menshen serve` on 127.0.0.1 and prints requests, errors and
    p50/p95/p99 latency. Target: p95 under 500 ms for 20 reviewers and 20,000 look-ups.
    """
    from menshen.testing.browser import ServedHome

    with tempfile.TemporaryDirectory(prefix="menshen-bench-web-") as tmp:
        home = (home or Path(tmp) / "home").expanduser().resolve()
        home.mkdir(parents=True, exist_ok=True)
        home, world = prepare_home(home, lookups, users)
        results = Results()
        with ServedHome(home, Path(tmp) / "serve.log") as server:
            from menshen.web.server import default_workers

            click.echo(f"伺服器 / server {server.url} (pid {server.process.pid}, "
                       f"{default_workers()} processes); "
                       f"{users} reviewers × {per_user} requests, at most {duration:.0f} s, "
                       f"think time {think:g} s")  # fmt: skip
            start = threading.Barrier(users + 1)
            threads = [
                threading.Thread(
                    target=run_reviewer,
                    args=(
                        server.url,
                        world.reviewers[i % len(world.reviewers)],
                        world.report_id,
                        world.lookups,
                        per_user,
                        duration,
                        think,
                        results,
                        start,
                        i,
                    ),
                    daemon=True,
                )
                for i in range(users)
            ]
            for thread in threads:
                thread.start()
            start.wait()
            began = time.monotonic()
            for thread in threads:
                thread.join(timeout=duration + 60)
            wall = time.monotonic() - began
        report(results, wall, users, lookups, think)


def report(results: Results, wall: float, users: int, lookups: int, think: float) -> None:
    timed = [s for s in results.samples if s.page != "login"]
    click.echo(f"\nmenshen bench web — {users} reviewers, {lookups:,} look-ups in one unit-day, "
               f"think time {think:g} s")  # fmt: skip
    if not timed:
        click.echo("沒有完成任何請求 / no request completed")
        for error in results.errors[:10]:
            click.echo(f"  error: {error}")
        raise SystemExit(1)
    click.echo(f"  requests {len(timed)}, errors {len(results.errors)}, "
               f"{len(timed) / wall:.1f} req/s over {wall:.1f} s")  # fmt: skip
    click.echo(_line("all", [s.seconds for s in timed]))
    for page in sorted({s.page for s in timed}):
        click.echo(_line(page, [s.seconds for s in timed if s.page == page]))
    p95 = percentile([s.seconds * 1000 for s in timed], 0.95)
    verdict = "達成 / met" if p95 < TARGET_P95_MS else "未達成 / NOT met"
    click.echo(f"  target p95 < {TARGET_P95_MS:.0f} ms: {verdict} (p95 {p95:.0f} ms)")
    for error in results.errors[:10]:
        click.echo(f"  error: {error}")
