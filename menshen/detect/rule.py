"""What a detection rule is. One rule, one file under `menshen/detect/rules/`: its metadata,
its Ibis query, and its positive and negative test cases side by side.

A rule module defines exactly one module-level `RULE = Rule(...)`. The file name is the id
with dashes as underscores (`off_hours.py` holds `off-hours`; `self.py` holds `self`).

For rule authors:
- `query(ctx)` receives a `menshen.detect.context.RuleContext` (every column documented
  there) and returns an Ibis table of hits (HIT_COLUMNS below). Build expressions only;
  compare times with the integer `ts` columns; use `ctx.params` (Settings) for thresholds.
- `menshen.detect.evidence` has helpers for evidence sentences (`hits`, `concat`, `clock`,
  `weekday_zh`, `masked`).
- Cases run on `menshen.detect.testing.base_world()` (documented there) plus `Case.tables`;
  write rows with `testing.lookup(...)`; `Case.params` overrides Settings and may hold
  `detect_from` (ISO date) to make earlier look-ups history.
- `reads` names the groups of descriptive look-up columns the query reads (staff, systems,
  purposes, calendar, office: pipeline.LAZY_COLUMNS); tests/detect/test_views.py says which
  when they are wrong.
- The content hash of the file is recorded on every finding: any edit is a new rule version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from menshen.detect.context import RuleContext

Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_POINTS: dict[str, float] = {"low": 10.0, "medium": 25.0, "high": 45.0, "critical": 70.0}


@dataclass(frozen=True)
class Case:
    """A test case run against a small world (`menshen.detect.testing.base_world()`).

    `tables` adds rows to the base world's tables (e.g. {"access": [...], "records": [...]}).
    Positive: the rule must flag every event id in `expect` (and may flag others only if
    `exclusive` is False). Negative: the rule must flag none of `expect` (when `expect` is
    empty, it must flag nothing at all).
    """

    name: str
    positive: bool
    tables: Mapping[str, list[dict[str, Any]]]
    expect: tuple[str, ...] = ()
    exclusive: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    id: str
    title_zh: str
    title_en: str
    severity: Severity
    motivated_by: str  # the real case behind the rule
    false_positives: str  # known benign causes, and how the rule avoids them
    review_guide: str  # what the reviewer should check, in zh-TW then English
    query: Callable[[RuleContext], ir.Table]
    cases: tuple[Case, ...]
    # The groups of descriptive look-up columns the query reads (pipeline.LAZY_COLUMNS:
    # staff, systems, purposes, calendar, office): detect() joins only those. None: found by
    # trial on every run (Views.groups_of; a build of the query per trial). A test checks
    # that each rule names exactly the groups its query reads.
    reads: tuple[str, ...] | None = None
    maturity: Literal["experimental", "stable"] = "stable"
    # A weak explanation (purpose needs no record) never silences these rules.
    silenced_by_weak_explanation: bool = False
    source_file: str = ""

    def content_hash(self) -> str:
        """sha256 of the rule's file: recorded on every finding the rule produces."""
        return hashlib.sha256(Path(self.source_file).read_bytes()).hexdigest()


# The query returns one row per flagged look-up with at least these columns:
#   system, event_id, evidence_zh, evidence_en
# and optionally `group_key` (string) to put hits of several subjects in one finding (a burst).
HIT_COLUMNS = ("system", "event_id", "evidence_zh", "evidence_en")
