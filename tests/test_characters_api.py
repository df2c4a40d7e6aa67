"""Characters and versions (contract R16, R17) and launch readiness."""

import pytest

from tests.helpers import ANCHORS, assert_error

pytestmark = pytest.mark.django_db


def test_create_character_activates_version_1(api):
    response = api.post(
        "/v1/characters",
        {"slug": "mira", "name": "Mira", "profile": {"identity_anchors": ANCHORS}},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["schema_version"] == "v0"
    data = body["data"]
    assert data["active_version_id"] == data["active_version"]["id"]
    assert data["active_version"]["number"] == 1
    assert data["active_version"]["behavioral_thresholds"] == {
        "image_proactivity": 0,
        "selfie_comfort": 0,
        "daily_image_cap": 0,
        "image_cooldown_seconds": 0,
    }
    assert (
        api.get("/v1/characters/mira").json()["data"]["active_version_id"]
        == data["active_version_id"]
    )


@pytest.mark.parametrize("anchors", [["warm", "tired-eyed"], ANCHORS, [], {}])
def test_r16_anchors_list_or_dict_are_both_accepted(api, anchors):
    response = api.post(
        "/v1/characters",
        {"slug": "a", "name": "A", "profile": {"identity_anchors": anchors}},
        format="json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("anchors", ["a string", 3, [1, 2], [{"a": 1}], True])
def test_anchors_of_any_other_shape_are_422(api, anchors):
    response = api.post(
        "/v1/characters",
        {"slug": "a", "name": "A", "profile": {"identity_anchors": anchors}},
        format="json",
    )
    detail = assert_error(response, 422, "validation_error")
    assert "identity_anchors" in detail["field"]


@pytest.mark.parametrize(
    "thresholds,field",
    [
        ({"image_proactivity": 1.5}, "image_proactivity"),
        ({"selfie_comfort": -0.1}, "selfie_comfort"),
        ({"selfie_comfort": "high"}, "selfie_comfort"),
        ({"daily_image_cap": -1}, "daily_image_cap"),
        ({"daily_image_cap": 1.5}, "daily_image_cap"),
        ({"image_cooldown_seconds": True}, "image_cooldown_seconds"),
        ({"mood": 1}, "mood"),
    ],
)
def test_bad_thresholds_are_422_naming_the_field(api, thresholds, field):
    response = api.post(
        "/v1/characters",
        {"slug": "a", "name": "A", "behavioral_thresholds": thresholds},
        format="json",
    )
    detail = assert_error(response, 422, "validation_error")
    assert detail["field"].endswith(field)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"slug": "has space", "name": "A"}, "slug"),
        ({"slug": "a", "name": ""}, "name"),
        ({"slug": "a", "name": "A", "profile": []}, "profile"),
        ({"slug": "a", "name": "A", "monthly_budget": -1}, "monthly_budget"),
        ({"slug": "a", "name": "A", "extra": 1}, "extra"),
    ],
)
def test_bad_character_bodies_are_422(api, body, field):
    detail = assert_error(
        api.post("/v1/characters", body, format="json"), 422, "validation_error"
    )
    assert detail["field"] == field


def test_a_non_object_body_is_422(api):
    assert_error(
        api.post("/v1/characters", [1, 2], format="json"), 422, "validation_error"
    )


def test_duplicate_slug_is_409_but_other_accounts_may_reuse_it(
    api, other_api, make_character
):
    make_character("mira")
    assert_error(
        api.post("/v1/characters", {"slug": "mira", "name": "M"}, format="json"),
        409,
        "slug_taken",
    )
    make_character("mira", client=other_api)


def test_another_accounts_character_is_404(other_api, character):
    assert_error(other_api.get("/v1/characters/mira"), 404, "not_found")
    assert_error(
        other_api.patch("/v1/characters/mira", {"name": "x"}, format="json"),
        404,
        "not_found",
    )
    assert_error(other_api.get("/v1/characters/mira/versions"), 404, "not_found")
    assert other_api.get("/v1/characters").json()["data"] == []


def test_r17_patch_profile_replaces_it_wholesale_in_a_new_version(api, character):
    response = api.patch(
        "/v1/characters/mira", {"profile": {"persona": "baker"}}, format="json"
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["active_version"]["number"] == 2
    assert data["active_version"]["profile"] == {"persona": "baker"}  # anchors dropped
    versions = api.get("/v1/characters/mira/versions").json()
    assert [v["number"] for v in versions["data"]] == [2, 1]
    assert (
        versions["data"][1]["profile"]["identity_anchors"] == ANCHORS
    )  # v1 is immutable
    assert versions["active_version_id"] == data["active_version_id"]


def test_patch_thresholds_merges_keeps_profile_and_makes_a_version(api, character):
    api.patch(
        "/v1/characters/mira",
        {"behavioral_thresholds": {"daily_image_cap": 3}},
        format="json",
    )
    data = api.patch(
        "/v1/characters/mira",
        {"behavioral_thresholds": {"selfie_comfort": 0.4}},
        format="json",
    ).json()["data"]
    assert data["active_version"]["number"] == 3
    assert data["active_version"]["behavioral_thresholds"]["daily_image_cap"] == 3
    assert data["active_version"]["behavioral_thresholds"]["selfie_comfort"] == 0.4
    assert data["active_version"]["profile"]["identity_anchors"] == ANCHORS


def test_patch_name_and_budget_change_the_character_not_the_version(api, character):
    data = api.patch(
        "/v1/characters/mira", {"name": "Mira B", "monthly_budget": 10}, format="json"
    ).json()["data"]
    assert (data["name"], data["monthly_budget"], data["active_version"]["number"]) == (
        "Mira B",
        10,
        1,
    )


def test_list_characters_is_paginated(api, make_character):
    for slug in ("a1", "a2", "a3"):
        make_character(slug)
    first = api.get("/v1/characters?limit=2").json()
    assert [c["slug"] for c in first["data"]] == ["a1", "a2"]
    assert first["pagination"]["next_offset"] == 2
    second = api.get("/v1/characters?limit=2&offset=2").json()
    assert [c["slug"] for c in second["data"]] == ["a3"] and second["pagination"][
        "next_offset"
    ] is None
    assert_error(api.get("/v1/characters?limit=0"), 422, "validation_error")


def _checks(api, slug="mira"):
    body = api.get(f"/v1/characters/{slug}/readiness").json()
    return body, {c["id"]: c for c in body["checks"]}


def test_r16_list_anchors_satisfy_authoring_readiness(api, make_character):
    make_character("lister", anchors=["warm", "dry humour"])
    body, checks = _checks(api, "lister")
    assert checks["persona"]["status"] == "ok" and checks["voice"]["status"] == "ok"


def test_launch_readiness_authoring_checks(api, make_character):
    make_character("blank", anchors=None)
    body, checks = _checks(api, "blank")
    assert checks["persona"]["status"] == "missing" and "fix" in checks["persona"]
    assert checks["voice"]["status"] == "weak"
    assert checks["budget"]["status"] == "ok"
    assert checks["delivery"]["status"] == "disabled"
    assert body["status"] == "needs_attention"
    assert "active_version_id" in body
