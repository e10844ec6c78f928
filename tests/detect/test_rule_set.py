"""The catalogue as a whole (shared/docs/brief.md): thirteen rules, one file each."""

from __future__ import annotations

from pathlib import Path

from menshen.detect.rule import SEVERITY_POINTS
from menshen.detect.rules import all_rules, rule_modules

CATALOGUE = {
    "unexplained", "purpose-mismatch", "off-hours", "volume", "subject-burst", "related",
    "colleague", "self", "watchlist", "repeat", "enumeration", "account", "sensitive-use",
}  # fmt: skip


def test_the_catalogue_has_exactly_the_thirteen_rules_of_the_brief() -> None:
    ids = [r.id for r in all_rules()]
    assert len(ids) == len(set(ids)), f"duplicate rule ids: {ids}"
    assert set(ids) == CATALOGUE


def test_each_rule_lives_in_a_file_named_after_its_id() -> None:
    for rule in all_rules():
        assert Path(rule.source_file).stem == rule.id.replace("-", "_")
    assert len(rule_modules()) == len(all_rules())


def test_every_rule_has_complete_metadata() -> None:
    for rule in all_rules():
        for name in ("title_zh", "title_en", "motivated_by", "false_positives", "review_guide"):
            value = getattr(rule, name)
            assert isinstance(value, str) and len(value.strip()) >= 4, f"{rule.id}.{name} is empty"
        assert rule.severity in SEVERITY_POINTS, rule.id
        assert any("\u4e00" <= ch <= "\u9fff" for ch in rule.title_zh), (
            f"{rule.id}: title_zh not Chinese"
        )
        assert callable(rule.query)
        assert len(rule.content_hash()) == 64


def test_every_rule_has_a_positive_and_a_negative_case() -> None:
    for rule in all_rules():
        assert any(c.positive for c in rule.cases), f"{rule.id} has no positive case"
        assert any(not c.positive for c in rule.cases), f"{rule.id} has no negative case"
        names = [c.name for c in rule.cases]
        assert len(names) == len(set(names)), f"{rule.id}: duplicate case names"


def test_content_hash_changes_with_the_rule_file(tmp_path: Path) -> None:
    import dataclasses

    rule = all_rules()[0]
    copy = tmp_path / "rule.py"
    copy.write_bytes(Path(rule.source_file).read_bytes())
    moved = dataclasses.replace(rule, source_file=str(copy))
    assert moved.content_hash() == rule.content_hash()
    copy.write_bytes(copy.read_bytes() + b"\n# edited\n")
    assert moved.content_hash() != rule.content_hash()
