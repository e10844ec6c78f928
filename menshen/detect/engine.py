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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

EngineName = Literal["duckdb", "pyspark"]
ENGINES: tuple[EngineName, ...] = ("duckdb", "pyspark")

# DuckDB's own memory (tables, joins, sorts); the Arrow results live outside it. A detection
# run's peak is this plus its results (the explanations table: ~300 bytes a look-up). At 10M
# look-ups 2.25GB keeps the whole run under 4 GiB (3.78 GiB) in the same time as 3GB (105 s
# against 104; 3GB peaked at 4.45 GiB): the kept table spills either way.
DUCKDB_MEMORY_LIMIT = "2.25GB"

_spark_session: Any = None
_counter = itertools.count()


def spark_session(partitions: int = 4) -> Any:
    """One local Spark session per process (starting one takes ~15 s)."""
    global _spark_session
    if _spark_session is None:
        from pyspark.sql import SparkSession

        _spark_session = (
            SparkSession.builder.master("local[2]")
            .appName("menshen")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(partitions))
            .config("spark.default.parallelism", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.driver.memory", "2g")
            # Tiny test tables: compiling generated code costs more than it saves.
            .config("spark.sql.codegen.wholeStage", "false" if partitions == 1 else "true")
            .config("spark.sql.adaptive.enabled", "false" if partitions == 1 else "true")
            .getOrCreate()
        )
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
    # Tables `defer` made and `compute_deferred` fills: (name, INSERT statement, temporary).
    _deferred: list[tuple[str, str, bool]] = field(default_factory=list)
    # Tables `load_later` named and `compute_deferred` loads first: (name, table maker).
    _later: list[tuple[str, Callable[[], pa.Table]]] = field(default_factory=list)

    def load(self, name: str, table: pa.Table, row_id: str | None = None) -> ir.Table:
        """Register an Arrow table and return it as an Ibis table. `row_id`: the name of an
        int64 column added to it, unique per row and the same in every query."""
        if row_id:
            table = table.append_column(row_id, pa.array(range(table.num_rows), pa.int64()))
        unique = f"{name}_{next(_counter)}"
        self._names.append(unique)
        if self.name == "duckdb":
            self.con.con.register(unique, table)
            return self.con.table(unique)
        session = self.con._session
        session.createDataFrame(table).createOrReplaceTempView(unique)
        return self.con.table(unique)

    def load_later(self, name: str, schema: pa.Schema, table: Callable[[], pa.Table]) -> ir.Table:
        """Like `load`, for a table still being read (on another thread): queries can be built
        on it now; `table()` gives it to the engine when `compute_deferred` runs (DuckDB:
        until then the name holds an empty table of `schema`). Spark: loaded now."""
        if self.name != "duckdb":
            return self.load(name, table())
        unique = f"{name}_{next(_counter)}"
        self._names.append(unique)
        self.con.con.register(unique, schema.empty_table())
        self._later.append((unique, table))
        return self.con.table(unique)

    def load_parquet(self, name: str, paths: list[Path], row_id: str | None = None) -> ir.Table:
        """Parquet files as one table, read by the engine itself (files whose columns differ
        are unioned by name). `row_id` as in `load`."""
        if self.name == "pyspark":
            import pyarrow.dataset as pads

            return self.load(name, pads.dataset([str(p) for p in paths]).to_table(), row_id)
        unique = f"{name}_{next(_counter)}"
        self._names.append(unique)
        if not row_id:
            return self.con.read_parquet(
                [str(p) for p in paths],
                table_name=unique,
                union_by_name=True,
                hive_partitioning=False,
            )
        # The file's position in the list and the row's in the file: the same in every query
        # (the view is read afresh by each), and a file holds far fewer than 2**32 rows.
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
        self.con.con.execute(
            f'CREATE VIEW "{unique}" AS SELECT *, '
            f'(file_index::BIGINT << 32) + file_row_number AS "{row_id}" '
            f"FROM read_parquet([{files}], union_by_name = true, hive_partitioning = false)"
        )
        return self.con.table(unique)

    def view(self, name: str, expr: ir.Table) -> ir.Table:
        """`expr` as a view: queries built on it name it instead of repeating `expr` (the
        engine still computes it within each)."""
        unique = f"{name}_{next(_counter)}"
        self._names.append(unique)
        return self.con.create_view(unique, expr, overwrite=True)

    def defer(self, name: str, expr: ir.Table, temporary: bool = False) -> ir.Table:
        """A table that keeps `expr`'s result for the queries that follow, computed once.

        DuckDB: the table exists (empty) from now on and `compute_deferred` fills it, in the
        order deferred: queries can be built and compiled on it meanwhile (another thread
        can, while DuckDB fills it). `temporary`: read only by the tables deferred after it,
        and dropped once they are filled. Spark: a cached view, computed when first read
        (cacheTable is lazy); views that name it keep it."""
        unique = f"{name}_{next(_counter)}"
        self._names.append(unique)
        if self.name != "duckdb":
            view = self.con.create_view(unique, expr, overwrite=True)
            if self.cache:
                self.con._session.catalog.cacheTable(unique)
            return view
        # What Ibis's create_table does: a table of the expression's schema, then an INSERT.
        self.con.create_table(unique, schema=expr.schema(), temp=True)
        columns = ", ".join('"' + c.replace('"', '""') + '"' for c in expr.columns)
        insert = f'INSERT INTO temp.main."{unique}" ({columns}) {self.con.compile(expr)}'
        self._deferred.append((unique, insert, temporary))
        return self.con.table(unique)

    def compute_deferred(self) -> None:
        """Fill the tables `defer` made, in order; then drop the temporary ones. Raw SQL, no
        Ibis: another thread may build and compile Ibis queries meanwhile."""
        later, self._later = self._later, []
        for unique, table in later:
            self.con.con.register(unique, table())
        deferred, self._deferred = self._deferred, []
        for _unique, insert, _temporary in deferred:
            self.con.con.execute(insert)
        for unique, _insert, temporary in deferred:
            if temporary:
                self.con.con.execute(f'DROP TABLE IF EXISTS temp.main."{unique}"')

    def to_arrow(self, expr: ir.Expr) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def prepare(self, expr: ir.Table) -> Any:
        """`expr` ready for `run`: compiled to SQL on DuckDB — compiling a large query takes
        a noticeable part of a second of Python, which another thread can spend while the
        engine runs the query before (DuckDB releases the GIL while it runs); the
        expression itself on Spark."""
        if self.name == "duckdb":
            return self.con.compile(expr), expr.schema().to_pyarrow()
        return expr

    def run(self, prepared: Any) -> pa.Table:
        """The result of a prepared query as an Arrow table."""
        if self.name == "duckdb":
            sql, schema = prepared
            return self.con.con.sql(sql).to_arrow_table().cast(schema)
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
        self.con.con.execute("SET preserve_insertion_order = true")
        try:
            reader = self.con.con.sql(self.con.compile(expr)).to_arrow_reader(256 * 1024)
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
                for batch in reader:
                    writer.write_batch(batch.cast(schema))
        finally:
            self.con.con.execute("SET preserve_insertion_order = false")
        return pa.ipc.open_file(pa.memory_map(path)).read_all()

    def close(self) -> None:
        """Drop what this engine registered (the Spark session itself stays up)."""
        if self.name == "duckdb":
            self.con.disconnect()
            if self.temp_dir:
                shutil.rmtree(self.temp_dir, ignore_errors=True)
            return
        for unique in self._names:
            with contextlib.suppress(Exception):  # best-effort cleanup of temp views
                self.con._session.catalog.dropTempView(unique)
        self._names.clear()


def connect(
    engine: EngineName = "duckdb",
    *,
    threads: int | None = None,
    cache: bool = True,
    partitions: int = 4,
    memory_limit: str | None = None,
) -> Engine:
    """An engine to load tables into. `partitions`: Spark shuffle partitions (the session is
    created once per process; the first call decides). `memory_limit`: DuckDB's own limit
    (default DUCKDB_MEMORY_LIMIT or $MENSHEN_DUCKDB_MEMORY); beyond it DuckDB spills to the
    temp folder instead of growing."""
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
        return Engine("duckdb", con, cache, temp_dir)
    if engine == "pyspark":
        return Engine("pyspark", ibis.pyspark.connect(spark_session(partitions)), cache)
    raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
