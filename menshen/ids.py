"""Taiwan person ids: national ids and both forms of resident certificate numbers.

- National id (國民身分證統一編號): letter + 9 digits, 2nd digit 1 (male) or 2 (female).
- New resident certificate (新式統一證號, from 2021-01-02): same shape, 2nd digit 8 or 9.
- Old resident certificate (舊式統一證號, valid until 2031-01-01): two letters + 8 digits,
  second letter A-D.

The checksum: the first letter's two-digit value, then the second character's digit (for the
old form, the last digit of the second letter's value), then the remaining 8 digits; weights
1,9,8,7,6,5,4,3,2,1,1; the sum is a multiple of 10.
"""

from __future__ import annotations

import random
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LETTER_VALUES: dict[str, int] = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34,
    "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25,
    "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30, "Y": 31, "Z": 33,
}  # fmt: skip
WEIGHTS = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)
# Letters of issuing areas still in use for new ids (several are historic only).
CURRENT_AREA_LETTERS = "ABCDEFGHJKMNPQTUVWXZ"
OLD_RESIDENT_SECOND = "ABCD"

IdKind = Literal["national", "resident_new", "resident_old"]

_LETTER_TABLE = np.full(256, -1, dtype=np.int16)
for _letter, _value in LETTER_VALUES.items():
    _LETTER_TABLE[ord(_letter)] = _value


def normalize(value: object) -> str:
    """Trim and upper-case, as the interchange format compares ids."""
    if value is None:
        return ""
    return str(value).strip().upper()


def _digits(value: str) -> list[int] | None:
    """The 11 digits the checksum weighs, or None when the shape is wrong."""
    if len(value) != 10 or value[0] not in LETTER_VALUES:
        return None
    first = LETTER_VALUES[value[0]]
    second = value[1]
    rest = value[2:]
    if not rest.isascii() or not rest.isdigit():
        return None
    if second in "1289":
        second_digit = int(second)
    elif second in OLD_RESIDENT_SECOND:
        second_digit = LETTER_VALUES[second] % 10
    else:
        return None
    return [first // 10, first % 10, second_digit, *map(int, rest)]


def kind(value: object) -> IdKind | None:
    """Which kind of id this is, or None when it is not a valid id of any kind."""
    text = normalize(value)
    digits = _digits(text)
    if digits is None or sum(d * w for d, w in zip(digits, WEIGHTS, strict=True)) % 10:
        return None
    if text[1] in "12":
        return "national"
    if text[1] in "89":
        return "resident_new"
    return "resident_old"


def is_valid(value: object) -> bool:
    return kind(value) is not None


def mask(value: object) -> str:
    """Display form: first three and last three characters, `A12****789`."""
    text = normalize(value)
    if len(text) <= 6:
        return "*" * len(text)
    return f"{text[:3]}{'*' * (len(text) - 6)}{text[-3:]}"


def _check_digit(prefix: str) -> str:
    """The last digit that makes `prefix` (9 characters) a valid id."""
    digits = _digits(prefix + "0")
    assert digits is not None, prefix
    total = sum(d * w for d, w in zip(digits[:-1], WEIGHTS[:-1], strict=True))
    return str((10 - total % 10) % 10)


def generate_national_id(
    rng: random.Random, sex: Literal["M", "F"] | None = None, letter: str | None = None
) -> str:
    letter = letter or rng.choice(CURRENT_AREA_LETTERS)
    sex_digit = {"M": "1", "F": "2"}.get(sex or rng.choice("MF"))
    prefix = f"{letter}{sex_digit}{rng.randrange(10**7):07d}"
    return prefix + _check_digit(prefix)


def generate_resident_id(
    rng: random.Random, form: Literal["new", "old"] = "new", sex: Literal["M", "F"] | None = None
) -> str:
    letter = rng.choice(CURRENT_AREA_LETTERS)
    sex = sex or rng.choice("MF")
    if form == "new":
        second = "8" if sex == "M" else "9"
    else:
        second = rng.choice("AC") if sex == "M" else rng.choice("BD")
    prefix = f"{letter}{second}{rng.randrange(10**7):07d}"
    return prefix + _check_digit(prefix)


_WEIGHTS_REST = np.array(WEIGHTS[3:], dtype=np.int16)
# The checksum digit of an id's second character: 1, 2, 8, 9 as such; an old resident
# id's letter A-D by its value's last digit; -1 for anything else.
_SECOND_TABLE = np.full(256, -1, dtype=np.int16)
for _char in "1289":
    _SECOND_TABLE[ord(_char)] = int(_char)
for _char in OLD_RESIDENT_SECOND:
    _SECOND_TABLE[ord(_char)] = LETTER_VALUES[_char] % 10


def valid_mask(values: pa.Array | pa.ChunkedArray | list[object]) -> np.ndarray:
    """Vectorised `is_valid` over millions of ids: a boolean numpy array (nulls are False).

    Works on the Arrow buffers directly: values are trimmed and upper-cased in Arrow (the
    ASCII upper-case when every value is ASCII: the same result, a quarter of the work),
    the ten-character ones are viewed as an (n, 10) byte matrix and checked with numpy
    lookup tables.
    """
    if isinstance(values, list):
        values = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    n = len(values)
    result = np.zeros(n, dtype=bool)
    if n == 0:
        return result
    # utf8 trim in both cases: it removes what str.strip() does (\x1c-\x1f included)
    trimmed = pc.utf8_trim_whitespace(values)
    all_ascii = pc.all(pc.string_is_ascii(values), skip_nulls=True).as_py() is not False
    cleaned = pc.ascii_upper(trimmed) if all_ascii else pc.utf8_upper(trimmed)
    lengths = pc.fill_null(pc.binary_length(cleaned), 0).to_numpy(zero_copy_only=False)
    candidates = np.flatnonzero(lengths == 10)
    if candidates.size == 0:
        return result
    ten = cleaned if candidates.size == n else pc.take(cleaned, pa.array(candidates))
    offsets = np.frombuffer(ten.buffers()[1], dtype=np.int32)[
        ten.offset : ten.offset + len(ten) + 1
    ]
    data = np.frombuffer(ten.buffers()[2], dtype=np.uint8)
    chars = data[offsets[0] : offsets[0] + 10 * len(ten)].reshape(len(ten), 10)

    first = _LETTER_TABLE[chars[:, 0]]
    second = _SECOND_TABLE[chars[:, 1]]
    rest = chars[:, 2:] - np.uint8(ord("0"))  # wraps below "0": a non-digit is above 9
    rest_ok = (rest <= 9).all(axis=1)
    total = first // 10 + (first % 10) * 9 + second * 8 + rest.astype(np.int16) @ _WEIGHTS_REST
    result[candidates] = (first >= 0) & (second >= 0) & rest_ok & (total % 10 == 0)
    return result


def duckdb_valid_sql(column: str) -> str:
    """A DuckDB SQL boolean expression that is true when `column` holds a valid id."""
    letters = "".join(sorted(LETTER_VALUES))
    values = ",".join(str(LETTER_VALUES[c]) for c in letters)
    c = f"upper(trim({column}))"
    first = f"([{values}])[strpos('{letters}', substr({c},1,1))]"
    second = (
        f"CASE WHEN substr({c},2,1) IN ('1','2','8','9') THEN TRY_CAST(substr({c},2,1) AS INTEGER) "
        f"WHEN substr({c},2,1) IN ('A','B','C','D') THEN ([{values}])[strpos('{letters}', substr({c},2,1))] % 10 END"
    )
    rest = " + ".join(
        f"TRY_CAST(substr({c},{i + 3},1) AS INTEGER) * {w}"
        for i, w in enumerate((7, 6, 5, 4, 3, 2, 1, 1))
    )
    return (
        f"(CASE WHEN coalesce(regexp_full_match({c}, '[A-Z][1289A-D][0-9]{{8}}'), false) THEN "
        f"coalesce((({first}) // 10 + (({first}) % 10) * 9 + ({second}) * 8 + {rest}) % 10 = 0, false)"
        " ELSE false END)"
    )
