"""The visual inventory (contract R20): every asset grouped by category, counts by
status."""

import pytest

from tests.helpers import assert_error, image_bytes
from tests.test_assets_upload import ASSET_FIELDS, uploaded

pytestmark = pytest.mark.django_db

URL = "/v1/characters/mira/visual-inventory"
CATEGORIES = [
    "identity",
    "wardrobe",
    "accessory",
    "prop",
    "place",
    "scene",
    "style",
    "keyframe",
]
ZERO = {"candidate": 0, "active": 0, "retired": 0, "rejected": 0}


def _inventory(api):
    response = api.get(URL)
    assert response.status_code == 200, response.content
    return response.json()


def test_r20_every_category_is_present_even_when_empty(api, character):
    body = _inventory(api)
    assert body["schema_version"] == "v0"
    data = body["data"]
    assert list(data["categories"]) == CATEGORIES
    for group in data["categories"].values():
        assert group == {"counts": ZERO, "assets": [], "more": False}
    assert data["counts"] == ZERO
    assert data["total"] == 0
    commands = [a["command"] for a in body["next_actions"]]
    assert "GET /v1/characters/mira/visual-readiness" in commands


def test_r20_assets_grouped_with_counts_by_status(api, character):
    identity = uploaded(api)
    coat = uploaded(api, category="wardrobe", asset_key="coat", label="coat")
    scarf = uploaded(api, category="wardrobe", asset_key="scarf", label="scarf")
    hat = uploaded(api, category="wardrobe", asset_key="hat", label="hat")
    cafe = uploaded(api, category="place", asset_key="cafe", label="cafe")
    for asset, body in (
        (coat, {"promotion_status": "approved_keyframe"}),
        (scarf, {"asset_status": "rejected"}),
        (cafe, {"promotion_status": "approved_anchor"}),
    ):
        response = api.patch(
            f"/v1/characters/mira/visual-assets/{asset['id']}", body, format="json"
        )
        assert response.status_code == 200
    api.patch(
        f"/v1/characters/mira/visual-assets/{cafe['id']}",
        {"asset_status": "retired"},
        format="json",
    )

    data = _inventory(api)["data"]
    groups = data["categories"]
    assert groups["identity"]["counts"] == {**ZERO, "active": 1}
    assert [a["id"] for a in groups["identity"]["assets"]] == [identity["id"]]
    assert groups["wardrobe"]["counts"] == {
        **ZERO,
        "candidate": 1,
        "active": 1,
        "rejected": 1,
    }
    assert [a["id"] for a in groups["wardrobe"]["assets"]] == [
        hat["id"],
        scarf["id"],
        coat["id"],
    ]
    assert groups["place"]["counts"] == {**ZERO, "retired": 1}
    assert groups["prop"] == {"counts": ZERO, "assets": [], "more": False}
    assert data["counts"] == {"candidate": 1, "active": 2, "retired": 1, "rejected": 1}
    assert data["total"] == 5
    asset = groups["wardrobe"]["assets"][2]
    assert set(asset) == ASSET_FIELDS
    assert (asset["asset_status"], asset["promotion_status"]) == (
        "active",
        "approved_keyframe",
    )
    assert asset["url"].startswith("http://testserver/media/")


def test_r20_the_inventory_is_per_character(api, character, make_character):
    uploaded(api)
    make_character("other")
    uploaded(api, "other")
    uploaded(api, "other", asset_key="second", label="second")
    assert _inventory(api)["data"]["total"] == 1
    other = api.get("/v1/characters/other/visual-inventory").json()["data"]
    assert other["categories"]["identity"]["counts"]["active"] == 2


def test_r20_another_accounts_inventory_is_404(other_api, character):
    assert_error(other_api.get(URL), 404, "not_found")


@pytest.mark.parametrize("count", [3, 40])
def test_r20_inventory_costs_constant_queries(
    api, character, count, django_assert_max_num_queries
):
    uploaded(api)
    categories = CATEGORIES[1:]
    for n in range(count - 1):
        uploaded(
            api,
            category=categories[n % len(categories)],
            asset_key=f"a{n}",
            label="a",
            content=image_bytes(size=(8, 8)),
        )
    # key, character, counts, one per category — whatever the number of assets
    with django_assert_max_num_queries(11):
        data = _inventory(api)["data"]
    assert data["total"] == count
    assert sum(len(g["assets"]) for g in data["categories"].values()) == count


def test_r20_inventory_lists_the_newest_per_category_and_counts_every_asset(
    api, character, settings, django_assert_max_num_queries
):
    """Bounded response at any size: counts cover all, `more` says the list is cut."""
    from tests.helpers import upload_identity
    from visuals.models import VisualAsset

    settings.LOREOS_INVENTORY_ASSETS_PER_CATEGORY = 2
    identity = VisualAsset.objects.get(pk=upload_identity(api)["id"])
    for n in range(5):
        identity.pk = None
        identity.id = None
        identity.category, identity.asset_key, identity.asset_status = (
            "prop",
            f"p{n}",
            "candidate",
        )
        identity.save()
    with django_assert_max_num_queries(11):
        data = api.get("/v1/characters/mira/visual-inventory").json()["data"]
    prop = data["categories"]["prop"]
    assert (
        prop["counts"]["candidate"] == 5
        and len(prop["assets"]) == 2
        and prop["more"] is True
    )
    assert [a["asset_key"] for a in prop["assets"]] == ["p4", "p3"]
    assert data["categories"]["identity"]["more"] is False and data["total"] == 6
