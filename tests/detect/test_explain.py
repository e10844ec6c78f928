"""Explanations: every look-up gets one (or none), the right one, with its record."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from menshen.detect.engine import Engine
from menshen.detect.pipeline import build_context
from menshen.detect.run import _explanation_text
from menshen.detect.settings import Settings
from menshen.detect.testing import lookup, make_world


def explain_rows(engine: Engine, rows: list[dict[str, Any]], **settings: Any) -> dict[str, dict]:
    world = make_world({"access": rows})
    dates = [dt.datetime.fromisoformat(r["occurred_at"]).date() for r in rows]
    ctx = build_context(engine, world, min(dates), max(dates), Settings(**settings))
    table = engine.to_arrow(ctx.lookups)
    return {r["event_id"]: r for r in table.to_pylist()}


def test_each_kind_of_explanation_is_found(engine: Engine) -> None:
    got = explain_rows(
        engine,
        [
            lookup("own", "S05", "P01", "2025-02-10 09:12", "LI01"),
            lookup("unit", "S06", "P01", "2025-02-10 09:30", "LI01"),
            lookup("household", "S02", "P05", "2025-02-10 10:00", "HR03"),
            lookup("walkin", "S02", "P12", "2025-02-10 11:00", "HR02"),
            lookup("list", "S02", "P12", "2025-02-10 11:05", "HR02", action="list"),
            lookup("none", "S05", "P10", "2025-02-10 09:40", "LI01"),
        ],
    )
    expected = {
        "own": ("own_record", "strong", "R-JOB-1"),
        "unit": ("unit_record", "strong", "R-JOB-1"),
        "household": ("household_record", "strong", "R-WEL-1"),
        "walkin": ("no_record_needed", "weak", None),
        "list": ("list_screen", "weak", None),
        "none": (None, None, None),
    }
    for event_id, (code, strength, record) in expected.items():
        row = got[event_id]
        assert (row["explanation"], row["explanation_strength"], row["explanation_record_id"]) == (
            code,
            strength,
            record,
        ), event_id
    assert got["list"]["deliberate"] is False
    assert got["own"]["deliberate"] is True


def test_the_record_window_is_respected_at_both_ends(engine: Engine) -> None:
    # R-JOB-1 opens 2025-02-05 09:00; LI01 allows 7 days before and 3 after.
    got = explain_rows(
        engine,
        [
            lookup("early-ok", "S05", "P01", "2025-02-02 09:00", "LI01"),
            lookup("too-early", "S05", "P01", "2025-02-02 08:59", "LI01"),
        ],
        continuation_days=0,
    )
    assert got["early-ok"]["explanation"] == "own_record"
    assert got["too-early"]["explanation"] is None


def test_a_closed_record_explains_only_within_the_window_before() -> None:
    from menshen.detect.engine import connect

    eng = connect("duckdb")
    try:
        # R-HH-1 closed 2025-02-10 16:00; HR01 allows 3 days before.
        got = explain_rows(
            eng,
            [
                lookup("in", "S02", "P02", "2025-02-13 15:59", "HR01"),
                lookup("out", "S02", "P02", "2025-02-13 16:01", "HR01"),
            ],
            continuation_days=0,
        )
    finally:
        eng.close()
    assert got["in"]["explanation"] == "own_record"
    assert got["out"]["explanation"] is None


def test_continuation_lasts_the_configured_days_and_names_the_record(engine: Engine) -> None:
    got = explain_rows(
        engine,
        [
            lookup("first", "S02", "P02", "2025-02-10 09:00", "HR01"),
            lookup("follow", "S02", "P02", "2025-02-14 09:00", "HR01"),
            lookup("late", "S02", "P02", "2025-02-20 09:01", "HR01"),
            lookup("other-user", "S01", "P02", "2025-02-14 09:00", "HR02"),
        ],
        continuation_days=7,
    )
    assert got["first"]["explanation"] == "own_record"
    assert got["follow"]["explanation"] == "continuation"
    assert got["follow"]["explanation_record_id"] == "R-HH-1"
    assert got["late"]["explanation"] is None
    assert got["other-user"]["explanation"] == "no_record_needed"


def test_a_weak_explanation_does_not_start_a_continuation(engine: Engine) -> None:
    got = explain_rows(
        engine,
        [
            lookup("walkin", "S02", "P12", "2025-02-10 09:00", "HR02"),
            lookup("then", "S02", "P12", "2025-02-11 09:00", "HR01"),
        ],
    )
    assert got["then"]["explanation"] is None


def test_the_cited_record_is_preferred_and_the_users_own_over_the_units(engine: Engine) -> None:
    extra = {
        "record_id": "R-HH-3", "kind": "household_registration", "subject_id": None,
        "staff_id": "S02", "unit_id": "HH01", "opened_at": "2025-02-09 09:00",
    }  # fmt: skip
    from menshen.detect.testing import person

    extra["subject_id"] = person("P03")
    world_rows = [lookup("e", "S02", "P03", "2025-02-10 10:00", "HR01", record_ref="R-HH-3")]
    world = make_world({"access": world_rows, "records": [extra]})
    ctx = build_context(engine, world, dt.date(2025, 2, 10), dt.date(2025, 2, 10))
    row = engine.to_arrow(ctx.lookups).to_pylist()[0]
    # R-HH-2 (by S01, the unit) also covers P03, but the user's own cited record wins.
    assert (row["explanation"], row["explanation_record_id"]) == ("own_record", "R-HH-3")


@pytest.mark.parametrize(
    ("code", "record", "zh", "en"),
    [
        (
            "own_record",
            "R-1",
            "承辦人本人經辦之業務案件（R-1）",
            "a business record handled by the user (R-1)",
        ),
        (
            "no_record_needed",
            None,
            "查詢事由毋須業務案件（弱說明）",
            "the purpose needs no record (weak)",
        ),
        (None, None, None, None),
    ],
)
def test_every_explanation_has_zh_and_en_text(code, record, zh, en, engine) -> None:
    import pyarrow as pa

    table = pa.table(
        {
            "explanation": pa.array([code], pa.string()),
            "explanation_record_id": pa.array([record], pa.string()),
        }
    )
    out = engine.to_arrow(_explanation_text(engine.load("expl", table))).to_pylist()[0]
    assert (out["explanation_zh"], out["explanation_en"]) == (zh, en)


def test_the_explanations_table_is_in_time_order_when_sorted_a_few_days_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At scale the table is sorted one span of days at a time (run.SORT_SPAN_ROWS); the
    spans must join into the one order a single sort gives, midnight and ties included."""
    from menshen.detect import run
    from menshen.detect.engine import connect
    from menshen.detect.rules import all_rules

    rows = [
        lookup(f"e{i:02d}", "S05", "P01", at, "LI01")
        for i, at in enumerate(
            [
                "2025-02-12 00:00", "2025-02-10 23:59", "2025-02-11 00:00", "2025-02-10 09:00",
                "2025-02-13 10:00", "2025-02-11 00:00", "2025-02-12 08:00", "2025-02-10 09:00",
                "2025-02-14 17:30", "2025-02-13 00:00",
            ]
        )
    ]  # fmt: skip
    world = make_world({"access": rows})
    start, end = dt.date(2025, 2, 10), dt.date(2025, 2, 14)

    def table(span_rows: int) -> list[tuple[Any, ...]]:
        monkeypatch.setattr(run, "SORT_SPAN_ROWS", span_rows)
        engine = connect("duckdb")
        try:
            expl = run.detect(engine, world, start, end, all_rules()).tables["explanations"]
        finally:
            engine.close()
        return list(zip(*(expl.column(c).to_pylist() for c in expl.column_names), strict=True))

    whole = table(1_000_000)
    assert [r[1] for r in whole] == ["e03", "e07", "e01", "e02", "e05", "e00", "e06", "e09",
                                     "e04", "e08"]  # fmt: skip
    assert table(2) == whole  # about one day a span
    assert table(3) == whole
