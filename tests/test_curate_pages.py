"""Curator pages: sign-in, the curators group, granted accounts, what pages show."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from characters.models import Character
from curate import badges
from tests.curate_helpers import (
    PASSWORD,
    client_for,
    generate_held,
    held_asset_ids,
    make_user,
)
from tests.helpers import ANCHORS, IMAGES_ON, image_bytes, upload_identity
from visuals.models import ImageRequest, VisualAsset
from visuals.readiness import visual_readiness

pytestmark = pytest.mark.django_db


def character_id(slug="mira"):
    return Character.objects.get(slug=slug).pk


# --- Access -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/curate/", "/curate/review/", "/curate/reports/"])
def test_anonymous_visitors_are_sent_to_sign_in(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={path}")


def test_sign_in_page_has_csrf_and_signs_a_curator_in(curator):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/?next=/curate/")
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content
    token = page.cookies["csrftoken"].value
    refused = client.post(
        "/accounts/login/", {"username": "cora", "password": PASSWORD}
    )
    assert refused.status_code == 403  # no CSRF token
    response = client.post(
        "/accounts/login/",
        {
            "username": "cora",
            "password": PASSWORD,
            "next": "/curate/",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/curate/"
    assert client.get("/curate/").status_code == 200


def test_a_wrong_password_is_said_plainly(curator):
    response = Client().post(
        "/accounts/login/", {"username": "cora", "password": "nope"}
    )
    assert response.status_code == 200
    assert b"didn't match" in response.content


def test_a_signed_in_user_outside_the_curators_group_is_403(account):
    outsider = make_user("olive", curator=False, accounts=[account])
    response = client_for(outsider).get("/curate/")
    assert response.status_code == 403
    assert b"curators group" in response.content


def test_curators_see_only_the_characters_of_their_granted_accounts(
    api, other_api, make_character, curator_client
):
    make_character("mira")
    make_character("rook", client=other_api)
    body = curator_client.get("/curate/").content.decode()
    assert "mira" in body and "rook" not in body


def test_another_accounts_character_is_a_404_on_every_page(
    other_api, make_character, curator_client
):
    make_character("rook", client=other_api)
    upload_identity(other_api, "rook")
    rook = Character.objects.get(slug="rook")
    asset = VisualAsset.objects.get(character=rook)
    for path in [
        f"/curate/characters/{rook.pk}/",
        f"/curate/characters/{rook.pk}/assets/",
        f"/curate/assets/{asset.pk}/",
        f"/curate/thumbs/a/{asset.pk}/96",
    ]:
        assert curator_client.get(path).status_code == 404, path
    response = curator_client.post(
        f"/curate/characters/{rook.pk}/probe", {"probe_type": "identity_selfie"}
    )
    assert response.status_code == 404
    assert ImageRequest.objects.count() == 0


def test_a_superuser_sees_every_account(api, other_api, make_character):
    make_character("mira")
    make_character("rook", client=other_api)
    root = make_user("root", curator=False, superuser=True)
    body = client_for(root).get("/curate/").content.decode()
    assert "mira" in body and "rook" in body


def test_sign_out_is_a_csrf_protected_post(curator_client):
    page = curator_client.get("/curate/").content.decode()
    assert 'action="/accounts/logout/"' in page and "csrfmiddlewaretoken" in page
    response = curator_client.post("/accounts/logout/", {"next": "/accounts/login/"})
    assert response.status_code == 302
    assert curator_client.get("/curate/").status_code == 302


# --- Characters list ------------------------------------------------------------------


def test_r13_r14_character_list_shows_readiness_badges_and_held_counts(
    api, ready, make_character, curator_client
):
    generate_held(api, ready, categories=["wardrobe", "prop"])
    make_character("bare", anchors=None)
    body = curator_client.get("/curate/").content.decode()
    assert (
        'data-readiness="ready_with_warnings"' in body
    )  # mira: no active inventory yet
    assert 'data-readiness="needs_attention"' in body  # bare: no identity, no anchors
    assert "2 held" in body


@pytest.mark.parametrize("identity", [True, False])
@pytest.mark.parametrize("anchors", [ANCHORS, ["warm", "tired"], None])
@pytest.mark.parametrize("thresholds", [IMAGES_ON, None])
@pytest.mark.parametrize("inventory", [True, False])
def test_r14_list_badges_agree_with_visual_readiness(
    api, make_character, curator, identity, anchors, thresholds, inventory
):
    make_character("mira", anchors=anchors, thresholds=thresholds)
    if identity:
        small_identity(api)
        if inventory:
            asset = VisualAsset.objects.get(character__slug="mira")
            VisualAsset.objects.filter(pk=asset.pk).update(category="wardrobe")
            small_identity(api)
    from curate.selectors import characters_with_counts

    (row,) = characters_with_counts(curator)
    assert badges.readiness_status(row) == visual_readiness(row)["status"]


def small_identity(api):
    response = api.post(
        "/v1/characters/mira/visual-assets",
        {
            "file": SimpleUploadedFile(
                "face.png", image_bytes(), content_type="image/png"
            ),
            "category": "identity",
            "asset_key": "identity-front",
            "label": "front",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content


# --- Character page -------------------------------------------------------------------


def test_character_page_shows_portrait_anchors_checks_inventory_and_versions(
    api, ready, curator_client
):
    generate_held(api, ready, categories=["wardrobe", "prop"])
    api.patch("/v1/characters/mira", {"name": "Mira B."}, format="json")
    api.patch(
        "/v1/characters/mira",
        {"profile": {"identity_anchors": {**ANCHORS, "eyes": "hazel"}}},
        format="json",
    )
    response = curator_client.get(f"/curate/characters/{character_id()}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Identity portrait of Mira B." in body
    assert f"/curate/thumbs/a/{ready['identity']['id']}/240" in body
    assert "shoulder-length dark hair" in body and "hazel" in body
    for check in (
        "identity_asset",
        "identity_anchors",
        "inventory_coverage",
        "image_generation",
    ):
        assert check in body
    assert (
        "await review" in body
    )  # the inventory_coverage check's summary, with its fix
    assert "2 candidate" in body and "Review 2 held candidates" in body
    assert "v2" in body and "v1" in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_a_list_of_anchors_is_shown_with_the_contracts_warning(
    api, make_character, curator_client
):
    make_character("mira", anchors=["warm", "tired-eyed"])
    body = curator_client.get(f"/curate/characters/{character_id()}/").content.decode()
    assert "identity_anchors is a list" in body
    assert "non-bootstrap selfie requires a self visual reference" in body
    assert "breaks selfies" in body  # the version history marks it too


def test_asset_list_filters_by_category_and_status(api, ready, curator_client):
    generate_held(api, ready, categories=["wardrobe", "prop"])
    base = f"/curate/characters/{character_id()}/assets/"
    assert curator_client.get(base).content.decode().count('class="tile big') == 3
    body = curator_client.get(base + "?category=prop&status=candidate").content.decode()
    assert body.count('class="tile big') == 1
    body = curator_client.get(base + "?status=rejected").content.decode()
    assert "No assets match" in body


def test_asset_page_shows_the_decision_trail(api, ready, curator_client):
    generate_held(api, ready, categories=["prop"])
    (asset_id,) = held_asset_ids()
    response = curator_client.post(
        f"/curate/assets/{asset_id}/decide", {"decision": "reject", "reason": "blurry"}
    )
    assert response.status_code == 302
    body = curator_client.get(f"/curate/assets/{asset_id}/").content.decode()
    assert "By <strong>cora</strong>" in body and "blurry" in body
    assert "Reopen for review" in body
