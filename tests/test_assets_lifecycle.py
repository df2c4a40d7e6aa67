"""Managing assets (contract R43, R44, R46): list, read, promote, reject, retire,
delete."""

import uuid

import pytest
from django.core.files.storage import default_storage

from tests.helpers import assert_error, image_bytes
from tests.test_assets_upload import upload, uploaded

pytestmark = pytest.mark.django_db


def _path(asset_id, slug="mira"):
    return f"/v1/characters/{slug}/visual-assets/{asset_id}"


def _patch(api, asset_id, body, slug="mira"):
    return api.patch(_path(asset_id, slug), body, format="json")


@pytest.fixture
def identity(api, character):
    return uploaded(api)


@pytest.fixture
def candidate(api, identity):
    return uploaded(api, category="wardrobe", asset_key="coat", label="green coat")


def _to(api, asset, *steps):
    """Drive an asset through PATCH bodies, asserting each step succeeds."""
    for body in steps:
        response = _patch(api, asset["id"], body)
        assert response.status_code == 200, response.content
        asset = response.json()["data"]
    return asset


# --- R43: promotion -------------------------------------------------------------------


@pytest.mark.parametrize("promotion", ["approved_keyframe", "approved_anchor"])
def test_r43_promoting_a_candidate_makes_it_active(api, candidate, promotion):
    response = _patch(api, candidate["id"], {"promotion_status": promotion})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["schema_version"] == "v0"
    asset = body["data"]
    assert (asset["asset_status"], asset["promotion_status"]) == ("active", promotion)
    assert asset["decided_at"] is not None
    again = api.get(_path(candidate["id"])).json()["data"]
    assert (again["asset_status"], again["promotion_status"]) == ("active", promotion)


def test_r43_rejecting_a_candidate(api, candidate):
    asset = _to(api, candidate, {"asset_status": "rejected", "reason": "wrong colour"})
    assert (asset["asset_status"], asset["promotion_status"]) == (
        "rejected",
        "candidate",
    )
    assert asset["decision_reason"] == "wrong colour"


@pytest.mark.parametrize("qa", ["passed", "failed", "unreviewed"])
def test_r43_qa_status_is_updatable(api, candidate, qa):
    asset = _to(api, candidate, {"qa_status": "failed"}, {"qa_status": qa})
    assert asset["qa_status"] == qa
    assert asset["asset_status"] == "candidate"


def test_r43_promotion_with_an_explicit_active_status_is_accepted(api, candidate):
    asset = _to(
        api,
        candidate,
        {"promotion_status": "approved_keyframe", "asset_status": "active"},
    )
    assert asset["asset_status"] == "active"


def test_r46_every_asset_and_promotion_status_is_reachable(api, candidate):
    seen = {(candidate["asset_status"], candidate["promotion_status"])}
    for body in (
        {"promotion_status": "approved_keyframe"},
        {"promotion_status": "approved_anchor"},
        {"asset_status": "retired"},
        {"asset_status": "active"},
        {"asset_status": "rejected"},
        {"asset_status": "candidate"},
    ):
        asset = _to(api, candidate, body)
        seen.add((asset["asset_status"], asset["promotion_status"]))
    assert {s for s, _ in seen} == {"candidate", "active", "retired", "rejected"}
    assert {p for _, p in seen} == {"candidate", "approved_anchor", "approved_keyframe"}
    # Reopening a rejected asset puts its promotion back to candidate.
    assert asset["promotion_status"] == "candidate"


# --- The transition table -------------------------------------------------------------

# (steps to reach the state, PATCH body, allowed?)
TABLE = [
    ([], {"asset_status": "retired"}, False),
    ([], {"asset_status": "active"}, False),
    ([], {"asset_status": "rejected"}, True),
    ([], {"asset_status": "candidate"}, True),  # same value: a no-op
    ([{"promotion_status": "approved_keyframe"}], {"asset_status": "retired"}, True),
    ([{"promotion_status": "approved_keyframe"}], {"asset_status": "rejected"}, True),
    ([{"promotion_status": "approved_keyframe"}], {"asset_status": "candidate"}, False),
    (
        [{"promotion_status": "approved_keyframe"}],
        {"promotion_status": "candidate"},
        False,
    ),
    (
        [{"promotion_status": "approved_keyframe"}],
        {"promotion_status": "approved_anchor"},
        True,
    ),
    (
        [{"promotion_status": "approved_anchor"}, {"asset_status": "retired"}],
        {"asset_status": "active"},
        True,
    ),
    (
        [{"promotion_status": "approved_anchor"}, {"asset_status": "retired"}],
        {"asset_status": "candidate"},
        False,
    ),
    ([{"asset_status": "rejected"}], {"promotion_status": "approved_keyframe"}, False),
    ([{"asset_status": "rejected"}], {"asset_status": "active"}, False),
    ([{"asset_status": "rejected"}], {"asset_status": "retired"}, False),
    ([{"asset_status": "rejected"}], {"asset_status": "candidate"}, True),
]


@pytest.mark.parametrize("steps,body,allowed", TABLE)
def test_r46_the_transition_table(api, candidate, steps, body, allowed):
    before = _to(api, candidate, *steps)
    response = _patch(api, candidate["id"], body)
    if allowed:
        assert response.status_code == 200, response.content
        return
    detail = assert_error(response, 422, "invalid_transition")
    field = next(iter(body))
    assert detail["field"] == field
    assert "allowed" in detail["message"] or "only a candidate" in detail["message"]
    after = api.get(_path(candidate["id"])).json()["data"]
    assert (after["asset_status"], after["promotion_status"]) == (
        before["asset_status"],
        before["promotion_status"],
    )


def test_invalid_transition_message_names_the_allowed_targets(api, candidate):
    detail = assert_error(
        _patch(api, candidate["id"], {"asset_status": "retired"}),
        422,
        "invalid_transition",
    )
    assert detail["message"] == (
        "asset_status cannot go from candidate to retired;"
        " allowed from candidate: rejected"
    )
    assert "approved_keyframe" in detail["fix"]


def test_an_identity_asset_is_approved_only_as_an_anchor(api, identity):
    _to(api, identity, {"asset_status": "rejected"}, {"asset_status": "candidate"})
    detail = assert_error(
        _patch(api, identity["id"], {"promotion_status": "approved_keyframe"}),
        422,
        "invalid_transition",
    )
    assert "approved_anchor" in detail["message"]
    asset = _to(api, identity, {"promotion_status": "approved_anchor"})
    assert asset["asset_status"] == "active"


def test_promotion_with_a_contradicting_status_is_422(api, candidate):
    response = _patch(
        api,
        candidate["id"],
        {"promotion_status": "approved_keyframe", "asset_status": "rejected"},
    )
    assert_error(response, 422, "invalid_transition")


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, None),
        ({"reason": "only a reason"}, None),
        ({"asset_status": "archived"}, "asset_status"),
        ({"promotion_status": "approved"}, "promotion_status"),
        ({"qa_status": "ok"}, "qa_status"),
        ({"label": "renamed"}, "label"),
        ([], None),
    ],
)
def test_bad_patch_bodies_are_422_validation_error(api, candidate, body, field):
    detail = assert_error(_patch(api, candidate["id"], body), 422, "validation_error")
    if field:
        assert detail["field"] == field


def test_a_no_op_patch_records_no_decision(api, candidate):
    asset = _to(api, candidate, {"asset_status": "candidate"})
    assert asset["decided_at"] is None


# --- Reading --------------------------------------------------------------------------


def test_get_one_asset(api, candidate):
    response = api.get(_path(candidate["id"]))
    assert response.status_code == 200
    assert response.json()["data"] == candidate


@pytest.mark.parametrize("asset_id", ["nope", "123", str(uuid.uuid4()), "%20"])
def test_unknown_or_invalid_asset_ids_are_404(api, identity, asset_id):
    for method in (api.get, api.delete):
        assert_error(method(_path(asset_id)), 404, "not_found")
    assert_error(_patch(api, asset_id, {"qa_status": "passed"}), 404, "not_found")


def test_another_accounts_asset_is_404_even_under_a_same_named_character(
    api, other_api, identity, make_character
):
    make_character("mira", client=other_api)
    uploaded(other_api)
    assert_error(other_api.get(_path(identity["id"])), 404, "not_found")
    assert_error(
        _patch(other_api, identity["id"], {"qa_status": "passed"}), 404, "not_found"
    )
    assert_error(other_api.delete(_path(identity["id"])), 404, "not_found")
    assert api.get(_path(identity["id"])).json()["data"]["qa_status"] == "unreviewed"


def test_another_characters_asset_is_404(api, identity, make_character):
    make_character("other")
    assert_error(api.get(_path(identity["id"], slug="other")), 404, "not_found")


def test_list_filters_by_category_and_status_newest_first(api, candidate, identity):
    prop = uploaded(api, category="prop", asset_key="mug", label="mug")
    _to(api, prop, {"promotion_status": "approved_keyframe"})

    everything = api.get("/v1/characters/mira/visual-assets").json()
    assert [a["id"] for a in everything["data"]] == [
        prop["id"],
        candidate["id"],
        identity["id"],
    ]
    assert everything["pagination"] == {"limit": 50, "offset": 0, "next_offset": None}

    def ids(query):
        response = api.get(f"/v1/characters/mira/visual-assets?{query}")
        assert response.status_code == 200, response.content
        return [a["id"] for a in response.json()["data"]]

    assert ids("category=wardrobe") == [candidate["id"]]
    assert ids("asset_status=active") == [prop["id"], identity["id"]]
    assert ids("asset_status=active&category=prop") == [prop["id"]]
    assert ids("asset_status=rejected") == []
    assert ids("limit=1&offset=1") == [candidate["id"]]


def test_list_pagination(api, identity):
    for n in range(4):
        uploaded(api, category="scene", asset_key=f"s{n}", label=f"scene {n}")
    page = api.get("/v1/characters/mira/visual-assets?limit=2").json()
    assert len(page["data"]) == 2 and page["pagination"]["next_offset"] == 2
    last = api.get("/v1/characters/mira/visual-assets?limit=2&offset=4").json()
    assert len(last["data"]) == 1 and last["pagination"]["next_offset"] is None


def test_list_rejects_unknown_filters_values(api, identity):
    assert_error(
        api.get("/v1/characters/mira/visual-assets?category=hat"),
        422,
        "invalid_category",
    )
    detail = assert_error(
        api.get("/v1/characters/mira/visual-assets?asset_status=gone"),
        422,
        "validation_error",
    )
    assert detail["field"] == "asset_status"
    assert_error(
        api.get("/v1/characters/mira/visual-assets?limit=0"), 422, "validation_error"
    )


def test_list_of_another_accounts_character_is_404(other_api, identity):
    assert_error(other_api.get("/v1/characters/mira/visual-assets"), 404, "not_found")


@pytest.mark.parametrize("count", [3, 40])
def test_read_endpoints_cost_constant_queries(
    api, character, count, django_assert_max_num_queries
):
    identity = uploaded(api)
    for n in range(count - 1):
        uploaded(
            api,
            category="prop",
            asset_key=f"p{n}",
            label="p",
            content=image_bytes(size=(8, 8)),
        )
    # key, character, rows — whatever the number of assets
    with django_assert_max_num_queries(3):
        response = api.get("/v1/characters/mira/visual-assets?limit=200")
    assert len(response.json()["data"]) == count
    with django_assert_max_num_queries(3):
        assert api.get(_path(identity["id"])).status_code == 200


# --- R44: delete ----------------------------------------------------------------------


def test_r44_delete_removes_the_asset_and_its_file_after_commit(
    api, candidate, django_capture_on_commit_callbacks
):
    name = candidate["url"].split("/media/", 1)[1]
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.delete(_path(candidate["id"]))
    assert response.status_code == 204
    assert response.content == b""
    assert callbacks, "the file is removed in an on-commit callback"
    assert not default_storage.exists(name)
    assert_error(api.get(_path(candidate["id"])), 404, "not_found")
    assert_error(api.delete(_path(candidate["id"])), 404, "not_found")
    inventory = api.get("/v1/characters/mira/visual-inventory").json()["data"]
    assert inventory["categories"]["wardrobe"]["assets"] == []


def test_r44_the_file_stays_until_the_deletion_commits(
    api, candidate, django_capture_on_commit_callbacks
):
    name = candidate["url"].split("/media/", 1)[1]
    with django_capture_on_commit_callbacks(execute=False):
        assert api.delete(_path(candidate["id"])).status_code == 204
        assert default_storage.exists(name)


def test_r44_deleting_the_only_identity_blocks_other_uploads_again(api, identity):
    assert api.delete(_path(identity["id"])).status_code == 204
    assert_error(
        upload(api, category="prop", asset_key="m", label="m"), 409, "needs_identity"
    )


@pytest.mark.parametrize(
    "category,asset_status,promotion_status",
    [
        (category, status, promotion)
        for category in ("wardrobe", "identity")
        for status in ("candidate", "active", "retired", "rejected")
        for promotion in ("candidate", "approved_anchor", "approved_keyframe")
    ],
)
def test_allowed_decisions_are_exactly_the_ones_the_service_accepts(
    identity, category, asset_status, promotion_status
):
    # What the curator pages and admin offer comes from the same table the PATCH obeys.
    from loreos.api.errors import ApiError
    from visuals import assets as services
    from visuals.models import VisualAsset

    base = VisualAsset.objects.get(pk=identity["id"])
    allowed = None
    for decision in services.DECISIONS:
        asset = VisualAsset.objects.get(pk=base.pk)
        VisualAsset.objects.filter(pk=asset.pk).update(
            category=category,
            asset_status=asset_status,
            promotion_status=promotion_status,
            qa_status="unreviewed",
        )
        asset.refresh_from_db()
        if allowed is None:
            allowed = services.allowed_decisions(asset)
        before = (asset.asset_status, asset.promotion_status, asset.qa_status)
        try:
            after = services.asset_decide(asset=asset, decision=decision)
        except ApiError:
            changed = False
        else:
            changed = (
                after.asset_status,
                after.promotion_status,
                after.qa_status,
            ) != before
        assert changed == (decision in allowed), decision
