"""Taiwanese person names and vectorised id generation for the synthetic population.

Surname weights follow the rough shares of the most common surnames in Taiwan (陳 about
11%, 林 8%, 黃 6% ...). Given names are one or two characters drawn from pools that are
common in Taiwan. Everything here is synthetic.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from menshen.ids import CURRENT_AREA_LETTERS, LETTER_VALUES

SURNAMES: tuple[tuple[str, float], ...] = (
    ("陳", 11.1), ("林", 8.3), ("黃", 6.0), ("張", 5.3), ("李", 5.1), ("王", 4.1),
    ("吳", 4.0), ("劉", 3.2), ("蔡", 2.9), ("楊", 2.6), ("許", 2.3), ("鄭", 1.9),
    ("謝", 1.9), ("郭", 1.7), ("洪", 1.6), ("曾", 1.4), ("邱", 1.4), ("廖", 1.3),
    ("賴", 1.3), ("周", 1.2), ("徐", 1.1), ("蘇", 1.1), ("葉", 1.1), ("莊", 1.0),
    ("呂", 1.0), ("江", 0.9), ("何", 0.9), ("蕭", 0.9), ("羅", 0.9), ("高", 0.8),
    ("潘", 0.7), ("簡", 0.7), ("朱", 0.7), ("鍾", 0.7), ("游", 0.6), ("彭", 0.6),
    ("詹", 0.6), ("施", 0.5), ("胡", 0.5), ("沈", 0.5), ("余", 0.5), ("盧", 0.5),
    ("梁", 0.5), ("趙", 0.5), ("顏", 0.5), ("柯", 0.5), ("翁", 0.4), ("魏", 0.4),
    ("孫", 0.4), ("戴", 0.4), ("范", 0.4), ("方", 0.4), ("宋", 0.4), ("鄧", 0.3),
    ("杜", 0.3), ("傅", 0.3), ("侯", 0.3), ("曹", 0.3), ("薛", 0.3), ("丁", 0.3),
    ("卓", 0.3), ("阮", 0.2), ("馬", 0.2), ("董", 0.2), ("温", 0.2), ("唐", 0.2),
    ("藍", 0.2), ("石", 0.2), ("蔣", 0.2), ("古", 0.2), ("紀", 0.2), ("姚", 0.2),
    ("連", 0.2), ("馮", 0.2), ("歐", 0.2), ("程", 0.2), ("湯", 0.2), ("涂", 0.1),
)  # fmt: skip

GIVEN_MALE = [
    "志明",
    "俊傑",
    "建宏",
    "家豪",
    "冠宇",
    "承翰",
    "宗翰",
    "柏翰",
    "宇軒",
    "彥廷",
    "冠廷",
    "哲瑋",
    "信宏",
    "文彬",
    "國華",
    "育成",
    "政達",
    "明哲",
    "書豪",
    "子翔",
    "品睿",
    "家維",
    "承恩",
    "宥辰",
    "禹晨",
    "昱安",
    "俊宏",
    "志偉",
    "建志",
    "凱文",
    "正雄",
    "金龍",
    "永福",
    "榮輝",
    "振宇",
    "柏宏",
]
GIVEN_FEMALE = [
    "淑芬",
    "美玲",
    "怡君",
    "雅婷",
    "佳穎",
    "欣怡",
    "雅雯",
    "淑惠",
    "秀英",
    "麗華",
    "宜蓁",
    "詩涵",
    "佩珊",
    "婉婷",
    "惠如",
    "筱涵",
    "思妤",
    "芷瑜",
    "心怡",
    "靜宜",
    "子晴",
    "語彤",
    "品妍",
    "沛慈",
    "采潔",
    "雅琪",
    "佳蓉",
    "郁婷",
    "秀蘭",
    "美惠",
    "玉珍",
    "麗娟",
    "惠雯",
    "宜庭",
    "欣妤",
    "家瑜",
]

_SURNAME_CHARS = np.array([s for s, _ in SURNAMES])
_SURNAME_P = np.array([w for _, w in SURNAMES], dtype=float)
_SURNAME_P /= _SURNAME_P.sum()


def surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    return _SURNAME_CHARS[rng.choice(len(_SURNAME_CHARS), size=n, p=_SURNAME_P)]


def full_names(rng: np.random.Generator, sex: np.ndarray, family: np.ndarray) -> pa.Array:
    """zh-TW full names: surname + a given name matching `sex` ("M"/"F"); now and then the
    given name mixes two common names, or is a single character."""
    n = len(sex)
    male = np.array(GIVEN_MALE)
    female = np.array(GIVEN_FEMALE)
    is_f = sex == "F"
    pool_a = np.where(
        is_f, female[rng.integers(0, len(female), n)], male[rng.integers(0, len(male), n)]
    )
    pool_b = np.where(
        is_f, female[rng.integers(0, len(female), n)], male[rng.integers(0, len(male), n)]
    )
    first = pc.utf8_slice_codeunits(pa.array(pool_a), 0, 1)
    second_a = pc.utf8_slice_codeunits(pa.array(pool_a), 1, 2)
    second_b = pc.utf8_slice_codeunits(pa.array(pool_b), 1, 2)
    roll = rng.random(n)
    second = pc.if_else(pa.array(roll < 0.25), second_b, second_a)
    second = pc.if_else(pa.array(roll > 0.95), pa.scalar(""), second)
    return pc.binary_join_element_wise(pa.array(family), first, second, "")


def _check_digits(letters: np.ndarray, second: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """Check digits for ids letter + second digit + 7-digit serial (all numpy)."""
    table = np.zeros(128, dtype=np.int64)
    for letter, value in LETTER_VALUES.items():
        table[ord(letter)] = value
    codes = np.frombuffer(letters.astype("U1").tobytes(), dtype=np.uint32).astype(np.int64)
    values = table[codes]
    total = (values // 10) + (values % 10) * 9 + second.astype(np.int64) * 8
    weights = (7, 6, 5, 4, 3, 2, 1)
    rest = serial.astype(np.int64)
    for position, weight in enumerate(weights):
        digit = (rest // 10 ** (6 - position)) % 10
        total = total + digit * weight
    return (10 - total % 10) % 10


def format_ids(letters: np.ndarray, second: np.ndarray, serial: np.ndarray) -> pa.Array:
    """Build checksum-valid ids (letter, second digit 1/2/8/9, 7-digit serial)."""
    check = _check_digits(letters, second, serial)
    number = second.astype(np.int64) * 10**8 + serial.astype(np.int64) * 10 + check
    digits = pc.utf8_lpad(pa.array(number).cast(pa.string()), 9, "0")
    return pc.binary_join_element_wise(pa.array(letters), digits, "")


def unique_ids(
    rng: np.random.Generator, sex: np.ndarray, resident_share: float = 0.025
) -> pa.Array:
    """Distinct national ids (and a few new-form resident certificate numbers) for people
    of the given sexes. Area letters are drawn from those in current use."""
    n = len(sex)
    letters_pool = np.array(list(CURRENT_AREA_LETTERS))
    # Encode (letter, serial) as one integer so duplicates can be removed cheaply.
    space = len(letters_pool) * 10**7
    draw = np.unique(rng.integers(0, space, int(n * 1.02) + 16))
    while len(draw) < n:  # pragma: no cover - astronomically unlikely
        draw = np.unique(np.concatenate([draw, rng.integers(0, space, n)]))
    draw = rng.permutation(draw)[:n]
    letters = letters_pool[draw // 10**7]
    serial = draw % 10**7
    resident = rng.random(n) < resident_share
    is_f = sex == "F"
    second = np.where(resident, np.where(is_f, 9, 8), np.where(is_f, 2, 1))
    return format_ids(letters, second, serial)
