"""Two people deciding at once: the asset's ETag, If-Match and 412 precondition_failed
(the API side; the curator pages and the admin are in test_curate_concurrency.py)."""

import pytest

from tests.helpers import api_client_for, assert_error
from tests.test_assets_upload import uploaded

pytestmark = pytest.mark.django_db


def _path(asset_id, slug="mira"):
    return f"/v1/characters/{slug}/visual-assets/{asset_id}"


@pytest.fixture
def candidate(api, character):
    uploaded(api)
    return uploaded(api, category="wardrobe", asset_key="coat", label="green coat")


def test_every_asset_answer_carries_an_etag_that_changes_with_the_asset(api, candidate):
    read = api.get(_path(candidate["id"]))
    tag = read["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 4
    assert api.get(_path(candidate["id"]))["ETag"] == tag  # stable while unchanged
    patched = api.patch(
        _path(candidate["id"]),
        {"promotion_status": "approved_keyframe"},
        format="json",
        HTTP_IF_MATCH=tag,
    )
    assert patched.status_code == 200, patched.content
    assert patched["ETag"] != tag
    assert api.get(_path(candidate["id"]))["ETag"] == patched["ETag"]


def test_a_stale_if_match_is_412_naming_who_decided_and_when(api, account, candidate):
    tag = api.get(_path(candidate["id"]))["ETag"]
    first = api_client_for(account)
    first.api_key.name = "night-shift"
    first.api_key.save(update_fields=["name"])
    done = first.patch(
        _path(candidate["id"]),
        {"asset_status": "rejected"},
        format="json",
        HTTP_IF_MATCH=tag,
    )
    assert done.status_code == 200, done.content
    assert done.json()["data"]["decided_by"] == (
        f"night-shift (lok_{first.api_key.prefix})"
    )

    late = api.patch(
        _path(candidate["id"]),
        {"promotion_status": "approved_keyframe"},
        format="json",
        HTTP_IF_MATCH=tag,
    )
    detail = assert_error(late, 412, "precondition_failed")
    assert f"night-shift (lok_{first.api_key.prefix})" in detail["message"]
    assert done.json()["data"]["decided_at"][:16] in detail["message"]
    assert "If-Match" in detail["fix"]
    # Nothing changed: still the first decision.
    again = api.get(_path(candidate["id"])).json()["data"]
    assert again["asset_status"] == "rejected"

    gone = api.delete(_path(candidate["id"]), HTTP_IF_MATCH=tag)
    assert_error(gone, 412, "precondition_failed")
    assert api.get(_path(candidate["id"])).status_code == 200


def test_the_current_tag_a_list_and_star_match(api, candidate):
    tag = api.get(_path(candidate["id"]))["ETag"]
    ok = api.patch(
        _path(candidate["id"]),
        {"qa_status": "passed"},
        format="json",
        HTTP_IF_MATCH=f'"stale", {tag}',
    )
    assert ok.status_code == 200, ok.content
    star = api.patch(
        _path(candidate["id"]),
        {"qa_status": "failed"},
        format="json",
        HTTP_IF_MATCH="*",
    )
    assert star.status_code == 200, star.content
    deleted = api.delete(_path(candidate["id"]), HTTP_IF_MATCH=star["ETag"])
    assert deleted.status_code == 204
    assert api.get(_path(candidate["id"])).status_code == 404


def test_without_if_match_the_last_writer_still_wins(api, candidate):
    # If-Match is optional: clients that do not send it keep today's behaviour.
    response = api.patch(
        _path(candidate["id"]), {"asset_status": "rejected"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["data"]["decided_by"].startswith("API key (lok_")


def test_decided_by_is_null_before_any_decision(api, candidate):
    assert candidate["decided_by"] is None


def test_each_change_is_one_row_of_the_asset_history(api, candidate):
    from visuals.models import AssetDecision

    api.patch(_path(candidate["id"]), {"asset_status": "rejected"}, format="json")
    api.patch(_path(candidate["id"]), {"asset_status": "candidate"}, format="json")
    api.patch(_path(candidate["id"]), {"asset_status": "candidate"}, format="json")
    rows = list(
        AssetDecision.objects.filter(asset_id=candidate["id"]).order_by("decided_at")
    )
    assert [(r.before[0], r.after[0]) for r in rows] == [
        ("candidate", "rejected"),
        ("rejected", "candidate"),
    ]  # the no-op third PATCH records nothing
    assert all(r.decided_by_key_id == api.api_key.pk for r in rows)
