"""The product runs from a wheel built from the repository, on a closed network.

The wheel is built from a copy of the checkout (a build leaves build/ and *.egg-info
behind) with the venv's setuptools and no build isolation, so nothing is downloaded.
It is installed without dependencies into a target folder; an isolated interpreter
(`-I`: no PYTHONPATH, no current folder, no user site), started outside the checkout,
puts that folder first on sys.path and finds the dependencies in the venv. There every
app of INSTALLED_APPS is imported from the wheel, `manage.py check` passes, static files
collect (the apps' own and the API docs' sidecar files), migrations run and the pages
that need templates render.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# What a source checkout holds that is not source (and, but for .git, is not tracked).
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "var",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "test-artifacts",
    "staticfiles",
)


def own_apps() -> list[str]:
    """The project's apps: those of INSTALLED_APPS that are top-level folders here."""
    from django.apps import apps

    return sorted(
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == ROOT
    )


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (
        command,
        result.stdout[-4000:],
        result.stderr[-4000:],
    )
    return result


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory):
    """The folder the wheel was installed into (`pip install --target`)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--wheel-dir", str(work / "dist"), str(source)],
        cwd=work,
    )
    (wheel,) = (work / "dist").glob("*.whl")
    site = work / "site"
    run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)])
    return site


def run_from_wheel(site: Path, code: str, tmp_path: Path) -> dict:
    """Run `code` in an isolated interpreter that imports the project from `site` only.

    The environment is built from nothing but PATH and HOME, so no DATABASE_URL, broker
    or storage of the test run leaks in: the embedded default under a fresh var folder.
    """
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "var").mkdir()  # the SQLite database's folder, as a deployment makes it
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "loreos.settings",
        "LOREOS_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    prelude = f"import sys; sys.path.insert(0, {str(site)!r})\n"
    result = run(
        [sys.executable, "-I", "-c", prelude + textwrap.dedent(code)],
        cwd=outside,
        env=env,
        timeout=300,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_wheel_installs_every_app_and_the_product_runs_from_it(
    wheel_site, tmp_path
):
    apps = own_apps()
    assert {"characters", "visuals", "curate"} <= set(apps), apps
    facts = run_from_wheel(
        wheel_site,
        f"""
        import importlib, io, json
        from contextlib import redirect_stdout
        from pathlib import Path

        import django
        from django.core.management import call_command, execute_from_command_line

        django.setup()
        files = {{}}
        for name in {["loreos", *apps]!r}:
            files[name] = importlib.import_module(name).__file__
        with redirect_stdout(io.StringIO()) as out:
            execute_from_command_line(["manage.py", "check"])
            call_command("collectstatic", "--noinput", verbosity=0)
            call_command("migrate", verbosity=0)
        from django.conf import settings
        from django.contrib.staticfiles.finders import find
        from django.test import Client

        client = Client()
        pages = {{}}
        for path in ("/v1/docs", "/v1/redoc", "/accounts/login/"):
            response = client.get(path)
            pages[path] = [response.status_code, response.content.decode()]
        response = client.post("/accounts/logout/")
        pages["logout"] = [response.status_code, response.content.decode()]
        print(json.dumps({{
            "files": files,
            "check": out.getvalue(),
            "static": sorted(
                str(p.relative_to(settings.STATIC_ROOT))
                for p in Path(settings.STATIC_ROOT).rglob("*")
                if p.is_file()
            ),
            "pages": pages,
            "curate_css": find("curate/curate.css"),
        }}))
        """,
        tmp_path,
    )

    # Every app is imported from the wheel, none from the checkout.
    for name, file in facts["files"].items():
        assert Path(file).is_relative_to(wheel_site), (name, file)
    assert "System check identified no issues" in facts["check"]

    # Static files: the apps' own and the sidecar's Swagger UI and Redoc files.
    static = set(facts["static"])
    assert {"curate/curate.css", "curate/review.js", "curate/admin.css"} <= static
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in static
    assert "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in static
    assert Path(facts["curate_css"]).is_relative_to(wheel_site)

    # Templates come from the wheel too: the pages render.
    status, body = facts["pages"]["/v1/docs"]
    assert status == 200 and "drf_spectacular_sidecar/swagger-ui-dist" in body
    status, body = facts["pages"]["/v1/redoc"]
    assert status == 200 and "redoc.standalone.js" in body
    assert "https://" not in body
    status, body = facts["pages"]["/accounts/login/"]
    assert status == 200 and "Sign in" in body and "curate/curate.css" in body
    status, body = facts["pages"]["logout"]
    assert status == 200 and "Signed out" in body


def test_templates_and_static_files_live_in_their_apps():
    """No project-level templates/ or static/ folder: a wheel ships only packages, so a
    template or a static file outside an app would be missing from an installed product.
    """
    assert not (ROOT / "templates").exists()
    assert not (ROOT / "static").exists()
    assert settings.STATICFILES_DIRS == []
    for engine in settings.TEMPLATES:
        for folder in engine["DIRS"]:
            assert Path(folder).resolve().is_relative_to(ROOT / "loreos"), folder
