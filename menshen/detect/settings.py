"""Detection settings: every threshold a rule, an explanation or the scoring uses.

Defaults follow the catalogue in shared/docs/brief.md and the practice in anchors.md
(accounts idle 3 months, privileges rotated every 3 years). Rule cases may override any
field through `Case.params`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Settings:
    # --- explanations -------------------------------------------------------------------
    continuation_days: int = 7  # an explained look-up carries over to later ones this long
    # --- office hours (office_hours.csv overrides per unit) ------------------------------
    office_start: str = "08:00"
    office_end: str = "18:00"
    # a purpose that needs no record is not taken at its word this far outside office hours
    # (or on a non-workday): who serves a walk-in citizen at 21:00?
    weak_purpose_grace_minutes: int = 120
    # --- volume: distinct subjects per user per day ---------------------------------------
    volume_baseline_days: int = 28  # history used for the user's own baseline
    volume_multiplier: float = 3.0  # today > multiplier x max(own baseline, peer baseline)
    volume_min_subjects: int = 25  # never flag fewer distinct subjects than this in a day
    # multi-day view: the user's last `volume_window_days` active days taken together
    volume_window_days: int = 2  # a spree spread over consecutive days (case 2: 39 in 2-4 days)
    volume_window_multiplier: float = 2.0  # window > multiplier x max(own, peers) for the window
    volume_window_min_subjects: int = 30  # never flag fewer distinct subjects in the window
    volume_window_min_history_days: int = 5  # own active days before the window needed
    # --- subject-burst: many users, one subject ---------------------------------------------
    burst_window_minutes: int = 60 * 24
    burst_min_users: int = 4
    burst_min_units: int = 2  # a crowd within one unit is that unit's own work
    burst_tail_days: int = 7  # after a burst the person stays in the news this long
    # --- repeat: same user, same subject, several days, unexplained -------------------------
    repeat_min_days: int = 3  # "several days": two visits in three months are ordinary
    repeat_window_days: int = 90
    # --- enumeration: consecutive ids or many subjects in minutes ---------------------------
    enumeration_window_minutes: int = 10
    enumeration_min_subjects: int = 20
    enumeration_consecutive_ids: int = 5  # this many ids differing only by a small step
    enumeration_id_step: int = 10  # "small step": serials (check digit dropped) this close
    # --- account ------------------------------------------------------------------------------
    idle_days: int = 90  # whole days (account_days summarises by day); under 1 counts as 1
    # --- history loaded before --from for baselines (days) ----------------------------------
    history_days: int = 90
    # --- scoring ------------------------------------------------------------------------------
    must_review_threshold: float = 40.0
    rotation_years: int = 3  # same privilege longer than this is a risk weight
    weight_temporary_high: float = 15.0  # temporary/contract staff on a high-sensitivity system
    weight_long_tenure: float = 10.0
    weight_risk_register_default: float = 20.0  # used when staff_risk.weight is empty
    secondary_rule_factor: float = 0.5  # each further rule adds this share of its points

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown detection settings: {sorted(unknown)}")
        return dataclasses.replace(self, **dict(overrides))


def minutes_of(text: str) -> int:
    """'08:30' -> 510. Raises ValueError with the bad text."""
    try:
        hours, minutes = text.strip().split(":")[:2]
        value = int(hours) * 60 + int(minutes)
    except (ValueError, AttributeError):
        raise ValueError(f"bad time of day {text!r} (expected HH:MM)") from None
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"bad time of day {text!r} (expected HH:MM)")
    return value
