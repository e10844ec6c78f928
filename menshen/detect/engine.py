"""The only module that names an engine. Everything else builds Ibis expressions.

- DuckDB (default): in-process, Arrow tables are registered without copying.
- PySpark: a local[2] session, session time zone UTC. Timestamps in the store are naive
  Asia/Taipei wall-clock time; with a UTC session Spark neither shifts nor re-interprets
  them, so both engines see the same wall-clock values (rules compare the integer `ts`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa

from menshen.detect.sqlcache import SqlCache, duckdb_cache

EngineName = Literal["duckdb", "pyspark"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "pyspark")

# DuckDB's own memory (tables, joins, sorts); the Arrow results live outside it. A detection
# run's peak is this plus its results (the explanations table: ~300 bytes a look-up). At 10M
# look-ups 2.25GB keeps the whole run under 4 GiB (3.78 GiB) in the same time as 3GB (105 s
# against 104; 3GB peaked at 4.45 GiB): the kept table spills either way.
DUCKDB_MEMORY_LIMIT = "2.25GB"

# Engine.run has DuckDB execute a query rather than wrap it in a relation (`sql()`): the
# relation is Python over the engine, and scans the whole text for parameter markers in
# Python first (a run's queries are long, and their zh-TW texts make the scan slower): 0.5 s
# of the main thread in a profile of a 10M daily run, and a daily run of 867 look-ups took
# 0.5 s less. DuckDB warns that an executed query's Arrow result is copied once more: the
# results `run` returns (the rules' hits, the flagged look-ups, the range's summaries) are
# small next to the explanations, which `to_arrow_file` streams through `sql()`.
warnings.filterwarnings(
    "ignore", message="Arrow output on a DB-API result makes an extra copy", category=UserWarning
)

_spark_session: Any = None
_counter = itertools.count()


def spark_session(partitions: int = 4) -> Any:
    """One local Spark session per process (starting one takes ~15 s)."""
    global _spark_session
    if _spark_session is None:
        from pyspark.sql import SparkSession

        builder = (
            SparkSession.builder.master("local[2]")
            .appName("menshen")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(partitions))
            .config("spark.default.parallelism", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.driver.memory", "2g")
            # A view created from SQL keeps its analysed plan instead of its text, so a query
            # on views of views is not analysed again for every view it names (a rule case on
            # Spark: 18 → 10 s). Every view names tables that stay as they are.
            .config("spark.sql.legacy.storeAnalyzedPlanForView", "true")
        )
        if partitions == 1:
            # The tests' tiny tables: compiling generated code costs more than it saves, for
            # whole stages and for single expressions alike (a rule case's JIT and Janino
            # time: enumeration's cases 54 → 44 s, volume's 40 → 34 s), and so does adaptive
            # execution. Analysing large plans makes short-lived garbage, on which the
            # throughput collector spends less than G1 (enumeration's cases 54 → 49 s).
            for key, value in {
                "spark.sql.codegen.wholeStage": "false",
                "spark.sql.codegen.factoryMode": "NO_CODEGEN",
                "spark.sql.adaptive.enabled": "false",
                "spark.driver.extraJavaOptions": "-XX:+UseParallelGC",
            }.items():
                builder = builder.config(key, value)
        _spark_session = builder.getOrCreate()
        _spark_session.sparkContext.setLogLevel("ERROR")
    return _spark_session


@dataclass
class Engine:
    name: EngineName
    con: Any
    # Cache deferred tables (Spark: cacheTable). Tests of one query per context turn it
    # off: caching a tiny table costs more than recomputing it.
    cache: bool = True
    temp_dir: str | None = None
    _names: list[str] = field(default_factory=list)
    # DuckDB: the tables `defer` made are filled by another connection to the same database
    # (a cursor), on a thread of their own, as soon as they are deferred: the run goes on
    # building queries meanwhile. `compute_deferred` waits for them.
    _filler: ThreadPoolExecutor | None = None
    _cursor: Any = None
    _fills: list[Future[None]] = field(default_factory=list)
    _temporary: list[str] = field(default_factory=list)
    # DuckDB: the Arrow tables registered, in order (a `_Later` for one still being read),
    # and how many of them the filler's cursor registered too (a cursor sees the database's
    # tables and views, not the Arrow tables its connection registered).
    _arrow: list[tuple[str, pa.Table | _Later]] = field(default_factory=list)
    _arrow_sent: int = 0
    # Tables `load_later` named, which `compute_deferred` registers: (name, table).
    _later: list[tuple[str, _Later]] = field(default_factory=list)
    # DuckDB: the CREATE VIEW statements `view` made, run before the next query.
    _views: list[str] = field(default_factory=list)
    # DuckDB: compiled SQL kept across runs (menshen.detect.sqlcache); None: compile always.
    sql_cache: SqlCache | None = None
    # DuckDB: names numbered per engine, so that a run names its tables as the run before
    # did and their queries' SQL can be reused. Spark's temp views share one session.
    _seq: Iterator[int] = field(default_factory=itertools.count)

    def _unique(self, name: str) -> str:
        return f"{name}_{next(self._seq if self.name == 'duckdb' else _counter)}"

    def compile(self, expr: ir.Expr) -> str:
        """DuckDB: `expr`'s SQL, from the SQL cache when a run before compiled it."""
        if self.sql_cache is None:
            return self.con.compile(expr)
        compiler, dialect = self.con.compiler, self.con.dialect

        def render(lit: ops.Literal) -> str:
            return compiler.visit_Literal(lit, value=lit.value, dtype=lit.dtype).sql(dialect)

        return self.sql_cache.compile(expr, self.con.compile, render)

    def load(self, name: str, table: pa.Table, row_id: str | None = None) -> ir.Table:
        """Register an Arrow table and return it as an Ibis table. `row_id`: the name of an
        int64 column added to it, unique per row and the same in every query."""
        if row_id:
            table = table.append_column(row_id, pa.array(range(table.num_rows), pa.int64()))
        unique = self._unique(name)
        self._names.append(unique)
        if self.name == "duckdb":
            self.con.con.register(unique, table)
            self._arrow.append((unique, table))
            return self.con.table(unique)
        session = self.con._session
        session.createDataFrame(table).createOrReplaceTempView(unique)
        return self.con.table(unique)

    def load_later(self, name: str, schema: pa.Schema, table: Callable[[], pa.Table]) -> ir.Table:
        """Like `load`, for a table still being read (on another thread): queries can be built
        on it now; `table()` gives it to the engine when a deferred table that reads it is
        filled and when `compute_deferred` runs (DuckDB: until then the name holds an empty
        table of `schema`). Spark: loaded now."""
        if self.name != "duckdb":
            return self.load(name, table())
        unique = self._unique(name)
        self._names.append(unique)
        self.con.con.register(unique, schema.empty_table())
        later = _Later(table)
        self._later.append((unique, later))
        self._arrow.append((unique, later))
        return self.con.table(unique)

    def load_parquet(
        self,
        name: str,
        paths: list[Path],
        row_id: str | None = None,
        file_index: str | None = None,
    ) -> ir.Table:
        """Parquet files as one table, read by the engine itself (files whose columns differ
        are unioned by name). `row_id` as in `load`; `file_index`: the name of an int32
        column holding each row's file's position in `paths`."""
        if self.name == "pyspark":
            import pyarrow.dataset as pads

            dataset = pads.dataset([str(p) for p in paths])
            if not file_index:
                return self.load(name, dataset.to_table(), row_id)
            parts = [
                _with_file(part.to_table(schema=dataset.schema), file_index, i)
                for i, part in enumerate(dataset.get_fragments())
            ]
            return self.load(name, pa.concat_tables(parts), row_id)
        unique = self._unique(name)
        self._names.append(unique)
        # A view of the database (not a temporary one), which the filler's cursor sees too.
        # The file's position in the list and the row's in the file: the same in every query
        # (the view is read afresh by each), and a file holds far fewer than 2**32 rows.
        extra = ["*"]
        if row_id:
            extra.append(f'(file_index::BIGINT << 32) + file_row_number AS "{row_id}"')
        if file_index:
            extra.append(f'file_index::INTEGER AS "{file_index}"')
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
        self.con.con.execute(
            f'CREATE VIEW "{unique}" AS SELECT {", ".join(extra)} '
            f"FROM read_parquet([{files}], union_by_name = true, hive_partitioning = false)"
        )
        return self.con.table(unique)

    def view(self, name: str, expr: ir.Table) -> ir.Table:
        """`expr` as a view: queries built on it name it instead of repeating `expr` (the
        engine still computes it within each).

        DuckDB: the view is created before the next query runs (`_create_views`), so that
        another thread may call this while the engine computes (it only builds and compiles);
        until then the table can be built on and compiled, not read. Spark: created now."""
        unique = self._unique(name)
        self._names.append(unique)
        if self.name != "duckdb":
            return self.con.create_view(unique, expr, overwrite=True)
        self._views.append(f'CREATE OR REPLACE VIEW "{unique}" AS {self.compile(expr)}')
        return ibis.table(expr.schema(), name=unique)

    def _create_views(self) -> None:
        while self._views:
            self.con.con.execute(self._views.pop(0))

    def defer(self, name: str, expr: ir.Table, temporary: bool = False) -> ir.Table:
        """A table that keeps `expr`'s result for the queries that follow, computed once.

        DuckDB: the table exists (empty) from now on, and another connection fills it on
        its own thread, starting now, in the order deferred; `compute_deferred` waits for
        them. Queries can be built and compiled on it meanwhile, not read. `temporary`: read
        only by the tables deferred after it, and dropped once they are filled. Spark: a
        cached view, computed when first read (cacheTable is lazy); views that name it keep
        it."""
        unique = self._unique(name)
        self._names.append(unique)
        if self.name != "duckdb":
            view = self.con.create_view(unique, expr, overwrite=True)
            if self.cache:
                self.con._session.catalog.cacheTable(unique)
            return view
        # What Ibis's create_table does: a table of the expression's schema, then an INSERT.
        # A table of the database, not a temporary one: the filler's cursor fills it.
        self.con.create_table(unique, schema=expr.schema())
        columns = ", ".join('"' + c.replace('"', '""') + '"' for c in expr.columns)
        self._fill(f'INSERT INTO "{unique}" ({columns}) {self.compile(expr)}')
        if temporary:
            self._temporary.append(unique)
        return self.con.table(unique)

    def _fill(self, insert: str) -> None:
        if self._filler is None:
            self._cursor = self.con.con.cursor()
            self._filler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="menshen-fill")
        arrow, self._arrow_sent = self._arrow[self._arrow_sent :], len(self._arrow)
        cursor = self._cursor

        def fill() -> None:
            for unique, table in arrow:
                cursor.register(unique, table.table() if isinstance(table, _Later) else table)
            cursor.execute(insert)

        self._fills.append(self._filler.submit(fill))

    def compute_deferred(self) -> None:
        """Wait until the tables `defer` made are filled; then drop the temporary ones. Raw
        SQL, no Ibis: another thread may build and compile Ibis queries meanwhile."""
        later, self._later = self._later, []
        for unique, table in later:
            self.con.con.register(unique, table.table())
        fills, self._fills = self._fills, []
        for job in fills:
            job.result()
        temporary, self._temporary = self._temporary, []
        for unique in temporary:
            self.con.con.execute(f'DROP TABLE IF EXISTS "{unique}"')

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        if self.name == "duckdb":
            # Ibis memtables (tests build some) are registered when a query reads them.
            self.con._register_in_memory_tables(expr)
            return self.run(self.prepare(expr))
        return self.con.to_pyarrow(expr)

    def prepare(self, expr: ir.Table) -> Any:
        """`expr` ready for `run`: compiled to SQL on DuckDB — compiling a large query takes
        a noticeable part of a second of Python, which another thread can spend while the
        engine runs the query before (DuckDB releases the GIL while it runs); the
        expression itself on Spark."""
        if self.name == "duckdb":
            return self.compile(expr), expr.schema().to_pyarrow()
        return expr

    def run(self, prepared: Any) -> pa.Table:
        """The result of a prepared query as an Arrow table."""
        if self.name == "duckdb":
            sql, schema = prepared
            self._create_views()
            return self.con.con.execute(sql).to_arrow_table().cast(schema)
        return self.to_arrow(prepared)

    def to_arrow_file(self, expr: ir.Table) -> pa.Table:
        """Like to_arrow, for a large result: DuckDB streams it into an Arrow file in the temp
        folder, which is memory-mapped — its pages are the OS's to drop and reload, not
        process memory (the mapping outlives close(), which only unlinks the file)."""
        if self.name != "duckdb" or not self.temp_dir:
            return self.to_arrow(expr)
        path = str(Path(self.temp_dir) / f"result_{next(_counter)}.arrow")
        schema = expr.schema().to_pyarrow()
        # A streamed result comes in the query's order only with insertion order preserved
        # (connect() turns it off for everything else).
        self._create_views()
        self.con.con.execute("SET preserve_insertion_order = true")
        try:
            reader = self.con.con.sql(self.compile(expr)).to_arrow_reader(256 * 1024)
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
                for batch in reader:
                    writer.write_batch(batch.cast(schema))
        finally:
            self.con.con.execute("SET preserve_insertion_order = false")
        return pa.ipc.open_file(pa.memory_map(path)).read_all()

    def close(self) -> None:
        """Drop what this engine registered (the Spark session itself stays up)."""
        if self.name == "duckdb":
            if self._filler is not None:
                self._filler.shutdown(wait=True, cancel_futures=True)
                self._cursor.close()
            self.con.disconnect()
            if self.temp_dir:
                shutil.rmtree(self.temp_dir, ignore_errors=True)
            return
        for unique in self._names:
            with contextlib.suppress(Exception):  # best-effort cleanup of temp views
                self.con._session.catalog.dropTempView(unique)
        self._names.clear()


def _with_file(table: pa.Table, column: str, index: int) -> pa.Table:
    return table.append_column(column, pa.repeat(pa.scalar(index, pa.int32()), table.num_rows))


class _Later:
    """A table still being read: the first call of `table()` waits for it and keeps it."""

    def __init__(self, make: Callable[[], pa.Table]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._table: pa.Table | None = None

    def table(self) -> pa.Table:
        with self._lock:
            if self._table is None:
                self._table = self._make()
            return self._table


def connect(
    engine: EngineName = "duckdb",
    *,
    threads: int | None = None,
    cache: bool = True,
    partitions: int = 4,
    memory_limit: str | None = None,
) -> Engine:
    """An engine to load tables into. `partitions`: Spark shuffle partitions (the session is
    created once per process; the first call decides; 1, the tests' tiny tables, also picks
    their settings: see spark_session). `memory_limit`: DuckDB's own limit (default
    DUCKDB_MEMORY_LIMIT or $MENSHEN_DUCKDB_MEMORY); beyond it DuckDB spills to the temp
    folder instead of growing."""
    # Ibis merges nested SELECTs before it writes SQL: that rewrite took about a quarter of
    # the Python time of compiling the rules' queries (several seconds a run), and the
    # engines' optimisers flatten the nested SELECTs themselves (same results, same plans).
    ibis.options.sql.fuse_selects = False
    if engine == "duckdb":
        # DuckDB spills to "./.tmp" of the current directory by default: keep it in the
        # system temp folder instead, never beside the user's files.
        temp_dir = tempfile.mkdtemp(prefix="menshen-duckdb-")
        con = ibis.duckdb.connect(temp_directory=temp_dir)
        limit = memory_limit or os.environ.get("MENSHEN_DUCKDB_MEMORY") or DUCKDB_MEMORY_LIMIT
        con.raw_sql(f"SET memory_limit = '{limit}'")
        # Nothing relies on the order of rows in a table: results that are shown in an order
        # are sorted explicitly (explanations by time, hits in findings.py). Not preserving
        # it lets DuckDB materialise and spill large tables with less memory.
        con.raw_sql("SET preserve_insertion_order = false")
        # Its bar would be printed into the output of `menshen detect` and of the benchmarks;
        # the commands show their own progress.
        con.raw_sql("SET enable_progress_bar = false")
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
        return Engine("duckdb", con, cache, temp_dir, sql_cache=duckdb_cache())
    if engine == "pyspark":
        return Engine("pyspark", ibis.pyspark.connect(spark_session(partitions)), cache)
    raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
