"""Who may call what: every operation of the OpenAPI schema × every kind of caller.

The operations are read from ``GET /v1/schema`` itself, so a new endpoint arrives here
as a failing "no row" case until someone states what each caller gets from it. Path
parameters are filled with real objects of account A (its character slug, session,
identity asset and probe), so that:

- no key, a malformed key, a forged key and a revoked key are a 401;
- account B's developer key is a 404 — byte for byte the 404 of an id that does not
  exist, so a foreign id is not even confirmed to exist (DESIGN "API");
- A's demo key is a 403 ``demo_key_forbidden`` on the metered probe and inventory POSTs
  (R24) and otherwise gets exactly what A's developer key gets;
- every error carries the envelope ``{"detail": {code, message, fix}}``.

The curator pages (``/curate/``) get the same treatment: anonymous → the login page, a
signed-in user without the curator role → 403 or 404, a curator of another account → 404
for every page naming this account's objects.
"""

import functools
import json
import uuid
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from characters.keys import api_key_create, api_key_revoke
from tests.helpers import IMAGES_ON, api_client_for, assert_error, image_bytes
from tests.webhook_fixtures import PUBLIC_URL, webhook_with_delivery
from visuals.models import ImageRequest

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def schema() -> dict:
    response = Client().get("/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def schema_operations() -> list[str]:
    """Every "METHOD /path" the schema documents."""
    return sorted(
        f"{method.upper()} {path}"
        for path, item in schema()["paths"].items()
        for method in item
        if method in METHODS
    )


# --- The world: account A's objects, account B's key ---------------------------------


@dataclass
class World:
    slug: str
    session_id: str
    asset_id: str
    probe_id: str
    batch_id: str
    webhook_id: str = ""
    delivery_id: str = ""
    clients: dict = field(default_factory=dict)

    def fill(self, path: str, *, foreign=False) -> str:
        """The path with A's ids, or (foreign) with ids that exist nowhere."""
        if foreign:
            ids = {
                "slug": "no-such-character",
                "session_id": str(uuid.uuid4()),
                "asset_id": str(uuid.uuid4()),
                "probe_id": str(uuid.uuid4()),
                "webhook_id": str(uuid.uuid4()),
                "delivery_id": str(uuid.uuid4()),
                "batch_id": str(uuid.uuid4()),
            }
        else:
            ids = {
                "slug": self.slug,
                "session_id": self.session_id,
                "asset_id": self.asset_id,
                "probe_id": self.probe_id,
                "webhook_id": self.webhook_id,
                "delivery_id": self.delivery_id,
                "batch_id": self.batch_id,
            }
        for name, value in ids.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, (
            f"unknown path parameter in {path}: add it to World.fill"
        )
        return path


@pytest.fixture
def world(api, demo_api, other_api, make_character):
    """A ready character of account A with a session, an identity asset and a probe."""
    make_character("mira", thresholds=IMAGES_ON)
    upload = api.post(
        "/v1/characters/mira/visual-assets",
        {
            "file": SimpleUploadedFile(
                "face.png", image_bytes(), content_type="image/png"
            ),
            "category": "identity",
            "asset_key": "identity-front",
            "label": "front-facing portrait",
        },
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    session_id = api.post("/v1/characters/mira/sessions").json()["data"]["session_id"]
    character_id = api.get("/v1/characters/mira").json()["data"]["id"]
    probe = _probe_row(character_id, session_id)
    # Account B has a character of its own (under another slug): a key that works.
    make_character("rook", client=other_api)
    revoked = api_client_for(api.api_key.account)
    api_key_revoke(revoked.api_key)
    hook = webhook_with_delivery(api.api_key.account)
    return World(
        slug="mira",
        session_id=session_id,
        asset_id=upload.json()["data"]["id"],
        probe_id=str(probe.pk),
        webhook_id=hook["webhook_id"],
        delivery_id=hook["delivery_id"],
        batch_id=str(_probe_row(character_id, session_id, batch=True).batch_id),
        clients={
            "developer": api,
            "demo": demo_api,
            "other": other_api,
            "revoked": revoked,
        },
    )


WORLD_REQUESTS = 2  # the world's finished probe and its finished batch item


def _probe_row(character_id, session_id, batch=False) -> ImageRequest:
    """A finished probe of A, or (batch) a finished inventory generation of a batch
    (made directly: the matrix is about access)."""
    from characters.models import Character

    character = Character.objects.get(pk=character_id)
    kind = (
        {"origin": ImageRequest.Origin.INVENTORY, "category": "wardrobe"}
        if batch
        else {"origin": ImageRequest.Origin.PROBE, "probe_type": "identity_selfie"}
    )
    return ImageRequest.objects.create(
        character=character,
        session_id=session_id,
        version_id=character.active_version_id,
        batch_id=uuid.uuid4() if batch else None,
        image_kind="selfie",
        **kind,
        request_status=ImageRequest.Status.FAILED,
        failure_reason="made by the test",
    )


# --- One row per operation: a valid request and what A's developer key gets ----------


@dataclass(frozen=True)
class Row:
    ok: int  # the developer key's status for a valid request on A's objects
    body: object = None  # a callable(world) -> (data, format), or None
    metered: bool = False  # demo keys get 403 demo_key_forbidden (R24)


def _json(data):
    return lambda w: (data(w) if callable(data) else data, "json")


def _upload(w):
    return (
        {
            "file": SimpleUploadedFile(
                "hat.png", image_bytes(), content_type="image/png"
            ),
            "category": "accessory",
            "asset_key": "hat",
            "label": "a straw hat",
        },
        "multipart",
    )


ROWS = {
    "GET /v1/characters": Row(200),
    "POST /v1/characters": Row(
        201, _json({"slug": "nova", "name": "Nova", "profile": {}})
    ),
    "GET /v1/characters/{slug}": Row(200),
    "PATCH /v1/characters/{slug}": Row(200, _json({"name": "Mira Renamed"})),
    "GET /v1/characters/{slug}/versions": Row(200),
    "GET /v1/characters/{slug}/readiness": Row(200),
    "POST /v1/characters/{slug}/sessions": Row(201),
    "GET /v1/characters/{slug}/visual-readiness": Row(200),
    "GET /v1/characters/{slug}/visual-inventory": Row(200),
    "GET /v1/characters/{slug}/visual-assets": Row(200),
    "POST /v1/characters/{slug}/visual-assets": Row(201, _upload),
    "GET /v1/characters/{slug}/visual-assets/{asset_id}": Row(200),
    "PATCH /v1/characters/{slug}/visual-assets/{asset_id}": Row(
        200, _json({"qa_status": "passed"})
    ),
    "DELETE /v1/characters/{slug}/visual-assets/{asset_id}": Row(204),
    "GET /v1/characters/{slug}/image-probe": Row(200),
    "POST /v1/characters/{slug}/image-probe": Row(
        200,
        _json(lambda w: {"probe_type": "identity_selfie", "session_id": w.session_id}),
        metered=True,
    ),
    "GET /v1/characters/{slug}/image-probe/{probe_id}": Row(200),
    # The world's probe and batch are finished: a cancel is 409 request_finished.
    "POST /v1/characters/{slug}/image-probe/{probe_id}/cancel": Row(409),
    "POST /v1/characters/{slug}/inventory/batches/{batch_id}/cancel": Row(409),
    "POST /v1/characters/{slug}/inventory/generate": Row(
        200,
        _json(lambda w: {"categories": ["wardrobe"], "session_id": w.session_id}),
        metered=True,
    ),
    "GET /v1/characters/{slug}/inventory/generations": Row(200),
    "GET /v1/sessions/{session_id}": Row(200),
    "POST /v1/sessions/{session_id}/exit": Row(200),
    "GET /v1/sessions/{session_id}/events": Row(200),
    "POST /v1/sessions/{session_id}/images": Row(200, _json({})),
    "GET /v1/webhooks": Row(200),
    "POST /v1/webhooks": Row(
        201, _json({"url": PUBLIC_URL, "events": ["image.ready"]})
    ),
    "GET /v1/webhooks/{webhook_id}": Row(200),
    "PATCH /v1/webhooks/{webhook_id}": Row(200, _json({"description": "renamed"})),
    "DELETE /v1/webhooks/{webhook_id}": Row(204),
    "POST /v1/webhooks/{webhook_id}/rotate-secret": Row(200),
    "GET /v1/webhooks/{webhook_id}/deliveries": Row(200),
    "POST /v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay": Row(202),
}

MALFORMED = [
    "Bearer",
    "Bearer two tokens",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Bearer not-a-key",
    "Bearer lok_short_secret",
    "Bearer lok_abcdefgh_" + "x" * 43,
    "Bearer caf\xe9",
]


def call(client, operation: str, world: World, *, foreign=False, auth=None):
    method, template = operation.split(" ", 1)
    row = ROWS[operation]
    path = world.fill(template, foreign=foreign)
    kwargs = {}
    if row.body is not None:
        data, fmt = row.body(world)
        kwargs = {"data": data, "format": fmt}
    if auth is not None:
        kwargs["HTTP_AUTHORIZATION"] = auth
    return getattr(client, method.lower())(path, **kwargs)


def rolled_back(fn):
    """Run one call and undo its writes, so each caller meets the same world."""
    with transaction.atomic():
        result = fn()
        transaction.set_rollback(True)
    return result


# --- The matrix -----------------------------------------------------------------------


def test_every_schema_operation_has_a_row():
    documented = set(schema_operations())
    assert documented, "the schema lists no operations"
    missing = sorted(documented - set(ROWS))
    stale = sorted(set(ROWS) - documented)
    assert not missing, f"operations without an authorization row: {missing}"
    assert not stale, f"rows for operations the schema no longer documents: {stale}"


def test_every_schema_operation_declares_bearer_auth_and_401():
    for operation in schema_operations():
        method, path = operation.split(" ", 1)
        spec = schema()["paths"][path][method.lower()]
        assert {"bearerAuth": []} in spec.get(
            "security", schema().get("security", [])
        ), operation
        assert "401" in spec["responses"], f"{operation} does not document its 401"


@pytest.mark.parametrize("operation", schema_operations())
def test_authorization_matrix(operation, world):
    if operation not in ROWS:
        pytest.fail(f"{operation} is in the schema but has no row in ROWS: add one")
    row = ROWS[operation]
    anon = APIClient()

    # No key, malformed or forged keys, a revoked key: 401 with the envelope.
    detail = assert_error(
        rolled_back(lambda: call(anon, operation, world)), 401, "unauthenticated"
    )
    assert "Authorization" in detail["fix"]
    for header in MALFORMED:
        response = rolled_back(lambda h=header: call(anon, operation, world, auth=h))
        assert_error(response, 401, "unauthenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert_error(
        rolled_back(lambda: call(world.clients["revoked"], operation, world)),
        401,
        "unauthenticated",
    )

    # Another account's developer key.
    other = world.clients["other"]
    foreign = rolled_back(lambda: call(other, operation, world))
    if "{" in operation:
        assert_error(foreign, 404, "not_found")
        nowhere = rolled_back(lambda: call(other, operation, world, foreign=True))
        assert foreign.json() == nowhere.json(), (
            "a foreign id must look like a missing one"
        )
    else:
        assert foreign.status_code == row.ok, foreign.content
        text = foreign.content.decode()
        assert world.slug not in text and world.session_id not in text

    # A's demo key: 403 on metered generation, else what the developer key gets.
    demo = rolled_back(lambda: call(world.clients["demo"], operation, world))
    if row.metered:
        assert_error(demo, 403, "demo_key_forbidden")
        assert ImageRequest.objects.filter(pk=world.probe_id).count() == 1
        assert ImageRequest.objects.count() == WORLD_REQUESTS, (
            "a refused call created a request"
        )
    else:
        assert demo.status_code == row.ok, (demo.status_code, demo.content)

    # A's developer key: the normal answer.
    developer = rolled_back(lambda: call(world.clients["developer"], operation, world))
    assert developer.status_code == row.ok, (developer.status_code, developer.content)


def test_refused_callers_change_nothing(world):
    """Every refused call above ran on the real world; none of them wrote a row."""
    from characters.models import Character, Session
    from visuals.models import UsageRecord, VisualAsset

    before = (
        Character.objects.count(),
        Session.objects.count(),
        VisualAsset.objects.count(),
        ImageRequest.objects.count(),
        UsageRecord.objects.count(),
    )
    anon = APIClient()
    for operation in schema_operations():
        if "{" not in operation or operation not in ROWS:
            continue
        call(anon, operation, world)
        call(world.clients["revoked"], operation, world)
        call(world.clients["other"], operation, world)
        if ROWS[operation].metered:
            call(world.clients["demo"], operation, world)
    after = (
        Character.objects.count(),
        Session.objects.count(),
        VisualAsset.objects.count(),
        ImageRequest.objects.count(),
        UsageRecord.objects.count(),
    )
    assert after == before
    assert Character.objects.get(slug="mira").name == "Mira"
    assert Session.objects.get(pk=world.session_id).status == "open"


def test_a_fresh_key_of_account_b_sees_only_b(world):
    _, raw = api_key_create(account=world.clients["other"].api_key.account)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    slugs = [c["slug"] for c in client.get("/v1/characters").json()["data"]]
    assert slugs == ["rook"]


# --- Curator pages (/curate/) --------------------------------------------------------


@dataclass(frozen=True)
class Page:
    method: str = "get"
    # html and stream (Server-Sent Events): anonymous → sign-in; json: anonymous → 401;
    # image: → 404
    kind: str = "html"
    data: object = None  # callable(curate_world) -> POST data
    json_body: bool = False
    names_object: bool = True  # the URL names one of account A's objects


PAGES = {
    "characters": Page(names_object=False),
    "character": Page(),
    "character-assets": Page(),
    "run-probe": Page("post", data=lambda w: {"probe_type": "identity_selfie"}),
    "run-batch": Page(
        "post",
        data=lambda w: {"categories": ["wardrobe"], "count_per_category": 1},
    ),
    "batch-status": Page(kind="json"),
    "batch-stream": Page(kind="stream"),
    "asset": Page(),
    "asset-action": Page("post", data=lambda w: {"decision": "approve"}),
    "review": Page(names_object=False),
    "decide": Page(
        "post",
        kind="json",
        data=lambda w: {"ids": [w["held_id"]], "decision": "approve"},
        json_body=True,
        names_object=False,
    ),
    "reports": Page(names_object=False),
    "review-stats": Page(names_object=False),
    "report": Page(),
    "report-status": Page(kind="json"),
    "report-stream": Page(kind="stream"),
    # The world's probe and batch are finished: the cancel redirects with the refusal.
    "report-cancel": Page("post"),
    "batch-cancel": Page("post"),
    "asset-thumb": Page(kind="image"),
    "request-thumb": Page(kind="image"),
}


def curate_url_names() -> list[str]:
    resolver = get_resolver()
    (curate,) = [
        p
        for p in resolver.url_patterns
        if isinstance(p, URLResolver) and p.namespace == "curate"
    ]
    return sorted(p.name for p in curate.url_patterns if isinstance(p, URLPattern))


@pytest.fixture
def curate_world(account, other_account):
    """Account A: a ready character, a finished probe, a held candidate of a batch;
    users: a curator of A, a curator of B, and two signed-in users who are not curators.
    (Rows made directly: the pages' access rules are the subject, not generation.)"""
    from django.core.files.base import ContentFile

    from characters.demo import CURATORS_GROUP
    from tests.factories import make_asset, make_request, ready_session

    session = ready_session(character__account=account, character__slug="mira")
    character = session.character
    identity = character.visual_assets.get(category="identity")
    probe = make_request(
        session, probe_type="identity_selfie", status="succeeded", servable=True
    )
    probe.image.save("probe.png", ContentFile(image_bytes()))
    batch = make_request(
        session, category="prop", status="succeeded", batch_id=uuid.uuid4()
    )
    held = make_asset(
        character,
        category="prop",
        data=image_bytes(),
        asset_status="candidate",
        source="inventory",
        image_request=batch,
    )
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    users = {}
    for name, granted, in_group in (
        ("cora", account, True),  # curator of A
        ("bob", other_account, True),  # curator of B only
        ("nina", account, False),  # granted A, but not a curator
        ("walt", None, False),  # signed in, nothing else
    ):
        user = User.objects.create(username=name)  # force_login: no password hashing
        if in_group:
            user.groups.add(group)
        if granted is not None:
            granted.curators.add(user)
        users[name] = user
    return {
        "character_id": str(character.pk),
        "asset_id": str(identity.pk),
        "held_id": str(held.pk),
        "probe_id": str(probe.pk),
        "batch_id": str(batch.batch_id),
        "users": users,
    }


def page_url(name: str, w: dict) -> str:
    from django.urls import reverse

    kwargs = {
        "characters": {},
        "character": {"pk": w["character_id"]},
        "character-assets": {"pk": w["character_id"]},
        "run-probe": {"pk": w["character_id"]},
        "run-batch": {"pk": w["character_id"]},
        "batch-status": {"pk": w["character_id"], "batch_id": w["batch_id"]},
        "batch-stream": {"pk": w["character_id"], "batch_id": w["batch_id"]},
        "asset": {"pk": w["asset_id"]},
        "asset-action": {"pk": w["held_id"]},
        "review": {},
        "decide": {},
        "reports": {},
        "review-stats": {},
        "report": {"pk": w["probe_id"]},
        "report-status": {"pk": w["probe_id"]},
        "report-stream": {"pk": w["probe_id"]},
        "report-cancel": {"pk": w["probe_id"]},
        "batch-cancel": {"pk": w["character_id"], "batch_id": w["batch_id"]},
        "asset-thumb": {"pk": w["asset_id"], "size": 96},
        "request-thumb": {"pk": w["probe_id"], "size": 96},
    }[name]
    return reverse(f"curate:{name}", kwargs=kwargs)


def visit(client, name, w):
    page = PAGES[name]
    url = page_url(name, w)
    if page.method == "get":
        return client.get(url)
    data = page.data(w) if page.data else {}
    if page.json_body:
        return client.post(url, json.dumps(data), content_type="application/json")
    return client.post(url, data)


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_every_curator_url_has_a_row():
    assert curate_url_names() == sorted(PAGES)


@pytest.mark.parametrize("name", curate_url_names())
def test_curator_matrix(name, curate_world):
    if name not in PAGES:
        pytest.fail(f"curate:{name} has no row in PAGES: add one")
    page, w = PAGES[name], curate_world
    from visuals.models import VisualAsset

    def held_status():
        return VisualAsset.objects.get(pk=w["held_id"]).asset_status

    requests_before = ImageRequest.objects.count()

    # Anonymous: the sign-in page (HTML), a 401 (JSON), a 404 (an image URL).
    anonymous = rolled_back(lambda: visit(Client(), name, w))
    if page.kind in ("html", "stream"):
        assert anonymous.status_code == 302, anonymous.status_code
        assert anonymous["Location"].startswith("/accounts/login/?next=")
    elif page.kind == "json":
        assert anonymous.status_code == 401
        assert json.loads(anonymous.content)["detail"]["code"] == "unauthenticated"
    else:
        assert anonymous.status_code == 404

    # Signed in without the curator role (granted A or not): a page's 403 (curation.md),
    # an image URL's 404.
    for user in ("nina", "walt"):
        response = rolled_back(lambda u=user: visit(signed_in(w["users"][u]), name, w))
        expected = 404 if page.kind == "image" else 403
        assert response.status_code == expected, (user, response.status_code)

    # A curator of account B: A's objects do not exist for them.
    foreign = rolled_back(lambda: visit(signed_in(w["users"]["bob"]), name, w))
    body = foreign.content.decode(errors="replace")
    if page.names_object:
        assert foreign.status_code == 404, foreign.status_code
    elif name == "decide":
        assert foreign.status_code == 200
        (result,) = json.loads(body)["results"]
        assert result["ok"] is False and result["error"]["code"] == "not_found"
    else:
        assert foreign.status_code == 200
        assert "mira" not in body.lower() and w["held_id"] not in body
    assert held_status() == "candidate"
    assert ImageRequest.objects.count() == requests_before

    # A's curator: the page works (the baseline the refusals are measured against).
    own = rolled_back(lambda: visit(signed_in(w["users"]["cora"]), name, w))
    # A form's POST redirects to its result (post/redirect/get), an image URL to its
    # thumbnail's file; everything else is 200.
    redirects = page.kind == "image" or (page.method, page.kind) == ("post", "html")
    expected = 302 if redirects else 200
    assert own.status_code == expected, own.status_code
    if own.status_code == 302:
        assert not own["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("name", [n for n, p in PAGES.items() if p.method == "post"])
def test_curator_posts_need_a_csrf_token(name, curate_world):
    """Every state-changing curator form refuses a POST without the CSRF token."""
    w = curate_world
    client = signed_in(w["users"]["cora"], enforce_csrf_checks=True)
    requests_before = ImageRequest.objects.count()
    response = visit(client, name, w)
    assert response.status_code == 403
    from visuals.models import VisualAsset

    assert VisualAsset.objects.get(pk=w["held_id"]).asset_status == "candidate"
    assert ImageRequest.objects.count() == requests_before


def test_every_post_form_on_the_curator_pages_carries_the_csrf_token(curate_world):
    import re

    w = curate_world
    client = signed_in(w["users"]["cora"])
    forms_seen = 0
    for name, page in PAGES.items():
        if page.method != "get" or page.kind != "html":
            continue
        response = client.get(page_url(name, w))
        assert response.status_code == 200, (name, response.status_code)
        html = response.content.decode()
        for form in re.findall(r"<form\b.*?</form>", html, flags=re.S | re.I):
            if re.search(r'method\s*=\s*["\']?post', form, flags=re.I):
                forms_seen += 1
                assert 'name="csrfmiddlewaretoken"' in form, (name, form[:200])
    assert forms_seen >= 3  # the character page's runs and the asset page's decisions


def test_key_secrets_are_compared_in_constant_time(api, monkeypatch):
    """The stored SHA-256 of a key is compared with constant_time_compare, never ==."""
    from characters import keys

    calls = []
    real = keys.constant_time_compare

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys, "constant_time_compare", spy)
    assert api.get("/v1/characters").status_code == 200
    forged = APIClient()
    wrong = f"lok_{api.api_key.prefix}_{'x' * 43}"
    forged.credentials(HTTP_AUTHORIZATION=f"Bearer {wrong}")
    assert forged.get("/v1/characters").status_code == 401
    stored = api.api_key.key_hash
    assert [a for a, _ in calls] == [stored, stored]
    assert api.raw_key not in {b for _, b in calls}  # hashes compared, not secrets
