"""Fixtures of the services pass: the real PostgreSQL, Redis, RabbitMQ and S3 endpoints.

.ci/run sets DATABASE_URL, CELERY_BROKER_URL, LOREOS_AMQP_URL and LOREOS_TEST_S3_ENDPOINT
before it runs the suite with LOREOS_SERVICES=1. A services test whose service is missing
or unreachable fails: it never skips, so a green services pass means the service was used.
"""

import os
import socket
import sys
from urllib.parse import urlsplit

import pytest
from django.conf import settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = sys.executable


def required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set: .ci/run sets it for the services pass")
    return value


def require_tcp(url: str, default_port: int) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{url} is unreachable ({exc}): start the service, see .ci/run")


@pytest.fixture
def postgres():
    """The test database is PostgreSQL (pytest-django created test_<name> from DATABASE_URL)."""
    required_env("DATABASE_URL")
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail(
            f"DATABASE_URL must name PostgreSQL for the services pass, not {db['ENGINE']}"
        )
    return db


@pytest.fixture
def redis_url():
    url = required_env("CELERY_BROKER_URL")
    if not url.startswith("redis://"):
        pytest.fail(
            f"CELERY_BROKER_URL must be a redis:// URL in the services pass, not {url}"
        )
    require_tcp(url, 6379)
    return url


@pytest.fixture
def amqp_url():
    url = required_env("LOREOS_AMQP_URL")
    require_tcp(url, 5672)
    return url


@pytest.fixture
def s3_endpoint():
    url = required_env("LOREOS_TEST_S3_ENDPOINT")
    require_tcp(url, 80)
    return url


def database_url(db: dict) -> str:
    """A DATABASE_URL for the database this test process uses (test_<name>)."""
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"
