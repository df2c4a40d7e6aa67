"""The review queue and its JSON decisions: one rulebook with the API (contract R43)."""

import json
import re

import pytest
from django.test import Client

from characters.models import Character
from tests.curate_helpers import client_for, generate_held, held_asset_ids, make_user
from tests.helpers import open_session, upload_identity
from visuals.models import VisualAsset

pytestmark = pytest.mark.django_db


def decide(client, ids, decision, reason=""):
    return client.post(
        "/curate/review/decide.json",
        json.dumps({"ids": ids, "decision": decision, "reason": reason}),
        content_type="application/json",
    )


def test_queue_shows_held_candidates_beside_the_identity_portrait_with_verdicts(
    api, ready, curator_client
):
    generate_held(api, ready, categories=["wardrobe", "prop"])
    body = curator_client.get("/curate/review/").content.decode()
    for asset_id in held_asset_ids():
        assert f'data-id="{asset_id}"' in body
        assert f"/curate/thumbs/a/{asset_id}/240" in body
    # The identity portrait heads the character's group once (issue 17), and the
    # focus view shows it large beside each candidate.
    assert body.count(f"/curate/thumbs/a/{ready['identity']['id']}/96") == 1
    assert body.count(f"/curate/thumbs/a/{ready['identity']['id']}/640") == 2
    # wardrobe is a selfie-kind image judged against the portrait: a scored verdict,
    # and its face distance listed as a check with its band.
    assert re.search(r"verdict-\w+ corner[^>]*>[^<]*· 0\.\d\d", body)
    assert re.search(r"face distance [0-9.]+ to the identity portrait", body, re.I)
    assert "verdict-manual_required" in body  # a prop picture has no face to measure
    for key in ("<kbd>j</kbd>", "<kbd>k</kbd>", "<kbd>a</kbd>", "<kbd>r</kbd>"):
        assert key in body


def test_queue_filters_by_character_category_and_verdict(api, ready, curator_client):
    generate_held(api, ready, categories=["wardrobe", "prop", "place"])
    mira = Character.objects.get(slug="mira")

    def cards(query):
        page = curator_client.get(f"/curate/review/?{query}").content.decode()
        return page.count('class="rcard"')

    assert cards("") == 3
    assert cards(f"character={mira.pk}") == 3
    assert cards("category=prop") == 1
    assert cards("verdict=manual_required") == 2  # prop and place: no face to measure
    assert cards("category=prop&verdict=passed") == 0


def test_r43_approve_from_the_queue_is_what_the_api_then_reports(
    api, ready, curator_client
):
    generate_held(api, ready, categories=["wardrobe"])
    (asset_id,) = held_asset_ids()
    response = decide(curator_client, [asset_id], "approve")
    assert response.status_code == 200
    body = response.json()
    (result,) = body["results"]
    assert result["ok"] is True and result["asset_status"] == "active"
    assert (
        result["promotion_status"] == "approved_keyframe"
        and result["decided_by"] == "cora"
    )
    character = Character.objects.get(slug="mira")
    state = body["characters"][str(character.pk)]
    assert state == {"readiness": "ready", "readiness_label": "Ready", "held": 0}

    seen = api.get(f"/v1/characters/mira/visual-assets/{asset_id}").json()["data"]
    assert (
        seen["asset_status"] == "active"
        and seen["promotion_status"] == "approved_keyframe"
    )
    asset = VisualAsset.objects.get(pk=asset_id)
    assert asset.decided_by.username == "cora" and asset.decided_at is not None


def test_r43_reject_with_a_reason_records_who_and_why(api, ready, curator_client):
    generate_held(api, ready, categories=["prop"])
    (asset_id,) = held_asset_ids()
    (result,) = decide(curator_client, [asset_id], "reject", "wrong mug").json()[
        "results"
    ]
    assert (
        result["asset_status"] == "rejected"
        and result["decision_reason"] == "wrong mug"
    )
    assert (
        api.get(f"/v1/characters/mira/visual-assets/{asset_id}").json()["data"][
            "asset_status"
        ]
        == "rejected"
    )
    asset = VisualAsset.objects.get(pk=asset_id)
    assert (asset.decided_by.username, asset.decision_reason) == ("cora", "wrong mug")


def test_approve_all_visible_acts_only_on_the_ids_sent(api, ready, curator_client):
    generate_held(api, ready, categories=["wardrobe", "prop", "place"])
    body = curator_client.get("/curate/review/?category=prop").content.decode()
    shown = [i for i in held_asset_ids() if f'data-id="{i}"' in body]
    assert len(shown) == 1
    results = decide(curator_client, shown, "approve").json()["results"]
    assert [r["ok"] for r in results] == [True]
    statuses = dict(
        VisualAsset.objects.exclude(category="identity").values_list(
            "category", "asset_status"
        )
    )
    assert statuses == {"prop": "active", "wardrobe": "candidate", "place": "candidate"}


def test_the_services_rules_apply_per_id(api, ready, curator_client):
    generate_held(api, ready, categories=["wardrobe", "prop"])
    first, second = held_asset_ids()
    decide(curator_client, [first], "reject")
    results = decide(curator_client, [first, second, "not-an-id"], "approve").json()[
        "results"
    ]
    assert [r["ok"] for r in results] == [False, True, False]
    assert (
        results[0]["error"]["code"] == "invalid_transition"
    )  # same rule as the API's PATCH
    assert results[0]["error"]["fix"]
    assert results[2]["error"]["code"] == "not_found"


def test_another_accounts_assets_are_not_found_and_untouched(
    api, other_api, ready, make_character, curator_client
):
    make_character("rook", client=other_api)
    upload_identity(other_api, "rook")
    session = open_session(other_api, "rook")
    generate_held(
        other_api, {"slug": "rook", "session_id": session}, categories=["prop"]
    )
    (foreign,) = held_asset_ids("rook")
    (result,) = decide(curator_client, [foreign], "approve").json()["results"]
    assert result["ok"] is False and result["error"]["code"] == "not_found"
    assert VisualAsset.objects.get(pk=foreign).asset_status == "candidate"
    assert foreign not in curator_client.get("/curate/review/").content.decode()


def test_decisions_need_the_csrf_token(api, ready, curator):
    generate_held(api, ready, categories=["prop"])
    (asset_id,) = held_asset_ids()
    client = Client(enforce_csrf_checks=True)
    client.force_login(curator)
    assert decide(client, [asset_id], "approve").status_code == 403
    page = client.get("/curate/review/")
    token = page.content.decode().split('name="csrf-token" content="')[1].split('"')[0]
    response = client.post(
        "/curate/review/decide.json",
        json.dumps({"ids": [asset_id], "decision": "approve"}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200 and response.json()["results"][0]["ok"]


@pytest.mark.parametrize(
    "body",
    [
        {"ids": [], "decision": "approve"},
        {"ids": "abc", "decision": "approve"},
        {"ids": ["x"], "decision": "promote"},
        [1, 2],
    ],
)
def test_bad_decision_bodies_are_422_in_the_error_envelope(curator_client, body):
    response = curator_client.post(
        "/curate/review/decide.json", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 422
    assert set(response.json()["detail"]) == {"code", "message", "fix"}


def test_decisions_need_a_curator(api, ready, account):
    generate_held(api, ready, categories=["prop"])
    (asset_id,) = held_asset_ids()
    anonymous = decide(Client(), [asset_id], "approve")
    assert anonymous.status_code == 401
    assert set(anonymous.json()["detail"]) == {"code", "message", "fix"}
    outsider = client_for(make_user("olive", curator=False, accounts=[account]))
    assert decide(outsider, [asset_id], "approve").status_code == 403
    assert VisualAsset.objects.get(pk=asset_id).asset_status == "candidate"


def test_without_javascript_the_card_form_decides_and_comes_back(
    api, ready, curator_client
):
    generate_held(api, ready, categories=["prop"])
    (asset_id,) = held_asset_ids()
    response = curator_client.post(
        f"/curate/assets/{asset_id}/decide",
        {"decision": "approve", "next": "/curate/review/?category=prop"},
    )
    assert (
        response.status_code == 302
        and response["Location"] == "/curate/review/?category=prop"
    )
    assert VisualAsset.objects.get(pk=asset_id).asset_status == "active"
    evil = curator_client.post(
        f"/curate/assets/{asset_id}/decide",
        {"decision": "retire", "next": "https://evil.example/"},
    )
    assert evil["Location"] == f"/curate/assets/{asset_id}/"


def test_r44_delete_from_the_asset_page_goes_through_the_service(
    api, ready, curator_client
):
    generate_held(api, ready, categories=["prop"])
    (asset_id,) = held_asset_ids()
    response = curator_client.post(
        f"/curate/assets/{asset_id}/decide", {"decision": "delete"}
    )
    assert response.status_code == 302
    assert api.get(f"/v1/characters/mira/visual-assets/{asset_id}").status_code == 404
