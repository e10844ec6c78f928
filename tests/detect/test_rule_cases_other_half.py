"""The other half of the rule modules' cases, on every engine (see test_rule_cases.py)."""

from __future__ import annotations

import pytest

from menshen.detect.engine import Engine
from menshen.detect.rules import load_rule
from menshen.detect.testing import check_case, rule_cases


@pytest.mark.parametrize(
    ("module", "index"), [pytest.param(m, i, id=n) for m, i, n in rule_cases(half=1, of=2)]
)
def test_rule_case(module: str, index: int | str, engine: Engine) -> None:
    if isinstance(index, str):
        pytest.fail(f"rule module {module} does not import: {index}")
    rule = load_rule(module)
    check_case(rule, rule.cases[index], engine)
