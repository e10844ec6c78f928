"""Quarantine files: every unusable row of a source file, with its line and reasons.

Columns: source_line, column, value, reason (the first problem), all_problems (every
problem, `column=value: reason` joined by ` | `), the row's cells as read (raw_<column>), and
raw_text for rows that could not be split into columns. Sorted by line; UTF-8 with a header.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from menshen.dataset.errors import Problem
from menshen.dataset.schema import FileSpec
from menshen.dataset.validate import lit, q, split_problem


def write_quarantine(
    con: duckdb.DuckDBPyConnection,
    spec: FileSpec,
    target: Path,
    source_file: str,
    bad_files: list[Path],
    key: tuple[str, ...],
) -> list[Problem]:
    """Write the quarantine CSV from the staged failing rows (`bad_files`), the `rejected`
    relation and the conflicts in `skip` (rows of `good`, named by their `key` columns);
    return every problem, in line order."""
    raw = ", ".join(f"{q('raw_' + n)}" for n in spec.names)
    null_raw = ", ".join(f"NULL AS {q('raw_' + n)}" for n in spec.names)
    conflict_raw = ", ".join(f"CAST(s.{q(n)} AS VARCHAR) AS {q('raw_' + n)}" for n in spec.names)
    parts = [f"SELECT source_line, problems, {null_raw}, raw_text FROM rejected"]
    if bad_files:
        files = "[" + ", ".join(lit(str(p)) for p in bad_files) + "]"
        parts.append(
            f"SELECT source_line, problems, {raw}, NULL AS raw_text FROM read_parquet({files})"
        )
    if key:
        name = lit("+".join(key))
        value = " || '+' || ".join(f"coalesce(CAST(s.{q(k)} AS VARCHAR), '')" for k in key)
        parts.append(
            f"SELECT s.source_line, [{name} || chr(31) || {value} || chr(31) || k.reason] "
            f"AS problems, {conflict_raw}, NULL AS raw_text FROM good s JOIN skip k "
            "USING (source_line) WHERE k.status = 'conflict'"
        )
    union = " UNION ALL ".join(parts)
    first = "string_split(problems[1], chr(31))"
    described = (
        "list_transform(problems, lambda p: CASE WHEN string_split(p, chr(31))[1] = '' "
        "THEN string_split(p, chr(31))[3] ELSE string_split(p, chr(31))[1] || '=' || "
        "string_split(p, chr(31))[2] || ': ' || string_split(p, chr(31))[3] END)"
    )
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE quarantined AS SELECT source_line, {first}[1] AS "column", '
        f"{first}[2] AS value, {first}[3] AS reason, array_to_string({described}, ' | ') "
        f"AS all_problems, problems, {raw}, raw_text FROM ({union})"
    ).fetchall()
    columns = ", ".join(
        ["source_line", '"column"', "value", "reason", "all_problems", raw, "raw_text"]
    )
    con.execute(
        f"COPY (SELECT {columns} FROM quarantined ORDER BY source_line) TO {lit(str(target))} "
        "(FORMAT csv, HEADER true)"
    ).fetchall()
    problems: list[Problem] = []
    for line, items in con.execute(
        "SELECT source_line, problems FROM quarantined ORDER BY source_line LIMIT 200"
    ).fetchall():
        for text in items:
            column, value, reason = split_problem(text)
            problems.append(Problem(source_file, line, column or None, value, reason))
    return problems


__all__ = ["write_quarantine"]
