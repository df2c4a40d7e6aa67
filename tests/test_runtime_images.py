"""Runtime images: the gate to selfies (R01), the daily cap and cooldown, bootstrap
(R19)."""

from datetime import timedelta

import pytest

from loreos import clock
from tests.helpers import assert_error, open_session, upload_identity
from visuals.models import ImageRequest, UsageRecord

pytestmark = pytest.mark.django_db


def send(api, session_id):
    return api.post(f"/v1/sessions/{session_id}/images", {}, format="json")


def test_r01_a_ready_character_sends_a_selfie(api, ready):
    response = send(api, ready["session_id"])
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["decision"] == "send_image" and data["bootstrap"] is True
    assert data["image_kind"] == "selfie" and data["request_id"]
    events = api.get(f"/v1/sessions/{ready['session_id']}/events").json()["data"][
        "events"
    ]
    assert any(e["type"] == "image.ready" for e in events)
    second = send(api, ready["session_id"]).json()["data"]
    assert second["decision"] == "send_image" and second["bootstrap"] is False
    assert ImageRequest.objects.get(pk=second["request_id"]).parent_id is not None


@pytest.mark.parametrize(
    "thresholds,reason",
    [
        ({"image_proactivity": 0, "selfie_comfort": 0}, "image generation is off"),
        ({"daily_image_cap": 0}, "daily_image_cap is 0"),
    ],
)
def test_r01_thresholds_at_zero_mean_no_image(api, ready, thresholds, reason):
    api.patch(
        "/v1/characters/mira", {"behavioral_thresholds": thresholds}, format="json"
    )
    data = send(api, ready["session_id"]).json()["data"]
    assert data["decision"] == "no_image" and reason in data["reason"]
    assert data["request_id"] is None and data["deliverable"] is False
    assert UsageRecord.objects.count() == 0


def test_r01_no_identity_means_no_image(api, make_character):
    make_character("bare", thresholds={"selfie_comfort": 1, "daily_image_cap": 3})
    assert_error(send(api, open_session(api, "bare")), 409, "needs_identity")


def test_daily_cap_counts_todays_runtime_images_and_probes_bypass_it(api, ready):
    api.patch(
        "/v1/characters/mira",
        {"behavioral_thresholds": {"daily_image_cap": 2}},
        format="json",
    )
    assert send(api, ready["session_id"]).json()["data"]["decision"] == "send_image"
    assert send(api, ready["session_id"]).json()["data"]["decision"] == "send_image"
    data = send(api, ready["session_id"]).json()["data"]
    assert (
        data["decision"] == "no_image" and "daily_image_cap reached" in data["reason"]
    )
    probe = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": ready["session_id"]},
        format="json",
    )
    assert probe.status_code == 200  # R23: probes bypass the cap


def test_cooldown_spaces_runtime_images_and_probes_bypass_it(api, ready, monkeypatch):
    api.patch(
        "/v1/characters/mira",
        {"behavioral_thresholds": {"image_cooldown_seconds": 600}},
        format="json",
    )
    assert send(api, ready["session_id"]).json()["data"]["decision"] == "send_image"
    data = send(api, ready["session_id"]).json()["data"]
    assert data["decision"] == "no_image" and "image_cooldown_seconds" in data["reason"]
    probe = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": ready["session_id"]},
        format="json",
    )
    assert probe.status_code == 200
    later = clock.now() + timedelta(seconds=601)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert send(api, ready["session_id"]).json()["data"]["decision"] == "send_image"


def test_r19_non_bootstrap_selfie_without_a_dict_fails_with_the_contract_message(
    api, ready
):
    assert send(api, ready["session_id"]).json()["data"]["decision"] == "send_image"
    # A PATCH that omits identity_anchors drops them from the new version (R17).
    api.patch("/v1/characters/mira", {"profile": {"persona": "baker"}}, format="json")
    detail = assert_error(send(api, ready["session_id"]), 409, "needs_identity")
    assert detail["message"] == "non-bootstrap selfie requires a self visual reference"
    assert "visual-readiness" in detail["fix"]


def test_r19_a_list_of_anchors_never_sends_even_the_bootstrap(api, make_character):
    make_character(
        "listy",
        anchors=["warm", "tired-eyed"],
        thresholds={"selfie_comfort": 1, "daily_image_cap": 3},
    )
    upload_identity(api, "listy")
    assert_error(send(api, open_session(api, "listy")), 409, "needs_identity")
    assert ImageRequest.objects.count() == 0


def test_runtime_images_are_metered_and_gated_by_budget(api, ready):
    api.patch("/v1/characters/mira", {"monthly_budget": 1}, format="json")
    assert send(api, ready["session_id"]).json()["data"]["decision"] == "send_image"
    assert_error(send(api, ready["session_id"]), 402, "budget_exceeded")
    assert UsageRecord.objects.count() == 1


def test_runtime_in_exited_or_foreign_session(api, other_api, ready):
    assert_error(send(other_api, ready["session_id"]), 404, "not_found")
    api.post(f"/v1/sessions/{ready['session_id']}/exit")
    assert_error(send(api, ready["session_id"]), 409, "session_exited")
