"""The fast read paths (plain rows, no DRF serializer fields, orjson) answer exactly
what the OpenAPI schema documents and what the DRF serializers answered before."""

import copy
import json
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator

from characters.models import Character
from loreos.api.renderers import OrjsonRenderer
from tests.test_assets_upload import uploaded
from tests.test_conditional_requests import generate, probe
from visuals.models import VisualAsset
from visuals.serializers import ASSET_COLUMNS, AssetSerializer, asset_data

pytestmark = pytest.mark.django_db


def _strict(node):
    """OpenAPI 3.0 → JSON Schema: `nullable` becomes a null alternative, and an object
    with declared properties allows no others (so the schema describes it exactly)."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _strict(v) for k, v in node.items()}
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="module")
def openapi(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/v1/schema?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def assert_matches_schema(openapi, template, response):
    assert response.status_code == 200, response.content
    operation = openapi["paths"][template]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    root = _strict({**copy.deepcopy(schema), "components": openapi["components"]})
    errors = sorted(
        Draft202012Validator(root).iter_errors(response.json()),
        key=lambda e: list(e.path),
    )
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_every_fast_response_matches_its_schema(api, ready, openapi):
    pid = probe(api, ready)
    generate(api, ready["session_id"], count=2)
    uploaded(api, category="wardrobe", asset_key="coat", label="green coat")
    char = "/v1/characters/{slug}"
    cases = {
        f"{char}/visual-readiness": "/v1/characters/mira/visual-readiness",
        f"{char}/visual-inventory": "/v1/characters/mira/visual-inventory",
        f"{char}/image-probe/{{probe_id}}": f"/v1/characters/mira/image-probe/{pid}",
        f"{char}/image-probe": "/v1/characters/mira/image-probe",
        f"{char}/inventory/generations": "/v1/characters/mira/inventory/generations",
        "/v1/sessions/{session_id}/events": (
            f"/v1/sessions/{ready['session_id']}/events?since=0"
        ),
    }
    for template, path in cases.items():
        assert_matches_schema(openapi, template, api.get(path))


def test_the_inventory_rows_read_as_the_asset_serializer_writes(api, ready):
    generate(api, ready["session_id"], count=2)
    coat = uploaded(api, category="wardrobe", asset_key="coat", label="green coat")
    VisualAsset.objects.filter(pk=coat["id"]).update(
        advice=[{"code": "blurry", "message": "m", "extra": 1}],
        decided_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        decision_reason="because",
    )
    rows = VisualAsset.objects.filter(
        character=Character.objects.get(slug="mira")
    ).order_by("created_at")
    assert rows.count() >= 4
    assert asset_data(rows.values(*ASSET_COLUMNS)) == [
        dict(d) for d in AssetSerializer(rows, many=True).data
    ]
    inventory = api.get("/v1/characters/mira/visual-inventory").json()["data"]
    listed = {a["id"]: a for g in inventory["categories"].values() for a in g["assets"]}
    for asset in AssetSerializer(rows, many=True).data:
        assert listed[asset["id"]] == json.loads(json.dumps(asset))


def test_the_orjson_renderer_writes_what_drf_wrote():
    from rest_framework.renderers import JSONRenderer

    data = {
        "when": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "text": "héllo ✓",
        "n": [1, 2.5, None, True],
    }
    assert json.loads(OrjsonRenderer().render(data)) == json.loads(
        JSONRenderer().render(data)
    )
    assert OrjsonRenderer().render(None) == b""
