"""Staging one file: every chunk validated and normalised by DuckDB (2 threads) and written
by pyarrow in a writer thread while the next chunk is read and validated:
- look-ups into <work>/access/good/date=YYYY-MM-DD/ (partitioned, file order within a date);
- a reference file into <work>/<table>/rows.parquet (its columns, zstd) and, row for row,
  <work>/<table>/keys.parquet (source_line, 16-byte row hash);
- failing rows into <work>/<table>/bad/ (problems plus the cells as read).
See docs/store.md, "How ingest is fast"."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from menshen.dataset.files import DatasetFile
from menshen.dataset.reader import Chunk, iter_chunks
from menshen.dataset.schema import FileSpec
from menshen.dataset.validate import lit, q, raw_sql, select_sql
from menshen.ids import valid_mask

Progress = Callable[[str, int, int], None]
ACCESS_COMPRESSION = "snappy"  # zstd level 1 costs ~10% more CPU per row
ROW_GROUP = 500_000
# Columns of few distinct values: dictionary-encoded. Trying a dictionary on the unique ones
# (event_id, row_hash, record_ref) costs time and gives nothing.
DICTIONARY_COLUMNS = [
    "system", "occurred_date", "account", "subject_id_valid", "action", "purpose_code",
    "purpose_text", "terminal", "result_count", "source_file",
]  # fmt: skip
# Min/max statistics where a reader may filter (time, date, line, system, account, id).
STATISTICS_COLUMNS = [
    "system", "occurred_at", "occurred_date", "account", "subject_id", "source_line",
]  # fmt: skip
ACCESS_COLUMNS = (
    "system, event_id, occurred_at, occurred_date, account, subject_id, subject_id_valid, action, "
    "purpose_code, purpose_text, record_ref, terminal, result_count, row_hash, source_file, source_line"
)


def write_partitions(rows: pa.Table, folder: Path, stem: str) -> int:
    """Write look-ups into folder/date=YYYY-MM-DD/<stem>.parquet, one file per local date,
    rows in line order; return the number written.

    pyarrow's writer, with dictionaries only for the columns of few distinct values, costs
    about a third of DuckDB's partitioned COPY of the same rows (the main cost of ingest)."""
    count = rows.num_rows
    if count == 0:
        return 0
    days = pc.cast(rows.column("occurred_date"), pa.int32()).to_numpy(zero_copy_only=False)
    lines = rows.column("source_line").to_numpy(zero_copy_only=False)
    if not (
        np.all(days[1:] >= days[:-1]) and np.all((days[1:] > days[:-1]) | (lines[1:] > lines[:-1]))
    ):
        order = np.lexsort((lines, days))
        rows = rows.take(pa.array(order))
        days = days[order]
    cuts = np.flatnonzero(days[1:] != days[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [count]))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        day = np.datetime64(int(days[start]), "D").astype(str)
        target = folder / f"date={day}"
        target.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            rows.slice(start, end - start),
            target / f"{stem}.parquet",
            compression=ACCESS_COMPRESSION,
            row_group_size=ROW_GROUP,
            use_dictionary=DICTIONARY_COLUMNS,
            write_statistics=STATISTICS_COLUMNS,
        )
    return count


def run(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    """Execute and fetch everything (DuckDB refuses new work while a result is pending)."""
    return con.execute(sql).fetchall()


def stage_file(
    con: duckdb.DuckDBPyConnection,
    item: DatasetFile,
    out: Path,
    progress: Progress | None,
    chunk_rows: int,
) -> np.ndarray | None:
    """Stage the file; read it a second time, counting newlines inside quoted values, when
    the first read shows there are some (rare, and it keeps line numbers right)."""
    keys = _stage_once(con, item, out, progress, chunk_rows)
    if not item.stream.lines_consistent:
        shutil.rmtree(out)
        item.stream.reset(count_newlines=True)
        keys = _stage_once(con, item, out, progress, chunk_rows)
    return keys


class _Background:
    """Writes staged rows in one worker thread, so that writing a chunk (pyarrow, without
    the GIL) overlaps with reading and validating the next. At most one write is pending;
    its error, if any, is raised by the next submit or on leaving the block."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage-write")
        self.pending: Future[object] | None = None

    def submit(self, fn: Callable[..., object], *args: object) -> None:
        self.wait()
        self.pending = self.pool.submit(fn, *args)

    def wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _Background:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if kind is None:
                self.wait()
        finally:
            self.pool.shutdown(wait=True)


REF_ROW_GROUP = 500_000


def ref_row_hash(spec: FileSpec) -> str:
    """The 16-byte MD5 of a reference row's typed values (as text, NULL as \\N, joined by
    U+001F): duplicates and conflicts are told apart by it, and the table's digest
    (`table_sha256`) is computed from it."""
    row_text = ", ".join(f"coalesce(CAST({q(n)} AS VARCHAR), '\\N')" for n in spec.names)
    return f"unhex(md5(concat_ws(chr(31), {row_text})))"


class _RefSink:
    """The usable rows of a reference file, in file order, written once as they come:
    <out>/rows.parquet holds the table's columns (zstd; it becomes ref/<table>.parquet as it
    is when no row is skipped) and <out>/keys.parquet, row for row, `source_line` and
    `__row_hash`. View `good` joins the two by position (see ingest)."""

    def __init__(self, spec: FileSpec, out: Path):
        self.spec = spec
        self.rows_path = out / "rows.parquet"
        self.keys_path = out / "keys.parquet"
        self.writers: tuple[pq.ParquetWriter, pq.ParquetWriter] | None = None

    def select(self, select: str) -> str:
        return f"SELECT *, {ref_row_hash(self.spec)} AS __row_hash FROM ({select})"

    def usable(self, select: str) -> str:
        columns = ", ".join(q(n) for n in self.spec.names)
        return f"SELECT {columns}, source_line, __row_hash FROM ({select}) WHERE problems IS NULL"

    def write(self, rows: pa.Table) -> None:
        lines = rows.column("source_line").to_numpy(zero_copy_only=False)
        if len(lines) > 1 and not np.all(lines[1:] > lines[:-1]):
            rows = rows.take(pa.array(np.argsort(lines, kind="stable")))
        data = rows.select(self.spec.names)
        keys = rows.select(["source_line", "__row_hash"])
        if self.writers is None:
            self.writers = (
                pq.ParquetWriter(self.rows_path, data.schema, compression="zstd"),
                pq.ParquetWriter(self.keys_path, keys.schema, compression="snappy"),
            )
        self.writers[0].write_table(data, row_group_size=REF_ROW_GROUP)
        self.writers[1].write_table(keys, row_group_size=REF_ROW_GROUP)

    def close(self) -> None:
        if self.writers is not None:
            for writer in self.writers:
                writer.close()
            self.writers = None


def _empty_chunk(item: DatasetFile) -> pa.Table:
    names = list(dict.fromkeys([*item.stream.columns, *item.spec.names]))
    table = pa.table({name: pa.array([], pa.string()) for name in names})
    return table


def _with_valid(chunk: Chunk) -> Chunk:
    valid = valid_mask(chunk.table.column("subject_id"))
    return Chunk(chunk.table.append_column("__valid", pa.array(valid, pa.bool_())), chunk.lines)


def _with_line(table: pa.Table, access: bool, lines: object = None) -> pa.Table:
    if lines is None:
        lines = pa.array([], pa.int64())
    if access and "__valid" not in table.column_names:
        valid = valid_mask(table.column("subject_id"))
        table = table.append_column("__valid", pa.array(valid, pa.bool_()))
    return table.append_column("__line", pa.array(lines, pa.int64()))


def _stage_once(
    con: duckdb.DuckDBPyConnection,
    item: DatasetFile,
    out: Path,
    progress: Progress | None,
    chunk_rows: int,
) -> np.ndarray | None:
    """Stage every chunk; for look-ups, return hash(system, event_id) of every usable row
    (uint64, for finding repeated keys without reading the staged files again)."""
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
        # The subject ids' checksums are computed in the reading thread, ahead.
        prepare = _with_valid if access else None
        chunks = ((c.table, c.lines) for c in iter_chunks(stream, chunk_rows, prepare))
    number = 0
    keys: list[np.ndarray] = []
    sink = None if access else _RefSink(item.spec, out)
    if sink is not None:
        select = sink.select(select)
    try:
        with _Background() as background:
            for table, lines in chunks:
                _stage_chunk(con, table, lines, number, out, select, raws, sink, background, keys)
                number += 1
                if progress:
                    progress(item.name, stream.lines_done or stream.rows, total or stream.rows)
            if number == 0:  # no rows: one empty file keeps the later queries simple
                table = _empty_chunk(item)
                empty = np.zeros(0, dtype=np.int64)
                _stage_chunk(con, table, empty, 0, out, select, raws, sink, background, keys)
    finally:
        if sink is not None:
            sink.close()
    if access and not any((out / "good").rglob("*.parquet")):
        # every row failed: an empty file gives the later queries their columns
        target = out / "good" / "empty.parquet"
        select = select_sql(item.spec, set(stream.columns), item.name)
        con.register("chunk", _with_line(_empty_chunk(item), True))
        run(con, f"COPY (SELECT {ACCESS_COLUMNS} FROM ({select}) LIMIT 0) TO {lit(str(target))}")
        con.unregister("chunk")
    if not access:
        return None
    return np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)


def _stage_chunk(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    lines: object,
    number: int,
    out: Path,
    select: str,
    raws: str,
    sink: _RefSink | None,
    background: _Background,
    keys: list[np.ndarray],
) -> None:
    table = _with_line(table, sink is None, lines)
    con.register("chunk", table)
    try:
        good = out / "good"
        if sink is None:
            rows = con.sql(
                f"SELECT {ACCESS_COLUMNS}, hash(system, event_id) AS __key FROM ({select}) "
                "WHERE problems IS NULL"
            ).to_arrow_table()
            keys.append(rows.column("__key").to_numpy())
            rows = rows.drop_columns(["__key"])
            written = rows.num_rows
            background.submit(write_partitions, rows, good, f"c{number:05d}")
        else:
            rows = con.sql(sink.usable(select)).to_arrow_table()
            written = rows.num_rows
            background.submit(sink.write, rows)
        if written < table.num_rows:  # some rows failed: computed again, for them only
            run(
                con,
                f"COPY (SELECT s.*, r.* EXCLUDE (__line) FROM ({select}) s JOIN ({raws}) r "
                "ON r.__line = s.source_line WHERE s.problems IS NOT NULL) "
                f"TO {lit(str(out / 'bad' / f'c{number:05d}.parquet'))} (FORMAT parquet)",
            )
    finally:
        con.unregister("chunk")
