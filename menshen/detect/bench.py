"""`menshen bench detect`: time detection alone on a synthetic store, and the daily run.

The synthetic dataset and its store are cached (`--cache`, default
~/.cache/menshen/bench-detect-<events>-<days>-<seed>) so only detection is timed. Each
timed run is a fresh child process, so its peak memory (ru_maxrss) is detection's own.

The daily run is timed as it runs in production, the night after the nights before: the
history's explanations are those that earlier runs stored, and the queries' SQL is the one
the night before compiled (menshen.detect.sqlcache). The bench stores the history first
(one untimed detection over the days before the night before, then an untimed daily run of
the night before, both written to the cached store) unless the store already holds them
from this code and these settings (run.explain_version); the night before runs untimed
either way, with the bench's own SQL cache. The daily run is then timed twice: as every
night, and as the first night after an upgrade (no compiled SQL kept), which compiles
every query and keeps its SQL for the nights after.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

FULL_TARGET_S, DAILY_TARGET_S, MEMORY_TARGET_GIB = 30.0, 10.0, 4.0


def _timed_run(home: Path, start: dt.date, end: dt.date, engine: str) -> dict[str, float | int]:
    """Runs in the child: load, explain, rules, findings — no write (detection alone)."""
    from menshen.detect.cli import run_store_detection

    began = time.perf_counter()
    result, _ = run_store_detection(home, start, end, engine, write=False)
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": round(seconds, 2),
        # Every thread's, imports included: the run is CPU-bound on 2 cores, so this shows how
        # much a slower or faster machine moves the time.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_gib": round(usage.ru_maxrss / 1024 / 1024, 3),
        "lookups": result.tables["explanations"].num_rows if result else 0,
        "findings": result.findings.num_rows if result else 0,
    }


def _earlier_runs(home: Path, start: dt.date, end: dt.date, engine: str) -> dict[str, int]:
    """Runs in the child: detect [start, end] and write the results (the nights before)."""
    from menshen.detect.cli import run_store_detection

    result, _ = run_store_detection(home, start, end, engine, write=True)
    return {"lookups": result.tables["explanations"].num_rows if result else 0}


def _night_before(home: Path, start: dt.date, end: dt.date, engine: str) -> dict[str, int]:
    """Runs in the child: detect [start, end] without writing (its results are stored)."""
    from menshen.detect.cli import run_store_detection

    result, _ = run_store_detection(home, start, end, engine, write=False)
    return {"lookups": result.tables["explanations"].num_rows if result else 0}


def _child(
    home: Path,
    start: dt.date,
    end: dt.date,
    engine: str,
    job: str = "_timed_run",
    sql_cache: Path | None = None,
) -> dict[str, float | int]:
    code = (
        "import json, sys, datetime as dt; from pathlib import Path;"
        f"from menshen.detect.bench import {job};"
        f"print(json.dumps({job}(Path(sys.argv[1]), dt.date.fromisoformat(sys.argv[2]),"
        " dt.date.fromisoformat(sys.argv[3]), sys.argv[4])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(home), start.isoformat(), end.isoformat(), engine],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "MENSHEN_SQL_CACHE": str(sql_cache)} if sql_cache else None,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _history_stored(home: Path, first: dt.date, day: dt.date) -> bool:
    """Whether every day of [first, day) has explanations stored by this code."""
    from menshen.detect.run import explain_version
    from menshen.detect.settings import Settings
    from menshen.store import Store

    before = day - dt.timedelta(days=1)
    found = Store(home).snapshot().stored_explanations(first, before, explain_version(Settings()))
    return sum(len(dates) for dates in found.values()) == (before - first).days + 1


@click.command("detect")
@click.option(
    "--events", type=int, default=10_000_000, show_default=True, help="查詢筆數 / look-ups"
)
@click.option("--days", type=int, default=28, show_default=True, help="天數 / days")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--cache", type=click.Path(path_type=Path), help="資料集與證據庫快取 / cache dir")
@click.option("--engine", type=click.Choice(["duckdb", "pyspark"]), default="duckdb")
def bench_detect(events: int, days: int, seed: int, cache: Path | None, engine: str) -> None:
    """偵測效能 / Time detection alone (full range) and the daily run; print peak memory."""
    from menshen.store import Store
    from menshen.synth import generate

    cache = cache or Path.home() / ".cache" / "menshen" / f"bench-detect-{events}-{days}-{seed}"
    dataset, home = cache / "dataset", cache / "store"
    if not any(dataset.glob("labels.*")):
        click.echo(f"產生合成資料 / generating {events:,} look-ups into {dataset} …", err=True)
        generate(dataset, seed=seed, events=events, days=days, fmt="parquet")
    store = Store(home)
    if not store.snapshot().access_files:
        click.echo(f"匯入證據庫 / ingesting into {home} …", err=True)
        store.ingest(dataset)
    snap = store.snapshot()
    span = snap.date_range() if callable(snap.date_range) else snap.date_range
    if span is None:
        raise click.ClickException("the benchmark store holds no look-ups")
    first, last = span
    # The daily run covers the last workday (the last date may hold only a few look-ups
    # that spilled past midnight).
    from menshen.calendar import GovCalendar

    calendar = GovCalendar()
    day = last - dt.timedelta(days=1) if last > first else last
    while not calendar.is_workday(day) and day > first:
        day -= dt.timedelta(days=1)
    click.echo(f"引擎 engine: {engine}; 期間 range {first} – {last}; 快取 cache {cache}")
    # The full range is a one-off (a back-fill): timed without SQL kept from runs before.
    with tempfile.TemporaryDirectory(prefix="menshen-sql-") as empty:
        full = _child(home, first, last, engine, sql_cache=Path(empty))
    sql_cache = cache / "sql"
    before = day - dt.timedelta(days=1)
    if day > first:
        stored = _history_stored(home, first, day)
        if not stored:
            click.echo(
                f"儲存前期偵測結果 / storing the explanations of {first} – {before} "
                "(the nights before the daily run; not timed) …",
                err=True,
            )
            if before > first:
                _child(home, first, before - dt.timedelta(days=1), engine, "_earlier_runs")
        click.echo(f"前一晚 / the night before, {before} (not timed) …", err=True)
        job = "_night_before" if stored else "_earlier_runs"
        _child(home, before, before, engine, job, sql_cache=sql_cache)
    daily = _child(home, day, day, engine, sql_cache=sql_cache)
    with tempfile.TemporaryDirectory(prefix="menshen-sql-") as empty:
        first_night = _child(home, day, day, engine, sql_cache=Path(empty))
    rows = [
        ("full range / 全期偵測", full, FULL_TARGET_S),
        (f"daily run {day} / 單日偵測（含基準期）", daily, DAILY_TARGET_S),
        (
            f"daily run {day}, first night after an upgrade / 升級後首次單日偵測",
            first_night,
            DAILY_TARGET_S,
        ),
    ]
    for label, r, target in rows:
        ok = r["seconds"] < target and r["peak_gib"] < MEMORY_TARGET_GIB
        click.echo(
            f"{label}: {r['lookups']:,} look-ups in range, {r['findings']:,} findings, "
            f"{r['seconds']:.1f} s (target < {target:.0f} s; CPU {r['cpu_seconds']:.1f} s), "
            f"peak {r['peak_gib']:.2f} GiB "
            f"(target < {MEMORY_TARGET_GIB:.0f} GiB) {'OK' if ok else 'MISSED'}"
        )
