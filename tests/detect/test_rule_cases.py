"""Every case of every rule, on every engine: the catalogue's own tests."""

from __future__ import annotations

import pytest

from menshen.detect.engine import Engine
from menshen.detect.rules import all_rules, load_rule, rule_modules
from menshen.detect.testing import check_case


def _cases() -> list[pytest.param]:
    params = []
    for module in rule_modules():
        try:
            rule = load_rule(module)
        except Exception as exc:  # a broken rule file fails its own test, not collection
            params.append(pytest.param(module, None, id=f"{module}-import", marks=[]))
            params[-1] = pytest.param(module, repr(exc), id=f"{module}-import")
            continue
        for i, case in enumerate(rule.cases):
            params.append(
                pytest.param(module, i, id=f"{rule.id}-{i}-{'pos' if case.positive else 'neg'}")
            )
    return params


@pytest.mark.parametrize(("module", "index"), _cases())
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
