"""Build a `RuleContext`: prepare Arrow tables, load them into an engine, enrich and explain
the look-ups. Engine-agnostic: the engine is passed in (see engine.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from ibis.common.exceptions import IbisError

from menshen.calendar import DayInfo, GovCalendar
from menshen.detect.context import HISTORY_COLUMNS, RuleContext
from menshen.detect.engine import Engine
from menshen.detect.explain import BY_RECORD, ROW_ID, STRONG, explain
from menshen.detect.schema import ACCESS_SCHEMA, REF_SCHEMAS, conform
from menshen.detect.settings import Settings, minutes_of
from menshen.detect.summaries import SUMMARIES

# The columns of RuleContext.lookups, in order (context.py documents them).
LOOKUP_COLUMNS = (
    "system", "event_id", "occurred_at", "occurred_date", "account", "subject_id",
    "subject_id_valid", "action", "purpose_code", "purpose_text", "record_ref", "terminal",
    "result_count", "ts", "local_hour", "local_minute", "weekday", "staff_id", "account_known",
    "account_active", "account_granted_at", "account_revoked_at", "staff_name",
    "staff_national_id", "unit_id", "employment", "supervisor_id", "staff_active",
    "system_name", "sensitivity", "purpose_description", "evidence_kind", "window_before_days",
    "window_after_days", "allowed_units", "purpose_scope", "purpose_known", "unit_allowed",
    "is_workday", "report_date", "day_note", "office_start", "office_end", "in_office_hours",
    "subject_name", "subject_household_id", "subject_address_code", "cited_record_kind",
    "cited_record_subject_id", "cited_record_staff_id", "cited_record_unit_id",
    "cited_record_found", "deliberate", "explanation", "explanation_strength",
    "explanation_record_id", "explained_strong",
)  # fmt: skip


@dataclass(frozen=True)
class Reading:
    """A reference table still being read on another thread (a store run reads its large
    ones while the pipeline is built): its number of rows now, the table from `table()`."""

    rows: int
    future: Future[pa.Table]

    def table(self) -> pa.Table:
        return self.future.result()


@dataclass
class World:
    """Inputs of one detection run: look-ups (history included) and reference tables.

    `access` is an Arrow table, or the store's Parquet files, which the engine reads itself
    (no round trip through Python). `explained`: history that earlier runs explained — the
    explanations tables they stored (Parquet files, see run.EXPLANATION_COLUMNS), each with
    the dates to read from it; those dates' look-ups are not in `access`. `summaries`: the
    same runs' summaries of those dates (menshen.detect.summaries), by name, each file with
    its dates (the same as its batch's explanations). `keys_unique`: the reference tables
    hold one row per key already (the store's do: ingest skips duplicates and conflicts), so
    they need no de-duplication (4.4M records took 3.2 s)."""

    access: pa.Table | list[Path]
    refs: Mapping[str, pa.Table | Reading | None]
    explained: Mapping[Path, Sequence[dt.date]] = field(default_factory=dict)
    summaries: Mapping[str, Mapping[Path, Sequence[dt.date]]] = field(default_factory=dict)
    keys_unique: bool = False

    def ref(self, name: str) -> pa.Table:
        table = self.refs.get(name)
        return conform(table.table() if isinstance(table, Reading) else table, REF_SCHEMAS[name])


def _seconds(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Naive timestamps as int64 seconds of the wall clock (as if it were UTC)."""
    return pc.divide(column.cast(pa.timestamp("us")).cast(pa.int64()), 1_000_000)


def load_access(engine: Engine, access: pa.Table | list[Path]) -> ir.Table:
    """The look-ups as an engine table of exactly ACCESS_SCHEMA's columns (missing ones null)
    and ROW_ID: an int64 unique per look-up, the same in every query (internal: explain's
    joins use it; rules never see it). An Arrow table must have ACCESS_SCHEMA's columns
    already (build_views conforms it)."""
    if not isinstance(access, pa.Table):
        if not access:
            access = ACCESS_SCHEMA.empty_table()
        else:
            t = engine.load_parquet("access", access, row_id=ROW_ID)
            types = ibis.schema(ACCESS_SCHEMA)
            cols = {}
            for name, typ in types.items():
                if name in t.columns:
                    cols[name] = t[name] if t[name].type() == typ else t[name].cast(typ)
                else:
                    cols[name] = ibis.null(typ)
            return t.select(**cols, **{ROW_ID: t[ROW_ID]})
    return engine.load("access", access, row_id=ROW_ID)


# The position of a stored row's file among those read (_stored).
_FILE = "stored_file"


def _stored(engine: Engine, name: str, files: Mapping[Path, Sequence[dt.date]]) -> ir.Table:
    """The rows of the given dates of stored Parquet files, as one table.

    The files are read as one and the (file, date) pairs to keep are a table, not literals in
    the query: its SQL is then the same whichever files and dates a run reads (and is reused
    from the runs before, Engine.compile)."""
    paths = list(files)
    t = engine.load_parquet(name, paths, file_index=_FILE)
    pairs = [(i, day) for i, path in enumerate(paths) for day in sorted(files[path])]
    chosen = engine.load(
        f"{name}_dates",
        pa.table(
            {
                "c_file": pa.array([i for i, _ in pairs], pa.int32()),
                "c_date": pa.array([day for _, day in pairs], pa.date32()),
            }
        ),
    )
    t = t.semi_join(chosen, [t[_FILE] == chosen.c_file, t.occurred_date == chosen.c_date])
    return t.drop(_FILE)


def stored_history(engine: Engine, explained: Mapping[Path, Sequence[dt.date]]) -> ir.Table:
    """The look-ups that earlier runs explained (World.explained): the explanations those
    runs stored, read as they are (unit_id is the user's unit then), with ts and
    explained_strong."""
    t = _stored(engine, "explained", explained)
    return t.mutate(ts=_seconds_of(t.occurred_at), explained_strong=_strong(t.explanation))


def build_summaries(
    engine: Engine, rows: ir.Table, world: World, history: ir.Table | None
) -> dict[str, ir.Table]:
    """Every summary of menshen.detect.summaries over every loaded day. The look-ups loaded
    (`rows`, HISTORY_COLUMNS) are summarised here; the history that earlier runs explained
    is read from their stored summaries (World.summaries), or, for dates without one,
    summarised from its stored look-ups (`history`). Kept: small, and read by several
    rules."""
    out = {}
    for name, summarize in SUMMARIES.items():
        table = summarize(rows)
        types = table.schema()
        files = world.summaries.get(name, {})
        parts = [_stored(engine, f"stored_{name}", files)] if files else []
        covered = {day for dates in files.values() for day in dates}
        missing = sorted({d for ds in world.explained.values() for d in ds} - covered)
        if missing and history is not None:
            parts.append(summarize(history.filter(history.occurred_date.isin(missing))))
        for part in parts:
            table = table.union(part.select(**{c: part[c].cast(types[c]) for c in types}))
        out[name] = engine.defer(name, table)
    return out


def _stored_anchors(
    stored: ir.Table, tables: Mapping[str, ir.Table], settings: Settings, since: dt.date
) -> ir.Table:
    """The stored look-ups from `since` on that a record explains, with their purpose's
    evidence kind: a fresh look-up may continue one of them (explain's `anchors`)."""
    t = stored.filter((stored.occurred_date >= since) & stored.explanation.isin(BY_RECORD))
    t = widen(t, tables, settings, frozenset({"purposes"}))
    return t.select("staff_id", "subject_id", "ts", "evidence_kind", "explanation_record_id")


def _seconds_of(at: ir.TimestampValue) -> ir.IntegerValue:
    """A timestamp as int64 seconds of the wall clock (RuleContext's `ts`)."""
    return at.truncate("s").epoch_seconds().cast("int64")


def _strong(explanation: ir.StringValue) -> ir.BooleanValue:
    """explained_strong: the explanation is one of STRONG (null: not explained)."""
    return explanation.isin(STRONG).fill_null(False)


def prepare_access(access: ir.Table) -> ir.Table:
    """Fill occurred_date, normalise action, and add ts (seconds), local_hour,
    local_minute and weekday (0 = Monday)."""
    at = access.occurred_at
    action = access.action.lower().fill_null("query")
    hour = at.hour()
    return access.mutate(
        occurred_date=access.occurred_date.fill_null(at.date()),
        action=ibis.ifelse(action == "", "query", action),
        ts=_seconds_of(at),
        local_hour=hour.cast("int32"),
        local_minute=(hour * 60 + at.minute()).cast("int32"),
        weekday=at.day_of_week.index().cast("int32"),
    )


def account_periods(accounts: pa.Table) -> pa.Table:
    """Grants made non-overlapping per (system, account): a grant ends at its revocation or
    when the account is granted to someone else. `latest` marks each key's newest grant.

    In (system, account, granted_at) order (nulls as "" and the earliest time; a stable
    sort); each grant is compared with the next."""
    never = pa.scalar(dt.datetime.min, pa.timestamp("us"))
    order = pc.sort_indices(
        pa.table(
            {
                "s": pc.fill_null(accounts.column("system"), ""),
                "a": pc.fill_null(accounts.column("account"), ""),
                "g": pc.fill_null(accounts.column("granted_at").cast(pa.timestamp("us")), never),
            }
        ),
        [("s", "ascending"), ("a", "ascending"), ("g", "ascending")],
    )
    rows = accounts.take(order)
    n = rows.num_rows

    def following(column: str) -> pa.ChunkedArray:
        values = rows.column(column).combine_chunks()
        return pa.chunked_array([values.slice(1), pa.nulls(min(n, 1), values.type)])

    def same(column: str) -> pa.Array:
        # As Python's ==: two nulls are equal, a null and a value are not.
        here, there = rows.column(column), following(column)
        both_null = pc.and_(pc.is_null(here), pc.is_null(there))
        return pc.or_(both_null, pc.fill_null(pc.equal(here, there), False))

    # The last row's "next" is padding, never the same key.
    last = pa.array([i == n - 1 for i in range(n)], pa.bool_())
    same_key = pc.and_(pc.and_(same("system"), same("account")), pc.invert(last))
    nxt = following("granted_at")
    revoked = rows.column("revoked_at")
    cut = pc.and_(
        pc.and_(same_key, pc.is_valid(nxt)),
        pc.or_(pc.is_null(revoked), pc.fill_null(pc.less(nxt, revoked), False)),
    )
    end = pc.if_else(cut, nxt, revoked)
    schema = pa.schema(
        [
            *REF_SCHEMAS["accounts"],
            pa.field("end_at", pa.timestamp("us")),
            pa.field("latest", pa.bool_()),
        ]
    )
    table = conform(rows, REF_SCHEMAS["accounts"])
    table = pa.Table.from_arrays(
        [*table.columns, end.cast(pa.timestamp("us")), pc.invert(same_key)], schema=schema
    )
    return table.append_column("start_ts", _seconds(table.column("granted_at"))).append_column(
        "end_ts", _seconds(table.column("end_at"))
    )


def purpose_units_table(purposes: pa.Table) -> pa.Table:
    """(system, purpose_code, unit_id) for every unit a purpose's allowed_units names."""
    rows: set[tuple[str, str, str]] = set()
    for row in purposes.to_pylist():
        for unit in (row.get("allowed_units") or "").split(";"):
            if unit.strip() and row.get("system") and row.get("purpose_code"):
                rows.add((row["system"], row["purpose_code"], unit.strip()))
    ordered = sorted(rows)
    return pa.table(
        {
            "u_system": pa.array([r[0] for r in ordered], pa.string()),
            "u_code": pa.array([r[1] for r in ordered], pa.string()),
            "u_unit": pa.array([r[2] for r in ordered], pa.string()),
        }
    )


def calendar_table(world: World, start: dt.date, end: dt.date) -> pa.Table:
    overrides: dict[dt.date, DayInfo] = {}
    cal = world.ref("calendar")
    for row in cal.to_pylist():
        if row["date"] is not None and row["is_workday"] is not None:
            overrides[row["date"]] = DayInfo(bool(row["is_workday"]), row["note"] or "")
    return GovCalendar(overrides).as_table(start, end + dt.timedelta(days=31))


def office_hours_table(world: World, settings: Settings) -> pa.Table:
    rows = []
    for i, row in enumerate(world.ref("office_hours").to_pylist(), start=2):
        try:
            rows.append(
                {
                    "oh_unit": row["unit_id"],
                    "office_start": minutes_of(row["start"] or settings.office_start),
                    "office_end": minutes_of(row["end"] or settings.office_end),
                }
            )
        except ValueError as exc:
            raise ValueError(f"office_hours.csv:{i}: {exc}") from None
    schema = pa.schema(
        [("oh_unit", pa.string()), ("office_start", pa.int32()), ("office_end", pa.int32())]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def records_table(rec: pa.Table) -> pa.Table:
    """The records with opened_ts and closed_ts (seconds, as explain compares them)."""
    return rec.append_column("opened_ts", _seconds(rec.column("opened_at"))).append_column(
        "closed_ts", _seconds(rec.column("closed_at"))
    )


def account_holder(t: ir.Table, tables: Mapping[str, ir.Table]) -> ir.Table:
    """staff_id, account_known, account_active, account_granted_at, account_revoked_at: the
    grant of (system, account) that covered the look-up, else the account's latest one."""
    per = tables["account_periods"]
    cover = per.select(
        c_system=per.system, c_account=per.account, c_staff=per.staff_id,
        c_granted=per.granted_at, c_revoked=per.revoked_at, c_start=per.start_ts, c_end=per.end_ts,
    )  # fmt: skip
    t = t.left_join(
        cover,
        [
            t.system == cover.c_system,
            t.account == cover.c_account,
            cover.c_start.isnull() | (cover.c_start <= t.ts),
            cover.c_end.isnull() | (cover.c_end > t.ts),
        ],
    )
    latest = per.filter(per.latest)
    latest = latest.select(
        l_system=latest.system, l_account=latest.account, l_staff=latest.staff_id,
        l_granted=latest.granted_at, l_revoked=latest.revoked_at,
    )  # fmt: skip
    t = t.left_join(latest, [t.system == latest.l_system, t.account == latest.l_account])
    active = t.c_staff.notnull()
    return t.mutate(
        staff_id=ibis.ifelse(active, t.c_staff, t.l_staff),
        account_known=t.l_system.notnull(),
        account_active=active,
        account_granted_at=ibis.ifelse(active, t.c_granted, t.l_granted),
        account_revoked_at=ibis.ifelse(active, t.c_revoked, t.l_revoked),
    ).drop("c_system", "c_account", "c_staff", "c_granted", "c_revoked", "c_start", "c_end",
           "l_system", "l_account", "l_staff", "l_granted", "l_revoked")  # fmt: skip


def _deliberate(t: ir.Table) -> ir.BooleanValue:
    return t.action != "list"


def explain_inputs(t: ir.Table, tables: Mapping[str, ir.Table], settings: Settings) -> ir.Table:
    """The look-ups with the columns explain() reads before its final join (EXPLAIN_INPUTS):
    only the joins they need (the engine would compute every left join of `enrich`, even
    those whose columns are never read). The purpose first: the engine can then filter on
    its columns (household scope, a record needed) before the costlier account joins."""
    t = t.mutate(deliberate=_deliberate(t))
    t = widen(t, tables, settings, frozenset({"purposes"}), extra=(ROW_ID,))
    return widen(account_holder(t, tables), tables, settings, frozenset({"staff"}), extra=(ROW_ID,))


def _office_window(t: ir.Table, settings: Settings) -> tuple[ir.IntegerValue, ir.IntegerValue]:
    """The unit's office hours (minutes of the day) after a join to office_hours; a unit
    without a row has the settings' default hours."""
    return (
        t.office_start.fill_null(minutes_of(settings.office_start)),
        t.office_end.fill_null(minutes_of(settings.office_end)),
    )


def enrich(
    t: ir.Table, tables: Mapping[str, ir.Table], settings: Settings, big_first: bool = False
) -> ir.Table:
    """The per-look-up columns that take a join to compute: the account's holder and grant,
    staff_active, purpose_known, unit_allowed, in_office_hours, the subject's and the cited
    record's columns, and deliberate. Narrow: the descriptive columns of the small reference
    tables (names, texts, purpose windows, the calendar) are attached by `widen`, which
    costs a query only the joins whose columns it reads.

    `big_first`: join the large persons and records tables first, while the engine still
    knows how many look-ups there are. For a day's look-ups (467k at 10M): after the other
    left joins DuckDB estimated them at 213M rows and built its hash tables on the 4.4M
    records and 2M persons (2.3 s of CPU; first: 1.0 s). For many look-ups it is slower: the
    wide rows then go through every later join (the 10M kept table took 28 s against 22)."""
    if big_first:
        t = _subject_and_cited_record(t, tables)
    t = account_holder(t, tables)
    st = tables["staff"]
    st = st.select(s_id=st.staff_id, s_unit=st.unit_id, s_from=st.active_from, s_to=st.active_to)
    t = t.left_join(st, t.staff_id == st.s_id)
    t = t.mutate(
        staff_active=t.s_id.notnull()
        & (t.s_from.isnull() | (t.s_from <= t.occurred_date))
        & (t.s_to.isnull() | (t.s_to >= t.occurred_date))
    ).drop("s_id", "s_from", "s_to")

    pu = tables["purposes"]
    pu = pu.select(
        p_system=pu.system, p_code=pu.purpose_code,
        # Blankness is a property of the purpose: test it once per purpose, not per look-up.
        p_all_units=pu.allowed_units.fill_null("").strip() == "",
    )  # fmt: skip
    t = t.left_join(pu, [t.system == pu.p_system, t.purpose_code == pu.p_code])
    pa_ = tables["purpose_units"]
    t = t.left_join(
        pa_,
        [t.system == pa_.u_system, t.purpose_code == pa_.u_code, t.s_unit == pa_.u_unit],
    )
    t = t.mutate(
        purpose_known=t.p_code.notnull(),
        # No purpose matched: allowed_units is null, which counts as blank (all units).
        unit_allowed=t.p_all_units.fill_null(True) | t.u_unit.notnull(),
    ).drop("p_system", "p_code", "p_all_units", "u_system", "u_code", "u_unit")

    cal = tables["calendar"]
    cal = cal.select(k_date=cal.date, k_workday=cal.is_workday)
    t = t.left_join(cal, t.occurred_date == cal.k_date).drop("k_date")
    oh = tables["office_hours"]
    t = t.left_join(oh, t.s_unit == oh.oh_unit).drop("oh_unit")
    start, end = _office_window(t, settings)
    # A unit open round the clock (00:00 to 23:59 or 24:00, e.g. a police station on shifts)
    # works every day, non-workdays included.
    round_the_clock = (start <= 0) & (end >= 23 * 60 + 59)
    t = t.mutate(
        in_office_hours=round_the_clock
        | (t.k_workday & (t.local_minute >= start) & (t.local_minute < end))
    ).drop("k_workday", "office_start", "office_end", "s_unit")

    if not big_first:
        t = _subject_and_cited_record(t, tables)
    return t.mutate(deliberate=_deliberate(t))


def _subject_and_cited_record(t: ir.Table, tables: Mapping[str, ir.Table]) -> ir.Table:
    """The subject's (persons) and the cited record's (records) columns, and
    cited_record_found: left joins to unique keys, so their place among enrich's joins
    changes no row, only the engine's plan.

    They are kept in the look-ups table, not joined per query: the tables are large, and a
    join to them in a rule's query may make the engine build its hash table on the look-ups
    side instead."""
    pe = tables["persons"]
    pe = pe.select(
        q_id=pe.person_id, subject_name=pe.name, subject_household_id=pe.household_id,
        subject_address_code=pe.address_code,
    )  # fmt: skip
    t = t.left_join(pe, t.subject_id == pe.q_id).drop("q_id")
    rc = tables["records"]
    rc = rc.select(
        x_id=rc.record_id, cited_record_kind=rc.kind, cited_record_subject_id=rc.subject_id,
        cited_record_staff_id=rc.staff_id, cited_record_unit_id=rc.unit_id,
    )  # fmt: skip
    t = t.left_join(rc, t.record_ref == rc.x_id)
    return t.mutate(cited_record_found=t.x_id.notnull()).drop("x_id")


def _by_key(table: ir.Table, keys: Mapping[str, str], values: Mapping[str, ir.Value]) -> ir.Table:
    """The key columns (renamed) and the value columns of a reference table (de-duplicated
    on its key in build_context, so a left join to it never multiplies look-ups)."""
    return table.select(**{k: table[v] for k, v in keys.items()}, **values)


# The columns `widen` attaches, by the reference table they come from ("office" needs the
# staff member's unit, so it brings "staff" along).
LAZY_COLUMNS: dict[str, tuple[str, ...]] = {
    "staff": ("staff_name", "staff_national_id", "unit_id", "employment", "supervisor_id"),
    "systems": ("system_name", "sensitivity"),
    "purposes": (
        "purpose_description", "evidence_kind", "window_before_days", "window_after_days",
        "allowed_units", "purpose_scope",
    ),
    "calendar": ("is_workday", "report_date", "day_note"),
    "office": ("office_start", "office_end"),
}  # fmt: skip
ALL_GROUPS = frozenset(LAZY_COLUMNS)


def widen(
    t: ir.Table,
    tables: Mapping[str, ir.Table],
    settings: Settings,
    groups: frozenset[str] = ALL_GROUPS,
    extra: tuple[str, ...] = (),
) -> ir.Table:
    """`enrich`'s columns plus the descriptive ones of `groups` (LAZY_COLUMNS): staff,
    system, purpose, calendar and office hours, each a left join on a small reference
    table's key; with the explanation, its strength too. Columns in the order of
    LOOKUP_COLUMNS, then `extra` (columns of `t` outside it)."""
    if "staff" in groups or "office" in groups:
        st = tables["staff"]
        st = _by_key(st, {"s_id": "staff_id"}, {
            "staff_name": st.name, "staff_national_id": st.national_id, "unit_id": st.unit_id,
            "employment": st.employment.fill_null("permanent"), "supervisor_id": st.supervisor_id,
        })  # fmt: skip
        t = t.left_join(st, t.staff_id == st.s_id).drop("s_id")
    if "systems" in groups:
        sy = tables["systems"]
        sy = _by_key(sy, {"y_system": "system"}, {
            "system_name": sy.name, "sensitivity": sy.sensitivity,
        })  # fmt: skip
        t = t.left_join(sy, t.system == sy.y_system).drop("y_system")
    if "purposes" in groups:
        pu = tables["purposes"]
        pu = _by_key(pu, {"p_system": "system", "p_code": "purpose_code"}, {
            "purpose_description": pu.description,
            "evidence_kind": ibis.ifelse(
                pu.evidence_kind == "", ibis.null("string"), pu.evidence_kind
            ),
            "window_before_days": pu.window_before_days.fill_null(0),
            "window_after_days": pu.window_after_days.fill_null(0),
            "allowed_units": pu.allowed_units, "purpose_scope": pu.scope.fill_null("person"),
        })  # fmt: skip
        t = t.left_join(pu, [t.system == pu.p_system, t.purpose_code == pu.p_code])
        t = t.mutate(
            window_before_days=t.window_before_days.fill_null(0),
            window_after_days=t.window_after_days.fill_null(0),
            purpose_scope=t.purpose_scope.fill_null("person"),
        ).drop("p_system", "p_code")
    if "calendar" in groups:
        cal = tables["calendar"]
        cal = _by_key(cal, {"k_date": "date"}, {
            "is_workday": cal.is_workday, "report_date": cal.report_date, "day_note": cal.note,
        })  # fmt: skip
        t = t.left_join(cal, t.occurred_date == cal.k_date).drop("k_date")
    if "office" in groups:
        oh = tables["office_hours"]
        oh = _by_key(oh, {"o_unit": "oh_unit"}, {
            "office_start": oh.office_start, "office_end": oh.office_end,
        })  # fmt: skip
        t = t.left_join(oh, t.unit_id == oh.o_unit).drop("o_unit")
        start, end = _office_window(t, settings)
        t = t.mutate(office_start=start, office_end=end)
    if "explanation" in t.columns:
        strength = ibis.cases(
            (t.explanation.isin(STRONG), "strong"),
            (t.explanation.notnull(), "weak"),
            else_=ibis.null("string"),
        )
        t = t.mutate(explanation_strength=strength, explained_strong=_strong(t.explanation))
    return t.select(*[c for c in LOOKUP_COLUMNS if c in t.columns], *extra)


@dataclass(frozen=True)
class Views:
    """The kept look-ups table (enrich's columns and the explanation) and what `widen`
    needs: `context(groups)` is the RuleContext whose look-ups carry only the descriptive
    columns of `groups` — a query pays only for the joins it reads."""

    full: RuleContext
    kept: ir.Table
    tables: Mapping[str, ir.Table]
    # History that earlier runs explained (stored_history), None when there is none.
    stored: ir.Table | None = None
    # context() by groups: building one takes Ibis ~0.1 s, and a query whose groups are
    # found by trial (groups_of) asks for several; the 13 rules need fewer than 10 kinds.
    _contexts: dict[frozenset[str], RuleContext] = field(
        default_factory=dict, compare=False, repr=False
    )
    # The engine views `share` made: relations built on the kept table, as `kept` is.
    _shared: list[ops.Relation] = field(default_factory=list, compare=False, repr=False)

    def table(self, groups: frozenset[str] = ALL_GROUPS) -> ir.Table:
        return widen(self.kept, self.tables, self.full.params, groups)

    def context(self, groups: frozenset[str] = ALL_GROUPS) -> RuleContext:
        if groups == ALL_GROUPS:
            return self.full
        if groups not in self._contexts:
            self._contexts[groups] = dataclasses.replace(
                self.full, **_split(self.table(groups), self.stored, self.full.range_start)
            )
        return self._contexts[groups]

    def share(self, engine: Engine, kinds: Iterable[frozenset[str]]) -> None:
        """Make the contexts of these groups read an engine view of the widened look-ups
        (Engine.view): a query built on one names the view, so Ibis builds and compiles its
        joins once, not once per query (half the time of compiling the 13 rules' queries).
        Builds and compiles only (the engine creates the views before the next query runs):
        run.detect calls it on the thread that builds the rules' queries, while the engine
        fills the kept tables."""
        # In a set order the same every run: the views are numbered in this order, and the
        # rules' SQL names them (Engine.compile reuses SQL across runs).
        for groups in sorted(set(kinds) - {ALL_GROUPS}, key=sorted):
            if groups in self._contexts:
                continue
            view = engine.view("context", self.table(groups))
            self._shared.append(view.op())
            self._contexts[groups] = dataclasses.replace(
                self.full, **_split(view, self.stored, self.full.range_start)
            )

    def query(
        self, build: Callable[[RuleContext], ir.Table], groups: Sequence[str] | None = None
    ) -> ir.Table:
        """`build(ctx)` (a rule's query) on the narrowest context it runs on: that of
        `groups` when the caller knows them (Rule.reads), else those `groups_of` finds."""
        if groups is not None:
            return build(self.context(frozenset(groups)))
        return self._discover(build)[1]

    def groups_of(self, build: Callable[[RuleContext], ir.Table]) -> frozenset[str]:
        """The groups of descriptive columns (LAZY_COLUMNS) `build(ctx)` reads, by trial: start
        with none; add the group of each column the query misses. A query that names a
        descriptive column of its own making (from its own join) gets that group too, so that
        every name means what it means on the full context. Each trial builds the query (a
        tenth of a second or more for some rules): Rule.reads names them once and for all."""
        return self._discover(build)[0]

    def _discover(
        self, build: Callable[[RuleContext], ir.Table]
    ) -> tuple[frozenset[str], ir.Table]:
        groups: set[str] = set()
        while True:
            try:
                expr = build(self.context(frozenset(groups)))
            except (AttributeError, IbisError) as exc:
                group = _group_of(_missing_name(str(exc)))
                if group is None or group in groups:
                    raise
                groups.add(group)
                continue
            # Fields of the look-ups (or of relations built on them) only: a rule may read
            # e.g. unit_id from ctx.staff on its few hits without costing a join on every row.
            on_kept = _reads_from(self.kept.op(), *self._shared)
            names = {f.name for f in expr.op().find(ops.Field) if on_kept(f.rel)}
            more = {g for g, cols in LAZY_COLUMNS.items() if g not in groups and names & set(cols)}
            if not more:
                return frozenset(groups), expr
            groups |= more


def _split(t: ir.Table, stored: ir.Table | None, start: dt.date) -> dict[str, ir.Table]:
    """RuleContext's lookups, history and everything from the kept look-ups (widened) and
    the stored history. The kept look-ups hold every loaded date but the stored ones: the
    two split on dates. History columns: those of HISTORY_COLUMNS that `t` has (a narrow
    context may lack unit_id until a query names it)."""
    mine = t.select(*[c for c in HISTORY_COLUMNS if c in t.columns])
    everything = mine
    if stored is not None:
        types = mine.schema()
        everything = mine.union(stored.select(**{c: stored[c].cast(types[c]) for c in types}))
    return {
        "lookups": t.filter(t.occurred_date >= start),
        "history": everything.filter(everything.occurred_date < start),
        "everything": everything,
    }


def _reads_from(*tables: ops.Relation) -> Callable[[ops.Relation], bool]:
    """A test of whether a relation is one of `tables` or is built on one (memoised per
    relation)."""
    seen: dict[ops.Relation, bool] = {}

    def test(rel: ops.Relation) -> bool:
        if rel not in seen:
            seen[rel] = rel in tables or bool(rel.find(lambda node: node in tables))
        return seen[rel]

    return test


def _missing_name(message: str) -> str | None:
    found = re.search(r"attribute '(\w+)'|Column '(\w+)' is not found", message)
    return (found.group(1) or found.group(2)) if found else None


def _group_of(column: str | None) -> str | None:
    return next((g for g, cols in LAZY_COLUMNS.items() if column in cols), None)


def _dedupe(table: pa.Table, keys: list[str]) -> pa.Table:
    """First row per key (reference tables must not multiply look-ups in joins)."""
    if table.num_rows == 0:
        return table
    idx = pa.array(range(table.num_rows), pa.int64())
    firsts = (
        table.select(keys).append_column("_i", idx).group_by(keys, use_threads=False)
        .aggregate([("_i", "min")]).column("_i_min")
    )  # fmt: skip
    if len(firsts) == table.num_rows:
        return table  # already one row per key: no copy (records and persons are large)
    return table.take(pc.take(firsts, pc.sort_indices(firsts)))  # first rows, in file order


def _first_and_count(
    engine: Engine, access: ir.Table, given: pa.Table | list[Path]
) -> tuple[dt.date | None, int]:
    """The look-ups' first date (None: there are none) and how many there are. An Arrow
    table's (conformed to ACCESS_SCHEMA) are counted here, without a query (a query is a job
    of its own on Spark: 0.3–0.5 s in a rule case); the store's files are counted by the
    engine, which reads them."""
    if not isinstance(given, pa.Table):
        counted = engine.to_arrow(
            access.aggregate(first=access.occurred_date.min(), n=access.count())
        ).to_pylist()[0]
        return counted["first"], counted["n"]
    # As prepare_access fills it: the date of occurred_at where occurred_date is missing.
    days = pc.coalesce(given.column("occurred_date"), given.column("occurred_at").cast(pa.date32()))
    return pc.min(days).as_py(), given.num_rows


def build_context(
    engine: Engine,
    world: World,
    start: dt.date,
    end: dt.date,
    settings: Settings | None = None,
) -> RuleContext:
    """The context rules read: every look-up column (see Views for narrower ones)."""
    return build_views(engine, world, start, end, settings).full


def build_views(
    engine: Engine,
    world: World,
    start: dt.date,
    end: dt.date,
    settings: Settings | None = None,
    compute: bool = True,
) -> Views:
    """The kept tables (explain's, the look-ups, the summaries) are deferred (Engine.defer:
    on DuckDB they start filling at once, on another connection) and ready after
    `engine.compute_deferred()`: called here, or with `compute=False` by the caller, who may
    build and compile queries on them before (run.detect: the rules', on another thread)."""
    settings = settings or Settings()
    given = world.access
    if isinstance(given, pa.Table):
        given = conform(given, ACCESS_SCHEMA)  # once, for the engine and the count
    access = prepare_access(load_access(engine, given))
    first, count = _first_and_count(engine, access, given)
    stored_dates = [d for dates in world.explained.values() for d in dates]
    data_start = min(first or start, start, *stored_dates)
    history_from = start - dt.timedelta(days=settings.history_days)
    access = access.filter((access.occurred_date >= history_from) & (access.occurred_date <= end))
    data_start = max(data_start, history_from)

    dedupe = (lambda table, _keys: table) if world.keys_unique else _dedupe
    keys = {
        "staff": ["staff_id"], "systems": ["system"], "purposes": ["system", "purpose_code"],
        "persons": ["person_id"], "units": ["unit_id"], "records": ["record_id"],
    }  # fmt: skip

    def ref(name: str) -> pa.Table:
        table = world.ref(name)
        table = records_table(table) if name == "records" else table
        return dedupe(table, keys[name]) if name in keys else table

    tables: dict[str, ir.Table] = {}
    loaded: dict[str, pa.Table] = {}  # the reference tables at hand (not being read)
    for name in REF_SCHEMAS:
        if name in ("calendar", "office_hours"):
            continue
        if isinstance(world.refs.get(name), Reading):
            # Read meanwhile: the engine gets it when it computes (Engine.load_later).
            empty = conform(None, REF_SCHEMAS[name])
            schema = (records_table(empty) if name == "records" else empty).schema
            tables[name] = engine.load_later(name, schema, lambda name=name: ref(name))
        else:
            loaded[name] = ref(name)
            tables[name] = engine.load(name, loaded[name])
    tables["calendar"] = engine.load("calendar", calendar_table(world, data_start, end))
    tables["office_hours"] = engine.load(
        "office_hours", dedupe(office_hours_table(world, settings), ["oh_unit"])
    )
    tables["account_periods"] = engine.load("account_periods", account_periods(loaded["accounts"]))
    tables["purpose_units"] = engine.load("purpose_units", purpose_units_table(loaded["purposes"]))
    # Fewer look-ups than persons (a daily run): the large tables' joins go first (enrich),
    # and the enriched look-ups are kept: explain's three queries read them (each would
    # read the files and join again). Else they are not kept: explain reads its inputs from
    # a cheaper expression of the same rows and computes the wide one once, at the end.
    # The look-ups table kept is narrow either way: enrich's columns and the explanation;
    # `widen` attaches the rest per query.
    persons = world.refs.get("persons")
    few = count < (persons.rows if isinstance(persons, Reading) else loaded["persons"].num_rows)
    enriched = enrich(access, tables, settings, big_first=few)
    if few:
        enriched = engine.defer("enriched", enriched, temporary=True)
        inputs = widen(
            enriched, tables, settings, frozenset({"purposes", "staff"}), extra=(ROW_ID,)
        )
    else:
        inputs = explain_inputs(access, tables, settings)

    def keep(name: str, table: ir.Table) -> ir.Table:
        # Read only while the look-ups table is built.
        return engine.defer(name, table, temporary=True)

    stored = anchors = None
    if world.explained:
        read = stored_history(engine, world.explained)
        # The fresh look-ups may continue a stored one of the days just before them.
        since = (first or start) - dt.timedelta(days=settings.continuation_days + 1)
        anchors = _stored_anchors(read, tables, settings, since)
        # Not kept: the rules read the history's summaries; a rule that reads the look-ups
        # themselves reads them from the Parquet files (subject-burst: its last few days).
        stored = read.select(*HISTORY_COLUMNS)
    explained = explain(
        widen(enriched, tables, settings, frozenset({"purposes"}), extra=(ROW_ID,)),
        tables["records"],
        tables["persons"],
        settings.continuation_days,
        keep=keep,
        inputs=inputs,
        anchors=anchors,
    )
    # Without ROW_ID: no rule reads it, and each kept column costs memory.
    columns = [c for c in enriched.columns if c != ROW_ID]
    explained = explained.select(*columns, "explanation", "explanation_record_id")
    explained = engine.defer("lookups", explained)
    wide = widen(explained, tables, settings)
    loaded = widen(explained, tables, settings, frozenset({"staff"})).select(*HISTORY_COLUMNS)
    summaries = build_summaries(engine, loaded, world, stored)
    full = RuleContext(
        # Every kept look-up has an occurred_date in [history_from, end] (filtered above):
        # lookups and history split it exactly.
        **_split(wide, stored, start),
        staff=tables["staff"],
        units=tables["units"],
        accounts=tables["accounts"],
        systems=tables["systems"],
        purposes=tables["purposes"],
        records=tables["records"],
        persons=tables["persons"],
        relations=tables["relations"],
        watchlist=tables["watchlist"],
        calendar=tables["calendar"],
        office_hours=tables["office_hours"],
        staff_risk=tables["staff_risk"],
        params=settings,
        range_start=start,
        range_end=end,
        data_start=data_start,
        summaries=summaries,
    )
    if compute:
        engine.compute_deferred()
    return Views(full, explained, tables, stored)
