"""Structured logs of the engine: every line logged while a generation runs carries the
image request's id (loreos.logging.image_request_id_var, bound around the Celery
task)."""

import io
import json
import logging

import pytest

from loreos.logging import JsonFormatter

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h.formatter, JsonFormatter)
    )
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield lambda: [
        json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()
    ]
    handler.setStream(previous)


def test_engine_log_lines_carry_the_image_request_id(api, ready, json_log):
    probe = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": ready["session_id"]},
        format="json",
    )
    assert probe.status_code == 200, probe.content
    probe_id = probe.json()["data"]["probe_id"]
    lines = json_log()
    task_lines = [line for line in lines if "generate_image[" in line["message"]]
    assert task_lines, lines
    for line in task_lines:
        assert line["image_request_id"] == probe_id
        # Eager in this pass: the task ran inside the HTTP request: both ids are there.
        assert line["request_id"] == probe["X-Request-ID"]
    outside = [
        line for line in lines if line not in task_lines and "image_request_id" in line
    ]
    assert all(line["image_request_id"] == probe_id for line in outside)


def test_the_image_request_id_is_unbound_after_the_task(api, ready):
    from loreos.logging import image_request_id_var

    probe = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": ready["session_id"]},
        format="json",
    )
    assert probe.status_code == 200, probe.content
    assert image_request_id_var.get() is None
