"""What a rule query may read: `RuleContext`.

A rule is `query(ctx) -> ibis Table` returning one row per flagged look-up with the columns
`system, event_id, evidence_zh, evidence_en` and optionally `group_key` (see rule.py). Build
expressions only; never name an engine or call `.execute()` inside a rule.

Time: every timestamp is naive Asia/Taipei wall-clock time. Compare instants with the
integer `ts` columns (seconds; `ts_a - ts_b <= days * 86400`), which behave the same on
DuckDB and Spark; avoid interval arithmetic.

`lookups` — the look-ups in the detection range, one row each, enriched and explained:

| column | type | meaning |
|---|---|---|
| system, event_id | string | key |
| occurred_at | timestamp | wall-clock time |
| occurred_date | date | local date |
| ts | int64 | occurred_at as seconds (wall clock as if UTC); for time arithmetic |
| local_hour, local_minute | int | hour 0-23; minute of the day 0-1439 |
| weekday | int | 0 = Monday … 6 = Sunday |
| account | string | login account |
| subject_id | string | trimmed, upper-cased |
| subject_id_valid | bool | checksum result |
| action | string | query / view / print / export / list |
| purpose_code, purpose_text, record_ref, terminal | string? | as logged |
| result_count | int64? | |
| staff_id | string? | holder of the account (null: unknown account) |
| staff_name, unit_id, employment, supervisor_id | string? | from staff |
| staff_national_id | string? | the user's own id (for `self`) |
| staff_active | bool | the staff member was in service on occurred_date |
| account_known | bool | (system, account) appears in accounts |
| account_active | bool | a grant of this account covered occurred_at |
| account_granted_at, account_revoked_at | timestamp? | of the grant used for staff_id |
| is_workday | bool | government calendar (make-up Saturdays are workdays) |
| day_note | string | e.g. 補行上班, 和平紀念日, 週末 |
| report_date | date | the workday whose daily report covers this look-up |
| office_start, office_end | int | office hours of the unit, minutes of the day |
| in_office_hours | bool | is_workday and office_start <= local_minute < office_end; always true for a unit open round the clock (00:00–23:59) |
| sensitivity | string? | low / medium / high (null: unknown system) |
| system_name | string? | |
| purpose_known | bool | (system, purpose_code) is in purposes |
| purpose_description | string? | |
| evidence_kind | string? | record kind the purpose needs; null = needs no record |
| purpose_scope | string | person / household |
| allowed_units | string? | `;`-separated, null/empty = all units |
| unit_allowed | bool | the user's unit may use this purpose |
| window_before_days, window_after_days | int64 | the purpose's record window (default 0) |
| subject_household_id, subject_address_code, subject_name | string? | from persons |
| deliberate | bool | false for action = list (a list screen shows people incidentally) |
| explanation | string? | own_record / unit_record / household_record / continuation / no_record_needed / list_screen / null |
| explanation_strength | string? | strong / weak / null |
| explanation_record_id | string? | the record that explains it (continuation: the record of the look-up it continues) |
| explained_strong | bool | explanation_strength = strong |
| cited_record_found | bool | record_ref names a record in `records` |
| cited_record_kind, cited_record_subject_id, cited_record_staff_id, cited_record_unit_id | string? | that record |

How it is built (pipeline.Views): the engine keeps a narrow table (the look-up's own
columns, the account/staff/purpose/office-hours flags, the subject's and the cited record's
columns, and the explanation); the descriptive
columns of a reference table (staff_name…supervisor_id and unit_id; system_name,
sensitivity; the purpose's texts and windows; the calendar's; office hours) are left joins that `detect()` adds to a rule's `lookups` and `history`
only when the query names one of them. So read columns by name; do not branch on
`t.columns` (a column the query never names may be absent).

Per-subject rules should use `deliberate` look-ups only. A weak explanation
(no_record_needed) must not silence relationship, repeat, volume, watchlist or account
rules; list_screen is counted by volume and enumeration only if the rule chooses to (the
framework's own choice is documented in docs/detection.md).

`summary(name)` — a per-day summary of history and look-ups together
(menshen/detect/summaries.py: open_days, active_days, account_days). Baselines should read
these rather than the look-ups: a daily run reads its history's summaries from the runs
before it, and does not load the history's look-ups into the engine.

`history` — look-ups before the detection range (up to `params.history_days` days), for
baselines; may be empty. It carries only HISTORY_COLUMNS (and `all_lookups`, history and
look-ups together, the same): a look-up's key, time, account, user, unit, subject, whether it
was deliberate and its explanation. A daily run reads the history's rows from the explanations that earlier runs
stored (the store keeps them per date), instead of explaining every look-up of the last
90 days again: `unit_id` there is the user's unit when that run was made. A rule that reads
another column from them fails, it never gets nulls.

Reference tables (columns as in docs/architecture.md): `staff`, `units`, `accounts`,
`systems`, `purposes`, `records`, `persons`, `relations`, `watchlist`, `office_hours`,
`staff_risk`; `calendar` is the effective government calendar over the loaded dates:
`date, is_workday, report_date, note`. Missing optional tables are empty, never absent.

`params` — `menshen.detect.settings.Settings`, every threshold.
`range_start`, `range_end` — the detection range (dates, inclusive).
`data_start` — the first date of loaded look-ups (history included).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis.expr.types as ir

from menshen.detect.settings import Settings

__all__ = ["HISTORY_COLUMNS", "RuleContext", "Settings"]

# The columns of `history` and `all_lookups` (see above), in this order.
HISTORY_COLUMNS = (
    "system", "event_id", "occurred_at", "occurred_date", "ts", "account", "staff_id",
    "unit_id", "subject_id", "deliberate", "explanation", "explained_strong",
)  # fmt: skip


@dataclass(frozen=True)
class RuleContext:
    lookups: ir.Table
    history: ir.Table
    staff: ir.Table
    units: ir.Table
    accounts: ir.Table
    systems: ir.Table
    purposes: ir.Table
    records: ir.Table
    persons: ir.Table
    relations: ir.Table
    watchlist: ir.Table
    calendar: ir.Table
    office_hours: ir.Table
    staff_risk: ir.Table
    params: Settings
    range_start: dt.date
    range_end: dt.date
    data_start: dt.date
    # history and lookups (HISTORY_COLUMNS) as one table, when the builder has it: a union of
    # two filters of the same table makes the engine copy all of it first (a CTE), read once
    # per rule.
    everything: ir.Table | None = None
    # summaries.SUMMARIES over every loaded day (see summary()).
    summaries: Mapping[str, ir.Table] = field(default_factory=dict)

    def summary(self, name: str) -> ir.Table:
        """A per-day summary of history and look-ups together (menshen.detect.summaries):
        what a baseline rule reads instead of the look-ups themselves."""
        if name not in self.summaries:
            raise KeyError(f"no summary {name!r}: the context has {sorted(self.summaries)}")
        return self.summaries[name]

    @property
    def all_lookups(self) -> ir.Table:
        """history and lookups together (for windows that reach back before the range)."""
        if self.everything is not None:
            return self.everything
        return self.history.union(self.lookups.select(*self.history.columns))
