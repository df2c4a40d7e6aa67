"""Who may call what: every operation of the OpenAPI schema × every kind of caller.

The operations are read from ``GET /v1/schema`` itself, so a new endpoint arrives here as
a failing "no row" case until someone states what each caller gets from it. Path
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

from characters.keys import create_api_key, revoke_api_key
from tests.conftest import IMAGES_ON, _client_for, assert_error, image_bytes
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
    clients: dict = field(default_factory=dict)

    def fill(self, path: str, *, foreign=False) -> str:
        """The path with A's ids, or (foreign) with ids that exist nowhere."""
        if foreign:
            ids = {
                "slug": "no-such-character",
                "session_id": str(uuid.uuid4()),
                "asset_id": str(uuid.uuid4()),
                "probe_id": str(uuid.uuid4()),
            }
        else:
            ids = {
                "slug": self.slug,
                "session_id": self.session_id,
                "asset_id": self.asset_id,
                "probe_id": self.probe_id,
            }
        for name, value in ids.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"unknown path parameter in {path}: add it to World.fill"
        return path


@pytest.fixture
def world(api, demo_api, other_api, make_character):
    """A ready character of account A with a session, an identity asset and a probe."""
    make_character("mira", thresholds=IMAGES_ON)
    upload = api.post(
        "/v1/characters/mira/visual-assets",
        {
            "file": SimpleUploadedFile("face.png", image_bytes(), content_type="image/png"),
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
    revoked = _client_for(api.api_key.account)
    revoke_api_key(revoked.api_key)
    return World(
        slug="mira",
        session_id=session_id,
        asset_id=upload.json()["data"]["id"],
        probe_id=str(probe.pk),
        clients={"developer": api, "demo": demo_api, "other": other_api, "revoked": revoked},
    )


def _probe_row(character_id, session_id) -> ImageRequest:
    """A finished probe of A (made directly: the matrix is about access, not generation)."""
    from characters.models import Character

    character = Character.objects.get(pk=character_id)
    return ImageRequest.objects.create(
        character=character,
        session_id=session_id,
        version_id=character.active_version_id,
        origin=ImageRequest.Origin.PROBE,
        probe_type="identity_selfie",
        image_kind="selfie",
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
            "file": SimpleUploadedFile("hat.png", image_bytes(), content_type="image/png"),
            "category": "accessory",
            "asset_key": "hat",
            "label": "a straw hat",
        },
        "multipart",
    )


ROWS = {
    "GET /v1/characters": Row(200),
    "POST /v1/characters": Row(201, _json({"slug": "nova", "name": "Nova", "profile": {}})),
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
        assert {"bearerAuth": []} in spec.get("security", schema().get("security", [])), operation
        assert "401" in spec["responses"], f"{operation} does not document its 401"


@pytest.mark.parametrize("operation", schema_operations())
def test_authorization_matrix(operation, world):
    if operation not in ROWS:
        pytest.fail(f"{operation} is in the schema but has no row in ROWS: add one")
    row = ROWS[operation]
    anon = APIClient()

    # No key, malformed or forged keys, a revoked key: 401 with the envelope.
    detail = assert_error(rolled_back(lambda: call(anon, operation, world)), 401, "unauthenticated")
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
        assert foreign.json() == nowhere.json(), "a foreign id must look like a missing one"
    else:
        assert foreign.status_code == row.ok, foreign.content
        text = foreign.content.decode()
        assert world.slug not in text and world.session_id not in text

    # A's demo key: 403 on metered generation, else what the developer key gets.
    demo = rolled_back(lambda: call(world.clients["demo"], operation, world))
    if row.metered:
        assert_error(demo, 403, "demo_key_forbidden")
        assert ImageRequest.objects.filter(pk=world.probe_id).count() == 1
        assert ImageRequest.objects.count() == 1, "a refused call created a request"
    else:
        assert demo.status_code == row.ok, (demo.status_code, demo.content)

    # A's developer key: the normal answer.
    developer = rolled_back(lambda: call(world.clients["developer"], operation, world))
    assert developer.status_code == row.ok, (developer.status_code, developer.content)


def test_refused_callers_change_nothing(world):
    """Every refused call above ran on the real world; none of them wrote a row."""
    from characters.models import Character, Session, UsageRecord
    from visuals.models import VisualAsset

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
    _, raw = create_api_key(account=world.clients["other"].api_key.account)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    slugs = [c["slug"] for c in client.get("/v1/characters").json()["data"]]
    assert slugs == ["rook"]
