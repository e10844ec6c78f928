"""Staging one file: every chunk validated and normalised by DuckDB (2 threads) and written
by pyarrow in a writer thread while the next chunk is read and validated:
- look-ups into <work>/access/good/date=YYYY-MM-DD/ (partitioned, file order within a date),
  and their key index into <work>/access/index.parquet (KeyIndex);
- a reference file into <work>/<table>/rows.parquet (its columns, zstd) and, row for row,
  <work>/<table>/keys.parquet (source_line, 16-byte row hash);
- failing rows into <work>/<table>/bad/ (problems plus the cells as read).
See docs/store.md, "How ingest is fast"."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from menshen.dataset.files import DatasetFile
from menshen.dataset.reader import Chunk, QuotedNewlines, iter_chunks
from menshen.dataset.schema import FileSpec
from menshen.dataset.validate import Shortcuts, chunk_shortcuts, lit, q, raw_sql, select_sql
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


_HEX_DIGITS = b"0123456789abcdef"
# Two hex characters (read as one native uint16) → their byte: one look-up per byte.
_HEX_PAIRS = np.zeros(1 << 16, dtype=np.uint8)
for _high, _h in enumerate(_HEX_DIGITS):
    for _low, _l in enumerate(_HEX_DIGITS):
        _HEX_PAIRS[np.frombuffer(bytes([_h, _l]), dtype=np.uint16)[0]] = _high * 16 + _low


def hex_to_binary16(hashes: pa.Array | pa.ChunkedArray) -> pa.Array:
    """32-character lower-case hex strings (the look-ups' MD5 `row_hash`, as DuckDB's md5()
    gives them) as 16-byte values, in numpy."""
    if isinstance(hashes, pa.ChunkedArray):
        hashes = hashes.combine_chunks()
    count = len(hashes)
    if not pa.types.is_string(hashes.type):
        hashes = pc.cast(hashes, pa.string())
    offsets = np.frombuffer(hashes.buffers()[1], dtype=np.int32)[hashes.offset :]
    start = int(offsets[0])
    end = int(offsets[count])
    if end - start != 32 * count or hashes.null_count:
        raise ValueError("row hashes must be 32 hex characters")
    data = np.frombuffer(hashes.buffers()[2], dtype=np.uint8)[start:end]
    raw = _HEX_PAIRS[data.view(np.uint16)] if count else np.zeros(0, dtype=np.uint8)
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), count, [None, pa.py_buffer(raw.tobytes())]
    )


# Keys hashed into every key index's metadata: DuckDB's hash() is not promised to stay the
# same across versions, and an index whose keys were hashed differently must not be used
# (its keys would match nothing, and a repeated look-up would be stored again).
KEY_HASH_META = b"menshen_key_hash"
_PROBES = (
    ("", ""),
    ("A", "1"),
    ("PKN", "PKN202610050000001"),
    ("戶政", "事件-０１"),
    ("x" * 15, "y" * 16),
    ("s" * 40, "e" * 100),
)


def key_hash_probe(con: duckdb.DuckDBPyConnection) -> str:
    """hash(system, event_id) of a few fixed keys, as the connection computes it (JSON)."""
    values = ", ".join(f"hash({lit(a)}, {lit(b)})" for a, b in _PROBES)
    [(hashes,)] = con.execute(f"SELECT [{values}]").fetchall()
    return json.dumps([int(h) for h in hashes])


class KeyIndex:
    """The key index of the look-ups of a file: for every usable row, in staging order,
    `key` = hash(system, event_id) (uint64), `row_hash` (its MD5, 16 bytes) and
    `source_line`. Written as the rows come (<work>/access/index.parquet); it becomes the
    batch's index/access-keys.parquet, so that a later ingest checks its keys against the
    store by reading only these files (menshen.store.dedup). Its metadata holds
    `key_hash_probe` (KEY_HASH_META)."""

    def __init__(self, path: Path, probe: str):
        self.path = path
        self.probe = probe
        self.writer: pq.ParquetWriter | None = None

    def write(self, keys: np.ndarray, rows: pa.Table) -> None:
        table = pa.table(
            {
                "key": pa.array(keys, pa.uint64()),
                "row_hash": hex_to_binary16(rows.column("row_hash")),
                "source_line": rows.column("source_line"),
            }
        )
        if self.writer is None:
            schema = table.schema.with_metadata({KEY_HASH_META: self.probe.encode()})
            self.writer = pq.ParquetWriter(
                self.path, schema, compression="snappy", use_dictionary=False
            )
        self.writer.write_table(table, row_group_size=1 << 20)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _write_lookups(
    rows: pa.Table, folder: Path, stem: str, index: KeyIndex, keys: np.ndarray
) -> None:
    write_partitions(rows, folder, stem)
    index.write(keys, rows)


def run(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    """Execute and fetch everything (DuckDB refuses new work while a result is pending)."""
    return con.execute(sql).fetchall()


def stage_file(
    con: duckdb.DuckDBPyConnection,
    item: DatasetFile,
    out: Path,
    progress: Progress | None,
    chunk_rows: int,
) -> Staged:
    """Stage the file; read it a second time, counting newlines inside quoted values, when
    the first read shows there are some (rare, and it keeps line numbers right) — or, with
    quote-aware chunking, when the first read's cheap chunking cut a quoted value."""
    try:
        keys = _stage_once(con, item, out, progress, chunk_rows)
    except QuotedNewlines:  # a block of the cheap chunking ended inside a quoted value
        shutil.rmtree(out)
        item.stream.reset(count_newlines=False, quoted_newlines=True)
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
        key = ", ".join(q(k) for k in self.spec.key) or "NULL"
        return (
            f"SELECT {columns}, source_line, __row_hash, hash({key}) AS __key FROM ({select}) "
            "WHERE problems IS NULL"
        )

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


def _at_least_one(
    chunks: Iterable[tuple[pa.Table, object, Shortcuts | None]], item: DatasetFile
) -> Iterator[tuple[pa.Table, object, Shortcuts | None]]:
    """The chunks, or one empty chunk when there are none: the later queries need a file."""
    empty = True
    for chunk in chunks:
        empty = False
        yield chunk
    if empty:
        yield _empty_chunk(item), np.zeros(0, dtype=np.int64), None


def _with_valid(chunk: Chunk) -> Chunk:
    valid = valid_mask(chunk.table.column("subject_id"))
    table = chunk.table.append_column("__valid", pa.array(valid, pa.bool_()))
    return Chunk(table, chunk.lines, chunk.shortcuts)


def _with_line(table: pa.Table, access: bool, lines: object = None) -> pa.Table:
    if lines is None:
        lines = pa.array([], pa.int64())
    if access and "__valid" not in table.column_names:
        valid = valid_mask(table.column("subject_id"))
        table = table.append_column("__valid", pa.array(valid, pa.bool_()))
    return table.append_column("__line", pa.array(lines, pa.int64()))


@dataclass
class Staged:
    """What staging collected of the usable rows, so that they need not be read again:
    the hash of every row's key (look-ups: hash(system, event_id); a reference table:
    hash of its key columns; uint64) and, for a reference table, the row hashes."""

    keys: np.ndarray
    row_hashes: list[pa.Array] = field(default_factory=list)


def _stage_once(
    con: duckdb.DuckDBPyConnection,
    item: DatasetFile,
    out: Path,
    progress: Progress | None,
    chunk_rows: int,
) -> Staged:
    """Stage every chunk; return the key hashes (and row hashes) of the usable rows."""
    (out / "good").mkdir(parents=True)
    (out / "bad").mkdir()
    stream = item.stream
    access = item.spec.table == "access"
    total = stream.scan.lines if stream.scan is not None else 0
    present = set(stream.columns)
    raws = raw_sql(item.spec, present)
    sink = None if access else _RefSink(item.spec, out)
    selects: dict[Shortcuts, str] = {}

    def select_for(shortcuts: Shortcuts) -> str:
        """The chunk's SELECT, with the shortcuts its cells allow (a few variants a file)."""
        if shortcuts not in selects:
            select = select_sql(item.spec, present, item.name, shortcuts=shortcuts)
            selects[shortcuts] = select if sink is None else sink.select(select)
        return selects[shortcuts]

    def prepare(chunk: Chunk) -> Chunk:
        # In the reading thread, ahead: the shortcuts and the subject ids' checksums.
        chunk = _with_valid(chunk) if access else chunk
        chunk.shortcuts = chunk_shortcuts(item.spec, chunk.table)
        return chunk

    if item.calendar_chunk is not None:
        chunks = [(item.calendar_chunk.table, item.calendar_chunk.lines, Shortcuts())]
    else:
        chunks = ((c.table, c.lines, c.shortcuts) for c in iter_chunks(stream, chunk_rows, prepare))
    number = 0
    keys: list[np.ndarray] = []
    row_hashes: list[pa.Array] = []
    index = KeyIndex(out / "index.parquet", key_hash_probe(con)) if access else None
    # DuckDB then returns a chunk's rows in their order (no extra cost for this filter and
    # projection), so the writers need not sort them back by line (a take of every column).
    run(con, "SET preserve_insertion_order=true")
    try:
        with _Background() as background:
            for table, lines, shortcuts in _at_least_one(chunks, item):
                _stage_chunk(
                    con, table, lines, number, out, select_for(shortcuts or Shortcuts()), raws,
                    sink, index, background, keys, row_hashes,
                )  # fmt: skip
                number += 1
                if progress:
                    progress(item.name, stream.lines_done or stream.rows, total or stream.rows)
    finally:
        run(con, "SET preserve_insertion_order=false")
        if sink is not None:
            sink.close()
        if index is not None:
            index.close()
    if access and not any((out / "good").rglob("*.parquet")):
        # every row failed: an empty file gives the later queries their columns
        target = out / "good" / "empty.parquet"
        select = select_sql(item.spec, set(stream.columns), item.name)
        con.register("chunk", _with_line(_empty_chunk(item), True))
        run(con, f"COPY (SELECT {ACCESS_COLUMNS} FROM ({select}) LIMIT 0) TO {lit(str(target))}")
        con.unregister("chunk")
    return Staged(np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64), row_hashes)


def _stage_chunk(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    lines: object,
    number: int,
    out: Path,
    select: str,
    raws: str,
    sink: _RefSink | None,
    index: KeyIndex | None,
    background: _Background,
    keys: list[np.ndarray],
    row_hashes: list[pa.Array],
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
            key = rows.column("__key").to_numpy()
            keys.append(key)
            rows = rows.drop_columns(["__key"])
            written = rows.num_rows
            assert index is not None
            background.submit(_write_lookups, rows, good, f"c{number:05d}", index, key)
        else:
            rows = con.sql(sink.usable(select)).to_arrow_table()
            keys.append(rows.column("__key").to_numpy())
            row_hashes.extend(rows.column("__row_hash").chunks)
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
