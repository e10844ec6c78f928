"""Vectorised validation and normalisation of one chunk, as one DuckDB SELECT.

The chunk is an Arrow table of strings (empty cell = '') with `__line` (physical line) and,
for look-ups, `__valid` (subject id checksum from menshen.ids.valid_mask). The SELECT yields
the normalised, typed columns of docs/architecture.md, `source_line`, and `problems`: NULL
for a usable row, else a list of "column\\x1fvalue\\x1freason" strings — every problem of the
row, not only the first. The cells of failing rows, as read, come from `raw_sql` (for the
quarantine file).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from menshen.dataset.schema import Column, FileSpec

SEP = "\x1f"
DATE_RE = r"\d{4}-\d{2}-\d{2}"
TRUE_WORDS = ("1", "true", "yes", "y", "t")
FALSE_WORDS = ("0", "false", "no", "n", "f")

MISSING = "缺少必填值 / missing required value"
REASONS = {
    "timestamp": "時間格式錯誤，應為 ISO 8601（如 2025-03-03T09:15:00 或加上時區 +08:00）/ "
    "not an ISO 8601 timestamp (e.g. 2025-03-03T09:15:00, optionally with an offset)",
    "date": "日期格式錯誤，應為 YYYY-MM-DD / not a date (YYYY-MM-DD)",
    "int": "應為整數 / not an integer",
    "float": "應為數字 / not a number",
    "bool": "應為 1 或 0 / not a boolean (1/0, true/false)",
}


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _raw(col: Column, present: set[str]) -> str:
    return q(col.name) if col.name in present else "''"


def trim_expr(cell: str) -> str:
    """`trim(cell)`, called only for the cells that may need it: trim() copies every string,
    and a cell with a space at either end is rare. DuckDB's trim() removes the Unicode space
    separators (U+0020, U+00A0, U+1680, U+2000–U+200A, U+202F, U+205F, U+3000 — the
    full-width space too), so the test, byte-wise and cheap, is a superset: the first byte
    below '!' or non-ASCII; a trailing ' '; or a non-ASCII last character (only looked at
    when the cell has non-ASCII characters at all)."""
    test = (
        f"{cell} < '!' OR {cell} >= chr(128) OR suffix({cell}, ' ') "
        f"OR (strlen({cell}) <> length({cell}) AND right({cell}, 1) >= chr(128))"
    )
    return f"CASE WHEN {test} THEN trim({cell}) ELSE {cell} END"


def timestamp_expr(text: str, time_required: bool) -> str:
    """ISO 8601 → naive Asia/Taipei wall-clock TIMESTAMP, NULL when unparseable.

    A cheap shape test (YYYY-MM-DD[T ]HH:MM…) refuses what DuckDB's lenient cast would take
    (2025/03/03, 3/3/2025); the cast checks the rest (month 13, 30 February). Values with an
    offset (Z, +08:00, -0500) are cast in UTC (the connection's time zone) and moved to
    Taipei time: UTC+8 all year, without daylight saving since 1980."""
    # Characters 5 and 8 '-', 11 'T' or ' ', 14 ':' (LIKE's '_' is one character, as are
    # substr's positions; LIKE costs half of four substr calls). strlen counts bytes, which
    # differs from characters only for non-ASCII text, which the cast refuses anyway.
    shape = (
        f"({text} LIKE '____-__-__T__:%' OR {text} LIKE '____-__-__ __:%') "
        f"AND strlen({text}) BETWEEN 16 AND 40"
    )
    if not time_required:
        shape = f"(({shape}) OR (strlen({text}) = 10 AND {text} LIKE '____-%'))"
    tail = f"substr({text}, 17)"
    has_offset = f"(ends_with({text}, 'Z') OR contains({tail}, '+') OR contains({tail}, '-'))"
    dotted = f"CASE WHEN contains({text}, ',') THEN replace({text}, ',', '.') ELSE {text} END"
    return (
        f"CASE WHEN NOT ({shape}) THEN NULL WHEN {has_offset} "
        f"THEN try_cast({dotted} AS TIMESTAMPTZ)::TIMESTAMP + INTERVAL 8 HOUR "
        f"ELSE try_cast({dotted} AS TIMESTAMP) END"
    )


def typed_expr(col: Column, raw: str, access: bool = False) -> str:
    """The typed value of a cell; `raw` is the cell already trimmed."""
    trimmed = raw
    if col.type == "id":
        return f"nullif(upper({trimmed}), '')"
    if col.type == "timestamp":
        return timestamp_expr(trimmed, time_required=access)
    if col.type == "date":
        return (
            f"CASE WHEN regexp_full_match({trimmed}, {lit(DATE_RE)}) "
            f"THEN try_strptime({trimmed}, '%Y-%m-%d')::DATE END"
        )
    if col.type == "int":
        return f"try_cast(nullif({trimmed}, '') AS BIGINT)"
    if col.type == "float":
        return f"try_cast(nullif({trimmed}, '') AS DOUBLE)"
    if col.type == "bool":
        words_true = ", ".join(map(lit, TRUE_WORDS))
        words_false = ", ".join(map(lit, FALSE_WORDS))
        return (
            f"CASE WHEN lower({trimmed}) IN ({words_true}) THEN true "
            f"WHEN lower({trimmed}) IN ({words_false}) THEN false END"
        )
    if col.type == "enum":
        value = f"nullif(lower({trimmed}), '')"
        return f"coalesce({value}, {lit(col.default)})" if col.default else value
    return f"nullif({trimmed}, '')"


def problem_checks(col: Column, raw: str, typed: str) -> list[tuple[str, str]]:
    """(condition, encoded problem) pairs for one column (`raw` already trimmed)."""
    trimmed = raw
    head = lit(col.name + SEP) + f" || {raw} || " + lit(SEP)
    checks: list[tuple[str, str]] = []
    if col.required:
        checks.append((f"{trimmed} = ''", f"{head} || {lit(MISSING)}"))
    if col.type in REASONS:
        checks.append(
            (f"{trimmed} <> '' AND ({typed}) IS NULL", f"{head} || {lit(REASONS[col.type])}")
        )
    if col.type == "enum":
        allowed = ", ".join(map(lit, col.choices))
        reason = f"不是允許的值 / not one of: {', '.join(col.choices)}"
        checks.append(
            (f"{trimmed} <> '' AND lower({trimmed}) NOT IN ({allowed})", f"{head} || {lit(reason)}")
        )
    return checks


@dataclass(frozen=True)
class Shortcuts:
    """What a chunk's cells allow the SELECT to skip, decided from its Arrow buffers
    (`chunk_shortcuts`); each shortcut gives the very values of the full expression.
    `untrimmed`: columns where no cell could be changed by trim_expr (no cell starts with a
    byte below '!' or a non-ASCII one, none ends with a space or a non-ASCII byte — a
    superset of trim_expr's own test), so the cell is used as it is. `plain_timestamps`:
    columns among those whose every non-empty cell is 19 ASCII bytes shaped
    YYYY-MM-DD[T ]HH:MM:SS with no 'Z', '+', '-' in the seconds and no comma: for such a
    cell, timestamp_expr is `try_cast(cell AS TIMESTAMP)` (shape test true, no offset, no
    comma), and for an empty one both are NULL."""

    untrimmed: frozenset[str] = frozenset()
    plain_timestamps: frozenset[str] = frozenset()


def _string_parts(column: pa.ChunkedArray | pa.Array) -> list[tuple[np.ndarray, np.ndarray]]:
    """(offsets, data bytes) of each piece of a string column without nulls; [] when the
    column is of another type or has nulls (no shortcut is taken then)."""
    pieces = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for piece in pieces:
        if not pa.types.is_string(piece.type) or piece.null_count:
            return []
        offsets = np.frombuffer(piece.buffers()[1], dtype=np.int32)[
            piece.offset : piece.offset + len(piece) + 1
        ]
        data = piece.buffers()[2]
        parts.append(
            (offsets, np.frombuffer(data, dtype=np.uint8) if data else np.zeros(0, np.uint8))
        )
    return parts


def _untrimmed(parts: list[tuple[np.ndarray, np.ndarray]]) -> bool:
    for offsets, data in parts:
        starts, ends = offsets[:-1], offsets[1:]
        full = ends > starts  # an empty cell is '' trimmed or not
        first = data[starts[full]]
        last = data[ends[full] - 1]
        if np.any((first < 0x21) | (first >= 0x80) | (last == 0x20) | (last >= 0x80)):
            return False
    return True


_TS_FIXED = ((4, ord("-")), (7, ord("-")), (13, ord(":")))


def _plain_timestamps(parts: list[tuple[np.ndarray, np.ndarray]]) -> bool:
    for offsets, data in parts:
        lengths = np.diff(offsets)
        full = int(np.count_nonzero(lengths))
        if full == 0:
            continue
        if np.any((lengths != 0) & (lengths != 19)):
            return False
        # Non-empty cells of 19 bytes each are one contiguous block: a (cells, 19) view.
        cells = data[int(offsets[0]) : int(offsets[-1])].reshape(full, 19)
        if np.any(cells >= 0x80) or np.any(cells == ord(",")):
            return False
        if any(np.any(cells[:, at] != byte) for at, byte in _TS_FIXED):
            return False
        separator = cells[:, 10]
        if np.any((separator != ord("T")) & (separator != ord(" "))):
            return False
        tail = cells[:, 16:]
        if np.any((tail == ord("+")) | (tail == ord("-")) | (tail == ord("Z"))):
            return False
    return True


def chunk_shortcuts(spec: FileSpec, table: pa.Table) -> Shortcuts:
    """The Shortcuts a chunk (Arrow table of strings, as read) allows."""
    untrimmed = set()
    plain = set()
    for col in spec.columns:
        if col.name not in table.column_names:
            continue
        parts = _string_parts(table.column(col.name))
        if not parts or not _untrimmed(parts):
            continue
        untrimmed.add(col.name)
        if col.type == "timestamp" and _plain_timestamps(parts):
            plain.add(col.name)
    return Shortcuts(frozenset(untrimmed), frozenset(plain))


def select_sql(
    spec: FileSpec,
    present: set[str],
    source_file: str,
    relation: str = "chunk",
    shortcuts: Shortcuts | None = None,
) -> str:
    """The SELECT that validates and normalises a chunk of `spec` rows.

    Three layers, so that nothing is computed twice: the cells trimmed (`t__<column>`), the
    typed values, then the checks, which refer to both by name. `problems` is built only for
    failing rows (CASE evaluates lazily): a clean row pays one boolean per check.
    `shortcuts` (from chunk_shortcuts on the chunk it is run on) drops the trim test and the
    timestamp shape tests where the chunk's cells cannot need them: same values, less work."""
    access = spec.table == "access"
    cut = shortcuts or Shortcuts()

    def trimmed_name(col: Column) -> str:
        return q("t__" + col.name) if col.name in present else "''"

    checks: list[tuple[str, str]] = []  # (condition, problem text)
    for col in spec.columns:
        checks.extend(problem_checks(col, trimmed_name(col), q(col.name)))
    failing = " OR ".join(f"({cond})" for cond, _ in checks) or "false"
    listed = ", ".join(f"CASE WHEN {cond} THEN {text} END" for cond, text in checks)
    problems = (
        f"CASE WHEN {failing} THEN list_filter([{listed}], lambda x: x IS NOT NULL) END AS problems"
    )
    extra = ", __valid" if access else ""
    used = sorted(c.name for c in spec.columns if c.name in present)
    cells = "".join(
        f"{q(name) if name in cut.untrimmed else trim_expr(q(name))} AS {q('t__' + name)}, "
        for name in used
    )
    layer0 = f"SELECT {cells}__line{extra} FROM {relation}"

    def typed_value(c: Column) -> str:
        if c.name in cut.plain_timestamps and c.name in present:
            return f"try_cast({trimmed_name(c)} AS TIMESTAMP)"
        return typed_expr(c, trimmed_name(c), access=access)

    typed = ", ".join(f"{typed_value(c)} AS {q(c.name)}" for c in spec.columns)
    layer1 = f"SELECT *, {typed} FROM ({layer0})"
    names = ", ".join(q(c.name) for c in spec.columns)
    valid = ", __valid AS subject_id_valid" if access else ""
    layer2 = f"SELECT {names}{valid}, __line AS source_line, {problems} FROM ({layer1})"
    if not access:
        return layer2
    # The canonical row: the eleven interchange columns, trimmed (subject_id upper-cased,
    # action defaulted, time normalised), joined by U+001F. MD5 is enough to tell a changed
    # row from a repeated one and costs half of SHA-256 per row; integrity of what is stored
    # rests on the SHA-256 of every file in the manifest.
    hash_parts = ", ".join(f"coalesce(CAST({q(c.name)} AS VARCHAR), '')" for c in spec.columns)
    return (
        "SELECT system, event_id, occurred_at, CAST(occurred_at AS DATE) AS occurred_date, "
        "account, subject_id, subject_id_valid, action, purpose_code, purpose_text, record_ref, "
        "terminal, result_count, "
        f"md5(concat_ws(chr(31), {hash_parts})) AS row_hash, "
        f"{lit(source_file)} AS source_file, source_line, problems FROM ({layer2})"
    )


def raw_sql(spec: FileSpec, present: set[str], relation: str = "chunk") -> str:
    """The cells of `relation` as read, named raw_<column>, with `__line`."""
    cells = ", ".join(f"{_raw(c, present)} AS {q('raw_' + c.name)}" for c in spec.columns)
    return f"SELECT __line, {cells} FROM {relation}"


def split_problem(text: str) -> tuple[str, str, str]:
    """(column, value, reason) of one encoded problem."""
    column, value, reason = ([*text.split(SEP, 2), "", ""])[:3]
    return column, value, reason
