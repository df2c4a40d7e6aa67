"""Cancel through the API: a queued probe is withdrawn and refunded, an in-flight one is
stopped at its backend and keeps its unit, a finished one is a 409 request_finished,
a second cancel gives the same answer, a batch cancels every unfinished item."""

import pytest

from characters.models import SessionEvent
from tests.helpers import assert_error
from tests.standins import comfyui, drive
from visuals import engine, tasks
from visuals.engine.backends.compositor import CompositorBackend
from visuals.models import ImageRequest, UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(monkeypatch):
    """No worker picks anything up: what is sent stays queued."""
    monkeypatch.setattr(tasks.generate_image, "apply_async", lambda *a, **k: None)


def run_probe(api, ready, probe_type="identity_selfie") -> str:
    response = api.post(
        f"/v1/characters/{ready['slug']}/image-probe",
        {"session_id": ready["session_id"], "probe_type": probe_type},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()["data"]["probe_id"]


def cancel(api, probe_id, slug="mira"):
    return api.post(f"/v1/characters/{slug}/image-probe/{probe_id}/cancel")


def failed_events(probe_id):
    return [
        e
        for e in SessionEvent.objects.filter(type="image.failed")
        if e.data["image_request_id"] == probe_id
    ]


def test_a_queued_probe_is_canceled_refunded_and_announced(api, ready, held):
    probe_id = run_probe(api, ready)
    assert UsageRecord.objects.filter(image_request_id=probe_id).count() == 1
    response = cancel(api, probe_id)
    assert response.status_code == 200, response.content
    assert response.json()["schema_version"] == "v0"  # the success envelope
    body = response.json()["data"]
    assert body["cancel"] == {"outcome": "canceled", "refunded": True}
    report = body["report"]
    assert report["request_status"] == "canceled" and report["state"] == "failed"
    assert "canceled" in report["failure_reason"]
    assert "refunded" in report["failure_reason"]
    assert UsageRecord.objects.filter(image_request_id=probe_id).count() == 0
    events = failed_events(probe_id)
    assert len(events) == 1 and events[0].data["request_status"] == "canceled"
    # The worker that gets the message later does nothing.
    assert engine.run(probe_id) is None
    assert ImageRequest.objects.get(pk=probe_id).request_status == "canceled"
    # Cancel twice: the same answer, no second event.
    again = cancel(api, probe_id)
    assert again.status_code == 200
    assert again.json()["data"] == response.json()["data"]
    assert len(failed_events(probe_id)) == 1
    detail = api.get(f"/v1/characters/mira/image-probe/{probe_id}").json()
    assert detail["request_status"] == "canceled" and detail["state"] == "failed"


def test_a_finished_probe_is_a_409_with_its_state(api, ready):
    probe_id = run_probe(api, ready)  # eager: generated already
    assert ImageRequest.objects.get(pk=probe_id).request_status == "succeeded"
    response = cancel(api, probe_id)
    assert_error(response, 409, "request_finished")
    assert "state ready" in response.json()["detail"]["message"]
    assert UsageRecord.objects.filter(image_request_id=probe_id).count() == 1


def test_cancel_of_another_accounts_or_an_unknown_probe_is_404(
    api, other_api, ready, held
):
    probe_id = run_probe(api, ready)
    assert_error(cancel(other_api, probe_id), 404, "not_found")
    assert_error(cancel(api, "not-a-uuid"), 404, "not_found")
    assert_error(cancel(api, "00000000-0000-0000-0000-000000000000"), 404, "not_found")
    assert ImageRequest.objects.get(pk=probe_id).request_status == "queued"


def test_cancel_while_a_synchronous_backend_runs_ends_canceled_and_keeps_the_unit(
    api, ready, monkeypatch, held
):
    probe_id = run_probe(api, ready)
    original = CompositorBackend.generate
    answers = []

    def generate(self, job):
        answers.append(cancel(api, probe_id))  # the curator clicks Cancel meanwhile
        return original(self, job)

    monkeypatch.setattr(CompositorBackend, "generate", generate)
    assert engine.run(probe_id) == "canceled"
    assert answers[0].status_code == 200
    assert answers[0].json()["data"]["cancel"] == {
        "outcome": "cancel_requested",
        "refunded": False,
    }
    row = ImageRequest.objects.get(pk=probe_id)
    assert row.request_status == "canceled" and not row.servable
    assert "unit is kept" in row.failure_reason
    assert UsageRecord.objects.filter(image_request_id=probe_id).count() == 1
    assert len(failed_events(probe_id)) == 1
    after = cancel(api, probe_id).json()["data"]["cancel"]
    assert after == {"outcome": "canceled", "refunded": False}


def test_cancel_in_flight_on_comfyui_stops_the_job_at_the_server(
    api, ready, settings, held
):
    server, state = comfyui(settings, seconds=30)
    try:
        probe_id = run_probe(api, ready)
        assert engine.run(probe_id) == "generating"
        response = cancel(api, probe_id)
        assert response.json()["data"]["cancel"]["outcome"] == "cancel_requested"
        assert ("POST", f"/jobs/{probe_id}/cancel") in state.calls
        done = drive(probe_id)
    finally:
        server.shutdown()
    assert done.request_status == "canceled"
    assert UsageRecord.objects.filter(image_request_id=probe_id).count() == 1


def test_a_batch_cancel_cancels_every_unfinished_item(api, ready, held):
    response = api.post(
        "/v1/characters/mira/inventory/generate",
        {
            "session_id": ready["session_id"],
            "categories": ["wardrobe"],
            "count_per_category": 3,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    ids = [i["request_id"] for i in response.json()["data"]["batch"]]
    batch_id = ImageRequest.objects.get(pk=ids[0]).batch_id
    engine.run(ids[0])  # one item finished before the cancel
    url = f"/v1/characters/mira/inventory/batches/{batch_id}/cancel"
    first = api.post(url)
    assert first.status_code == 200, first.content
    assert first.json()["schema_version"] == "v0"
    data = first.json()["data"]
    assert data["canceled"] == 2 and data["cancel_requested"] == 0
    assert {i["report"]["probe_id"] for i in data["items"]} == set(ids[1:])
    statuses = dict(
        ImageRequest.objects.filter(pk__in=ids).values_list("pk", "request_status")
    )
    assert sorted(statuses.values()) == ["canceled", "canceled", "succeeded"]
    assert UsageRecord.objects.filter(image_request_id__in=ids).count() == 1
    again = api.post(url)
    assert again.status_code == 200 and again.json()["data"] == data
    nobody = "00000000-0000-0000-0000-000000000000"
    unknown = f"/v1/characters/mira/inventory/batches/{nobody}/cancel"
    assert_error(api.post(unknown), 404, "not_found")


def test_a_batch_whose_items_all_finished_is_a_409(api, ready):
    response = api.post(
        "/v1/characters/mira/inventory/generate",
        {"session_id": ready["session_id"], "categories": ["wardrobe"]},
        format="json",
    )
    ids = [i["request_id"] for i in response.json()["data"]["batch"]]
    batch_id = ImageRequest.objects.get(pk=ids[0]).batch_id
    answer = api.post(f"/v1/characters/mira/inventory/batches/{batch_id}/cancel")
    assert_error(answer, 409, "request_finished")
    assert str(batch_id) in answer.json()["detail"]["message"]


def test_the_inventory_generation_id_is_accepted_by_the_probe_cancel(api, ready, held):
    response = api.post(
        "/v1/characters/mira/inventory/generate",
        {"session_id": ready["session_id"], "categories": ["wardrobe"]},
        format="json",
    )
    item = response.json()["data"]["batch"][0]["request_id"]
    answer = cancel(api, item)
    assert answer.status_code == 200
    assert answer.json()["data"]["report"]["request_status"] == "canceled"
