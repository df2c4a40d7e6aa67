"""Deployment files stay true to the code: docs/deployment.md names every variable the
settings read, and compose.yaml wires every role with variables the settings know.

(`docker compose config` validates compose.yaml in .ci/run where a Compose client
exists; where there is none, the structure is checked here.)
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ENV_CALL = re.compile(r"\benv\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"")
OS_ENV = re.compile(r"os\.environ\.get\(\s*\"([A-Z][A-Z0-9_]*)\"")


def settings_variables() -> set[str]:
    names = set(ENV_CALL.findall((ROOT / "loreos" / "settings.py").read_text()))
    names |= set(OS_ENV.findall((ROOT / "loreos" / "gunicorn_conf.py").read_text()))
    return names


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_the_variable_scan_finds_the_settings_variables():
    names = settings_variables()
    assert {
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "LOREOS_STORAGE",
        "GUNICORN_WORKERS",
    } <= names
    assert "LOREOS_STATICFILES_STORAGE" in names  # a call spread over several lines


def test_deployment_doc_names_every_environment_variable():
    doc = (ROOT / "docs" / "deployment.md").read_text()
    missing = sorted(name for name in settings_variables() if f"`{name}`" not in doc)
    assert not missing, f"add these to docs/deployment.md: {missing}"


def test_compose_runs_every_role(compose):
    services = compose["services"]
    assert {
        "migrate",
        "web",
        "worker",
        "worker-extra",
        "postgres",
        "redis",
        "minio",
        "minio-bucket",
    } <= set(services)
    assert services["migrate"]["command"] == [
        "python",
        "manage.py",
        "migrate",
        "--noinput",
    ]
    assert services["web"]["command"][:2] == ["gunicorn", "loreos.asgi:application"]
    worker = services["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "loreos", "worker"] and "--beat" in worker
    assert "--beat" not in services["worker-extra"]["command"]
    for role in ("web", "worker", "worker-extra"):
        depends = services[role]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["minio-bucket"]["condition"] == "service_completed_successfully"


def test_compose_application_environment_uses_known_variables(compose):
    known = settings_variables()
    for role in ("migrate", "web", "worker", "worker-extra"):
        environment = compose["services"][role]["environment"]
        unknown = sorted(set(environment) - known)
        assert not unknown, f"{role} sets variables the settings never read: {unknown}"
        assert environment["LOREOS_STORAGE"] == "s3"
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:")
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")


def test_compose_services_it_depends_on_are_defined(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on undefined {dependency}"
    declared = set(compose.get("volumes") or {})
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared


def test_dockerfile_serves_the_web_role_from_the_project_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "\nFROM python:3.11" in dockerfile
    assert (
        'CMD ["gunicorn", "loreos.asgi:application", "-c", "loreos/gunicorn_conf.py"]'
        in dockerfile
    )
    assert "collectstatic --noinput" in dockerfile
    assert "\nUSER loreos" in dockerfile
    assert (ROOT / "loreos" / "gunicorn_conf.py").is_file()
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "var", ".env"} <= set(ignored)


def test_ci_runs_ruff_check_and_format_check_before_the_tests():
    """.ci/run lints with the venv's ruff (the project's config) before any test, and a
    finding stops the run (set -e; each ruff call ends in `|| die`)."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line.strip() for line in lines if not line.lstrip().startswith("#")]

    def first(fragment):
        found = [i for i, command in enumerate(commands) if fragment in command]
        assert found, f"{fragment!r} is not in .ci/run"
        return found[0]

    assert 'RUFF="$ROOT/.venv/bin/ruff"' in commands
    check, fmt = first('"$RUFF" check . '), first('"$RUFF" format --check . ')
    assert "|| die" in commands[check] and "|| die" in commands[fmt]
    assert "set -euo pipefail" in commands
    assert check < first("make test") and fmt < first("make test")
    assert fmt < first("-m pytest")
    test_extra = _pyproject()["project"]["optional-dependencies"]["test"]
    assert any(r.startswith("ruff") for r in test_extra), test_extra


def _pyproject():
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())
