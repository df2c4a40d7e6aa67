"""Visual readiness (contract R12–R16, R21): the four checks, the aggregate, the
scope."""

import pytest

from tests.helpers import ANCHORS, IMAGES_ON, assert_error, face_bytes, image_bytes
from tests.test_assets_upload import uploaded

pytestmark = pytest.mark.django_db

URL = "/v1/characters/mira/visual-readiness"


def readiness(api, slug="mira") -> dict:
    response = api.get(f"/v1/characters/{slug}/visual-readiness")
    assert response.status_code == 200, response.content
    return response.json()


def statuses(body) -> dict:
    return {c["id"]: c["status"] for c in body["checks"]}


def check_of(body, id_) -> dict:
    return next(c for c in body["checks"] if c["id"] == id_)


def patch_character(api, body, slug="mira"):
    response = api.patch(f"/v1/characters/{slug}", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]


# --- The contract's end-to-end order, steps 1–4 ---------------------------------------


def test_contract_end_to_end_steps_1_to_4(api, make_character):
    """R13, R14: missing → ready_with_warnings → ready, one step at a time."""
    make_character(anchors=None)
    body = readiness(api)
    assert body["status"] == "needs_attention"
    assert statuses(body) == {
        "identity_asset": "missing",
        "identity_anchors": "missing",
        "inventory_coverage": "weak",
        "image_generation": "disabled",
    }

    # 1. Upload an identity image.
    uploaded(api, content=face_bytes("obama-1.jpg"), name="face.jpg")
    body = readiness(api)
    assert body["status"] == "needs_attention"
    assert statuses(body)["identity_asset"] == "ok"
    assert statuses(body)["identity_anchors"] == "missing"

    # 2. Set profile.identity_anchors as a dict.
    patch_character(api, {"profile": {"identity_anchors": ANCHORS}})
    body = readiness(api)
    assert body["status"] == "ready_with_warnings"
    assert statuses(body)["identity_anchors"] == "ok"

    # 3. Enable images.
    patch_character(api, {"behavioral_thresholds": IMAGES_ON})
    body = readiness(api)
    # 4. Without inventory: ready_with_warnings — exactly as the contract's example.
    assert body["status"] == "ready_with_warnings"
    assert statuses(body) == {
        "identity_asset": "ok",
        "identity_anchors": "ok",
        "inventory_coverage": "weak",
        "image_generation": "ok",
    }

    # A candidate is not yet coverage; promoting it is.
    coat = uploaded(api, category="wardrobe", asset_key="coat", label="green coat")
    body = readiness(api)
    assert statuses(body)["inventory_coverage"] == "weak"
    assert "1 candidate(s)" in check_of(body, "inventory_coverage")["summary"]
    promoted = api.patch(
        f"/v1/characters/mira/visual-assets/{coat['id']}",
        {"promotion_status": "approved_keyframe"},
        format="json",
    )
    assert promoted.status_code == 200
    body = readiness(api)
    assert body["status"] == "ready"
    assert all(c["status"] == "ok" for c in body["checks"])
    assert all("fix" not in c for c in body["checks"])
    assert body["advice"] == []


def test_the_contract_example_body_exactly(api, character):
    """R13, R15: shape, ids, order, and the example's summary and fix strings."""
    uploaded(api)
    body = readiness(api)
    assert set(body) == {
        "status",
        "checks",
        "active_version_id",
        "scope_note",
        "advice",
    }
    assert "schema_version" not in body and "data" not in body
    assert body["status"] == "ready_with_warnings"
    assert body["checks"] == [
        {
            "id": "identity_asset",
            "status": "ok",
            "summary": "1 active identity asset(s).",
        },
        {
            "id": "identity_anchors",
            "status": "ok",
            "summary": "Visual identity anchors set.",
        },
        {
            "id": "inventory_coverage",
            "status": "weak",
            "summary": "No inventory assets.",
            "fix": "Add wardrobe/accessory/prop/place for consistent images.",
        },
        {
            "id": "image_generation",
            "status": "disabled",
            "summary": "Image generation off (default).",
            "fix": "Set behavioral_thresholds.image_proactivity / selfie_comfort.",
        },
    ]
    assert body["active_version_id"] == character["active_version_id"]
    assert body["scope_note"].startswith(
        "identity_anchors + image_generation reflect the ACTIVE character version"
    )


def test_r13_missing_checks_carry_a_fix(api, make_character):
    make_character(anchors=None)
    body = readiness(api)
    identity = check_of(body, "identity_asset")
    assert identity["status"] == "missing"
    assert "POST /v1/characters/mira/visual-assets" in identity["fix"]
    anchors = check_of(body, "identity_anchors")
    assert anchors["status"] == "missing"
    assert "identity_anchors" in anchors["fix"]


# --- R13: each check on its own -------------------------------------------------------


@pytest.mark.parametrize(
    "anchors,status",
    [
        (ANCHORS, "ok"),
        ({"hair": "short"}, "ok"),
        ({}, "missing"),
        (None, "missing"),
        (["warm", "tired-eyed"], "missing"),
        ([], "missing"),
    ],
)
def test_r13_identity_anchors_needs_a_non_empty_dict(
    api, make_character, anchors, status
):
    make_character(anchors=anchors)
    assert statuses(readiness(api))["identity_anchors"] == status


def test_r16_a_list_of_anchors_satisfies_authoring_but_not_visual_readiness(
    api, make_character
):
    make_character(anchors=["warm", "tired-eyed", "flour-dusted apron"])
    visual = readiness(api)
    anchors = check_of(visual, "identity_anchors")
    assert anchors["status"] == "missing"
    assert "list" in anchors["summary"]
    launch = api.get("/v1/characters/mira/readiness").json()
    launch_status = {c["id"]: c["status"] for c in launch["checks"]}
    assert launch_status["persona"] == "ok" and launch_status["voice"] == "ok"
    assert launch_status["identity_anchors"] == "missing"


@pytest.mark.parametrize(
    "thresholds,status",
    [
        ({}, "disabled"),
        ({"image_proactivity": 0, "selfie_comfort": 0}, "disabled"),
        ({"image_proactivity": 0.1}, "ok"),
        ({"selfie_comfort": 0.01}, "ok"),
        ({"image_proactivity": 1, "selfie_comfort": 1}, "ok"),
        ({"daily_image_cap": 5}, "disabled"),
    ],
)
def test_r13_image_generation(api, make_character, thresholds, status):
    make_character(thresholds=thresholds)
    assert statuses(readiness(api))["image_generation"] == status


def test_r12_all_active_identity_assets_count(api, character):
    first = uploaded(api)
    uploaded(api, asset_key="identity-full-body", label="full body")
    assert (
        check_of(readiness(api), "identity_asset")["summary"]
        == "2 active identity asset(s)."
    )
    api.patch(
        f"/v1/characters/mira/visual-assets/{first['id']}",
        {"asset_status": "retired"},
        format="json",
    )
    assert (
        check_of(readiness(api), "identity_asset")["summary"]
        == "1 active identity asset(s)."
    )


def test_r13_a_retired_or_rejected_identity_is_missing(api, character):
    identity = uploaded(api)
    api.patch(
        f"/v1/characters/mira/visual-assets/{identity['id']}",
        {"asset_status": "rejected"},
        format="json",
    )
    body = readiness(api)
    assert statuses(body)["identity_asset"] == "missing"
    assert body["status"] == "needs_attention"


@pytest.mark.parametrize(
    "category", ["wardrobe", "accessory", "prop", "place", "scene", "style", "keyframe"]
)
def test_r13_any_active_inventory_category_covers(api, character, category):
    uploaded(api)
    asset = uploaded(api, category=category, asset_key="x", label="x")
    api.patch(
        f"/v1/characters/mira/visual-assets/{asset['id']}",
        {"promotion_status": "approved_keyframe"},
        format="json",
    )
    inventory = check_of(readiness(api), "inventory_coverage")
    assert inventory == {
        "id": "inventory_coverage",
        "status": "ok",
        "summary": "1 active inventory asset(s).",
    }


def test_r13_identity_assets_are_not_inventory(api, character):
    uploaded(api)
    uploaded(api, asset_key="second", label="second")
    assert statuses(readiness(api))["inventory_coverage"] == "weak"


# --- R14: the aggregate ---------------------------------------------------------------


def test_r14_missing_outranks_weak_and_disabled(api, make_character):
    make_character(thresholds=IMAGES_ON)
    body = readiness(api)
    assert statuses(body)["identity_asset"] == "missing"
    assert statuses(body)["image_generation"] == "ok"
    assert body["status"] == "needs_attention"


def test_r14_only_disabled_is_ready_with_warnings(api, character):
    uploaded(api)
    asset = uploaded(api, category="prop", asset_key="mug", label="mug")
    api.patch(
        f"/v1/characters/mira/visual-assets/{asset['id']}",
        {"promotion_status": "approved_anchor"},
        format="json",
    )
    body = readiness(api)
    assert statuses(body)["image_generation"] == "disabled"
    assert body["status"] == "ready_with_warnings"


# --- R15: version scope ---------------------------------------------------------------


def test_r15_anchors_follow_the_active_version_while_assets_stay(api, make_character):
    make_character(thresholds=IMAGES_ON)
    uploaded(api)
    before = readiness(api)
    assert statuses(before)["identity_anchors"] == "ok"
    # A new profile without identity_anchors drops them from the new active version.
    character = patch_character(api, {"profile": {"persona": "a baker"}})
    after = readiness(api)
    assert after["active_version_id"] == character["active_version_id"]
    assert after["active_version_id"] != before["active_version_id"]
    assert statuses(after)["identity_anchors"] == "missing"
    assert statuses(after)["identity_asset"] == "ok"
    assert statuses(after)["image_generation"] == "ok"
    # Thresholds are version-scoped too.
    patch_character(
        api, {"behavioral_thresholds": {"image_proactivity": 0, "selfie_comfort": 0}}
    )
    assert statuses(readiness(api))["image_generation"] == "disabled"


# --- R21: launch readiness carries the visual checks ----------------------------------


def test_r21_launch_readiness_includes_the_visual_checks(api, make_character):
    make_character(thresholds=IMAGES_ON)
    body = api.get("/v1/characters/mira/readiness").json()
    ids = [c["id"] for c in body["checks"]]
    assert ids == [
        "persona",
        "voice",
        "budget",
        "delivery",
        "identity_asset",
        "identity_anchors",
        "inventory_coverage",
        "image_generation",
    ]
    assert body["status"] == "needs_attention"  # identity_asset missing
    uploaded(api)
    body = api.get("/v1/characters/mira/readiness").json()
    visual = {c["id"]: c["status"] for c in body["checks"]}
    assert visual["identity_asset"] == "ok"
    assert body["status"] == "ready_with_warnings"  # inventory_coverage weak


# --- Advice: extra, never changes a status --------------------------------------------


def test_advice_from_the_identity_image_is_listed_without_changing_statuses(
    api, make_character
):
    make_character(thresholds=IMAGES_ON)
    group = uploaded(api, content=face_bytes("group-two-people.jpg"), name="group.jpg")
    assert [a["code"] for a in group["advice"]] == ["multiple_faces"]
    body = readiness(api)
    assert statuses(body)["identity_asset"] == "ok"
    assert [(a["code"], a["asset_id"]) for a in body["advice"]] == [
        ("multiple_faces", group["id"])
    ]


def test_advice_when_no_identity_image_is_fetchable_over_https(
    api, make_character, settings
):
    make_character(thresholds=IMAGES_ON)
    uploaded(api, content=face_bytes("obama-1.jpg"))
    assert readiness(api)["advice"] == []
    settings.LOREOS_REQUIRE_HTTPS_ASSETS = True
    body = readiness(api)
    assert [a["code"] for a in body["advice"]] == ["identity_not_fetchable"]
    assert statuses(body)["identity_asset"] == "ok"
    settings.LOREOS_PUBLIC_BASE_URL = "https://media.example.test"
    assert readiness(api)["advice"] == []


def test_advice_when_daily_image_cap_is_zero(api, make_character):
    make_character(thresholds={"image_proactivity": 0.5, "daily_image_cap": 0})
    body = readiness(api)
    assert "daily_image_cap_zero" in [a["code"] for a in body["advice"]]
    assert statuses(body)["image_generation"] == "ok"


def test_anchor_values_the_admin_refuses_are_accepted_and_listed_as_advice(
    api, make_character
):
    # The contract accepts any dict (not a 422); the admin's value checks, the same
    # function, surface here as advice and leave the check ok.
    make_character(anchors={"visual_summary": "tall", "style_constants": "glasses"})
    body = readiness(api)
    assert statuses(body)["identity_anchors"] == "ok"
    advice = {a["code"]: a["message"] for a in body["advice"]}
    assert (
        "style_constants must be a list of strings" in advice["identity_anchors_values"]
    )


# --- Errors and cost ------------------------------------------------------------------


def test_readiness_of_another_accounts_character_is_404(other_api, character):
    assert_error(other_api.get(URL), 404, "not_found")


@pytest.mark.parametrize("count", [3, 40])
def test_readiness_costs_constant_queries(
    api, character, count, django_assert_max_num_queries
):
    uploaded(api)
    for n in range(count - 1):
        uploaded(
            api,
            category="style",
            asset_key=f"s{n}",
            label="s",
            content=image_bytes(size=(8, 8)),
        )
    # key, character + active version, identity assets, inventory counts
    with django_assert_max_num_queries(4):
        body = readiness(api)
    assert "candidate(s)" in check_of(body, "inventory_coverage")["summary"]
    # Launch readiness adds one: the account's webhook endpoints (the hooks check).
    with django_assert_max_num_queries(5):
        assert api.get("/v1/characters/mira/readiness").status_code == 200
