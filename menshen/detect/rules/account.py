"""account — a look-up through an account without an active grant (unknown, revoked, not
yet granted), by a staff member no longer in service, or the first use of an account idle
for more than `idle_days`."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from menshen.detect.context import RuleContext
from menshen.detect.evidence import concat, full_date_zh, hits, text
from menshen.detect.rule import Case, Rule
from menshen.detect.summaries import DAY, KEY_DIGITS
from menshen.detect.testing import lookup


def _buckets(ctx: RuleContext, days: int) -> ir.Table:
    """Each account's look-ups in time buckets of `days` days: the bucket's first second, the
    smallest event id at that second, and the time of the account's look-up before the
    bucket (the last of its previous non-empty bucket; null: none loaded). From the
    accounts' days (summaries.account_days), history included.

    Any look-up after the first of its bucket has a previous look-up less than `days` days
    (≤ the idle time) earlier: only a bucket's first can end an idle gap, or have no previous
    look-up at all. So one aggregation and a lag over the buckets, a few per account, replace
    a window over every look-up."""
    every = ctx.summary("account_days")
    buckets = every.group_by(
        b_system=every.system, b_account=every.account, b_bucket=every.day // days
    ).aggregate(
        b_first=every.first_ts.min(), b_key=every.first_key.min(), b_last=every.last_ts.max()
    )
    w = ibis.window(group_by=[buckets.b_system, buckets.b_account], order_by=buckets.b_bucket)
    return buckets.mutate(
        b_first_event=buckets.b_key.substr(KEY_DIGITS), prev_ts=buckets.b_last.lag().over(w)
    ).drop("b_key", "b_last")


def query(ctx: RuleContext) -> ir.Table:
    # Whole days: the accounts' look-ups are summarised by day (idle_days under 1 counts as 1).
    days = max(ctx.params.idle_days, 1)
    idle = days * DAY
    buckets = _buckets(ctx, days)
    t = ctx.lookups
    # Look-ups at their bucket's first second (b_system not null).
    t = t.left_join(
        buckets,
        [t.system == buckets.b_system, t.account == buckets.b_account,
         t.ts // DAY // days == buckets.b_bucket, t.ts == buckets.b_first],
    )  # fmt: skip
    granted_ts = t.account_granted_at.epoch_seconds().cast("int64")
    # Idle since the grant counts only when the loaded history reaches back far enough.
    covered = (t.ts - idle) >= ibis.literal(ctx.data_start).cast("timestamp").epoch_seconds().cast(
        "int64"
    )
    first = t.b_system.notnull()
    idle_gap = first & t.prev_ts.notnull() & (t.ts - t.prev_ts > idle)
    idle_since_grant = first & t.prev_ts.isnull() & covered & (t.ts - granted_ts > idle)
    unknown = ~t.account_known
    revoked = (
        t.account_known
        & ~t.account_active
        & t.account_revoked_at.notnull()
        & (t.account_revoked_at <= t.occurred_at)
    )
    t = t.mutate(
        unknown=unknown,
        revoked=revoked,
        not_yet=t.account_known & ~t.account_active & ~revoked,
        departed=t.account_active & t.staff_id.notnull() & ~t.staff_active,
        is_idle=t.account_active & t.staff_active & (idle_gap | idle_since_grant),
        gap_days=((t.ts - t.prev_ts.fill_null(granted_ts)) // DAY).cast("string"),
    )
    t = t.filter(t.unknown | t.revoked | t.not_yet | t.departed | t.is_idle)
    # Of several look-ups in the bucket's first second, the one with the smallest event id
    # comes first; the others follow it with a gap of 0 and are not idle.
    t = t.mutate(is_idle=t.is_idle & (t.event_id == t.b_first_event))
    t = t.filter(t.unknown | t.revoked | t.not_yet | t.departed | t.is_idle)
    # The holder's name on the few hits only (not a join of every look-up to staff).
    st = ctx.staff.select(h_id=ctx.staff.staff_id, holder=ctx.staff.name)
    t = t.left_join(st, t.staff_id == st.h_id)
    zh = ibis.cases(
        (t.unknown, concat("帳號「", t.account, "」不在帳號清冊中（無授權紀錄，疑為共用或未登錄帳號）")),
        (t.revoked, concat("帳號已於 ", full_date_zh(t.account_revoked_at), " 停用，仍有查詢")),
        (t.not_yet, concat("查詢時帳號尚未授權（授權日 ", full_date_zh(t.account_granted_at), "）")),
        (t.departed, concat("帳號持有人 ", text(t.holder), " 查詢當日不在職")),
        else_=concat("帳號閒置 ", t.gap_days, " 日後再度使用（逾 ", str(ctx.params.idle_days), " 日應停用）"),
    )  # fmt: skip
    en = ibis.cases(
        (t.unknown, concat("account '", t.account, "' is not in the account register")),
        (t.revoked, concat("account revoked on ", t.account_revoked_at.date().cast("string"), ", still used")),
        (t.not_yet, concat("account not yet granted (granted ", t.account_granted_at.date().cast("string"), ")")),
        (t.departed, concat("the account holder ", text(t.holder), " was not in service that day")),
        else_=concat("account used again after ", t.gap_days, " idle days (over ", str(ctx.params.idle_days), ")"),
    )  # fmt: skip
    return hits(t, zh, en)


CASES = (
    Case(
        "a departed clerk's revoked account is still used",
        positive=True,
        tables={"access": [lookup("a1", "S08", "P12", "2025-02-10 10:00", "HR02")]},
        expect=("a1",),
    ),
    Case(
        "an account nobody holds",
        positive=True,
        tables={
            "access": [lookup("a2", "S02", "P12", "2025-02-10 10:00", "HR02", account="admin")]
        },
        expect=("a2",),
    ),
    Case(
        "an account used before its grant",
        positive=True,
        tables={
            "accounts": [
                {"system": "AD", "account": "s09", "staff_id": "S06", "granted_at": "2025-03-01"}
            ],
            "access": [lookup("a3", "S06", "P12", "2025-02-10 10:00", "AD01", account="s09")],
        },
        expect=("a3",),
    ),
    Case(
        "an account idle for 100 days used again",
        positive=True,
        tables={
            "access": [
                lookup("a4", "S03", "P12", "2024-11-01 10:00", "AD01"),
                lookup("a5", "S03", "P12", "2025-02-10 10:00", "AD01"),
                lookup("a6", "S03", "P01", "2025-02-10 10:05", "AD01"),
            ]
        },
        params={"detect_from": "2025-02-10", "history_days": 120},
        expect=("a5",),
    ),
    Case(
        "two look-ups in the same second after 100 idle days: the first (smaller id) is flagged",
        positive=True,
        tables={
            "access": [
                lookup("a7", "S03", "P12", "2024-11-01 10:00", "AD01"),
                lookup("a9", "S03", "P12", "2025-02-10 10:00", "AD01"),
                lookup("a8", "S03", "P01", "2025-02-10 10:00", "AD01"),
            ]
        },
        params={"detect_from": "2025-02-10", "history_days": 120},
        expect=("a8",),
    ),
    Case(
        "look-ups 70 and 60 days apart: never idle for 90 days",
        positive=False,
        tables={
            "access": [
                lookup("g4", "S03", "P12", "2024-10-02 10:00", "AD01"),
                lookup("g5", "S03", "P12", "2024-12-11 10:00", "AD01"),
                lookup("g6", "S03", "P01", "2025-02-09 10:00", "AD01"),
                lookup("g7", "S03", "P01", "2025-02-10 10:00", "AD01"),
            ]
        },
        params={"detect_from": "2024-12-11", "history_days": 120},
    ),
    Case(
        "active accounts in daily use, even on list screens",
        positive=False,
        tables={
            "access": [
                lookup("g1", "S03", "P12", "2025-01-20 10:00", "AD01"),
                lookup("g2", "S03", "P12", "2025-02-10 10:00", "AD01"),
                lookup("g3", "S02", "P12", "2025-02-10 10:00", "HR02", action="list"),
            ]
        },
        params={"detect_from": "2025-02-10"},
    ),
)

RULE = Rule(
    id="account",
    title_zh="帳號異常使用",
    title_en="Account used without an active grant, or after long idleness",
    severity="high",
    motivated_by=(
        "資通系統防護基準：不得共用帳號、停用閒置帳號；地政系統 3 個月未使用自動停權；"
        "離職或已撤銷之帳號仍被使用。 / No shared accounts, idle accounts disabled (3 months), "
        "revoked or departed staff's accounts still used."
    ),
    false_positives=(
        "帳號清冊未即時更新（新進人員、調任）。 / An account register not yet updated for new or "
        "transferred staff."
    ),
    review_guide=(
        "向系統管理者確認帳號授權與人員在職狀態，並立即停用不應存在之帳號。 / Confirm the grant and "
        "the holder's service with the administrator; disable accounts that should not exist."
    ),
    query=query,
    reads=(),
    cases=CASES,
)
