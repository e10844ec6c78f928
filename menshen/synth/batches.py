"""Column batches of look-ups and business records, built vectorised and concatenated per day.

Times are int64 seconds since 1970-01-01 of Asia/Taipei wall-clock time (naive)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

ACTIONS = ("query", "view", "print", "export", "list")


@dataclass
class Events:
    t: np.ndarray  # int64 seconds
    system: np.ndarray  # int8 index into SYSTEM_CODES
    account: np.ndarray  # int32 index into the account list
    subject: pa.Array  # string
    action: np.ndarray  # int8 index into ACTIONS
    purpose: np.ndarray  # int16 index into PURPOSES, -1 = none
    text: np.ndarray  # int16 index into the free-text table, -1 = none
    ref: pa.Array  # string, nullable
    result: np.ndarray  # int32
    misuse: np.ndarray  # int8
    scenario: np.ndarray  # int16 index into SCENARIOS
    incident: pa.Array  # string, nullable

    def __len__(self) -> int:
        return len(self.t)

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        parts = [p for p in parts if len(p)]
        if not parts:
            return empty_events()
        out = {}
        for f in fields(Events):
            values = [getattr(p, f.name) for p in parts]
            if isinstance(values[0], np.ndarray):
                out[f.name] = np.concatenate(values)
            else:
                out[f.name] = pa.concat_arrays([v.cast(pa.string()) for v in values])
        return Events(**out)

    def take(self, index: np.ndarray) -> Events:
        out = {}
        idx = pa.array(index)
        for f in fields(Events):
            value = getattr(self, f.name)
            out[f.name] = value[index] if isinstance(value, np.ndarray) else value.take(idx)
        return Events(**out)


def empty_events() -> Events:
    return Events(
        t=np.zeros(0, np.int64), system=np.zeros(0, np.int8), account=np.zeros(0, np.int32),
        subject=pa.array([], pa.string()), action=np.zeros(0, np.int8),
        purpose=np.zeros(0, np.int16), text=np.zeros(0, np.int16),
        ref=pa.array([], pa.string()), result=np.zeros(0, np.int32),
        misuse=np.zeros(0, np.int8), scenario=np.zeros(0, np.int16),
        incident=pa.array([], pa.string()),
    )  # fmt: skip


def make_events(
    t: np.ndarray,
    system: np.ndarray | int,
    account: np.ndarray | int,
    subject: pa.Array,
    purpose: np.ndarray | int,
    scenario: np.ndarray | int,
    *,
    ref: pa.Array | None = None,
    action: np.ndarray | int = 0,
    text: np.ndarray | int = -1,
    result: np.ndarray | int = 1,
    misuse: int = 0,
    incident: str | None = None,
) -> Events:
    n = len(t)

    def full(value: np.ndarray | int, dtype: type) -> np.ndarray:
        if isinstance(value, np.ndarray):
            return value.astype(dtype)
        return np.full(n, value, dtype=dtype)

    return Events(
        t=np.asarray(t, dtype=np.int64),
        system=full(system, np.int8),
        account=full(account, np.int32),
        subject=subject,
        action=full(action, np.int8),
        purpose=full(purpose, np.int16),
        text=full(text, np.int16),
        ref=ref if ref is not None else pa.nulls(n, pa.string()),
        result=full(result, np.int32),
        misuse=np.full(n, misuse, dtype=np.int8),
        scenario=full(scenario, np.int16),
        incident=pa.array([incident] * n, pa.string()) if incident else pa.nulls(n, pa.string()),
    )


@dataclass
class Records:
    record_id: pa.Array
    kind: np.ndarray  # int16 index into RECORD_KIND_CODES
    subject: pa.Array
    staff: np.ndarray  # int32 staff index, -1 = only the unit is known
    unit: np.ndarray  # int32
    opened: np.ndarray  # int64 seconds
    closed: np.ndarray  # int64 seconds, -1 = still open

    def __len__(self) -> int:
        return len(self.opened)

    @staticmethod
    def concat(parts: list[Records]) -> Records | None:
        parts = [p for p in parts if len(p)]
        if not parts:
            return None
        out = {}
        for f in fields(Records):
            values = [getattr(p, f.name) for p in parts]
            if isinstance(values[0], np.ndarray):
                out[f.name] = np.concatenate(values)
            else:
                out[f.name] = pa.concat_arrays(values)
        return Records(**out)
