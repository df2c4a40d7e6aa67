"""Fixtures of the services pass: the real PostgreSQL, Redis, RabbitMQ and S3 endpoints.

.ci/run sets DATABASE_URL, CELERY_BROKER_URL, LOREOS_AMQP_URL and
LOREOS_TEST_S3_ENDPOINT before it runs the suite with LOREOS_SERVICES=1. A services test
whose service is missing or unreachable fails: it never skips, so a green services pass
means the service was used.
"""

import os
import socket
from urllib.parse import urlsplit

import pytest
from django.conf import settings


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
    """The test database is PostgreSQL (test_<name>, made by pytest-django)."""
    required_env("DATABASE_URL")
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail(
            "DATABASE_URL must name PostgreSQL for the services pass,"
            f" not {db['ENGINE']}"
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


@pytest.fixture
def use_broker(postgres, monkeypatch):
    """Send this test's tasks to `url` (the API process side), with an empty queue."""
    from loreos.celery import app

    previous = app.conf.broker_url

    def use(url):
        # Celery reads CELERY_BROKER_URL from the environment before its own setting.
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        app.conf.broker_url = url
        app._after_fork()  # drop the connection and producer pools bound to the old URL
        app.control.purge()
        return app

    yield use
    monkeypatch.undo()
    app.conf.broker_url = previous
    app._after_fork()


@pytest.fixture
def workers(tmp_path):
    from .workers import Worker

    started = []

    def start(env, *, delay=None, app):
        worker = Worker(env=env, log_dir=tmp_path, delay=delay).start()
        started.append(worker)
        return worker.wait_ready(app)

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def redis_cache(settings, redis_url):
    """The default and shared caches on the real Redis (loreos.cache.RedisCache), each
    with a key prefix of this test's own; the shared one is returned."""
    import uuid

    prefix = uuid.uuid4().hex[:12]
    backend = {"BACKEND": "loreos.cache.RedisCache", "LOCATION": redis_url}
    settings.CACHES = {
        "default": {**backend, "KEY_PREFIX": f"{prefix}-d"},
        "shared": {**backend, "KEY_PREFIX": f"{prefix}-s"},
    }
    from django.core.cache import caches

    yield caches["shared"]
    caches["shared"].clear()
