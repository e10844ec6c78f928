"""Every case of every rule, on every engine: the catalogue's own tests.

The rule modules are split in two halves, this file and test_rule_cases_other_half.py: the
suite runs under pytest-xdist one file per worker, so both workers share the Spark work."""

from __future__ import annotations

import pytest

from menshen.detect.engine import Engine
from menshen.detect.rules import all_rules, load_rule
from menshen.detect.testing import check_case, rule_cases


def _params(half: int) -> list[pytest.param]:
    return [pytest.param(m, i, id=name) for m, i, name in rule_cases(half=half, of=2)]


@pytest.mark.parametrize(("module", "index"), _params(0))
def test_rule_case(module: str, index: int | str, engine: Engine) -> None:
    if isinstance(index, str):
        pytest.fail(f"rule module {module} does not import: {index}")
    rule = load_rule(module)
    check_case(rule, rule.cases[index], engine)


def test_every_rule_returns_the_hit_columns_even_when_nothing_matches() -> None:
    from menshen.detect.engine import connect
    from menshen.detect.rule import Case

    eng = connect("duckdb")
    try:
        empty = Case("no look-ups", positive=False, tables={"access": []})
        for rule in all_rules():
            check_case(rule, empty, eng)
    finally:
        eng.close()
