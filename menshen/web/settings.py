"""Django settings, read from the environment. A bad value fails loudly at start-up.

Development (default): SQLite in $MENSHEN_HOME/web.sqlite3, a random secret kept in
$MENSHEN_HOME/web-secret-key (created on first use, mode 0600, never in the repository).
Production (MENSHEN_ENV=production): the secret must come from MENSHEN_SECRET_KEY or
MENSHEN_SECRET_KEY_FILE, HTTPS-only cookies, HSTS, and `manage.py check --deploy` passes.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from menshen.config import env_bool, env_int, menshen_home

BASE_DIR = Path(__file__).resolve().parent


def env_secret(name: str) -> str | None:
    """The value of NAME, else the first line of the file named by NAME_FILE."""
    value = os.environ.get(name)
    if value:
        return value.strip()
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        path = Path(file_name)
        if not path.is_file():
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r}: 檔案不存在 / file not found")
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r}: 檔案是空的 / file is empty")
        return text
    return None


def development_secret(home: Path) -> str:
    """A random secret per home, created once and kept out of the repository."""
    path = home / "web-secret-key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    home.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def database_from_url(url: str) -> dict[str, object]:
    """postgresql://user:password@host:port/name[?sslmode=require] -> Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"MENSHEN_DATABASE_URL: 只支援 postgresql:// / only postgresql:// is supported, "
            f"got {parts.scheme!r}"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("MENSHEN_DATABASE_URL: 缺少資料庫名稱 / database name missing")
    options: dict[str, str] = {}
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        options[unquote(key)] = unquote(value)
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("MENSHEN_DATABASE_URL: 連接埠錯誤 / bad port") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(parts.hostname or ""),
        "PORT": str(port or ""),
        "OPTIONS": options,
        "CONN_MAX_AGE": 60,
    }


MENSHEN_ENV = os.environ.get("MENSHEN_ENV", "development").strip().lower()
if MENSHEN_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"MENSHEN_ENV={MENSHEN_ENV!r}: 應為 development 或 production / "
        "expected development or production"
    )
PRODUCTION = MENSHEN_ENV == "production"
HOME = menshen_home()

SECRET_KEY = env_secret("MENSHEN_SECRET_KEY")
if SECRET_KEY is None:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "正式環境需要 MENSHEN_SECRET_KEY 或 MENSHEN_SECRET_KEY_FILE / "
            "production needs MENSHEN_SECRET_KEY or MENSHEN_SECRET_KEY_FILE"
        )
    SECRET_KEY = development_secret(HOME)

DEBUG = env_bool("MENSHEN_DEBUG", False) and not PRODUCTION
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("MENSHEN_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
if not PRODUCTION:
    ALLOWED_HOSTS.append("testserver")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "menshen.web.accounts",
    "menshen.web.reports",
    "menshen.web.investigations",
    "menshen.web.privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "menshen.web.accounts.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "menshen.web.accounts.middleware.DefaultLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "menshen.web.urls"
WSGI_APPLICATION = "menshen.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "menshen.web.accounts.context.roles",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("MENSHEN_DATABASE_URL", "").strip()
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(HOME / "web.sqlite3"),
            "OPTIONS": {
                # WAL lets 20 readers work while one request writes the access log.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "reports:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout: 5 failed logins lock the username for 15 minutes (資通系統防護基準).
MENSHEN_LOCKOUT_FAILURES = env_int("MENSHEN_LOCKOUT_FAILURES", 5)
MENSHEN_LOCKOUT_MINUTES = env_int("MENSHEN_LOCKOUT_MINUTES", 15)
# Re-authentication before revealing an id or approving is valid this long.
MENSHEN_REAUTH_MINUTES = env_int("MENSHEN_REAUTH_MINUTES", 5)

SESSION_COOKIE_AGE = env_int("MENSHEN_SESSION_MINUTES", 60) * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("MENSHEN_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("MENSHEN_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = [
        o.strip()
        for o in os.environ.get("MENSHEN_CSRF_TRUSTED_ORIGINS", "").split(",")
        if o.strip()
    ]

LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Taipei"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_DIR = BASE_DIR / "static"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"menshen": {"handlers": ["console"], "level": "INFO"}},
}

MENSHEN_REPORT_PAGE_SIZE = env_int("MENSHEN_REPORT_PAGE_SIZE", 50)
