"""Second pass: stream a CSV / CSV.gz / Parquet file as Arrow tables of strings, each row with
the physical line it starts on.

Line numbers: pyarrow parses serially (use_threads=False, which is not slower for all-string
columns) and numbers every record it rejects (wrong column count); blank lines are kept as
all-empty rows (ignore_empty_lines=False) and dropped here. A record's first line is one plus
the lines of all records before it, where a record spans 1 + (newlines inside its quoted
values) lines — so line numbers stay right even with quoted newlines, computed vectorised.
A lone CR as line terminator (classic Mac) is not counted as a new line.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from menshen.dataset.errors import DatasetError, Problem
from menshen.dataset.scan import ScanResult, open_bytes
from menshen.dataset.validate import Shortcuts

MIN_BLOCK = 16 << 20


@dataclass
class Rejected:
    """A record that could not be split into the header's columns."""

    line: int
    text: str
    reason: str


@dataclass
class Chunk:
    table: pa.Table  # every column a string, names as in the header
    lines: np.ndarray  # int64, physical line of each row
    shortcuts: Shortcuts | None = None  # what validating its cells may skip (stage's prepare)


@dataclass
class FileStream:
    """Iterates Chunks; `rejected`, `blank_lines` and `lines_done` fill in as it goes."""

    path: Path
    scan: ScanResult | None
    columns: list[str]
    rejected: list[Rejected] = field(default_factory=list)
    blank_lines: int = 0
    rows: int = 0
    lines_done: int = 0
    # Newlines inside quoted values are rare: counting them costs a scan of every cell, so
    # the first read assumes none and `lines_consistent` tells whether to read again.
    count_newlines: bool = False
    # The same assumption for pyarrow's chunker: without `newlines_in_values` it cuts blocks
    # at the last newline instead of lexing every byte for quotes (parsing costs less than
    # half). A cut inside a quoted value makes pyarrow fail ("out of sync with chunker"):
    # then QuotedNewlines is raised and the file is read again with quote-aware chunking.
    # Where no cut falls inside a quoted value, the rows are the same either way.
    quoted_newlines: bool = False

    @property
    def lines_consistent(self) -> bool:
        return self.scan is None or self.count_newlines or self.lines_done == self.scan.lines

    def reset(self, count_newlines: bool, quoted_newlines: bool = True) -> None:
        self.rejected.clear()
        self.blank_lines = self.rows = self.lines_done = 0
        self.count_newlines = count_newlines
        self.quoted_newlines = quoted_newlines or count_newlines

    @property
    def is_parquet(self) -> bool:
        return self.path.name.endswith(".parquet")


class QuotedNewlines(Exception):
    """The file must be read again with quote-aware chunking (see FileStream)."""


class _PatchedStream:
    """A read-only stream that replaces quote characters in one byte range by spaces, so an
    unterminated quote damages only its own line (which is quarantined)."""

    def __init__(self, raw: BinaryIO, span: tuple[int, int]):
        self.raw = raw
        self.start, self.end = span
        self.pos = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        lo, hi = max(self.start, self.pos), min(self.end, self.pos + len(data))
        if lo < hi:
            buf = bytearray(data)
            a, b = lo - self.pos, hi - self.pos
            buf[a:b] = bytes(buf[a:b]).replace(b'"', b" ")
            data = bytes(buf)
        self.pos += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
        self.raw.close()


def _newline_counts(batch: pa.RecordBatch) -> np.ndarray:
    total = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        if pc.any(pc.match_substring(column, "\n")).as_py():
            total += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
    return total


def _blank_mask(batch: pa.RecordBatch) -> np.ndarray | None:
    """Rows whose every cell is empty (blank lines), or None when there are none."""
    mask = None
    for column in batch.columns:
        empty = pc.equal(column, "")
        if not pc.any(empty).as_py():
            return None
        mask = empty if mask is None else pc.and_(mask, empty)
    if mask is None or not pc.any(mask).as_py():
        return None
    return mask.to_numpy(zero_copy_only=False)


def _iter_csv(stream: FileStream, chunk_rows: int) -> Iterator[Chunk]:
    scan = stream.scan
    assert scan is not None and scan.header is not None
    ncols = len(scan.header)
    names = [f"c{i}" for i in range(ncols)]
    skipped: list[tuple[int, str, int]] = []  # (record number, text, columns found)

    def on_invalid(row: pacsv.InvalidRow) -> str:
        skipped.append((int(row.number or 0), row.text, int(row.actual_columns)))
        return "skip"

    block = max(MIN_BLOCK, 2 * scan.max_line + 1024)
    if scan.bad_quote_span is not None:
        source: object = _PatchedStream(open_bytes(stream.path), scan.bad_quote_span)
    elif stream.path.name.endswith(".gz"):
        source = pa.CompressedInputStream(pa.OSFile(str(stream.path)), "gzip")
    else:
        source = pa.OSFile(str(stream.path))
    utf8 = scan.encoding in ("utf-8", "utf-8-sig")
    optimistic = not stream.quoted_newlines
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(
                use_threads=False,
                block_size=block,
                skip_rows=1,
                column_names=names,
                encoding="utf8" if utf8 else scan.encoding,
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=not optimistic,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                # The first pass validated every byte of a UTF-8 file (scan_csv): no second
                # check. A file in another encoding is transcoded by pyarrow, and checked.
                check_utf8=not utf8,
            ),
        )
    except pa.ArrowInvalid:
        if optimistic:
            raise QuotedNewlines from None
        raise
    next_record = 2  # pyarrow numbers records from 1, the header being record 1
    next_line = 2
    pending: list[pa.RecordBatch] = []
    pending_lines: list[np.ndarray] = []
    pending_rows = 0

    def place(n_valid: int, newlines: np.ndarray) -> np.ndarray:
        """Lines of the next n_valid accepted records; files the rejected ones in between.
        With n_valid == 0, files every rejected record still pending (end of file)."""
        nonlocal next_record, next_line
        skipped.sort()
        numbers = np.array([s[0] for s in skipped], dtype=np.int64)
        if n_valid:
            # The k-th accepted record is the k-th integer >= next_record not in `numbers`.
            wanted = next_record + np.arange(n_valid, dtype=np.int64)
            if numbers.size:
                shifted = numbers - np.arange(numbers.size, dtype=np.int64)
                wanted = wanted + np.searchsorted(shifted, wanted, side="right")
            end = int(wanted[-1])
        else:
            wanted = np.zeros(0, dtype=np.int64)
            end = int(numbers.max()) if numbers.size else next_record - 1
        take = [s for s in skipped if s[0] <= end]
        span = end - next_record + 1
        if span <= 0:
            return wanted
        extra = np.zeros(span, dtype=np.int64)
        extra[wanted - next_record] = newlines
        for number, text, _ in take:
            extra[number - next_record] = text.count("\n")
        starts = next_line + np.concatenate(([0], np.cumsum(1 + extra)[:-1])).astype(np.int64)
        for number, text, actual in take:
            line = int(starts[number - next_record])
            if text.strip():
                reason = _column_count_reason(actual, ncols)
                stream.rejected.append(Rejected(line, text, reason))
            else:
                stream.blank_lines += 1
        skipped[:] = [s for s in skipped if s[0] > end]
        result = starts[wanted - next_record]
        next_line = int(starts[-1] + 1 + extra[-1])
        next_record = end + 1
        stream.lines_done = next_line - 1
        return result

    try:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            if stream.count_newlines:
                newlines = _newline_counts(batch)
            else:
                newlines = np.zeros(batch.num_rows, dtype=np.int64)
            lines = place(batch.num_rows, newlines)
            blank = _blank_mask(batch)
            if blank is not None:
                stream.blank_lines += int(blank.sum())
                batch = batch.filter(pa.array(~blank))
                lines = lines[~blank]
            if scan.bad_quote_line is not None:
                batch, lines = _take_line(stream, batch, lines, scan.bad_quote_line)
            if batch.num_rows == 0:
                continue
            pending.append(batch)
            pending_lines.append(lines)
            pending_rows += batch.num_rows
            if pending_rows >= chunk_rows:
                yield _flush(pending, pending_lines, scan.header)
                pending, pending_lines, pending_rows = [], [], 0
        place(0, np.zeros(0, dtype=np.int64))
    except pa.ArrowInvalid as exc:
        if optimistic:
            raise QuotedNewlines from None  # read again, quote-aware: the same error, if real
        raise DatasetError(
            Problem(
                stream.path.name, next_line, None, None, f"CSV 無法解析 / unparseable CSV: {exc}"
            )
        ) from None
    if pending:
        yield _flush(pending, pending_lines, scan.header)
    if scan.bad_quote_line is not None:
        _force_bad_quote(stream, scan.bad_quote_line)


def _column_count_reason(actual: int, expected: int) -> str:
    return (
        f"欄位數不符：應為 {expected} 欄，實為 {actual} 欄 / wrong number of columns: "
        f"expected {expected}, got {actual}"
    )


def _take_line(
    stream: FileStream, batch: pa.RecordBatch, lines: np.ndarray, line: int
) -> tuple[pa.RecordBatch, np.ndarray]:
    """Move the row on `line` (where an unterminated quote opens) to the rejected rows."""
    hit = np.flatnonzero(lines == line)
    if not hit.size:
        return batch, lines
    index = int(hit[0])
    assert stream.scan is not None
    text = stream.scan.bad_quote_text
    stream.rejected.append(Rejected(line, text, UNTERMINATED))
    keep = np.ones(len(lines), dtype=bool)
    keep[index] = False
    return batch.filter(pa.array(keep)), lines[keep]


UNTERMINATED = "引號未閉合 / unterminated quote"


def _force_bad_quote(stream: FileStream, line: int) -> None:
    for item in stream.rejected:
        if item.line == line:
            item.reason = UNTERMINATED


def _flush(batches: list[pa.RecordBatch], lines: list[np.ndarray], header: list[str]) -> Chunk:
    table = pa.Table.from_batches(batches)
    table = table.rename_columns(_unique(header))
    return Chunk(table, np.concatenate(lines))


def _unique(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in header:
        if name in seen:
            seen[name] += 1
            result.append(f"{name}__{seen[name]}")
        else:
            seen[name] = 0
            result.append(name or "__blank")
    return result


def _iter_parquet(stream: FileStream, chunk_rows: int) -> Iterator[Chunk]:
    try:
        parquet = pq.ParquetFile(stream.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DatasetError(
            Problem(
                stream.path.name,
                None,
                None,
                None,
                f"Parquet 檔無法讀取 / unreadable Parquet: {exc}",
            )
        ) from None
    row = 1
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        arrays = []
        for column in batch.columns:
            if pa.types.is_timestamp(column.type) and column.type.tz is not None:
                local = column.cast(pa.timestamp(column.type.unit, tz="Asia/Taipei"))
                column = pc.cast(pc.local_timestamp(local), pa.string())
            elif not pa.types.is_string(column.type):
                column = pc.cast(column, pa.string())
            arrays.append(pc.fill_null(column, ""))
        table = pa.Table.from_arrays(arrays, names=_unique([n.lower() for n in batch.schema.names]))
        lines = np.arange(row, row + batch.num_rows, dtype=np.int64)
        row += batch.num_rows
        yield Chunk(table, lines)


def parquet_header(path: Path) -> list[str]:
    try:
        return [name.lower() for name in pq.read_schema(path).names]
    except (pa.ArrowInvalid, OSError) as exc:
        raise DatasetError(
            Problem(path.name, None, None, None, f"Parquet 檔無法讀取 / unreadable Parquet: {exc}")
        ) from None


def iter_chunks(
    stream: FileStream,
    chunk_rows: int = 500_000,
    prepare: Callable[[Chunk], Chunk] | None = None,
) -> Iterator[Chunk]:
    """Chunks of the file, read ahead in a background thread (pyarrow parses without the GIL,
    so parsing the next chunk overlaps with processing this one). `prepare`, when given, runs
    on each chunk in that thread too."""
    source = (
        _iter_parquet(stream, chunk_rows) if stream.is_parquet else _iter_csv(stream, chunk_rows)
    )
    if prepare is not None:
        source = (prepare(chunk) for chunk in source)
    box: queue.Queue[object] = queue.Queue(maxsize=1)
    done = object()

    def produce() -> None:
        try:
            for chunk in source:
                box.put(chunk)
            box.put(done)
        except BaseException as exc:  # handed to the consumer
            box.put(exc)

    thread = threading.Thread(target=produce, name=f"read-{stream.path.name}", daemon=True)
    thread.start()
    while True:
        item = box.get()
        if item is done:
            break
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, Chunk)
        stream.rows += item.table.num_rows
        yield item
    thread.join()
