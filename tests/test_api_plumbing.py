"""Authentication, the error envelope, keys, health and schema."""

import io

import pytest
from django.core.management import call_command

from characters.keys import api_key_revoke
from characters.models import ApiKey
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_no_key_is_401_with_envelope(anon):
    response = anon.get("/v1/characters")
    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer a b",
        "Token lok_abcdefgh_x",
        "Bearer lok_nope",
        "Bearer lok_abcdefgh_wrong",
    ],
)
def test_malformed_or_unknown_key_is_401(anon, header):
    response = anon.get("/v1/characters", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "unauthenticated")


def test_revoked_key_is_401(api):
    assert api.get("/v1/characters").status_code == 200
    api_key_revoke(api.api_key)
    assert_error(api.get("/v1/characters"), 401, "unauthenticated")


def test_keys_are_stored_only_as_a_hash(api):
    stored = ApiKey.objects.get(pk=api.api_key.pk)
    assert api.raw_key not in (stored.key_hash, stored.prefix, stored.name)
    assert stored.prefix in api.raw_key and len(stored.key_hash) == 64


def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused(api, anon):
    prefix = api.api_key.prefix
    response = anon.get(
        "/v1/characters", HTTP_AUTHORIZATION=f"Bearer lok_{prefix}_{'x' * 43}"
    )
    assert_error(response, 401, "unauthenticated")


def test_create_api_key_command_prints_only_the_key_last(db, anon):
    out = io.StringIO()
    call_command(
        "create_api_key", "--account", "newco", stdout=out, stderr=io.StringIO()
    )
    lines = out.getvalue().strip().splitlines()
    key = lines[-1]
    assert key.startswith("lok_") and " " not in key
    assert (
        anon.get("/v1/characters", HTTP_AUTHORIZATION=f"Bearer {key}").status_code
        == 200
    )
    out = io.StringIO()
    call_command(
        "create_api_key",
        "--account",
        "newco",
        "--demo",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert ApiKey.objects.filter(account__name="newco", kind="demo").count() == 1


def test_unknown_route_is_404_envelope(api):
    assert_error(api.get("/v1/nope"), 404, "not_found")


def test_method_not_allowed_is_405_envelope(api):
    response = api.delete("/v1/characters")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_unsupported_media_type_is_415_envelope(api):
    response = api.post("/v1/characters", "slug=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_malformed_json_is_parse_error_envelope(api):
    response = api.post("/v1/characters", "{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_validation_error_is_422_naming_the_field(api):
    detail = assert_error(
        api.post("/v1/characters", {"slug": "ok"}, format="json"),
        422,
        "validation_error",
    )
    assert detail["field"] == "name"


def test_healthz_answers_when_the_database_does(anon):
    response = anon.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True


def test_schema_describes_every_route_and_error_envelope(anon):
    response = anon.get("/v1/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    import json

    schema = json.loads(response.content)
    paths = schema["paths"]
    for route in (
        "/v1/characters",
        "/v1/characters/{slug}",
        "/v1/characters/{slug}/versions",
        "/v1/characters/{slug}/readiness",
        "/v1/characters/{slug}/sessions",
        "/v1/sessions/{session_id}/events",
    ):
        assert route in paths, route
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    assert anon.get("/v1/docs").status_code == 200


def test_response_carries_request_id(api):
    response = api.get("/v1/characters", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


def test_unknown_html_route_is_an_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "json" not in response["Content-Type"]


def test_an_unhandled_api_error_is_a_500_envelope(api, monkeypatch, character):
    from characters import readiness

    def boom(character):
        raise RuntimeError("boom")

    monkeypatch.setattr(readiness, "launch_readiness", boom)
    api.raise_request_exception = False
    response = api.get("/v1/characters/mira/readiness")
    assert response.status_code == 500
    assert response.json()["detail"]["code"] == "server_error"


def test_metered_posts_document_the_503_of_a_refused_send(anon):
    import json

    paths = json.loads(anon.get("/v1/schema", HTTP_ACCEPT="application/json").content)[
        "paths"
    ]
    for route in (
        "/v1/characters/{slug}/image-probe",
        "/v1/sessions/{session_id}/images",
    ):
        assert (
            "broker_unavailable"
            in paths[route]["post"]["responses"]["503"]["description"]
        )


def test_each_error_code_carries_the_status_the_contract_gives_it():
    from loreos.api.errors import ApiError, ErrorCode

    contract = {
        "unauthenticated": 401,
        "not_found": 404,
        "validation_error": 422,
        "image_rejected": 422,
        "invalid_category": 422,
        "invalid_transition": 422,
        "batch_too_large": 422,
        "needs_identity": 409,
        "session_exited": 409,
        "budget_exceeded": 402,
        "throttled": 429,
    }
    for code, status in contract.items():
        assert ErrorCode(code).status == status, code
    for code in ErrorCode:
        error = ApiError(code, "m")
        assert error.status_code == code.status
        assert error.body() == {
            "detail": {"code": code.value, "message": "m", "fix": error.fix}
        }
