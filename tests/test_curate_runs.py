"""Probes and batches run from the pages, and the reports they make (R22–R33, R45)."""

import pytest
from django.utils import timezone
from django.utils.html import escape

from characters.models import Character, Session
from tests.helpers import upload_identity
from visuals.models import ImageRequest, UsageRecord, VisualAsset

pytestmark = pytest.mark.django_db


def mira():
    return Character.objects.get(slug="mira")


def test_r23_a_probe_from_the_page_opens_a_sandbox_session_and_is_metered(
    api, make_character, curator_client
):
    make_character("mira")
    upload_identity(api)
    assert Session.objects.count() == 0
    response = curator_client.post(
        f"/curate/characters/{mira().pk}/probe", {"probe_type": "identity_selfie"}
    )
    probe = ImageRequest.objects.get()
    assert (
        response.status_code == 302
        and response["Location"] == f"/curate/reports/{probe.pk}/"
    )
    assert Session.objects.filter(character=mira(), status="open").count() == 1
    assert probe.created_by.username == "cora" and UsageRecord.objects.count() == 1
    # A second probe reuses the open session (continuity probes follow its last image).
    curator_client.post(
        f"/curate/characters/{mira().pk}/probe", {"probe_type": "same_scene_followup"}
    )
    assert Session.objects.count() == 1
    assert ImageRequest.objects.filter(session=probe.session).count() == 2


def test_r28_the_report_page_shows_what_the_api_reports(api, ready, curator_client):
    curator_client.post(
        f"/curate/characters/{mira().pk}/probe", {"probe_type": "identity_selfie"}
    )
    probe = ImageRequest.objects.get()
    api_report = api.get(f"/v1/characters/mira/image-probe/{probe.pk}").json()
    body = curator_client.get(f"/curate/reports/{probe.pk}/").content.decode()
    assert escape(api_report["summary"]) in body
    assert escape(api_report["consistency"]["reason"]) in body
    assert f"/curate/thumbs/r/{probe.pk}/640" in body
    for asset_id in api_report["assets_sent"]:
        assert f"/curate/thumbs/a/{asset_id}/240" in body
    assert "data-poll-url" not in body  # finished: nothing to poll


def test_r45_a_passing_probe_image_is_promoted_to_a_keyframe_from_its_report(
    api, ready, curator_client
):
    curator_client.post(
        f"/curate/characters/{mira().pk}/probe", {"probe_type": "identity_selfie"}
    )
    probe = ImageRequest.objects.get()
    asset = VisualAsset.objects.get(image_request=probe)
    assert asset.asset_status == "candidate"
    body = curator_client.get(f"/curate/reports/{probe.pk}/").content.decode()
    assert "Promote to keyframe" in body
    curator_client.post(
        f"/curate/assets/{asset.pk}/decide",
        {"decision": "approve", "next": f"/curate/reports/{probe.pk}/"},
    )
    seen = api.get(f"/v1/characters/mira/visual-assets/{asset.pk}").json()["data"]
    assert (seen["asset_status"], seen["promotion_status"]) == (
        "active",
        "approved_keyframe",
    )


def test_a_generating_report_polls_until_it_is_ready(
    api, ready, curator_client, settings
):
    curator_client.post(
        f"/curate/characters/{mira().pk}/probe", {"probe_type": "identity_selfie"}
    )
    probe = ImageRequest.objects.get()
    fields = ("request_status", "completed_at", "servable", "image", "consistency")
    finished = {f: getattr(probe, f) for f in fields}
    ImageRequest.objects.filter(pk=probe.pk).update(
        request_status="generating",
        completed_at=None,
        servable=False,
        image="",
        consistency=None,
    )

    page = curator_client.get(f"/curate/reports/{probe.pk}/").content.decode()
    assert f'data-poll-url="/curate/reports/{probe.pk}/status.json"' in page
    status = curator_client.get(f"/curate/reports/{probe.pk}/status.json").json()
    assert (status["state"], status["done"]) == ("generating", False)
    assert "Generating" in status["html"] and "/thumbs/r/" not in status["html"]

    ImageRequest.objects.filter(pk=probe.pk).update(**finished)
    status = curator_client.get(f"/curate/reports/{probe.pk}/status.json").json()
    assert (status["state"], status["done"]) == ("ready", True)
    assert f"/curate/thumbs/r/{probe.pk}/640" in status["html"]


def test_r36_a_batch_from_the_page_is_held_and_its_progress_is_polled(
    api, ready, curator_client
):
    response = curator_client.post(
        f"/curate/characters/{mira().pk}/batch",
        {
            "categories": ["wardrobe", "prop"],
            "count_per_category": 2,
            "hold_for_review": "on",
            "style_brief": "soft light",
            "forbidden": "hats, logos",
        },
    )
    batch_id = ImageRequest.objects.values_list("batch_id", flat=True).first()
    assert (
        response["Location"]
        == f"/curate/characters/{mira().pk}/?batch={batch_id}#progress"
    )
    assert ImageRequest.objects.filter(batch_id=batch_id).count() == 4
    assert all(r.forbidden == ["hats", "logos"] for r in ImageRequest.objects.all())
    page = curator_client.get(
        f"/curate/characters/{mira().pk}/?batch={batch_id}"
    ).content.decode()
    assert f"/curate/characters/{mira().pk}/batches/{batch_id}.json" in page
    progress = curator_client.get(
        f"/curate/characters/{mira().pk}/batches/{batch_id}.json"
    ).json()
    assert (progress["total"], progress["done"], progress["finished"]) == (4, 4, True)
    assert progress["held"] == 4
    assert {i["asset_status"] for i in progress["items"]} == {"candidate"}


def test_r35_a_batch_over_eight_is_refused_before_anything_is_spent(
    api, ready, curator_client
):
    response = curator_client.post(
        f"/curate/characters/{mira().pk}/batch",
        {"categories": ["wardrobe", "prop", "place"], "count_per_category": 3},
        follow=True,
    )
    assert "9 images requested; max 8 per batch" in response.content.decode()
    assert ImageRequest.objects.count() == 0 and UsageRecord.objects.count() == 0


def test_r25_the_services_refusals_are_shown_with_their_fix(
    api, make_character, curator_client
):
    make_character("mira")  # no identity yet
    response = curator_client.post(
        f"/curate/characters/{mira().pk}/probe",
        {"probe_type": "identity_selfie"},
        follow=True,
    )
    body = response.content.decode()
    assert "this character has no active identity asset yet" in body
    assert "Upload identity first" in body
    assert ImageRequest.objects.count() == 0


def test_r25_budget_exceeded_is_shown_not_spent(api, ready, curator_client):
    Character.objects.filter(slug="mira").update(monthly_budget=0)
    response = curator_client.post(
        f"/curate/characters/{mira().pk}/probe",
        {"probe_type": "identity_selfie"},
        follow=True,
    )
    assert "msg-error" in response.content.decode()
    assert ImageRequest.objects.count() == 0


def test_reports_list_filters_by_origin_character_and_state(api, ready, curator_client):
    curator_client.post(
        f"/curate/characters/{mira().pk}/probe", {"probe_type": "identity_selfie"}
    )
    curator_client.post(
        f"/curate/characters/{mira().pk}/batch",
        {"categories": ["prop"], "count_per_category": 1},
    )
    probe = ImageRequest.objects.get(origin="probe")
    ImageRequest.objects.filter(origin="inventory").update(
        request_status="failed", completed_at=timezone.now()
    )

    def rows(query):
        page = curator_client.get(f"/curate/reports/?{query}").content.decode()
        return page.count('<td class="col-thumb">')

    assert rows("") == 1 and rows("origin=inventory") == 1
    assert (
        rows("origin=inventory&state=failed") == 1
        and rows("origin=inventory&state=ready") == 0
    )
    assert str(probe.pk) in curator_client.get("/curate/reports/").content.decode()
