"""The ComfyUI stand-in answers as ComfyUI's server.py does (the handlers its docstring
names), and the backend's cancel and prompt ids hold against those answers."""

import uuid

import httpx
import pytest

from tests.factories import make_request, ready_session
from tests.standins import comfyui, drive
from visuals import engine
from visuals.engine.backends.comfyui import ComfyUIBackend
from visuals.models import ImageRequest

pytestmark = pytest.mark.django_db

GRAPH = {
    "1": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}},
}


@pytest.fixture
def server(settings):
    server, state = comfyui(settings, seconds=30)
    base = f"http://127.0.0.1:{server.server_port}"
    with httpx.Client(base_url=base) as http:
        yield http, state
    server.shutdown()


def test_the_job_cancel_is_idempotent_and_only_under_api(server):
    http, state = server
    prompt_id = str(uuid.uuid4())
    assert http.post("/prompt", json={"prompt": GRAPH, "prompt_id": prompt_id}).json()
    first = http.post(f"/api/jobs/{prompt_id}/cancel")
    assert first.status_code == 200 and first.json() == {"cancelled": True}
    # Finished or unknown: still 200, cancelled false (cancel_job_by_id is a no-op).
    again = http.post(f"/api/jobs/{prompt_id}/cancel")
    assert again.status_code == 200 and again.json() == {"cancelled": False}
    unknown = http.post(f"/api/jobs/{uuid.uuid4()}/cancel")
    assert unknown.status_code == 200 and unknown.json() == {"cancelled": False}
    # The route is registered with its /api prefix: there is no /jobs/… route.
    assert http.post(f"/jobs/{prompt_id}/cancel").status_code == 404


def test_a_client_prompt_id_must_be_a_canonical_uuid(server):
    http, state = server
    upper = str(uuid.uuid4()).upper()
    refused = http.post("/prompt", json={"prompt": GRAPH, "prompt_id": upper})
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "invalid_prompt_id"
    assert refused.json()["node_errors"] == {}
    minted = http.post("/prompt", json={"prompt": GRAPH, "prompt_id": None}).json()
    assert str(uuid.UUID(minted["prompt_id"])) == minted["prompt_id"]
    empty = http.post("/prompt", json={"client_id": "x"})
    assert empty.status_code == 400 and empty.json()["error"]["type"] == "no_prompt"
    assert state.submitted == [minted["prompt_id"]]


def test_a_legacy_server_has_no_job_route_and_interrupts_globally(settings):
    server, state = comfyui(settings, seconds=30, legacy=True)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with httpx.Client(base_url=base) as http:
            ids = [str(uuid.uuid4()) for _ in range(2)]
            for prompt_id in ids:
                http.post("/prompt", json={"prompt": GRAPH, "prompt_id": prompt_id})
            http.get("/queue")  # the first one starts
            assert http.post(f"/api/jobs/{ids[0]}/cancel").status_code == 405
            # An older /interrupt reads no body: whatever runs stops.
            http.post("/interrupt", json={"prompt_id": ids[1]})
            history = http.get(f"/history/{ids[0]}").json()
        messages = [kind for kind, _ in history[ids[0]]["status"]["messages"]]
        assert "execution_interrupted" in messages
    finally:
        server.shutdown()


def test_the_backends_cancel_of_a_finished_prompt_sends_no_fallback(settings):
    server, state = comfyui(settings, seconds=0.05)
    try:
        request = make_request(ready_session(), probe_type="identity_selfie")
        assert engine.run(request.pk) == "generating"
        done = drive(request.pk)
        assert done.request_status == "succeeded", done.failure_reason
        state.calls.clear()
        assert ComfyUIBackend().cancel(done.remote_handle) is True
        assert state.calls == [("POST", f"/jobs/{request.pk}/cancel")]
    finally:
        server.shutdown()


def test_on_a_legacy_server_a_queued_prompt_is_dequeued_not_interrupted(settings):
    server, state = comfyui(settings, seconds=30, legacy=True)
    try:
        session = ready_session()
        running, queued = (
            make_request(session, probe_type="identity_selfie") for _ in range(2)
        )
        for request in (running, queued):
            assert engine.run(request.pk) == "generating"
        handle = ImageRequest.objects.get(pk=queued.pk).remote_handle
        state.calls.clear()
        assert ComfyUIBackend().cancel(handle) is True
        # A legacy /interrupt would stop the other request's prompt: never sent.
        assert ("POST", "/interrupt") not in state.calls
        assert ("POST", "/queue") in state.calls
        assert [p.id for p in state.running] == [str(running.pk)]
        assert state.pending == []
    finally:
        server.shutdown()


def test_the_handle_keeps_the_prompt_id_the_server_answered(settings, monkeypatch):
    """A server that predates client-chosen prompt ids mints its own."""
    server, state = comfyui(settings, seconds=0.05)
    minted = str(uuid.uuid4())
    original = state.submit

    def ignoring_the_clients_id(body):
        return original({**body, "prompt_id": minted})

    monkeypatch.setattr(state, "submit", ignoring_the_clients_id)
    try:
        request = make_request(ready_session(), probe_type="identity_selfie")
        assert engine.run(request.pk) == "generating"
        row = ImageRequest.objects.get(pk=request.pk)
        assert row.remote_handle["prompt_id"] == minted
        done = drive(request.pk)
        assert done.request_status == "succeeded", done.failure_reason
    finally:
        server.shutdown()
