"""Fixtures for the export tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from menshen.web.exports.document import ReportDocument
from menshen.web.exports.sample import sample_document


@pytest.fixture
def document() -> ReportDocument:
    """A small report: 4 findings, 3 spot checks, 120 look-ups, approved after one return."""
    return sample_document(findings=4, spot_checks=3, lookups=120, seed=7)


# The web tests' shared cast (tests/web/webcast.py) for the model-backed export tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
