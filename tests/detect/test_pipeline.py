"""Reference tables with repeated keys (an export that lists a person twice) must not
multiply look-ups in joins, nor lose the rows that come after the repeat."""

from __future__ import annotations

import pyarrow as pa

from menshen.detect.pipeline import _dedupe


def test_a_repeated_key_keeps_its_first_row_and_every_later_person() -> None:
    persons = pa.table(
        {
            "person_id": ["A1", "B2", "A1", "C3", "D4", "B2", "E5"],
            "name": ["first A", "first B", "again A", "C", "D", "again B", "E"],
        }
    )
    kept = _dedupe(persons, ["person_id"])
    assert kept.column("person_id").to_pylist() == ["A1", "B2", "C3", "D4", "E5"]
    assert kept.column("name").to_pylist() == ["first A", "first B", "C", "D", "E"]


def test_a_table_without_repeats_is_unchanged() -> None:
    units = pa.table({"unit_id": ["U3", "U1", "U2"], "name": ["c", "a", "b"]})
    assert _dedupe(units, ["unit_id"]).equals(units)
