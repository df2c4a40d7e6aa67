"""Batch inventory generation and curation through the API (contract R34–R43)."""

import pytest

from tests.brokers import use_broker
from tests.helpers import assert_error, open_session
from visuals.models import ImageRequest, UsageRecord, VisualAsset

pytestmark = pytest.mark.django_db

ENTRY_FIELDS = {"category", "request_id", "request_status", "image_kind", "deliverable"}


def generate(api, ready, **body):
    body.setdefault("session_id", ready["session_id"])
    return api.post(
        f"/v1/characters/{ready['slug']}/inventory/generate", body, format="json"
    )


def test_r36_r37_three_categories_times_two_is_six_metered_generations(api, ready):
    response = generate(
        api,
        ready,
        categories=["wardrobe", "accessory", "prop"],
        count_per_category=2,
        style_brief="casual weekend, soft natural light",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (
        set(body) == {"schema_version", "data", "next_actions"}
        and body["schema_version"] == "v0"
    )
    data = body["data"]
    assert (data["requested"], data["queued"], data["hold_for_review"]) == (6, 6, False)
    assert [e["category"] for e in data["batch"]] == ["wardrobe"] * 2 + [
        "accessory"
    ] * 2 + ["prop"] * 2
    assert all(
        set(e) == ENTRY_FIELDS and e["deliverable"] is True for e in data["batch"]
    )
    assert [e["image_kind"] for e in data["batch"]] == ["selfie"] * 2 + ["object"] * 4
    assert [a["command"] for a in body["next_actions"]] == [
        "GET /v1/characters/mira/inventory/generations",
        "GET /v1/characters/mira/visual-inventory",
    ]
    assert UsageRecord.objects.count() == 6


def test_r35_three_times_three_is_rejected_as_batch_too_large(api, ready):
    response = generate(
        api, ready, categories=["wardrobe", "accessory", "prop"], count_per_category=3
    )
    detail = assert_error(response, 422, "batch_too_large")
    assert detail["message"] == "9 images requested; max 8 per batch"
    assert detail["fix"] == "Reduce categories × count_per_category to ≤ 8."
    assert ImageRequest.objects.count() == 0 and UsageRecord.objects.count() == 0


@pytest.mark.parametrize("category", ["identity", "keyframe", "style", "hats"])
def test_r34_ungeneratable_categories_are_invalid_category(api, ready, category):
    assert_error(
        generate(api, ready, categories=["wardrobe", category]), 422, "invalid_category"
    )


@pytest.mark.parametrize(
    "body,field",
    [
        ({"categories": []}, "categories"),
        ({"categories": "wardrobe"}, "categories"),
        ({"categories": ["wardrobe"], "count_per_category": 0}, "count_per_category"),
        ({"categories": ["wardrobe"], "count_per_category": 5}, "count_per_category"),
        ({"categories": ["wardrobe"], "forbidden": "hats"}, "forbidden"),
        ({"categories": ["wardrobe"], "hold_for_review": "maybe"}, "hold_for_review"),
        ({"categories": ["wardrobe", "wardrobe"]}, "categories"),
        ({"session_id": None, "categories": ["wardrobe"]}, "session_id"),
    ],
)
def test_r34_bad_bodies_are_422_naming_the_field(api, ready, body, field):
    detail = assert_error(generate(api, ready, **body), 422, "validation_error")
    assert detail["field"] == field


def test_r34_session_checks_match_probes(api, ready):
    assert_error(
        generate(api, ready, categories=["prop"], session_id="nope"), 404, "not_found"
    )
    api.post(f"/v1/sessions/{ready['session_id']}/exit")
    assert_error(generate(api, ready, categories=["prop"]), 409, "session_exited")


def test_r36_needs_identity_and_demo_key_and_budget(
    api, demo_api, ready, make_character
):
    assert_error(
        generate(demo_api, ready, categories=["prop"]), 403, "demo_key_forbidden"
    )
    make_character("bare")
    bare = {"slug": "bare", "session_id": open_session(api, "bare")}
    assert_error(generate(api, bare, categories=["prop"]), 409, "needs_identity")
    api.patch("/v1/characters/mira", {"monthly_budget": 3}, format="json")
    detail = assert_error(
        generate(api, ready, categories=["prop", "scene"], count_per_category=2),
        402,
        "budget_exceeded",
    )
    assert "4 unit" in detail["message"] and "3 left" in detail["message"]
    assert (
        ImageRequest.objects.count() == 0
    )  # the whole batch is refused before anything queues


def test_r39_generations_listing_reports_each_image_like_a_probe(api, ready):
    batch = generate(api, ready, categories=["wardrobe", "place"]).json()["data"][
        "batch"
    ]
    body = api.get("/v1/characters/mira/inventory/generations").json()
    assert body["schema_version"] == "v0"
    assert body["data"]["categories"] == [
        "accessory",
        "place",
        "prop",
        "scene",
        "wardrobe",
    ]
    generations = body["data"]["generations"]
    assert [g["probe_id"] for g in generations] == [
        e["request_id"] for e in reversed(batch)
    ]  # newest first
    for generation in generations:
        assert {
            "category",
            "state",
            "servable",
            "summary",
            "promotion_eligible",
            "asset_id",
        } <= set(generation)
        assert generation["state"] == "ready" and generation["image_url"]
    by_batch = api.get(
        f"/v1/characters/mira/inventory/generations?batch_id={generations[0]['batch_id']}"
    )
    assert len(by_batch.json()["data"]["generations"]) == 2
    assert (
        api.get("/v1/characters/mira/inventory/generations?state=failed").json()[
            "data"
        ]["generations"]
        == []
    )
    assert_error(
        api.get("/v1/characters/mira/inventory/generations?state=done"),
        422,
        "validation_error",
    )


def test_r39_generations_listing_while_the_batch_runs(api, ready, settings):
    """With no worker running, every item reads queued, then ready after it runs."""
    with use_broker("memory://"):
        generate(api, ready, categories=["scene", "prop"])
    states = [
        g["state"]
        for g in api.get("/v1/characters/mira/inventory/generations").json()["data"][
            "generations"
        ]
    ]
    assert states == ["queued", "queued"]
    from visuals.engine import run

    for row in ImageRequest.objects.all():
        run(str(row.pk))
    states = [
        g["state"]
        for g in api.get("/v1/characters/mira/inventory/generations").json()["data"][
            "generations"
        ]
    ]
    assert states == ["ready", "ready"]


def test_r42_hold_false_lands_active_assets_typed_by_category(api, ready):
    generate(api, ready, categories=["wardrobe", "accessory"])
    inventory = api.get("/v1/characters/mira/visual-inventory").json()["data"]
    assets = VisualAsset.objects.filter(source="inventory")
    assert sorted(a.category for a in assets) == ["accessory", "wardrobe"]
    assert all(a.asset_status == "active" for a in assets)
    assert "wardrobe" in str(inventory)
    checks = {
        c["id"]: c
        for c in api.get("/v1/characters/mira/visual-readiness").json()["checks"]
    }
    assert checks["inventory_coverage"]["status"] == "ok"


def test_r42_r43_hold_for_review_gives_candidates_to_approve_or_reject(api, ready):
    generate(api, ready, categories=["prop", "scene", "place"], hold_for_review=True)
    checks = {
        c["id"]: c
        for c in api.get("/v1/characters/mira/visual-readiness").json()["checks"]
    }
    assert checks["inventory_coverage"]["status"] == "weak"  # candidates do not count
    generations = api.get("/v1/characters/mira/inventory/generations").json()["data"][
        "generations"
    ]
    ids = [g["asset_id"] for g in generations]
    assert all(ids) and all(g["hold_for_review"] for g in generations)
    assert set(
        VisualAsset.objects.filter(pk__in=ids).values_list("asset_status", flat=True)
    ) == {"candidate"}
    approve = api.patch(
        f"/v1/characters/mira/visual-assets/{ids[0]}",
        {"promotion_status": "approved_keyframe"},
        format="json",
    )
    assert approve.json()["data"]["asset_status"] == "active"
    reject = api.patch(
        f"/v1/characters/mira/visual-assets/{ids[1]}",
        {"asset_status": "rejected"},
        format="json",
    )
    assert reject.json()["data"]["asset_status"] == "rejected"
    assert api.delete(f"/v1/characters/mira/visual-assets/{ids[2]}").status_code == 204
    assert not VisualAsset.objects.filter(pk=ids[2]).exists()
    checks = {
        c["id"]: c
        for c in api.get("/v1/characters/mira/visual-readiness").json()["checks"]
    }
    assert checks["inventory_coverage"]["status"] == "ok"
    assert api.get("/v1/characters/mira/visual-readiness").json()["status"] == "ready"


def test_r38_r41_a_send_the_broker_refuses_is_inline_unspent_and_the_rest_land(
    api, ready
):
    """The broker (kombu.s in-memory transport, made to refuse) refuses every send after
    the first two; those items come back with request_id null and an error."""
    from kombu.transport import memory

    original = memory.Channel._put
    sent = {"n": 0}

    def refusing_put(channel, queue, message, **kwargs):
        sent["n"] += 1
        if sent["n"] > 2:
            raise ConnectionRefusedError("broker refused the message")
        return original(channel, queue, message, **kwargs)

    memory.Channel._put = refusing_put
    try:
        with use_broker("memory://"):
            response = generate(
                api, ready, categories=["wardrobe", "prop"], count_per_category=2
            )
    finally:
        memory.Channel._put = original
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["requested"], data["queued"]) == (4, 2)
    failed = [e for e in data["batch"] if e["request_id"] is None]
    assert len(failed) == 2 and all(
        set(e) == {"category", "request_id", "error"} and e["error"] for e in failed
    )
    assert sent["n"] == 3  # after the first refusal, the last item is not tried
    assert UsageRecord.objects.count() == 2  # refused items are not spent
    assert ImageRequest.objects.count() == 2
    assert all(r.request_status == "queued" for r in ImageRequest.objects.all())


def test_r38_a_broker_that_refuses_every_send_queues_and_spends_nothing(
    api, ready, tmp_path
):
    """A real filesystem broker whose queue folder does not exist refuses each send."""
    missing = str(tmp_path / "no-such-folder")
    with use_broker("filesystem://", data_folder_in=missing, data_folder_out=missing):
        response = generate(api, ready, categories=["wardrobe", "scene"])
        probe = api.post(
            "/v1/characters/mira/image-probe",
            {"probe_type": "identity_selfie", "session_id": ready["session_id"]},
            format="json",
        )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["requested"], data["queued"]) == (2, 0)
    assert all(e["request_id"] is None and e["error"] for e in data["batch"])
    assert_error(probe, 503, "broker_unavailable")
    assert ImageRequest.objects.count() == 0 and UsageRecord.objects.count() == 0
