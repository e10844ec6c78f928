"""A daily run reads its history's explanations from the runs before it (stored in the
evidence store) instead of explaining 90 days of look-ups again: it must flag and explain
its day exactly as a run that recomputes everything, and must not read stored results that
newer look-ups or other explanation code have made stale."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from menshen.detect.cli import run_store_detection
from menshen.detect.engine import Engine, connect
from menshen.detect.pipeline import World, build_context
from menshen.detect.run import explain_version, load_store_world
from menshen.detect.settings import Settings
from menshen.detect.summaries import SUMMARIES
from menshen.detect.testing import detected_store, lookup, make_world
from menshen.store import Store

START = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def nights_before(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.date]:
    """A store of 8 days of look-ups whose first 7 days were detected and written (the
    nights before), and the day the next daily run covers."""
    base = tmp_path_factory.mktemp("reuse")
    return detected_store(base, seed=11, events=12_000, days=8, start=START, left=1)


def _sorted(table: pa.Table, keys: list[str]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in keys])


def test_the_daily_run_reads_its_history_from_the_runs_before(nights_before) -> None:
    home, day = nights_before
    snap = Store(home).snapshot()
    world = load_store_world(snap, day, day, 90, explain_version(Settings()))
    read = sorted(d for dates in world.explained.values() for d in dates)
    first = snap.date_range()[0]
    assert read == [first + dt.timedelta(days=i) for i in range((day - first).days)]
    # Only the day's own look-ups are loaded to be explained.
    assert {p.parent.name for p in world.access} == {f"date={day}"}
    # The rules read the same days' summaries, which the same runs stored.
    assert set(world.summaries) == set(SUMMARIES)
    for files in world.summaries.values():
        assert sorted(d for dates in files.values() for d in dates) == read
        assert all(p.parent.parent == e.parent.parent for p in files for e in world.explained)


def test_a_stored_run_without_summaries_is_summarised_from_its_look_ups(
    nights_before, tmp_path: Path
) -> None:
    home, day = nights_before
    assert len(list(home.glob("batches/*/summaries/*.parquet"))) == len(SUMMARIES)
    # The same nights, written by a run that stored no summaries.
    copy = Store(tmp_path / "store")
    copy.ingest(home.parent / "dataset")
    first = copy.snapshot().date_range()[0]
    version = explain_version(Settings())
    before = day - dt.timedelta(days=1)
    earlier, _ = run_store_detection(copy.home, first, before, write=False)
    covered = {"range_start": str(first), "range_end": str(before), "explain_version": version}
    copy.write_derived(earlier.tables, source="older menshen", meta={"explanations": covered})
    copy = copy.home
    without = load_store_world(Store(copy).snapshot(), day, day, 90, version)
    assert without.explained and not any(without.summaries.values())
    stored = load_store_world(Store(home).snapshot(), day, day, 90, version)
    engine = connect("duckdb")
    try:
        one = build_context(engine, without, day, day)
        other = build_context(engine, stored, day, day)
        for name in SUMMARIES:
            got, want = (engine.to_arrow(c.summary(name)) for c in (one, other))
            assert got.num_rows > 100
            assert _sorted(got, got.column_names).equals(_sorted(want, want.column_names))
    finally:
        engine.close()


def test_reading_stored_history_flags_and_explains_the_day_as_recomputing_it(
    nights_before,
) -> None:
    home, day = nights_before
    reused, _ = run_store_detection(home, day, day, write=False)
    again, _ = run_store_detection(home, day, day, write=False, reuse_history=False)
    assert reused.tables["explanations"].num_rows > 1000
    assert reused.tables["explanations"].equals(again.tables["explanations"])
    assert reused.findings.num_rows > 0
    assert reused.findings.equals(again.findings)
    keys = ["finding_id", "system", "event_id"]
    assert _sorted(reused.tables["finding_events"], keys).equals(
        _sorted(again.tables["finding_events"], keys)
    )


def test_stored_history_is_not_read_after_other_code_or_newer_look_ups(
    nights_before, tmp_path: Path
) -> None:
    home, day = nights_before
    snap = Store(home).snapshot()
    first = snap.date_range()[0]
    version = explain_version(Settings())
    assert snap.stored_explanations(first, day, version)
    # Other explanation code or settings.
    assert not snap.stored_explanations(first, day, "another-version")
    assert explain_version(Settings(continuation_days=3)) != version
    # Look-ups of the second day that arrive after the run: that day is explained again.
    copy = tmp_path / "store"
    shutil.copytree(home, copy)
    late = tmp_path / "late"
    shutil.copytree(home.parent / "dataset", late)
    with (late / "access.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    second = (first + dt.timedelta(days=1)).isoformat()
    rows = [r for r in rows if r["occurred_at"].startswith(second)][:3]
    for i, row in enumerate(rows):
        row["event_id"] = f"LATE-{i}"
    with (late / "access.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    Store(copy).ingest(late)
    found = Store(copy).snapshot().stored_explanations(first, day, version)
    dates = sorted(d for ds in found.values() for d in ds)
    assert first + dt.timedelta(days=1) not in dates
    assert first in dates and len(dates) == (day - first).days - 1


def test_a_look_up_continues_one_that_an_earlier_run_explained(
    engine: Engine, tmp_path: Path
) -> None:
    world = make_world(
        {
            "access": [
                lookup("first", "S02", "P02", "2025-02-10 09:00", "HR01"),
                lookup("follow", "S02", "P02", "2025-02-14 09:00", "HR01"),
            ]
        }
    )
    access = world.access
    day1, day2 = dt.date(2025, 2, 10), dt.date(2025, 2, 14)
    # The earlier run: 2025-02-10 explained and stored.
    earlier = build_context(engine, World(access.slice(0, 1), world.refs), day1, day1)
    stored = engine.to_arrow(earlier.lookups.select(*EXPLANATION_SOURCE))
    path = tmp_path / "explanations.parquet"
    pq.write_table(stored, path)
    # The run of 2025-02-14: only its own look-up is explained; the first is history.
    later = World(access.slice(1, 1), world.refs, explained={path: [day1]})
    ctx = build_context(engine, later, day2, day2, Settings(continuation_days=7))
    got = engine.to_arrow(ctx.lookups).to_pylist()
    assert [(r["event_id"], r["explanation"], r["explanation_record_id"]) for r in got] == [
        ("follow", "continuation", "R-HH-1")
    ]
    history = engine.to_arrow(ctx.history).to_pylist()
    assert [(r["event_id"], r["explanation"], r["explained_strong"]) for r in history] == [
        ("first", "own_record", True)
    ]
    # No summary was stored with it: the stored look-up is summarised.
    accounts = engine.to_arrow(ctx.summary("account_days")).to_pylist()
    assert sorted(r["occurred_date"] for r in accounts) == [day1, day2]


# The stored explanations' columns that a later run reads (run.EXPLANATION_COLUMNS has them).
EXPLANATION_SOURCE = (
    "system", "event_id", "occurred_at", "occurred_date", "account", "staff_id", "unit_id",
    "subject_id", "subject_id_valid", "action", "purpose_code", "record_ref", "deliberate",
    "explanation", "explanation_strength", "explanation_record_id",
)  # fmt: skip
