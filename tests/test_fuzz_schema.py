"""Property-based fuzzing of every operation in /v1/schema, in-process over WSGI.

Schemathesis generates valid and invalid requests from the schema the app serves; each
goes through the real Django stack (middleware, auth, parsers, views) with a developer
key of an account that owns a ready character, and path parameters that are either
that account's real ids (so the views are exercised past the 404) or generated ones.
For every response:

- it is never a 5xx ("the service keeps working");
- its status is one the schema documents, and its body conforms to the schema's response
  schema for that status and content type;
- every 4xx carries the envelope ``{"detail": {code, message, fix}}``;
- a JSON body generated to break the schema is refused with a 4xx (the one leniency:
  a number sent for a string is read as its text, as DRF does).

A second test sends one valid request per operation (real probes and generations run)
and holds every success body to its documented schema.

Bounded: a fixed seed and a few examples per operation keep the file near a minute on
two cores; set ``LOREOS_FUZZ_EXAMPLES`` for a longer run.
"""

import copy
import json
import os
import uuid

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schemathesis.core.parameters import ParameterLocation

from tests.helpers import IMAGES_ON, image_bytes
from tests.webhook_fixtures import PUBLIC_URL, webhook_with_delivery

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("LOREOS_FUZZ_EXAMPLES", "25"))


def _wsgi_app():
    """Django's WSGI handler without its per-request connection recycling.

    The test runs inside one database transaction (pytest-django); Django's own test
    client likewise disconnects ``close_old_connections`` so a request cannot close the
    connection that transaction lives on.
    """
    handler = get_wsgi_application()

    def app(environ, start_response):
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            response = handler(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)

    return app


APP = _wsgi_app()
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261123,
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": False},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        # Keys are the authorization matrix's subject (test_authz_matrix.py); here every
        # request carries the owner's key and the fuzzing goes into paths and bodies.
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "with-security-parameters": False,
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/v1/schema?format=json", APP, config=CONFIG)


@pytest.fixture
def owner(api, make_character, settings):
    """A developer key whose account owns a ready character, a session and a probe.

    The probe and an inventory generation really ran (eager Celery), so the reports
    the schema is checked against carry images, verdicts and produced assets.
    """
    settings.LOREOS_METERED_THROTTLE = ""
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
    probe = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": session_id},
        format="json",
    )
    assert probe.status_code == 200, probe.content
    batch = api.post(
        "/v1/characters/mira/inventory/generate",
        {"categories": ["prop"], "session_id": session_id},
        format="json",
    )
    assert batch.status_code == 200, batch.content
    hook = webhook_with_delivery(api.api_key.account)
    # Something left to cancel: a probe and a batch item still queued (made directly,
    # as a worker that has not picked them up yet would leave them).
    from tests.factories import make_request
    from visuals.models import ImageRequest

    open_session = ImageRequest.objects.get(pk=probe.json()["data"]["probe_id"]).session
    queued = make_request(open_session, probe_type="identity_selfie")
    queued_item = make_request(open_session, category="prop", batch_id=uuid.uuid4())
    return {
        "key": api.raw_key,
        "ids": {
            "slug": "mira",
            "session_id": session_id,
            "asset_id": upload.json()["data"]["id"],
            "probe_id": probe.json()["data"]["probe_id"],
            **hook,
        },
        "queued": {
            "probe_id": str(queued.pk),
            "batch_id": str(queued_item.batch_id),
        },
    }


def assert_envelope(response):
    body = json.loads(response.content)
    assert set(body) == {"detail"}, body
    detail = body["detail"]
    assert isinstance(detail, dict), body
    assert {"code", "message", "fix"} <= set(detail), detail
    assert set(detail) <= {"code", "message", "fix", "field"}, detail
    assert all(isinstance(detail[k], str) for k in ("code", "message", "fix")), detail
    assert detail["code"] and detail["message"], detail


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.specs.openapi.checks.status_code_conformance,
    schemathesis.specs.openapi.checks.content_type_conformance,
    schemathesis.specs.openapi.checks.response_schema_conformance,
]


def _negated(case, location) -> bool:
    return case.meta is not None and case.meta.is_negative_at(location)


def _valid_once_drf_coerces(schema: dict, body) -> bool:
    """Whether `body` meets `schema` once numbers sent for strings are read as text.

    DRF's CharField reads 42 as "42" (as most JSON APIs do); that leniency is the only
    one a JSON body gets: anything else the schema forbids must be refused.
    """
    validator = Draft202012Validator(schema)
    body = copy.deepcopy(body)
    for _ in range(20):
        errors = list(validator.iter_errors(body))
        if not errors:
            return True
        coerced = False
        for error in errors:
            wanted = error.validator_value
            wanted = wanted if isinstance(wanted, list) else [wanted]
            value = error.instance
            path = list(error.absolute_path)
            if (
                error.validator == "type"
                and "string" in wanted
                and isinstance(value, int | float)
                and not isinstance(value, bool)
                and path
            ):
                parent = body
                for key in path[:-1]:
                    parent = parent[key]
                parent[path[-1]] = str(value)
                coerced = True
        if not coerced:
            return False
    return False


def assert_invalid_json_body_refused(case, response):
    """A JSON body the schema forbids is refused with a 4xx (not accepted, not a 5xx).

    Only cases whose sole invalid part is the body are judged: query strings are read
    leniently (an empty value means "absent"), and multipart forms cannot carry JSON
    types, so for them "invalid" is not well defined.
    """
    if case.media_type != "application/json" or not _negated(
        case, ParameterLocation.BODY
    ):
        return
    others = (ParameterLocation.PATH, ParameterLocation.QUERY, ParameterLocation.HEADER)
    if any(_negated(case, location) for location in others):
        return
    if response.status_code < 400:
        schema = case.operation.get_body_for_media_type(
            "application/json"
        ).optimized_schema
        assert _valid_once_drf_coerces(schema, case.body), (
            f"a forbidden body was accepted ({response.status_code}): {case.body!r}"
        )


@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_survives_generated_requests(case, owner, data):
    # Most examples aim at the owner's real objects, so the views run past the lookup
    # (only where the generated values are valid: an invalid one stays as generated).
    if not _negated(case, ParameterLocation.PATH):
        for name in case.path_parameters or {}:
            if (
                name in owner["ids"]
                and data.draw(st.integers(0, 9), label="other id") < 9
            ):
                case.path_parameters[name] = owner["ids"][name]
    # …and metered bodies name the owner's open session, so generation really runs.
    if isinstance(case.body, dict) and "session_id" in case.body:
        if not _negated(case, ParameterLocation.BODY):
            if data.draw(st.integers(0, 9), label="other session") < 9:
                case.body["session_id"] = owner["ids"]["session_id"]
    response = case.call(app=APP, headers={"Authorization": f"Bearer {owner['key']}"})
    case.validate_response(response, checks=CHECKS)
    if 400 <= response.status_code < 500:
        assert_envelope(response)
    assert_invalid_json_body_refused(case, response)


# --- Valid requests: every operation's success answer conforms to its schema ---------

VALID = {
    "GET /v1/characters": {},
    "POST /v1/characters": {"body": {"slug": "nova", "name": "Nova", "profile": {}}},
    "GET /v1/characters/{slug}": {},
    "PATCH /v1/characters/{slug}": {"body": {"name": "Mira B."}},
    "GET /v1/characters/{slug}/versions": {},
    "GET /v1/characters/{slug}/readiness": {},
    "POST /v1/characters/{slug}/sessions": {},
    "GET /v1/characters/{slug}/visual-readiness": {},
    "GET /v1/characters/{slug}/visual-inventory": {},
    "GET /v1/characters/{slug}/visual-assets": {"query": {"category": "identity"}},
    "POST /v1/characters/{slug}/visual-assets": {
        "media_type": "multipart/form-data",
        "body": lambda ids: {
            "file": image_bytes(),
            "category": "wardrobe",
            "asset_key": "coat",
            "label": "a green coat",
        },
    },
    "GET /v1/characters/{slug}/visual-assets/{asset_id}": {},
    "PATCH /v1/characters/{slug}/visual-assets/{asset_id}": {
        "body": {"qa_status": "passed"}
    },
    "DELETE /v1/characters/{slug}/visual-assets/{asset_id}": {},
    "GET /v1/characters/{slug}/image-probe": {},
    "POST /v1/characters/{slug}/image-probe": {
        "body": lambda ids: {
            "probe_type": "prop_usage",
            "session_id": ids["session_id"],
        }
    },
    "GET /v1/characters/{slug}/image-probe/{probe_id}": {},
    "POST /v1/characters/{slug}/inventory/generate": {
        "body": lambda ids: {
            "categories": ["wardrobe", "place"],
            "session_id": ids["session_id"],
            "hold_for_review": True,
        }
    },
    "GET /v1/characters/{slug}/inventory/generations": {},
    # Canceled while still queued (owner["queued"]): a 200 with the canceled report.
    "POST /v1/characters/{slug}/image-probe/{probe_id}/cancel": {"path": "queued"},
    "POST /v1/characters/{slug}/inventory/batches/{batch_id}/cancel": {
        "path": "queued"
    },
    "GET /v1/sessions/{session_id}": {},
    "GET /v1/sessions/{session_id}/events": {"query": {"since": 0}},
    "POST /v1/sessions/{session_id}/exit": {},
    "POST /v1/sessions/{session_id}/images": {"body": {}},
    "GET /v1/webhooks": {},
    "POST /v1/webhooks": {
        "body": {"url": PUBLIC_URL, "events": ["image.ready", "batch.completed"]}
    },
    "GET /v1/webhooks/{webhook_id}": {},
    "PATCH /v1/webhooks/{webhook_id}": {"body": {"events": ["asset.decided"]}},
    "DELETE /v1/webhooks/{webhook_id}": {},
    "POST /v1/webhooks/{webhook_id}/rotate-secret": {},
    "GET /v1/webhooks/{webhook_id}/deliveries": {},
    "POST /v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay": {},
}


def test_every_schema_operation_has_a_valid_request():
    documented = {
        f"{operation.method.upper()} {operation.path}"
        for operation in (result.ok() for result in schema.get_all_operations())
    }
    assert documented == set(VALID)


@pytest.mark.parametrize("label", sorted(VALID))
def test_valid_requests_get_a_documented_success(label, owner):
    method, path = label.split(" ", 1)
    spec = VALID[label]
    body = spec.get("body", schemathesis.core.NOT_SET)
    ids = {**owner["ids"], **owner.get(spec.get("path"), {})}
    case = schema[path][method].Case(
        path_parameters={k: v for k, v in ids.items() if "{" + k + "}" in path},
        query=spec.get("query"),
        body=body(owner["ids"]) if callable(body) else body,
        media_type=spec.get(
            "media_type", "application/json" if "body" in spec else None
        ),
    )
    response = case.call(app=APP, headers={"Authorization": f"Bearer {owner['key']}"})
    assert 200 <= response.status_code < 300, (
        response.status_code,
        response.content[:300],
    )
    case.validate_response(response, checks=CHECKS)
