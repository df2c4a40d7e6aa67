"""Named generators (LOREOS_GENERATORS): a probe may name one for a side-by-side test;
every report says which generator and backend made it; an unknown name is a 422."""

import json

import pytest

from loreos.devtools import comfyui_standin
from tests.helpers import assert_error
from tests.standins import drive
from visuals.engine.backends import generator_spec
from visuals.models import ImageRequest

pytestmark = pytest.mark.django_db


def probe(api, ready, **extra):
    return api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": ready["session_id"], **extra},
        format="json",
    )


def test_a_probe_names_a_generator_side_by_side_with_the_default(api, ready, settings):
    server, state = comfyui_standin.serve(seconds=0.2)
    settings.LOREOS_GENERATORS = {
        "gpu": {"backend": "comfyui", "url": f"http://127.0.0.1:{server.server_port}"}
    }
    try:
        default = probe(api, ready).json()["data"]["probe_id"]  # eager: compositor
        side = probe(api, ready, generator="gpu").json()["data"]["probe_id"]
        drive(side)
    finally:
        server.shutdown()
    assert state.submitted == [side]  # only the named probe went to ComfyUI
    first = api.get(f"/v1/characters/mira/image-probe/{default}").json()
    second = api.get(f"/v1/characters/mira/image-probe/{side}").json()
    assert first["generator"] == {"name": "default", "backend": "compositor"}
    assert second["generator"] == {"name": "gpu", "backend": "comfyui"}
    assert second["state"] == "ready"
    assert ImageRequest.objects.get(pk=side).generator == "gpu"


def test_an_unknown_generator_is_a_422_and_nothing_is_queued(api, ready):
    response = probe(api, ready, generator="nope")
    detail = assert_error(response, 422, "validation_error")
    assert detail["field"] == "generator" and "default" in detail["message"]
    assert ImageRequest.objects.count() == 0


def test_the_curator_report_shows_the_generator(api, ready, curator_client):
    probe_id = probe(api, ready).json()["data"]["probe_id"]
    page = curator_client.get(f"/curate/reports/{probe_id}/").content.decode()
    assert 'id="report-generator">default · compositor<' in page


def test_generators_come_from_settings_with_the_backend_variables_as_default(
    settings,
):
    settings.LOREOS_IMAGE_BACKEND = "openai"
    assert generator_spec("") == ("openai", {})
    settings.LOREOS_GENERATORS = json.loads(
        '{"default": {"backend": "compositor"},'
        ' "gpu": {"backend": "comfyui", "url": "u"}}'
    )
    assert generator_spec("") == ("compositor", {})
    assert generator_spec("gpu") == ("comfyui", {"url": "u"})


def test_a_character_names_its_generator_and_a_probe_may_override_it(
    api, ready, settings
):
    settings.LOREOS_GENERATORS = {
        "fast": {"backend": "compositor"},
        "also": {"backend": "compositor"},
    }
    bad = api.patch("/v1/characters/mira", {"generator": "nope"}, format="json")
    detail = assert_error(bad, 422, "validation_error")
    assert detail["field"] == "generator"
    answer = api.patch("/v1/characters/mira", {"generator": "fast"}, format="json")
    assert answer.status_code == 200 and answer.json()["data"]["generator"] == "fast"
    first = probe(api, ready).json()["data"]["probe_id"]
    second = probe(api, ready, generator="also").json()["data"]["probe_id"]
    assert ImageRequest.objects.get(pk=first).generator == "fast"
    assert ImageRequest.objects.get(pk=second).generator == "also"
    report = api.get(f"/v1/characters/mira/image-probe/{first}").json()
    assert report["generator"] == {"name": "fast", "backend": "compositor"}
