"""Vectorised validation and normalisation of one chunk, as one DuckDB SELECT.

The chunk is an Arrow table of strings (empty cell = '') with `__line` (physical line) and,
for look-ups, `__valid` (subject id checksum from menshen.ids.valid_mask). The SELECT yields
the normalised, typed columns of docs/architecture.md, `source_line`, and `problems`: NULL
for a usable row, else a list of "column\\x1fvalue\\x1freason" strings — every problem of the
row, not only the first. Raw cells are kept (`raw_<column>`) only for rows with problems, for
the quarantine file.
"""

from __future__ import annotations

from menshen.dataset.schema import Column, FileSpec

SEP = "\x1f"
TS_RE = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?"
TS_OR_DATE_RE = (
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?"
)
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


def typed_expr(col: Column, raw: str, access: bool = False) -> str:
    trimmed = f"trim({raw})"
    if col.type == "id":
        return f"nullif(upper({trimmed}), '')"
    if col.type == "timestamp":
        pattern = TS_RE if access else TS_OR_DATE_RE
        return (
            f"CASE WHEN regexp_full_match({trimmed}, {lit(pattern)}) "
            f"THEN try_cast(replace({trimmed}, ',', '.') AS TIMESTAMPTZ)::TIMESTAMP END"
        )
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


def problem_exprs(col: Column, raw: str, typed: str) -> list[str]:
    trimmed = f"trim({raw})"
    head = lit(col.name + SEP) + f" || {raw} || " + lit(SEP)
    checks: list[str] = []
    if col.required:
        checks.append(f"CASE WHEN {trimmed} = '' THEN {head} || {lit(MISSING)} END")
    if col.type in REASONS:
        checks.append(
            f"CASE WHEN {trimmed} <> '' AND ({typed}) IS NULL THEN {head} || {lit(REASONS[col.type])} END"
        )
    if col.type == "enum":
        allowed = ", ".join(map(lit, col.choices))
        reason = f"不是允許的值 / not one of: {', '.join(col.choices)}"
        checks.append(
            f"CASE WHEN {trimmed} <> '' AND lower({trimmed}) NOT IN ({allowed}) "
            f"THEN {head} || {lit(reason)} END"
        )
    return checks


def select_sql(spec: FileSpec, present: set[str], source_file: str, relation: str = "chunk") -> str:
    """The SELECT that validates and normalises a chunk of `spec` rows."""
    access = spec.table == "access"
    outputs: list[str] = []
    checks: list[str] = []
    typed: dict[str, str] = {}
    for col in spec.columns:
        raw = _raw(col, present)
        expr = typed_expr(col, raw, access=access)
        typed[col.name] = expr
        checks.extend(problem_exprs(col, raw, expr))
    problems = f"list_filter([{', '.join(checks)}], lambda x: x IS NOT NULL)"
    if access:
        ts = typed["occurred_at"]
        hash_parts = []
        for col in spec.columns:
            if col.name == "occurred_at":
                hash_parts.append(
                    f"coalesce(strftime(t.{q('occurred_at')}, '%Y-%m-%dT%H:%M:%S.%f'), '')"
                )
            else:
                hash_parts.append(f"coalesce(CAST(t.{q(col.name)} AS VARCHAR), '')")
        outputs = [
            f"{typed['system']} AS system",
            f"{typed['event_id']} AS event_id",
            f"{ts} AS occurred_at",
            f"{typed['account']} AS account",
            f"{typed['subject_id']} AS subject_id",
            "__valid AS subject_id_valid",
            *(
                f"{typed[n]} AS {q(n)}"
                for n in (
                    "action",
                    "purpose_code",
                    "purpose_text",
                    "record_ref",
                    "terminal",
                    "result_count",
                )
            ),
        ]
        inner = (
            f"SELECT {', '.join(outputs)}, __line AS source_line, {problems} AS problem_list, "
            f"{', '.join(_raw(c, present) + ' AS ' + q('in_' + c.name) for c in spec.columns)} FROM {relation}"
        )
        return (
            "SELECT t.system, t.event_id, t.occurred_at, CAST(t.occurred_at AS DATE) AS occurred_date, "
            "t.account, t.subject_id, t.subject_id_valid, t.action, t.purpose_code, t.purpose_text, "
            "t.record_ref, t.terminal, t.result_count, "
            f"sha256(concat_ws(chr(31), {', '.join(hash_parts)})) AS row_hash, "
            f"{lit(source_file)} AS source_file, t.source_line, "
            "CASE WHEN len(t.problem_list) > 0 THEN t.problem_list END AS problems, "
            + ", ".join(
                f"CASE WHEN len(t.problem_list) > 0 THEN t.{q('in_' + c.name)} END AS {q('raw_' + c.name)}"
                for c in spec.columns
            )
            + f" FROM ({inner}) t"
        )
    cols = ", ".join(f"{typed[c.name]} AS {q(c.name)}" for c in spec.columns)
    raws = ", ".join(f"{_raw(c, present)} AS {q('in_' + c.name)}" for c in spec.columns)
    inner = (
        f"SELECT {cols}, __line AS source_line, {problems} AS problem_list, {raws} FROM {relation}"
    )
    outer_raw = ", ".join(
        f"CASE WHEN len(t.problem_list) > 0 THEN t.{q('in_' + c.name)} END AS {q('raw_' + c.name)}"
        for c in spec.columns
    )
    names = ", ".join(f"t.{q(c.name)}" for c in spec.columns)
    return (
        f"SELECT {names}, t.source_line, "
        "CASE WHEN len(t.problem_list) > 0 THEN t.problem_list END AS problems, "
        f"{outer_raw} FROM ({inner}) t"
    )


def split_problem(text: str) -> tuple[str, str, str]:
    """(column, value, reason) of one encoded problem."""
    column, value, reason = ([*text.split(SEP, 2), "", ""])[:3]
    return column, value, reason
