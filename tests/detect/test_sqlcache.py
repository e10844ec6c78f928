"""Compiled SQL kept across runs (menshen.detect.sqlcache): a night's run gets the SQL the
night before compiled, with its own dates in it, and never the SQL of another query."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import menshen.detect.engine as engine_module
from menshen.detect import sqlcache
from menshen.detect.cli import run_store_detection
from menshen.detect.engine import Engine, connect
from menshen.detect.sqlcache import SqlCache
from menshen.detect.testing import detected_store

START = dt.date(2026, 3, 2)
LOOKUPS = ibis.table(
    {"occurred_date": "date", "ts": "int64", "purpose_code": "string"}, name="lookups_1"
)


def _query(
    day: dt.date, since_ts: int = 1_700_000_000, code: str = "A01", top: int = 5
) -> ibis.Table:
    t = LOOKUPS
    t = t.filter((t.occurred_date >= day) & (t.ts >= since_ts) & (t.purpose_code == code))
    return t.group_by("purpose_code").aggregate(n=t.count()).limit(top)


@pytest.fixture
def duckdb_engine(tmp_path: Path) -> Engine:
    eng = connect("duckdb")
    eng.sql_cache = SqlCache(tmp_path / "sql", "test")
    yield eng
    eng.close()


def test_a_query_of_another_day_gets_the_kept_sql_with_its_own_dates(duckdb_engine) -> None:
    eng = duckdb_engine
    first = eng.compile(_query(dt.date(2026, 10, 29), 1_792_540_800))
    assert (eng.sql_cache.hits, eng.sql_cache.misses) == (0, 1)
    later = _query(dt.date(2026, 10, 30), 1_792_627_200)
    sql = eng.compile(later)
    assert (eng.sql_cache.hits, eng.sql_cache.misses) == (1, 1)
    assert sql == eng.con.compile(later) != first
    assert "MAKE_DATE(2026, 10, 30)" in sql and "1792627200" in sql
    assert len(list((eng.sql_cache.folder).glob("*.json"))) == 1


def test_a_different_query_never_gets_another_querys_sql(duckdb_engine) -> None:
    eng = duckdb_engine
    day = dt.date(2026, 10, 30)
    eng.compile(_query(day))
    # A different text, a different small number (a window, a limit), a different table.
    others = [
        _query(day, code="B02"),
        _query(day, top=6),
        _query(day).select("n"),
    ]
    for other in others:
        assert eng.compile(other) == eng.con.compile(other)
    assert eng.sql_cache.hits == 0
    assert len(list(eng.sql_cache.folder.glob("*.json"))) == 1 + len(others)


def test_sql_that_does_not_come_back_from_its_template_is_not_kept(tmp_path: Path) -> None:
    eng = connect("duckdb")
    try:
        cache = SqlCache(tmp_path / "sql", "test")
        expr = _query(dt.date(2026, 10, 30))

        def wrong(lit):  # renders literals unlike the compiler: the template cannot verify
            return f"'{lit.value}'"

        assert cache.compile(expr, eng.con.compile, wrong) == eng.con.compile(expr)
        assert not list((tmp_path / "sql").glob("*.json"))
    finally:
        eng.close()


def test_a_damaged_cache_file_is_compiled_again(duckdb_engine) -> None:
    eng = duckdb_engine
    expr = _query(dt.date(2026, 10, 30))
    eng.compile(expr)
    (entry,) = eng.sql_cache.folder.glob("*.json")
    entry.write_text("{not json", encoding="utf-8")
    assert eng.compile(expr) == eng.con.compile(expr)
    assert json.loads(entry.read_text(encoding="utf-8"))["params"] == 2


def test_the_cache_keeps_at_most_its_number_of_entries(duckdb_engine, monkeypatch) -> None:
    monkeypatch.setattr(sqlcache, "MAX_ENTRIES", 3)
    eng = duckdb_engine
    for code in ("A", "B", "C", "D", "E"):
        eng.compile(_query(dt.date(2026, 10, 30), code=code))
    assert len(list(eng.sql_cache.folder.glob("*.json"))) == 3


def test_the_cache_can_be_turned_off(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MENSHEN_SQL_CACHE", "off")
    eng = connect("duckdb")
    try:
        assert eng.sql_cache is None
        expr = _query(dt.date(2026, 10, 30))
        assert eng.compile(expr) == eng.con.compile(expr)
    finally:
        eng.close()
    monkeypatch.setenv("MENSHEN_SQL_CACHE", str(tmp_path / "mine"))
    assert sqlcache.default_folder() == tmp_path / "mine"


def test_parquet_files_read_as_one_name_each_rows_file(engine: Engine, tmp_path: Path) -> None:
    paths = []
    for i, days in enumerate([[1, 2], [3]]):
        path = tmp_path / f"part{i}.parquet"
        pq.write_table(pa.table({"d": pa.array(days, pa.int64())}), path)
        paths.append(path)
    t = engine.load_parquet("parts", paths, file_index="f")
    rows = engine.to_arrow(t.order_by("d")).to_pylist()
    assert rows == [{"d": 1, "f": 0}, {"d": 2, "f": 0}, {"d": 3, "f": 1}]


@pytest.fixture(scope="module")
def nightly_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.date]:
    """A store of 7 days of look-ups whose first 5 were detected and written at once."""
    base = tmp_path_factory.mktemp("nightly")
    return detected_store(base, seed=5, events=7_000, days=7, start=START, left=2)


def test_a_nightly_run_compiles_nothing_the_night_before_compiled(
    nightly_store, tmp_path: Path, monkeypatch
) -> None:
    home, last = nightly_store
    caches: list[SqlCache | None] = []
    made = engine_module.duckdb_cache

    def keep():
        caches.append(made())
        return caches[-1]

    monkeypatch.setattr(engine_module, "duckdb_cache", keep)
    monkeypatch.setenv("MENSHEN_SQL_CACHE", str(tmp_path / "sql"))
    night_before = last - dt.timedelta(days=1)
    run_store_detection(home, night_before, night_before, write=True)
    assert caches[-1].hits == 0 and caches[-1].misses > 10
    # The next night reads one more stored batch and has other dates: the same queries.
    result, _ = run_store_detection(home, last, last, write=False)
    assert caches[-1].misses == 0 and caches[-1].hits > 10

    monkeypatch.setenv("MENSHEN_SQL_CACHE", "off")
    compiled, _ = run_store_detection(home, last, last, write=False)
    assert caches[-1] is None
    for name, table in result.tables.items():
        assert table.equals(compiled.tables[name]), name


def test_a_folder_others_may_write_to_is_not_used(monkeypatch, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("MENSHEN_SQL_CACHE", str(shared))
    eng = connect("duckdb")
    try:
        assert eng.sql_cache is None  # a run executes what it reads there
    finally:
        eng.close()
    mine = tmp_path / "mine"
    monkeypatch.setenv("MENSHEN_SQL_CACHE", str(mine))
    eng = connect("duckdb")
    try:
        eng.compile(_query(dt.date(2026, 10, 30)))
        assert mine.stat().st_mode & 0o777 == 0o700
    finally:
        eng.close()
