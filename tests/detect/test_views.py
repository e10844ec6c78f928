"""The engine keeps a narrow look-ups table and each rule query gets only the descriptive
columns it names (pipeline.Views): the hits must be the same as on the full context, and a
large result streamed to a file must keep the query's order."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from menshen.detect.context import HISTORY_COLUMNS
from menshen.detect.engine import Engine, connect
from menshen.detect.pipeline import LOOKUP_COLUMNS, Views, build_views
from menshen.detect.rules import all_rules
from menshen.detect.settings import Settings
from menshen.detect.testing import case_range, make_world


def _views(engine: Engine, case: object) -> Views:
    params = {k: v for k, v in case.params.items() if k != "detect_from"}  # type: ignore[attr-defined]
    start, end = case_range(case)  # type: ignore[arg-type]
    world = make_world(case.tables)  # type: ignore[attr-defined]
    return build_views(engine, world, start, end, Settings().with_overrides(params))


def _hits(engine: Engine, expr: ibis.Table) -> list[tuple[str, ...]]:
    cols = ["system", "event_id", "evidence_zh", "evidence_en"]
    rows = engine.to_arrow(expr.select(*cols)).to_pylist()
    return sorted(tuple(str(r[c]) for c in cols) for r in rows)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_flags_the_same_on_its_narrow_context_as_on_the_full_one(rule) -> None:
    engine = connect("duckdb")
    try:
        for case in rule.cases:
            views = _views(engine, case)
            assert _hits(engine, views.query(rule.query, rule.reads)) == _hits(
                engine, rule.query(views.full)
            ), f"{rule.id}: {case.name}"
    finally:
        engine.close()


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_names_the_column_groups_its_query_reads(rule) -> None:
    """Rule.reads spares each run the trials that find them: a group missing would fail the
    query, a group too many would cost a join on every look-up."""
    engine = connect("duckdb")
    try:
        found = _views(engine, rule.cases[0]).groups_of(rule.query)
        declared = None if rule.reads is None else frozenset(rule.reads)
        assert found == declared, (
            f"{rule.id}: its query reads the groups {sorted(found)}; "
            f"set reads={tuple(sorted(found))} in its Rule"
        )
    finally:
        engine.close()


def test_a_query_without_its_groups_named_finds_them() -> None:
    engine = connect("duckdb")
    try:
        views = _views(engine, all_rules()[0].cases[0])
        expr = views.query(lambda ctx: ctx.lookups.select("event_id", "staff_name", "is_workday"))
        assert expr.columns == ("event_id", "staff_name", "is_workday")
        assert views.groups_of(lambda ctx: ctx.lookups.select("staff_name")) == {"staff"}
    finally:
        engine.close()


def test_the_full_context_has_every_documented_column_in_order() -> None:
    engine = connect("duckdb")
    try:
        case = all_rules()[0].cases[0]
        views = _views(engine, case)
        assert tuple(views.full.lookups.columns) == LOOKUP_COLUMNS
        assert tuple(views.full.history.columns) == HISTORY_COLUMNS
        assert tuple(views.full.all_lookups.columns) == HISTORY_COLUMNS
        narrow = views.context(frozenset())
        assert "sensitivity" not in narrow.lookups.columns
        assert "explained_strong" in narrow.lookups.columns
    finally:
        engine.close()


def test_a_large_result_streamed_to_a_file_keeps_the_query_order() -> None:
    engine = connect("duckdb")
    try:
        n = 700_000  # several streamed batches
        t = engine.load("shuffled", pa.table({"k": [(i * 7919) % n for i in range(n)]}))
        t = t.mutate(s=t.k.cast("string")).order_by("k")
        out = engine.to_arrow_file(t)
        assert out.column("k").to_pylist() == list(range(n))
        assert out.schema == engine.to_arrow(t).schema
    finally:
        engine.close()


@pytest.mark.parametrize("big_first", [False, True])
def test_where_enrich_joins_the_large_tables_changes_no_look_up(
    tmp_path, monkeypatch, big_first: bool
) -> None:
    """build_views joins persons and records first for a few look-ups and last for many
    (a plan choice, pipeline.enrich): both give the same look-ups, column for column."""
    import datetime as dt

    from menshen.detect import pipeline
    from menshen.detect.run import load_store_world
    from menshen.store import Store
    from menshen.synth import generate

    generate(tmp_path / "d", seed=3, events=3_000, days=3, start=dt.date(2026, 3, 2))
    store = Store(tmp_path / "s")
    store.ingest(tmp_path / "d")
    first, last = store.snapshot().date_range()
    world = load_store_world(store.snapshot(), first, last, 90)
    engine = connect("duckdb")
    try:
        keys = [("system", "ascending"), ("event_id", "ascending")]
        chosen = build_views(engine, world, first, last).full.lookups
        want = engine.to_arrow(chosen).sort_by(keys)
        enrich = pipeline.enrich
        monkeypatch.setattr(
            pipeline, "enrich", lambda *a, **k: enrich(*a, **{**k, "big_first": big_first})
        )
        got = engine.to_arrow(build_views(engine, world, first, last).full.lookups).sort_by(keys)
        assert got.num_rows == want.num_rows > 2_000
        assert got.equals(want)
    finally:
        engine.close()
