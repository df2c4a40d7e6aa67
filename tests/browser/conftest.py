"""Browser tests: Playwright (Python) driving Debian's chromium against live_server.

Playwright's sync API runs an event loop in the test thread, where Django would then
refuse ORM calls; the tests set up data through the ORM and the API client in that
same thread, so the async-safety check is switched off (DJANGO_ALLOW_ASYNC_UNSAFE) —
for this package's tests only: the variable must not leak into other tests or the
subprocesses they start (`check --deploy` rightly refuses it).
"""

import os
from pathlib import Path

import pytest

from tests.live_asgi import serve

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))


class AsgiLiveServer:
    """What the tests read of pytest-django's LiveServer (`url`), plus the settings
    change its `_live_server_helper` fixture enables around each test."""

    def __init__(self, url):
        from django.test.utils import modify_settings

        self.url = url
        self._live_server_modified_settings = modify_settings(
            ALLOWED_HOSTS={"append": "127.0.0.1"}
        )


@pytest.fixture(scope="package")
def live_server(_test_database_before_the_browser):
    """The production application instead of Django's WSGI test server: uvicorn serving
    loreos.asgi (event streams on the event loop, everything else on the threaded WSGI
    side), with static files from the finders as pytest-django's live_server serves
    them. The pages' EventSource streams work only here."""
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from loreos.asgi import application

    with serve(ASGIStaticFilesHandler(application)) as url:
        yield AsgiLiveServer(url)


@pytest.fixture(scope="session", autouse=True)
def _test_database_before_the_browser(django_db_setup):
    """Create the test database before Playwright's loop starts in this thread."""


@pytest.fixture(scope="package", autouse=True)
def _allow_orm_beside_playwrights_loop():
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# pytest-playwright keeps one Playwright (and its event loop) for the whole session;
# here it lives for this package only, so the loop is gone before other tests run.
@pytest.fixture(scope="package")
def playwright(_pw_api_request_contexts):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    if _pw_api_request_contexts:
        _pw_api_request_contexts.instrument(pw)
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args, browser_type):
    def launch(**kwargs):
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser):
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="package")
def browser_context_args():
    return {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def shot():
    """Save a full-page screenshot to test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name):
        # Lazy images load before the picture is taken; a thumbnail made on first use
        # (a large JPEG portrait) may take a moment.
        page.evaluate(
            "document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })"
        )
        page.wait_for_function(
            "Array.from(document.images).every(i => i.complete)", timeout=15_000
        )
        page.evaluate("window.scrollTo(0, 0)")  # the sticky header stays on top
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
