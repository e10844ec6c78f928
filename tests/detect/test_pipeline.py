"""Reference tables as the pipeline loads them: repeated keys (an export that lists a person
twice) must not multiply look-ups in joins, nor lose the rows that come after the repeat;
dictionary-encoded columns read as their values."""

from __future__ import annotations

import pyarrow as pa

from menshen.detect.pipeline import _dedupe
from menshen.detect.schema import conform


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


def test_a_dictionary_encoded_column_reads_as_its_values(engine) -> None:
    """A store run reads the large reference tables' columns of few values dictionary-encoded
    (run.FEW_VALUES); conform keeps them so and both engines read them as text."""
    table = pa.table({"kind": pa.array(["job", None, "job", "case"]).dictionary_encode()})
    kept = conform(table, pa.schema([("kind", pa.string())]))
    assert pa.types.is_dictionary(kept.schema.field("kind").type)
    t = engine.load("kinds", kept)
    assert t.kind.type().is_string()
    got = engine.to_arrow(t.filter(t.kind == "job").select(n=t.kind.length()))
    assert got.column("n").to_pylist() == [3, 3]
