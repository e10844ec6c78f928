"""Django for the web app's tests: settings module, a throwaway secret, fast hashing.

Works on SQLite (default) and on PostgreSQL when MENSHEN_DATABASE_URL is set. Django
TestCase classes get the shared `database` marker so the PostgreSQL pass runs them."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "menshen.web.settings")
os.environ.setdefault("MENSHEN_SECRET_KEY", "test-only-secret-" + "k" * 48)

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.test import TransactionTestCase  # noqa: E402

# Argon2 is what production uses (tests/web/test_settings.py checks it); tests hash faster.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        cls = getattr(item, "cls", None)
        if cls is not None and issubclass(cls, TransactionTestCase):
            item.add_marker("database")
