"""Arrow schemas of the tables detection reads (docs/architecture.md §1).

Missing optional reference tables become empty tables of these schemas, so every rule can
join them without asking whether they exist.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

TS = pa.timestamp("us")
S = pa.string()

ACCESS_SCHEMA = pa.schema(
    [
        ("system", S),
        ("event_id", S),
        ("occurred_at", TS),
        ("occurred_date", pa.date32()),
        ("account", S),
        ("subject_id", S),
        ("subject_id_valid", pa.bool_()),
        ("action", S),
        ("purpose_code", S),
        ("purpose_text", S),
        ("record_ref", S),
        ("terminal", S),
        ("result_count", pa.int64()),
    ]
)

REF_SCHEMAS: dict[str, pa.Schema] = {
    "staff": pa.schema(
        [
            ("staff_id", S),
            ("name", S),
            ("national_id", S),
            ("unit_id", S),
            ("title", S),
            ("employment", S),
            ("supervisor_id", S),
            ("active_from", pa.date32()),
            ("active_to", pa.date32()),
        ]
    ),
    "units": pa.schema([("unit_id", S), ("name", S), ("parent_unit_id", S)]),
    "accounts": pa.schema(
        [("system", S), ("account", S), ("staff_id", S), ("granted_at", TS), ("revoked_at", TS)]
    ),
    "systems": pa.schema([("system", S), ("name", S), ("sensitivity", S)]),
    "purposes": pa.schema(
        [
            ("system", S),
            ("purpose_code", S),
            ("description", S),
            ("evidence_kind", S),
            ("window_before_days", pa.int64()),
            ("window_after_days", pa.int64()),
            ("allowed_units", S),
            ("scope", S),
        ]
    ),
    "records": pa.schema(
        [
            ("record_id", S),
            ("kind", S),
            ("subject_id", S),
            ("staff_id", S),
            ("unit_id", S),
            ("opened_at", TS),
            ("closed_at", TS),
        ]
    ),
    "persons": pa.schema([("person_id", S), ("name", S), ("household_id", S), ("address_code", S)]),
    "relations": pa.schema([("staff_id", S), ("person_id", S), ("relation", S)]),
    "watchlist": pa.schema([("person_id", S), ("category", S), ("note", S)]),
    "calendar": pa.schema([("date", pa.date32()), ("is_workday", pa.bool_()), ("note", S)]),
    "office_hours": pa.schema([("unit_id", S), ("start", S), ("end", S)]),
    "staff_risk": pa.schema([("staff_id", S), ("weight", pa.float64()), ("until", pa.date32())]),
}

REFERENCE_TABLES = tuple(REF_SCHEMAS)


def _dictionary_of(given: pa.DataType, wanted: pa.DataType) -> bool:
    return pa.types.is_dictionary(given) and given.value_type == wanted


def conform(table: pa.Table | None, schema: pa.Schema) -> pa.Table:
    """`table` with exactly the columns of `schema` (missing ones null, extra ones dropped),
    cast to the schema's types; a dictionary-encoded column of the schema's type stays as it
    is (the engines read it as that type). None gives an empty table."""
    if table is None:
        return schema.empty_table()
    columns: list[Any] = []
    for field in schema:
        if field.name in table.column_names:
            column = table.column(field.name)
            if column.type != field.type and not _dictionary_of(column.type, field.type):
                column = column.cast(field.type)
            columns.append(column)
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    fields = [f.with_type(c.type) for f, c in zip(schema, columns, strict=True)]
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, schema.metadata))


def from_rows(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Build a table of `schema` from dicts (missing keys are null; ISO strings are parsed)."""
    import datetime as dt

    def coerce(value: Any, type_: pa.DataType) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            if pa.types.is_timestamp(type_):
                return dt.datetime.fromisoformat(value)
            if pa.types.is_date32(type_):
                return dt.date.fromisoformat(value)
        if pa.types.is_date32(type_) and isinstance(value, dt.datetime):
            return value.date()
        return value

    data = {f.name: [coerce(r.get(f.name), f.type) for r in rows] for f in schema}
    return pa.table(data, schema=schema)
