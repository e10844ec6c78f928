"""The interchange format, version 1: which files a dataset has, their columns and types.

See shared/docs/interchange-format.md (the contract with source systems) and
docs/architecture.md (the normalised types in the evidence store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["str", "id", "timestamp", "date", "int", "float", "enum", "bool"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "str"
    required: bool = False
    choices: tuple[str, ...] = ()
    default: str | None = None  # value used when the cell is empty (enums)


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset. `table` is the name in the store (ref/<table>.parquet)."""

    table: str
    required: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


ACTIONS = ("query", "view", "print", "export", "list")
EMPLOYMENT = ("permanent", "contract", "temporary")
SENSITIVITY = ("low", "medium", "high")
RELATIONS = (
    "spouse",
    "ex_partner",
    "parent",
    "child",
    "sibling",
    "relative",
    "household",
    "friend",
    "other",
)
SCOPES = ("person", "household")

C = Column

ACCESS = FileSpec(
    "access",
    True,
    (
        C("event_id", "str", True),
        C("occurred_at", "timestamp", True),
        C("system", "str", True),
        C("account", "str", True),
        C("subject_id", "id", True),
        C("action", "enum", choices=ACTIONS, default="query"),
        C("purpose_code"),
        C("purpose_text"),
        C("record_ref"),
        C("terminal"),
        C("result_count", "int"),
    ),
    key=("system", "event_id"),
)

REFERENCE: tuple[FileSpec, ...] = (
    FileSpec(
        "staff",
        True,
        (
            C("staff_id", "str", True),
            C("name", "str", True),
            C("national_id", "id"),
            C("unit_id", "str", True),
            C("title"),
            C("employment", "enum", choices=EMPLOYMENT),
            C("supervisor_id"),
            C("active_from", "date"),
            C("active_to", "date"),
        ),
        key=("staff_id",),
    ),
    FileSpec(
        "units",
        True,
        (C("unit_id", "str", True), C("name", "str", True), C("parent_unit_id")),
        key=("unit_id",),
    ),
    FileSpec(
        "accounts",
        True,
        (
            C("system", "str", True),
            C("account", "str", True),
            C("staff_id", "str", True),
            C("granted_at", "timestamp"),
            C("revoked_at", "timestamp"),
        ),
    ),
    FileSpec(
        "systems",
        True,
        (
            C("system", "str", True),
            C("name", "str", True),
            C("sensitivity", "enum", True, choices=SENSITIVITY),
        ),
        key=("system",),
    ),
    FileSpec(
        "purposes",
        True,
        (
            C("system", "str", True),
            C("purpose_code", "str", True),
            C("description"),
            C("evidence_kind"),
            C("window_before_days", "int"),
            C("window_after_days", "int"),
            C("allowed_units"),
            C("scope", "enum", choices=SCOPES, default="person"),
        ),
        key=("system", "purpose_code"),
    ),
    FileSpec(
        "records",
        False,
        (
            C("record_id", "str", True),
            C("kind", "str", True),
            C("subject_id", "id", True),
            C("staff_id"),
            C("unit_id"),
            C("opened_at", "timestamp", True),
            C("closed_at", "timestamp"),
        ),
        key=("record_id",),
    ),
    FileSpec(
        "persons",
        False,
        (C("person_id", "id", True), C("name"), C("household_id"), C("address_code")),
        key=("person_id",),
    ),
    FileSpec(
        "relations",
        False,
        (
            C("staff_id", "str", True),
            C("person_id", "id", True),
            C("relation", "enum", True, choices=RELATIONS),
        ),
    ),
    FileSpec(
        "watchlist",
        False,
        (C("person_id", "id", True), C("category"), C("note")),
    ),
    FileSpec(
        "calendar",
        False,
        (C("date", "date", True), C("is_workday", "bool", True), C("note")),
        key=("date",),
        notes="also accepts the official 西元日期,星期,是否放假,備註 CSV",
    ),
    FileSpec(
        "office_hours",
        False,
        (C("unit_id", "str", True), C("start", "str", True), C("end", "str", True)),
        key=("unit_id",),
    ),
    FileSpec(
        "staff_risk",
        False,
        (C("staff_id", "str", True), C("weight", "float", True), C("until", "date")),
    ),
)

ALL_FILES: tuple[FileSpec, ...] = (ACCESS, *REFERENCE)
SPECS: dict[str, FileSpec] = {spec.table: spec for spec in ALL_FILES}
# Never ingested: ground truth of synthetic datasets, read by evaluation only.
IGNORED_FILES = ("labels",)
SUFFIXES = (".csv", ".csv.gz", ".parquet")
