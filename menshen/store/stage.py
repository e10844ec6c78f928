"""Staging one file: every chunk validated and normalised by DuckDB, in parallel, into
<work>/<table>/good/ (look-ups already partitioned by date=YYYY-MM-DD) and
<work>/<table>/bad/ (failing rows: problems plus the cells as read)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from menshen.dataset.files import DatasetFile
from menshen.dataset.reader import iter_chunks
from menshen.dataset.validate import lit, raw_sql, select_sql
from menshen.ids import valid_mask

Progress = Callable[[str, int, int], None]
ACCESS_COMPRESSION = "COMPRESSION snappy"  # zstd level 1 costs ~10% more CPU per row
ACCESS_COLUMNS = (
    "system, event_id, occurred_at, occurred_date, account, subject_id, subject_id_valid, action, "
    "purpose_code, purpose_text, record_ref, terminal, result_count, row_hash, source_file, source_line"
)


def run(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    """Execute and fetch everything (DuckDB refuses new work while a result is pending)."""
    return con.execute(sql).fetchall()


def stage_file(
    con: duckdb.DuckDBPyConnection,
    item: DatasetFile,
    out: Path,
    progress: Progress | None,
    chunk_rows: int,
) -> None:
    """Stage the file; read it a second time, counting newlines inside quoted values, when
    the first read shows there are some (rare, and it keeps line numbers right)."""
    _stage_once(con, item, out, progress, chunk_rows)
    if not item.stream.lines_consistent:
        shutil.rmtree(out)
        item.stream.reset(count_newlines=True)
        _stage_once(con, item, out, progress, chunk_rows)


def _empty_chunk(item: DatasetFile) -> pa.Table:
    names = list(dict.fromkeys([*item.stream.columns, *item.spec.names]))
    table = pa.table({name: pa.array([], pa.string()) for name in names})
    return table


def _with_line(table: pa.Table, access: bool, lines: object = None) -> pa.Table:
    if lines is None:
        lines = pa.array([], pa.int64())
    table = table.append_column("__line", pa.array(lines, pa.int64()))
    if access:
        valid = valid_mask(table.column("subject_id"))
        table = table.append_column("__valid", pa.array(valid, pa.bool_()))
    return table


def _stage_once(
    con: duckdb.DuckDBPyConnection,
    item: DatasetFile,
    out: Path,
    progress: Progress | None,
    chunk_rows: int,
) -> None:
    (out / "good").mkdir(parents=True)
    (out / "bad").mkdir()
    stream = item.stream
    access = item.spec.table == "access"
    total = stream.scan.lines if stream.scan is not None else 0
    present = set(stream.columns)
    select = select_sql(item.spec, present, item.name)
    raws = raw_sql(item.spec, present)
    if item.calendar_chunk is not None:
        chunks = [(item.calendar_chunk.table, item.calendar_chunk.lines)]
    else:
        chunks = ((c.table, c.lines) for c in iter_chunks(stream, chunk_rows))
    number = 0
    for table, lines in chunks:
        _stage_chunk(con, table, lines, number, out, select, raws, access)
        number += 1
        if progress:
            progress(item.name, stream.lines_done or stream.rows, total or stream.rows)
    if number == 0:  # no rows: one empty file keeps the later queries simple
        import numpy as np

        table = _empty_chunk(item)
        _stage_chunk(con, table, np.zeros(0, dtype=np.int64), 0, out, select, raws, access)
    if access and not any((out / "good").rglob("*.parquet")):
        # every row failed: an empty file gives the later queries their columns
        target = out / "good" / "empty.parquet"
        select = select_sql(item.spec, set(stream.columns), item.name)
        con.register("chunk", _with_line(_empty_chunk(item), True))
        run(con, f"COPY (SELECT {ACCESS_COLUMNS} FROM ({select}) LIMIT 0) TO {lit(str(target))}")
        con.unregister("chunk")


def _stage_chunk(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    lines: object,
    number: int,
    out: Path,
    select: str,
    raws: str,
    access: bool,
) -> None:
    table = _with_line(table, access, lines)
    con.register("chunk", table)
    try:
        good = out / "good"
        if access:
            copy = (
                f"COPY (SELECT {ACCESS_COLUMNS}, occurred_date AS date FROM ({select}) "
                f"WHERE problems IS NULL) TO {lit(str(good))} (FORMAT parquet, "
                f"PARTITION_BY (date), FILENAME_PATTERN 'c{number:05d}-{{i}}', "
                f"OVERWRITE_OR_IGNORE, {ACCESS_COMPRESSION}, ROW_GROUP_SIZE 500000)"
            )
        else:
            copy = (
                f"COPY (SELECT * EXCLUDE (problems) FROM ({select}) WHERE problems IS NULL) "
                f"TO {lit(str(good / f'c{number:05d}.parquet'))} (FORMAT parquet)"
            )
        [(written,)] = run(con, copy)
        if written < table.num_rows:  # some rows failed: computed again, for them only
            run(
                con,
                f"COPY (SELECT s.*, r.* EXCLUDE (__line) FROM ({select}) s JOIN ({raws}) r "
                "ON r.__line = s.source_line WHERE s.problems IS NOT NULL) "
                f"TO {lit(str(out / 'bad' / f'c{number:05d}.parquet'))} (FORMAT parquet)",
            )
    finally:
        con.unregister("chunk")
