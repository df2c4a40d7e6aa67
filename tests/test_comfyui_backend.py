"""ComfyUI as a remote job against the loopback stand-in: uploads by sha256 name,
prompt_id = the request id, history polling, /view, node_errors, execution_error,
lost prompts, cancel with fallbacks, and the workflow templates."""

import hashlib
import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from characters.models import SessionEvent
from tests.factories import make_request, ready_session, stored_bytes
from tests.helpers import assert_no_brief_in_file, file_metadata, pixels
from tests.standins import comfyui, drive
from visuals import engine
from visuals.engine.backends import workflows
from visuals.models import ImageRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def standin(settings):
    server, state = comfyui(settings)
    yield state
    server.shutdown()


@pytest.fixture
def session():
    return ready_session()


def test_a_probe_is_submitted_once_then_settled_from_the_history(standin, session):
    request = make_request(session, probe_type="identity_selfie")
    assert engine.run(request.pk) == "generating"
    request.refresh_from_db()
    assert request.request_status == "generating"
    assert request.remote_handle["prompt_id"] == str(request.pk)
    assert standin.submitted == [str(request.pk)]
    uploads = [n for n in standin.inputs if n.startswith("loreos-")]
    assert len(uploads) == 1 and len(uploads[0]) == len("loreos-") + 64 + 4
    graph = standin.history.get(str(request.pk)) or standin.queue()
    done = drive(request.pk)
    assert done.request_status == "succeeded", done.failure_reason
    assert done.servable and done.image.name
    assert done.brief["generation"]["prompt_id"] == str(request.pk)
    assert ("GET", "/view") in standin.calls
    assert graph  # the prompt was visible in the queue or history
    assert SessionEvent.objects.filter(session=session, type="image.ready").count() == 1


def test_saveimage_metadata_with_the_prompt_is_not_stored(standin, session):
    """ComfyUI's SaveImage writes the submitted graph into the PNG's `prompt` chunk
    (the stand-in does too): the stored image carries none of it."""
    request = make_request(
        session, probe_type="identity_selfie", style_brief="misty harbour at dawn"
    )
    engine.run(request.pk)
    done = drive(request.pk)
    assert done.request_status == "succeeded", done.failure_reason
    (output,) = standin.files.values()
    graph = json.loads(file_metadata(output)["prompt"])
    assert "misty harbour at dawn" in json.dumps(graph)
    stored = stored_bytes(done.image)
    assert pixels(stored) == pixels(output)
    assert_no_brief_in_file(stored, ["misty harbour", "prompt", "CLIPTextEncode"])
    assert done.produced_asset.sha256 == hashlib.sha256(stored).hexdigest()


def test_the_same_reference_is_never_uploaded_twice(standin, session):
    for _ in range(2):
        request = make_request(session, probe_type="identity_selfie")
        engine.run(request.pk)
        drive(request.pk)
    assert standin.calls.count(("POST", "/upload/image")) == 1
    assert len(standin.submitted) == 2


def test_the_filled_graph_carries_prompt_seed_size_and_the_identity(standin, session):
    request = make_request(session, probe_type="identity_selfie")
    engine.run(request.pk)
    queued = standin.queue()
    row = (queued["queue_pending"] + queued["queue_running"])[0]
    graph = row[2]
    assert row[1] == str(request.pk)
    text = json.dumps(graph)
    assert "{{" not in text
    assert graph["5"]["inputs"]["image"].startswith("loreos-")
    assert (
        graph["9"]["inputs"]["width"] == 832 and graph["9"]["inputs"]["height"] == 1216
    )
    assert isinstance(graph["10"]["inputs"]["seed"], int)
    assert (
        graph["6"]["inputs"]["text"]
        == request.__class__.objects.get(pk=request.pk).brief["prompt"]
    )


def test_node_errors_fail_the_request_naming_the_node(standin, session):
    standin.script("missing_model")
    request = make_request(session, probe_type="identity_selfie")
    assert engine.run(request.pk) == "failed"
    request.refresh_from_db()
    assert "node 1 (CheckpointLoaderSimple)" in request.failure_reason
    assert "Value not in list" in request.failure_reason
    assert standin.submitted == []


def test_an_unknown_node_type_fails_with_comfyuis_message(
    standin, session, settings, tmp_path
):
    template = json.loads((workflows.SHIPPED / "sdxl_instantid.json").read_text())
    template["8"]["class_type"] = "ApplyInstantIDAdvancedX"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(template))
    settings.LOREOS_COMFYUI_WORKFLOW = str(path)
    request = make_request(session, probe_type="identity_selfie")
    assert engine.run(request.pk) == "failed"
    request.refresh_from_db()
    assert "ApplyInstantIDAdvancedX does not exist" in request.failure_reason


def test_no_face_detected_reaches_failure_reason(standin, session):
    standin.script("no_face")
    request = make_request(session, probe_type="identity_selfie")
    engine.run(request.pk)
    done = drive(request.pk)
    assert done.request_status == "failed"
    assert "No face detected" in done.failure_reason
    assert "ApplyInstantID" in done.failure_reason
    assert (
        SessionEvent.objects.filter(session=session, type="image.failed").count() == 1
    )


def test_a_prompt_with_no_image_output_fails_with_a_reason(standin, session):
    standin.script("no_output")
    request = make_request(session, probe_type="identity_selfie")
    engine.run(request.pk)
    done = drive(request.pk)
    assert done.request_status == "failed"
    assert "without an image output" in done.failure_reason


def test_a_restarted_server_that_lost_the_prompt_fails_it(settings, session):
    server, state = comfyui(settings, seconds=30)
    try:
        request = make_request(session, probe_type="identity_selfie")
        engine.run(request.pk)
        state.restart()
        done = drive(request.pk)
    finally:
        server.shutdown()
    assert done.request_status == "failed"
    assert "no longer knows prompt" in done.failure_reason


def test_an_unreachable_server_is_retried_then_fails(settings, session):
    settings.LOREOS_COMFYUI_URL = "http://127.0.0.1:9"
    settings.LOREOS_IMAGE_BACKEND = "comfyui"
    settings.LOREOS_HTTP_RETRIES = 2
    settings.LOREOS_HTTP_BACKOFF_SECONDS = 0.01
    request = make_request(session, probe_type="identity_selfie")
    assert engine.run(request.pk) == "failed"
    request.refresh_from_db()
    assert "after 3 attempts" in request.failure_reason


@pytest.mark.parametrize("legacy", [False, True])
def test_cancel_in_flight_ends_canceled(settings, session, legacy):
    server, state = comfyui(settings, seconds=30, legacy=legacy)
    try:
        request = make_request(session, probe_type="identity_selfie")
        engine.run(request.pk)
        drive(request.pk, limit=0.3)  # running now
        from visuals.engine import remote

        ImageRequest.objects.filter(pk=request.pk).update(
            cancel_requested_at=request.created_at
        )
        assert remote.cancel_in_flight(ImageRequest.objects.get(pk=request.pk))
        done = drive(request.pk)
    finally:
        server.shutdown()
    assert done.request_status == "canceled" and done.state == "failed"
    assert ("POST", "/jobs/" + str(request.pk) + "/cancel") in state.calls
    if legacy:
        assert ("POST", "/interrupt") in state.calls


def test_shipped_templates_load_and_name_the_identity_image():
    for name in ("sdxl_instantid.json", "flux_pulid.json", "ipadapter_faceid.json"):
        graph = workflows.template_load(name)
        assert "identity_image" in workflows.placeholders(graph)
        assert (workflows.SHIPPED / name.replace(".json", ".md")).exists()


def test_a_template_without_an_identity_image_is_refused(tmp_path):
    template = json.loads((workflows.SHIPPED / "sdxl_instantid.json").read_text())
    template["5"]["inputs"]["image"] = "someone.png"
    path = tmp_path / "no-identity.json"
    path.write_text(json.dumps(template))
    with pytest.raises(ImproperlyConfigured, match="references no identity image"):
        workflows.template_load(str(path))


def test_placeholders_keep_their_type_and_fill_inside_strings():
    graph = {
        "1": {"class_type": "X", "inputs": {"seed": "{{seed}}", "t": "a {{seed}}"}}
    }
    assert workflows.fill(graph, {"seed": 7})["1"]["inputs"] == {"seed": 7, "t": "a 7"}


def test_start_up_refuses_a_comfyui_template_without_an_identity_image(
    settings, tmp_path
):
    from visuals.engine.backends import generators_check

    path = tmp_path / "plain.json"
    path.write_text(
        json.dumps({"1": {"class_type": "SaveImage", "inputs": {"images": ["2", 0]}}})
    )
    settings.LOREOS_IMAGE_BACKEND = "comfyui"
    settings.LOREOS_COMFYUI_WORKFLOW = str(path)
    with pytest.raises(ImproperlyConfigured, match="references no identity image"):
        generators_check()
    settings.LOREOS_COMFYUI_WORKFLOW = ""
    generators_check()  # the shipped default template is fine
    settings.LOREOS_GENERATORS = {"gpu": {"backend": "comfyui", "workflow": str(path)}}
    with pytest.raises(ImproperlyConfigured, match="plain.json"):
        generators_check()


def test_the_template_refusal_stops_django_from_starting(tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "plain.json"
    path.write_text(json.dumps({"1": {"class_type": "SaveImage", "inputs": {}}}))
    env = {
        **os.environ,
        "LOREOS_IMAGE_BACKEND": "comfyui",
        "LOREOS_COMFYUI_WORKFLOW": str(path),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "references no identity image" in done.stderr
