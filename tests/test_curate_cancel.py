"""The Cancel buttons of the report page and the batch progress panel follow the API's
cancel rules (queued: canceled and refunded; finished: refused with the reason)."""

import pytest

from characters.models import Character
from tests.curate_helpers import client_for, make_user
from visuals import tasks
from visuals.models import ImageRequest, UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(monkeypatch):
    monkeypatch.setattr(tasks.generate_image, "apply_async", lambda *a, **k: None)


def mira():
    return Character.objects.get(slug="mira")


def test_the_report_page_cancels_a_queued_probe(api, ready, curator_client, held):
    curator_client.post(
        f"/curate/characters/{mira().pk}/probe", {"probe_type": "identity_selfie"}
    )
    probe = ImageRequest.objects.get()
    page = curator_client.get(f"/curate/reports/{probe.pk}/").content.decode()
    assert f'action="/curate/reports/{probe.pk}/cancel"' in page
    assert ">Cancel</button>" in page
    response = curator_client.post(f"/curate/reports/{probe.pk}/cancel", follow=True)
    probe.refresh_from_db()
    assert probe.request_status == "canceled" and probe.state == "failed"
    assert UsageRecord.objects.count() == 0
    body = response.content.decode()
    assert "its unit was refunded" in body
    assert ">Cancel</button>" not in body  # finished: no button any more
    again = curator_client.post(f"/curate/reports/{probe.pk}/cancel", follow=True)
    assert again.status_code == 200
    probe.refresh_from_db()
    assert probe.request_status == "canceled"


def test_a_finished_report_has_no_cancel_and_refuses_one(api, ready, curator_client):
    curator_client.post(
        f"/curate/characters/{mira().pk}/probe", {"probe_type": "identity_selfie"}
    )
    probe = ImageRequest.objects.get()
    assert probe.request_status == "succeeded"
    page = curator_client.get(f"/curate/reports/{probe.pk}/").content.decode()
    assert "/cancel" not in page
    response = curator_client.post(f"/curate/reports/{probe.pk}/cancel", follow=True)
    assert "already finished" in response.content.decode()
    probe.refresh_from_db()
    assert probe.request_status == "succeeded"


def test_the_batch_panel_cancels_the_unfinished_items(api, ready, curator_client, held):
    response = curator_client.post(
        f"/curate/characters/{mira().pk}/batch",
        {"categories": ["wardrobe", "prop"], "count_per_category": 1},
    )
    assert response.status_code == 302
    batch_id = ImageRequest.objects.first().batch_id
    page = curator_client.get(response["Location"]).content.decode()
    cancel_url = f"/curate/characters/{mira().pk}/batches/{batch_id}/cancel"
    assert f'action="{cancel_url}"' in page
    done = curator_client.post(cancel_url, follow=True)
    assert "Canceled 2 queued image(s)" in done.content.decode()
    assert set(ImageRequest.objects.values_list("request_status", flat=True)) == {
        "canceled"
    }


def test_a_curator_of_another_account_cannot_cancel(api, ready, curator_client, held):
    from characters.models import Account

    curator_client.post(
        f"/curate/characters/{mira().pk}/probe", {"probe_type": "identity_selfie"}
    )
    probe = ImageRequest.objects.get()
    stranger = client_for(
        make_user("sly", accounts=[Account.objects.create(name="other")])
    )
    assert stranger.post(f"/curate/reports/{probe.pk}/cancel").status_code == 404
    probe.refresh_from_db()
    assert probe.request_status == "queued"
