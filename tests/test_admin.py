"""The admin is one more interface onto the services (R16, R17, R19, R43, R44)."""

import json

import pytest
from django.urls import reverse

from characters.keys import api_key_authenticate
from characters.models import ApiKey, Character, CharacterVersion
from tests.curate_helpers import client_for, generate_held, held_asset_ids, make_user
from tests.helpers import ANCHORS
from visuals.models import ImageRequest, VisualAsset

pytestmark = pytest.mark.django_db

CONTRACT_WORDS = (
    "A list-shaped identity_anchors passes authoring readiness but makes "
    "visual-readiness report identity_anchors: missing and causes selfie generation "
    "to fail with "
    "“non-bootstrap selfie requires a self visual reference.”"
)


@pytest.fixture
def admin_client(db):
    return client_for(make_user("ada", curator=False, superuser=True))


def change_url(character):
    return reverse("admin:characters_character_change", args=[character.pk])


def change_form(character, anchors, **extra):
    return {
        "name": character.name,
        "monthly_budget": ""
        if character.monthly_budget is None
        else character.monthly_budget,
        "identity_anchors": json.dumps(anchors),
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "0",
        **extra,
    }


@pytest.mark.parametrize(
    "model",
    [
        "characters_account",
        "characters_apikey",
        "characters_character",
        "characters_characterversion",
        "characters_session",
        "characters_sessionevent",
        "visuals_usagerecord",
    ],
)
def test_every_characters_model_has_a_working_changelist(
    api, ready, admin_client, model
):
    response = admin_client.get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", ["visualasset", "imagerequest"])
def test_every_visuals_model_has_a_working_changelist_and_change_page(
    api, ready, admin_client, model
):
    generate_held(api, ready, categories=["prop"])
    assert (
        admin_client.get(reverse(f"admin:visuals_{model}_changelist")).status_code
        == 200
    )
    row = (VisualAsset if model == "visualasset" else ImageRequest).objects.first()
    response = admin_client.get(reverse(f"admin:visuals_{model}_change", args=[row.pk]))
    assert response.status_code == 200
    assert "/curate/thumbs/" in response.content.decode()


def test_r17_editing_anchors_in_admin_creates_a_new_version(api, ready, admin_client):
    character = Character.objects.get(slug="mira")
    v1 = character.active_version
    new = {**ANCHORS, "hair": "a short silver bob"}
    response = admin_client.post(change_url(character), change_form(character, new))
    assert response.status_code == 302, response.content.decode()[:2000]
    character.refresh_from_db()
    assert character.active_version.number == 2
    assert character.active_version.identity_anchors == new
    v1.refresh_from_db()
    assert v1.identity_anchors == ANCHORS  # the old version never changes
    body = api.get("/v1/characters/mira").json()["data"]
    assert (
        body["active_version"]["profile"]["identity_anchors"]["hair"]
        == "a short silver bob"
    )


def test_saving_without_an_anchors_change_makes_no_version(api, ready, admin_client):
    character = Character.objects.get(slug="mira")
    admin_client.post(
        change_url(character), change_form(character, ANCHORS, name="Mira Q.")
    )
    character.refresh_from_db()
    assert character.name == "Mira Q." and character.active_version.number == 1


def test_r16_r19_a_list_is_refused_with_the_contracts_words(api, ready, admin_client):
    character = Character.objects.get(slug="mira")
    response = admin_client.post(
        change_url(character), change_form(character, ["warm", "tired"])
    )
    assert response.status_code == 200
    assert CONTRACT_WORDS in response.content.decode()
    assert CharacterVersion.objects.filter(character=character).count() == 1


def test_a_list_on_the_active_version_is_shown_as_the_error(
    api, make_character, admin_client
):
    make_character("mira", anchors=["warm", "tired"])
    character = Character.objects.get(slug="mira")
    body = admin_client.get(change_url(character)).content.decode()
    assert "The active version has a list." in body and CONTRACT_WORDS in body


@pytest.mark.parametrize(
    "anchors,words",
    [
        ({}, "empty object"),
        ("just text", "must be a JSON object"),
        ({"style_constants": "glasses"}, "style_constants must be a list of strings"),
        ({"hair": ""}, "hair must be a non-empty string"),
        (
            {"visual_summary": "ok", "mood": {"a": 1}},
            "mood must be a string or a list of strings",
        ),
    ],
)
def test_the_anchors_editor_checks_the_dict_shape(
    api, ready, admin_client, anchors, words
):
    character = Character.objects.get(slug="mira")
    response = admin_client.post(change_url(character), change_form(character, anchors))
    assert response.status_code == 200 and words in response.content.decode()
    assert CharacterVersion.objects.filter(character=character).count() == 1


def test_a_version_page_starts_a_new_version_from_its_anchors(api, ready, admin_client):
    api.patch(
        "/v1/characters/mira",
        {"profile": {"identity_anchors": {"visual_summary": "v2"}}},
        format="json",
    )
    character = Character.objects.get(slug="mira")
    v1 = character.versions.get(number=1)
    page = admin_client.get(
        reverse("admin:characters_characterversion_change", args=[v1.pk])
    )
    assert page.status_code == 200 and f"?anchors_from={v1.pk}" in page.content.decode()
    form = admin_client.get(
        change_url(character) + f"?anchors_from={v1.pk}"
    ).content.decode()
    assert "shoulder-length dark hair" in form  # v1's anchors prefilled


def test_versions_cannot_be_changed_in_admin(api, ready, admin_client):
    version = Character.objects.get(slug="mira").active_version
    response = admin_client.post(
        reverse("admin:characters_characterversion_change", args=[version.pk]),
        {"number": 9},
    )
    assert response.status_code == 403
    assert (
        admin_client.get(reverse("admin:characters_characterversion_add")).status_code
        == 403
    )


def test_adding_a_character_in_admin_goes_through_the_service(account, admin_client):
    response = admin_client.post(
        reverse("admin:characters_character_add"),
        {
            "account": account.pk,
            "slug": "nova",
            "name": "Nova",
            "monthly_budget": "",
            "identity_anchors": json.dumps(ANCHORS),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    nova = Character.objects.get(slug="nova")
    assert (
        nova.active_version.number == 1
        and nova.active_version.identity_anchors == ANCHORS
    )
    assert (
        nova.active_version.behavioral_thresholds["daily_image_cap"] == 0
    )  # service defaults


def test_minting_a_key_in_admin_shows_it_once(account, admin_client):
    response = admin_client.post(
        reverse("admin:characters_apikey_add"),
        {"account": account.pk, "kind": "developer", "name": "ci"},
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    raw = (
        response.content.decode()
        .split('id="minted-key"')[1]
        .split(">", 1)[1]
        .split("<", 1)[0]
    )
    api_key = api_key_authenticate(raw)
    assert api_key is not None and api_key.account == account and api_key.name == "ci"
    assert raw not in api_key.key_hash
    page = admin_client.get(
        reverse("admin:characters_apikey_change", args=[api_key.pk])
    ).content.decode()
    assert raw not in page and api_key.key_hash not in page


def test_revoking_keys_in_admin(account, admin_client):
    from characters.keys import api_key_create

    api_key, raw = api_key_create(account=account)
    admin_client.post(
        reverse("admin:characters_apikey_changelist"),
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )
    assert api_key_authenticate(raw) is None
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None


def test_r43_admin_bulk_approve_uses_the_service_and_records_the_admin(
    api, ready, admin_client
):
    generate_held(api, ready, categories=["wardrobe", "prop"])
    ids = held_asset_ids()
    response = admin_client.post(
        reverse("admin:visuals_visualasset_changelist"),
        {"action": "approve_keyframe", "_selected_action": ids},
    )
    assert response.status_code == 302
    for asset_id in ids:
        seen = api.get(f"/v1/characters/mira/visual-assets/{asset_id}").json()["data"]
        assert (seen["asset_status"], seen["promotion_status"]) == (
            "active",
            "approved_keyframe",
        )
    assert set(
        VisualAsset.objects.filter(pk__in=ids).values_list(
            "decided_by__username", flat=True
        )
    ) == {"ada"}


def test_r43_admin_reject_asks_for_a_reason_then_applies_the_rules(
    api, ready, admin_client
):
    generate_held(api, ready, categories=["wardrobe", "prop"])
    ids = held_asset_ids()
    url = reverse("admin:visuals_visualasset_changelist")
    confirm = admin_client.post(url, {"action": "reject", "_selected_action": ids})
    assert confirm.status_code == 200 and 'name="reason"' in confirm.content.decode()
    admin_client.post(
        url,
        {
            "action": "reject",
            "_selected_action": ids,
            "apply": "1",
            "reason": "off-model",
        },
    )
    assert set(
        VisualAsset.objects.filter(pk__in=ids).values_list(
            "asset_status", "decision_reason"
        )
    ) == {("rejected", "off-model")}
    # A rejected asset cannot be approved directly: the API's rule, reported.
    response = admin_client.post(
        url, {"action": "approve_keyframe", "_selected_action": ids}, follow=True
    )
    assert "Not approved" in response.content.decode()


def test_r44_admin_delete_goes_through_the_service(api, ready, admin_client):
    generate_held(api, ready, categories=["prop"])
    ids = held_asset_ids()
    admin_client.post(
        reverse("admin:visuals_visualasset_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert api.get(f"/v1/characters/mira/visual-assets/{ids[0]}").status_code == 404


def test_generation_reports_are_read_only_and_show_the_api_report(
    api, ready, admin_client
):
    generate_held(api, ready, categories=["prop"])
    row = ImageRequest.objects.get()
    page = admin_client.get(
        reverse("admin:visuals_imagerequest_change", args=[row.pk])
    ).content.decode()
    assert "&quot;probe_id&quot;" in page and "never returned by the API" in page
    assert (
        admin_client.post(
            reverse("admin:visuals_imagerequest_change", args=[row.pk]), {}
        ).status_code
        == 403
    )
    assert (
        admin_client.get(reverse("admin:visuals_imagerequest_add")).status_code == 403
    )
    assert (
        admin_client.get(
            reverse("admin:visuals_imagerequest_delete", args=[row.pk])
        ).status_code
        == 403
    )


CHANGELIST_QUERIES = {
    "visuals_visualasset": 7,
    "visuals_imagerequest": 7,
    "characters_character": 7,
    "characters_characterversion": 6,
    "visuals_usagerecord": 8,
}


def test_admin_changelists_cost_a_constant_number_of_queries(
    api, ready, admin_client, django_assert_max_num_queries
):
    from tests.curate_helpers import clone_assets, clone_requests

    generate_held(api, ready, categories=["prop"])
    asset, row = (
        VisualAsset.objects.exclude(category="identity").get(),
        ImageRequest.objects.get(),
    )
    for n in (3, 300):
        clone_assets(asset, n)
        clone_requests(row, n)
        for name, budget in CHANGELIST_QUERIES.items():
            with django_assert_max_num_queries(budget):
                assert (
                    admin_client.get(reverse(f"admin:{name}_changelist")).status_code
                    == 200
                )
