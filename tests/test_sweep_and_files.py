"""Nothing stays queued forever; a generated file lives as long as something uses it."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from tests.brokers import use_broker
from visuals.engine import lifecycle
from visuals.models import ImageRequest, VisualAsset

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_request_whose_message_was_lost_is_failed_by_the_sweep(api, ready):
    with use_broker("memory://"):  # sent, but no worker will ever read it
        response = api.post(
            "/v1/characters/mira/image-probe",
            {"probe_type": "identity_selfie", "session_id": ready["session_id"]},
            format="json",
        )
    probe_id = response.json()["data"]["probe_id"]
    assert lifecycle.sweep_stale() == 0  # young: left alone
    ImageRequest.objects.filter(pk=probe_id).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    assert lifecycle.sweep_stale() == 1
    report = api.get(f"/v1/characters/mira/image-probe/{probe_id}").json()
    assert (
        report["state"] == "failed"
        and "no worker picked the request up" in report["failure_reason"]
    )
    events = api.get(f"/v1/sessions/{ready['session_id']}/events").json()["data"][
        "events"
    ]
    assert events[-1]["type"] == "image.failed"


def test_deleting_a_session_keeps_the_files_of_assets_made_in_it(api, ready):
    api.post(
        "/v1/characters/mira/inventory/generate",
        {"categories": ["wardrobe"], "session_id": ready["session_id"]},
        format="json",
    )
    asset = VisualAsset.objects.get(source="inventory")
    name = asset.file.name
    ImageRequest.objects.all().delete()  # e.g. the session's cascade
    assert default_storage.exists(name)
    assert api.get(f"/v1/characters/mira/visual-assets/{asset.pk}").json()["data"][
        "url"
    ]
    api.delete(f"/v1/characters/mira/visual-assets/{asset.pk}")
    assert not default_storage.exists(name)
