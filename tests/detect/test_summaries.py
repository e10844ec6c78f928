"""The baseline rules read per-day summaries of the look-ups (menshen.detect.summaries), and a
daily run reads its history's summaries from the runs before it. A summary of several days
must therefore be exactly the union of each day's: otherwise a daily run would count its
history differently from a run that summarises every day itself."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from menshen.detect.context import HISTORY_COLUMNS
from menshen.detect.engine import Engine, connect
from menshen.detect.pipeline import build_context
from menshen.detect.run import load_store_world
from menshen.detect.settings import Settings
from menshen.detect.summaries import KEY_DIGITS, KEY_OFFSET, SUMMARIES
from menshen.detect.testing import lookup, make_world
from menshen.store import Store
from menshen.synth import generate


def _rows(table: pa.Table) -> list[tuple]:
    return sorted(tuple(map(repr, row.values())) for row in table.to_pylist())


@pytest.fixture(scope="module")
def synth_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.date, dt.date]:
    base = tmp_path_factory.mktemp("summaries")
    generate(base / "dataset", seed=5, events=6_000, days=4, start=dt.date(2026, 3, 2))
    store = Store(base / "store")
    store.ingest(base / "dataset")
    first, last = store.snapshot().date_range()
    return store.home, first, last


@pytest.mark.parametrize("name", sorted(SUMMARIES))
def test_a_summary_of_several_days_is_the_union_of_each_days(synth_world, name) -> None:
    home, first, last = synth_world
    world = load_store_world(Store(home).snapshot(), first, last, 90)
    engine = connect("duckdb")
    try:
        ctx = build_context(engine, world, first, last)
        rows = ctx.all_lookups.select(*HISTORY_COLUMNS)
        whole = engine.to_arrow(SUMMARIES[name](rows))
        assert whole.num_rows > 100
        days = []
        day = first
        while day <= last:
            one = SUMMARIES[name](rows.filter(rows.occurred_date == day))
            days += _rows(engine.to_arrow(one))
            day += dt.timedelta(days=1)
        assert _rows(whole) == sorted(days)
        # The context's summary is the same: over every loaded day.
        assert _rows(engine.to_arrow(ctx.summary(name))) == _rows(whole)
    finally:
        engine.close()


def test_an_accounts_first_key_orders_by_time_then_by_event_id(engine: Engine) -> None:
    world = make_world(
        {
            "access": [
                lookup("b", "S03", "P12", "2025-02-10 09:00", "AD01"),
                lookup("a", "S03", "P01", "2025-02-10 09:00", "AD01"),
                lookup("0", "S03", "P02", "2025-02-10 11:00", "AD01"),
            ]
        }
    )
    day = dt.date(2025, 2, 10)
    ctx = build_context(engine, world, day, day, Settings())
    got = engine.to_arrow(ctx.summary("account_days")).to_pylist()
    ours = [r for r in got if r["occurred_date"] == day and r["first_key"].endswith("a")]
    assert len(ours) == 1
    row = ours[0]
    assert row["first_key"] == str(row["first_ts"] + KEY_OFFSET).zfill(KEY_DIGITS) + "a"
    assert row["last_ts"] - row["first_ts"] == 2 * 3600


def test_the_context_names_a_missing_summary(engine: Engine) -> None:
    world = make_world({"access": [lookup("a", "S03", "P12", "2025-02-10 09:00", "AD01")]})
    day = dt.date(2025, 2, 10)
    ctx = build_context(engine, world, day, day)
    with pytest.raises(KeyError, match="no summary 'per_hour'"):
        ctx.summary("per_hour")
