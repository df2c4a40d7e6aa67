"""Two curators at once on the curator pages and in the admin: each sends the state
it showed (the asset's ETag) and a change made meanwhile is refused with the API's
412 precondition_failed, naming who decided and when. Undo reopens through the
service and is recorded in the asset's history."""

import json
import re

import pytest
from django.urls import reverse

from tests.curate_helpers import client_for, generate_held, held_asset_ids, make_user
from visuals.assets import asset_etag
from visuals.models import AssetDecision, VisualAsset

pytestmark = pytest.mark.django_db


def _decide(client, ids, decision, etags=None, reason=""):
    return client.post(
        "/curate/review/decide.json",
        json.dumps(
            {"ids": ids, "decision": decision, "reason": reason, "etags": etags or {}}
        ),
        content_type="application/json",
    )


@pytest.fixture
def second_curator(account):
    return client_for(make_user("otto", accounts=[account]))


def _shown_etag(page: str, asset_id: str) -> str:
    match = re.search(rf'data-id="{asset_id}" data-etag="([^"]+)"', page)
    assert match, "the card carries the state it shows"
    return match.group(1).replace("&quot;", '"')


def test_the_queue_refuses_a_decision_on_a_state_that_changed_and_says_who(
    api, ready, curator_client, second_curator
):
    generate_held(api, ready, categories=["wardrobe"])
    (asset_id,) = held_asset_ids()
    # Both curators load the queue and see the same state.
    cora_page = curator_client.get("/curate/review/").content.decode()
    otto_page = second_curator.get("/curate/review/").content.decode()
    shown = _shown_etag(cora_page, asset_id)
    assert shown == _shown_etag(otto_page, asset_id)
    assert shown == asset_etag(VisualAsset.objects.get(pk=asset_id))

    first = _decide(second_curator, [asset_id], "reject", {asset_id: shown})
    assert first.json()["results"][0]["ok"] is True

    late = _decide(curator_client, [asset_id], "approve", {asset_id: shown})
    assert late.status_code == 200
    (result,) = late.json()["results"]
    assert result["ok"] is False
    assert result["error"]["code"] == "precondition_failed"
    assert "otto" in result["error"]["message"]
    # The card gets the state it should now show: who decided, when, what.
    assert result["current"]["decided_by"] == "otto"
    assert result["current"]["asset_status"] == "rejected"
    assert result["current"]["decided_at"]
    assert result["current"]["etag"] != shown
    assert VisualAsset.objects.get(pk=asset_id).asset_status == "rejected"


def test_the_asset_page_sends_the_state_it_showed(
    api, ready, curator_client, second_curator
):
    generate_held(api, ready, categories=["wardrobe"])
    (asset_id,) = held_asset_ids()
    page = curator_client.get(f"/curate/assets/{asset_id}/").content.decode()
    shown = re.search(r'name="etag" value="([^"]+)"', page).group(1)
    shown = shown.replace("&quot;", '"')
    _decide(second_curator, [asset_id], "approve", {asset_id: shown})

    response = curator_client.post(
        f"/curate/assets/{asset_id}/decide",
        {"decision": "reject", "etag": shown},
        follow=True,
    )
    body = response.content.decode()
    assert "changed since you read it" in body and "otto" in body
    assert VisualAsset.objects.get(pk=asset_id).asset_status == "active"
    # A delete on the stale state is refused too.
    curator_client.post(
        f"/curate/assets/{asset_id}/decide", {"decision": "delete", "etag": shown}
    )
    assert VisualAsset.objects.filter(pk=asset_id).exists()


def test_undo_reopens_the_last_own_decision_and_is_in_the_history(
    api, ready, curator_client, second_curator
):
    generate_held(api, ready, categories=["wardrobe", "prop"])
    approved, rejected = held_asset_ids()
    done = _decide(curator_client, [approved], "approve").json()["results"][0]
    _decide(curator_client, [rejected], "reject", reason="artifact")

    undone = _decide(curator_client, [approved], "undo", {approved: done["etag"]})
    (result,) = undone.json()["results"]
    assert result["ok"] is True, result
    assert (result["asset_status"], result["promotion_status"]) == (
        "candidate",
        "candidate",
    )
    assert _decide(curator_client, [rejected], "undo").json()["results"][0]["ok"]
    assert set(held_asset_ids()) == {approved, rejected}

    history = list(
        AssetDecision.objects.filter(asset_id=approved).order_by("decided_at", "id")
    )
    assert [h.after[:2] for h in history] == [
        ["active", "approved_keyframe"],
        ["candidate", "candidate"],
    ]
    assert history[-1].reason == "undo" and history[-1].decided_by.username == "cora"
    page = curator_client.get(f"/curate/assets/{approved}/").content.decode()
    assert "History (2 changes)" in page and "“undo”" in page

    # Someone else's decision cannot be undone by me.
    _decide(second_curator, [approved], "approve")
    refused = _decide(curator_client, [approved], "undo").json()["results"][0]
    assert refused["ok"] is False and refused["error"]["code"] == "invalid_transition"


@pytest.fixture
def admin_client(db):
    return client_for(make_user("ada", curator=False, superuser=True))


def test_the_admin_changelist_sends_the_state_each_row_showed(
    api, ready, admin_client, curator_client
):
    generate_held(api, ready, categories=["wardrobe", "prop"])
    stale_id, fresh_id = held_asset_ids()
    url = reverse("admin:visuals_visualasset_changelist")
    page = admin_client.get(url).content.decode()
    shown = {
        pk: re.search(rf'name="etag-{pk}" value="([^"]+)"', page)
        .group(1)
        .replace("&quot;", '"')
        for pk in (stale_id, fresh_id)
    }
    _decide(curator_client, [stale_id], "reject", reason="face drift")

    response = admin_client.post(
        url,
        {
            "action": "approve_keyframe",
            "_selected_action": [stale_id, fresh_id],
            **{f"etag-{pk}": tag for pk, tag in shown.items()},
        },
        follow=True,
    )
    body = response.content.decode()
    assert "Approved 1 asset(s)." in body
    assert "changed since you read it" in body and "cora" in body
    assert VisualAsset.objects.get(pk=stale_id).asset_status == "rejected"
    assert VisualAsset.objects.get(pk=fresh_id).asset_status == "active"


def test_the_admin_reject_confirmation_keeps_the_shown_states(
    api, ready, admin_client, curator_client
):
    generate_held(api, ready, categories=["wardrobe"])
    (asset_id,) = held_asset_ids()
    url = reverse("admin:visuals_visualasset_changelist")
    tag = asset_etag(VisualAsset.objects.get(pk=asset_id))
    confirm = admin_client.post(
        url,
        {"action": "reject", "_selected_action": [asset_id], f"etag-{asset_id}": tag},
    )
    assert f'name="etag-{asset_id}"' in confirm.content.decode()
    _decide(curator_client, [asset_id], "approve")
    admin_client.post(
        url,
        {
            "action": "reject",
            "apply": "1",
            "_selected_action": [asset_id],
            f"etag-{asset_id}": tag,
            "reason": "late",
        },
    )
    assert VisualAsset.objects.get(pk=asset_id).asset_status == "active"
