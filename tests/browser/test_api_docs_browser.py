"""/v1/docs (Swagger UI) and /v1/redoc render on a closed network: every request that
is not to the live server is aborted, the page still shows the operations of /v1/schema,
and no request tried to leave the machine."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

# An operation of the contract, as each UI shows it.
PATH = "/v1/characters/{slug}/visual-readiness"


@pytest.fixture
def offline(page, live_server):
    """The page may reach the live server only; returns the requests that went elsewhere
    (each was aborted)."""
    server = urlsplit(live_server.url).netloc
    outside, local = [], []

    def route(route):
        url = route.request.url
        if urlsplit(url).netloc == server or url.startswith(("data:", "blob:")):
            local.append(url)
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", route)
    return {"outside": outside, "local": local}


def test_swagger_ui_renders_the_schema_with_the_network_closed(
    page, live_server, offline, shot
):
    page.goto(f"{live_server.url}/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "LoreOS visual identity API"
    )
    operation = page.locator(f'.opblock-summary-path[data-path="{PATH}"]')
    expect(operation).to_be_visible()
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert page.locator(".opblock").count() >= 10
    shot(page, "api-docs-swagger")

    assert offline["outside"] == []
    static = [u for u in offline["local"] if "/static/drf_spectacular_sidecar/" in u]
    assert any(u.endswith("swagger-ui-bundle.js") for u in static), offline["local"]
    assert any(u.endswith("/v1/schema") for u in offline["local"]), offline["local"]


def test_redoc_renders_the_schema_with_the_network_closed(
    page, live_server, offline, shot
):
    page.goto(f"{live_server.url}/v1/redoc")
    expect(
        page.get_by_role("heading", name="LoreOS visual identity API")
    ).to_be_visible()
    expect(page.locator(".api-content").get_by_text(PATH).first).to_be_attached()
    shot(page, "api-docs-redoc")

    assert offline["outside"] == []
    assert any(u.endswith("redoc.standalone.js") for u in offline["local"])
    assert any(u.endswith("/v1/schema") for u in offline["local"]), offline["local"]
