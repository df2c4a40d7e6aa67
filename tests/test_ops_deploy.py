"""Production configuration: `manage.py check --deploy` is clean with production env.

Settings are read once at import, so each check runs in its own process with its own
environment, as a deployment would start it.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "api.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://api.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "LOREOS_BEHIND_TLS_PROXY": "1",
    "LOREOS_REQUIRE_HTTPS_ASSETS": "1",
}
# Whatever the test process runs with (a services-pass DATABASE_URL, DEBUG, the
# DJANGO_ALLOW_ASYNC_UNSAFE that Playwright's browser tests set …) stays out.
_DROP = {"DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", *PRODUCTION}


def check_deploy(extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_check_deploy_reports_nothing_with_the_production_environment():
    result = check_deploy(PRODUCTION)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_check_deploy_flags_the_embedded_defaults():
    """The same check fails when the production variables are missing: they are read."""
    result = check_deploy({})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for check_id in (
        "security.W004",
        "security.W008",
        "security.W009",
        "security.W012",
        "security.W016",
    ):
        assert check_id in output, output


def test_debug_stays_off_unless_asked_for():
    env = {k: v for k, v in os.environ.items() if k not in _DROP}
    code = (
        "import django; django.setup(); from django.conf import settings;"
        " print(settings.DEBUG)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "loreos.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.stdout.strip() == "False", result.stderr
