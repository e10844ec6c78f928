"""Settings from the environment: production passes `check --deploy`, bad values fail loudly,
secrets never come from the repository."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from menshen.web.settings import database_from_url, development_secret, env_secret

ROOT = Path(__file__).resolve().parents[2]


def run_django(
    args: list[str], env_extra: dict[str, str], home: Path
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENSHEN_")}
    env.update({"DJANGO_SETTINGS_MODULE": "menshen.web.settings", "MENSHEN_HOME": str(home)})
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_check(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("p" * 64 + "-Qx7", encoding="utf-8")
    result = run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            "MENSHEN_ENV": "production",
            "MENSHEN_SECRET_KEY_FILE": str(secret),
            "MENSHEN_ALLOWED_HOSTS": "audit.example.gov.tw",
        },
        tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_a_secret_refuses_to_start(tmp_path: Path) -> None:
    result = run_django(["check"], {"MENSHEN_ENV": "production"}, tmp_path)
    assert result.returncode != 0
    assert "MENSHEN_SECRET_KEY" in result.stderr
    assert not (tmp_path / "web-secret-key").exists()


def test_a_bad_environment_value_fails_loudly(tmp_path: Path) -> None:
    result = run_django(["check"], {"MENSHEN_SESSION_MINUTES": "soon"}, tmp_path)
    assert result.returncode != 0 and "MENSHEN_SESSION_MINUTES" in result.stderr
    result = run_django(["check"], {"MENSHEN_ENV": "staging"}, tmp_path)
    assert result.returncode != 0 and "MENSHEN_ENV" in result.stderr


def test_development_uses_a_random_secret_kept_in_the_home(tmp_path: Path) -> None:
    first = development_secret(tmp_path)
    assert len(first) > 40 and development_secret(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / "web-secret-key").stat().st_mode)
    assert mode == 0o600
    assert development_secret(tmp_path / "other") != first


def test_a_secret_file_that_does_not_exist_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MENSHEN_TEST_SECRET", raising=False)
    monkeypatch.setenv("MENSHEN_TEST_SECRET_FILE", "/no/such/file")
    with pytest.raises(ImproperlyConfigured, match="MENSHEN_TEST_SECRET_FILE"):
        env_secret("MENSHEN_TEST_SECRET")


def test_the_database_url_is_parsed_for_postgresql() -> None:
    db = database_from_url("postgresql://audit:p%40ss@db.local:5433/menshen?sslmode=require")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "menshen",
        "audit",
        "p@ss",
        "db.local",
        "5433",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    "url", ["mysql://u:p@h/db", "postgresql://u:p@h:99999/db", "postgresql://u:p@h/"]
)
def test_a_bad_database_url_is_refused(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="MENSHEN_DATABASE_URL"):
        database_from_url(url)


def test_passwords_are_hashed_with_argon2_in_the_real_settings(tmp_path: Path) -> None:
    result = run_django(
        ["shell", "-c", "from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"],
        {"MENSHEN_SECRET_KEY": "x" * 60},
        tmp_path,
    )
    assert result.stdout.strip().endswith("Argon2PasswordHasher"), result.stderr


def test_responses_carry_security_headers(client) -> None:
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert "csrftoken" in response.cookies


def test_the_models_and_the_migrations_agree(tmp_path: Path) -> None:
    result = run_django(
        ["makemigrations", "--check", "--dry-run"], {"MENSHEN_SECRET_KEY": "x" * 60}, tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
