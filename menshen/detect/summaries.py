"""Per-day summaries of the look-ups, which the baseline rules read instead of the look-ups.

A rule that compares today with the past (volume, repeat, account) needs a few numbers per
user, person or account and day, not every look-up of the last 90 days. Each summary here
is a query over look-ups with RuleContext's HISTORY_COLUMNS whose groups include
`occurred_date`: the summary of several days is the union of each day's, so every detect
run stores the summaries of its own days beside their explanations, and a later run reads
its history's from there (pipeline.build_views) instead of reading, let alone explaining,
the history's look-ups again. At 10M look-ups the three summaries hold about a sixth of the
rows, and the rules read only them.

RuleContext.summary(name) gives one over every loaded day (history and range). A summary's
rows are those of whole days: a rule may filter them by date, never assume an order.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis.expr.types as ir

DAY = 86400
# account_days' first_key: seconds made positive for any date after 1200 BC, and compared as
# text of a fixed width (to the year 29 000).
KEY_OFFSET = 10**11
KEY_DIGITS = 12


def user_key(t: ir.Table) -> ir.StringValue:
    """Who looked: the staff member, else the account ("?system:account"), so that look-ups
    through an account nobody holds are still one user's."""
    return t.staff_id.fill_null("?" + t.system + ":" + t.account)


def unexplained(t: ir.Table) -> ir.Table:
    """The deliberate look-ups that no business record explains (none, or only a weak
    explanation), with their user_key: what repeat, enumeration and open_days count."""
    t = t.filter(t.deliberate & ~t.explained_strong)
    return t.mutate(user_key=user_key(t))


def open_days(t: ir.Table) -> ir.Table:
    """One row per user, person and day with an `unexplained` look-up: user_key,
    subject_id, occurred_date, staff_id, unit_id (the largest of that day's rows)."""
    t = unexplained(t)
    return t.group_by(["user_key", "subject_id", "occurred_date"]).aggregate(
        staff_id=t.staff_id.max(), unit_id=t.unit_id.max()
    )


def active_days(t: ir.Table) -> ir.Table:
    """One row per staff member and day with a deliberate look-up: staff_id, occurred_date,
    unit_id (the largest of that day's rows)."""
    t = t.filter(t.deliberate & t.staff_id.notnull())
    return t.group_by(["staff_id", "occurred_date"]).aggregate(unit_id=t.unit_id.max())


def account_days(t: ir.Table) -> ir.Table:
    """One row per account and day of any look-up through it (list screens too): system,
    account, occurred_date, day (ts // DAY), first_ts, last_ts, and first_key — the first
    second (plus KEY_OFFSET, zero-padded to KEY_DIGITS digits) followed by the smallest event
    id at that second: the smallest key of a day's rows, so that the smallest over several
    days is theirs."""
    key = (t.ts + KEY_OFFSET).cast("string").lpad(KEY_DIGITS, "0") + t.event_id
    groups = t.group_by(["system", "account", "occurred_date"], day=t.ts // DAY)
    return groups.aggregate(first_ts=t.ts.min(), last_ts=t.ts.max(), first_key=key.min())


SUMMARIES: dict[str, Callable[[ir.Table], ir.Table]] = {
    "open_days": open_days,
    "active_days": active_days,
    "account_days": account_days,
}
