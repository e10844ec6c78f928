"""The detection catalogue: one module per rule (file name = rule id with `-` as `_`).

`all_rules()` imports every module of this package whose name does not start with `_` and
returns its `RULE`, with `source_file` set so that `Rule.content_hash()` works.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from pathlib import Path

from menshen.detect.rule import Rule


def rule_modules() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not info.name.startswith("_")
    )


def load_rule(module_name: str) -> Rule:
    module = importlib.import_module(f"{__name__}.{module_name}")
    rule = getattr(module, "RULE", None)
    if not isinstance(rule, Rule):
        raise TypeError(f"{module.__name__} defines no RULE = Rule(...)")
    if not rule.source_file:
        rule = dataclasses.replace(rule, source_file=str(module.__file__))
    return rule


def all_rules() -> list[Rule]:
    """Every rule of the catalogue, sorted by id."""
    return sorted((load_rule(name) for name in rule_modules()), key=lambda r: r.id)
