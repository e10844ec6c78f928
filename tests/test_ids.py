"""Taiwan national ids and resident certificate numbers (menshen.ids)."""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from menshen import ids


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("A123456789", "national"),
        ("a123456789", "national"),  # compared case-insensitively
        ("  A123456789 ", "national"),  # after trimming
        ("F131104093", "national"),
        ("A800000014", "resident_new"),  # the anchor's example of the 2021 form
        ("AC01234567", "resident_old"),
    ],
)
def test_valid_ids_and_their_kind(value: str, kind: str) -> None:
    assert ids.is_valid(value)
    assert ids.kind(value) == kind


@pytest.mark.parametrize(
    "value",
    [
        "A123456788",  # wrong check digit
        "A323456789",  # second digit 3 is no kind of id
        "A12345678",  # too short
        "A1234567890",  # too long
        "1123456789",  # no letter
        "AE01234567",  # old resident form allows A-D as second letter only
        "A12345678X",
        "",
        None,
        "Ａ123456789",  # full-width letter
    ],
)
def test_invalid_ids(value: object) -> None:
    assert not ids.is_valid(value)
    assert ids.kind(value) is None


def test_letter_values_follow_the_official_table() -> None:
    # I=34, O=35, W=32, Z=33 are the irregular ones
    assert [ids.LETTER_VALUES[c] for c in "IOWZ"] == [34, 35, 32, 33]
    assert sorted(ids.LETTER_VALUES.values()) == list(range(10, 36))


def test_generated_ids_pass_the_checksum_and_have_the_requested_kind() -> None:
    rng = random.Random(7)
    for _ in range(500):
        national = ids.generate_national_id(rng, sex="F")
        assert ids.kind(national) == "national" and national[1] == "2"
        new = ids.generate_resident_id(rng, form="new", sex="M")
        assert ids.kind(new) == "resident_new" and new[1] == "8"
        old = ids.generate_resident_id(rng, form="old")
        assert ids.kind(old) == "resident_old" and old[1] in "ABCD"


def test_changing_any_digit_breaks_the_checksum() -> None:
    rng = random.Random(3)
    value = ids.generate_national_id(rng)
    for position in range(2, 10):
        digit = int(value[position])
        altered = value[:position] + str((digit + 1) % 10) + value[position + 1 :]
        assert not ids.is_valid(altered)


def test_mask_shows_three_characters_at_each_end() -> None:
    assert ids.mask("A123456789") == "A12****789"
    assert ids.mask(" a123456789") == "A12****789"
    assert ids.mask("AB1") == "***"


def test_normalize_trims_and_upper_cases() -> None:
    assert ids.normalize("  a123456789\t") == "A123456789"
    assert ids.normalize(None) == ""


def test_valid_mask_handles_nulls_chunks_and_padding() -> None:
    array = pa.chunked_array([["A123456789", None], [" a800000014 ", "A123456788", "x"]])
    assert ids.valid_mask(array).tolist() == [True, False, True, False, False]
    assert ids.valid_mask([]).tolist() == []


@pytest.mark.parametrize(
    "pad", [" ", "\t", "\r\n", "\x0b", "\x1c", "\x1f", "\x85", "\xa0", "\u3000"]
)
@pytest.mark.parametrize("ascii_only", [True, False])
def test_valid_mask_trims_what_python_strips(pad: str, ascii_only: bool) -> None:
    """ASCII and non-ASCII columns take different paths; both trim like str.strip()."""
    values = [pad + "a123456789" + pad, pad + "A123456788", "A800000014"]
    if not ascii_only:
        values.append("Ａ１２３４５６７８９")  # full-width: never valid
    assert ids.valid_mask(values).tolist() == [ids.is_valid(v) for v in values]


ID_LIKE = st.one_of(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcd0123456789 ", min_size=0, max_size=12),
    st.builds(
        lambda letter, second, rest: letter + second + rest,
        st.sampled_from(sorted(ids.LETTER_VALUES)),
        st.sampled_from("12389ABCDE"),
        st.text(alphabet="0123456789", min_size=8, max_size=8),
    ),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ID_LIKE, max_size=40))
def test_valid_mask_agrees_with_is_valid(values: list[str | None]) -> None:
    assert ids.valid_mask(values).tolist() == [ids.is_valid(v) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(ID_LIKE, min_size=1, max_size=30))
def test_duckdb_expression_agrees_with_is_valid(values: list[str | None]) -> None:
    con = duckdb.connect()
    table = pa.table({"v": pa.array(values, pa.string())})
    con.register("t", table)
    got = [row[0] for row in con.execute(f"SELECT {ids.duckdb_valid_sql('v')} FROM t").fetchall()]
    assert got == [ids.is_valid(v) for v in values]
