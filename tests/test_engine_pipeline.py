"""The engine's pipeline for one request: the three outcomes, the session events, the
assets it makes, references and continuity (R27, R29–R32, R40–R42, R45)."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from characters.models import SessionEvent
from tests.factories import make_request, ready_session, stored_bytes
from tests.helpers import assert_no_brief_in_file
from visuals import engine
from visuals.models import ImageRequest, UsageRecord, VisualAsset
from visuals.reports import report

pytestmark = pytest.mark.django_db

EVENT_KEYS = {
    "image_request_id",
    "probe_id",
    "origin",
    "probe_type",
    "category",
    "image_kind",
    "image_url",
    "servable",
    "state",
    "request_status",
}


@pytest.fixture
def session():
    return ready_session()


def run(session, **kind) -> ImageRequest:
    request = make_request(session, **kind)
    assert engine.run(request.pk) is not None
    request.refresh_from_db()
    return request


def image_events(session):
    return list(
        SessionEvent.objects.filter(
            session=session, type__startswith="image."
        ).order_by("seq")
    )


# --- The three outcomes (R32) ---------------------------------------------------------


def test_r32_generated_and_passed_is_promotable(session):
    request = run(session, probe_type="identity_selfie")
    body = report(request)
    assert body["request_status"] == "succeeded" and body["state"] == "ready"
    assert body["servable"] is True and body["image_url"].startswith(
        "http://testserver/"
    )
    assert body["consistency"]["status"] == "passed"
    assert body["promotion_eligible"] is True
    assert body["failure_reason"] is None
    assert body["summary"] == "Image generated and eligible to promote into inventory."


def test_r32_generated_but_blocked_is_viewable_not_promotable_not_delivered(session):
    request = run(session, category="prop", forbidden=["round wire glasses"])
    body = report(request)
    assert body["request_status"] == "blocked" and body["state"] == "blocked"
    assert body["servable"] is True and body["image_url"]
    assert body["promotion_eligible"] is False
    assert "safety block" in body["failure_reason"]
    assert "did not succeed (blocked)" in body["summary"]
    (event,) = image_events(session)
    assert event.type == "image.failed"  # not delivered as a successful result
    assert not VisualAsset.objects.filter(image_request=request).exists()


def test_r32_an_unreadable_identity_means_no_servable_image(session):
    identity = VisualAsset.objects.get(character=session.character, category="identity")
    default_storage.delete(identity.file.name)
    request = run(session, probe_type="identity_selfie")
    body = report(request)
    assert body["request_status"] == "failed" and body["state"] == "failed"
    assert body["servable"] is False and body["image_url"] is None
    assert "identity image could not be read from storage" in body["failure_reason"]
    assert str(identity.pk) in body["failure_reason"]
    assert body["consistency"] is None
    assert body["summary"] == "No servable image (failed). See failure_reason."
    assert not request.image
    (event,) = image_events(session)
    assert event.type == "image.failed" and event.data["image_url"] is None


def test_a_corrupt_identity_file_also_fails_without_an_image(session):
    identity = VisualAsset.objects.get(character=session.character, category="identity")
    default_storage.delete(identity.file.name)
    default_storage.save(identity.file.name, ContentFile(b"not an image"))
    request = run(session, probe_type="identity_selfie")
    assert request.request_status == "failed" and not request.servable
    assert "could not be decoded" in request.failure_reason


def test_anchors_that_are_not_a_dict_fail_the_request():
    session = ready_session(anchors=["warm", "tired"])
    probe = run(session, probe_type="identity_selfie")
    assert probe.request_status == "failed"
    assert "identity_anchors is not a non-empty object" in probe.failure_reason
    runtime = run(session)
    assert (
        runtime.failure_reason
        == "non-bootstrap selfie requires a self visual reference"
    )


def test_a_stored_image_that_is_not_fetchable_over_https_is_not_servable(
    session, settings
):
    settings.LOREOS_REQUIRE_HTTPS_ASSETS = (
        True  # the public base URL is http://testserver
    )
    request = run(session, probe_type="identity_selfie")
    assert request.request_status == "failed" and request.servable is False
    assert "no fetchable URL" in request.failure_reason
    assert report(request)["image_url"] is None


# --- Status fields --------------------------------------------------------------------


def test_a_finished_request_records_its_timing_backend_and_brief(session):
    request = run(session, probe_type="identity_selfie")
    assert request.started_at and request.completed_at >= request.started_at
    assert request.backend == "compositor" and 0 < request.backend_seconds < 60
    assert request.attempts == 1
    assert request.brief["subject"] == "identity_selfie"
    assert request.brief["prompt"].startswith("Draw a clear front-facing selfie")
    assert request.brief["judge"]["identity_distance"] < 0.5
    assert set(request.consistency) == {
        "status",
        "reason",
        "continuity_relation",
        "parent_bitmap_available",
        "checks",  # additive: the named checks (docs/judge.md)
    }


def test_the_engine_never_meters(session):
    run(session, probe_type="identity_selfie")
    run(session, category="wardrobe")
    assert UsageRecord.objects.count() == 0


# --- Events (R27) ---------------------------------------------------------------------


def test_r27_a_succeeded_probe_appends_image_ready(session):
    request = run(session, probe_type="identity_selfie")
    (event,) = image_events(session)
    assert event.type == "image.ready"
    assert set(event.data) == EVENT_KEYS | {"asset_id"}
    assert event.data["image_request_id"] == event.data["probe_id"] == str(request.pk)
    assert (
        event.data["origin"] == "probe"
        and event.data["probe_type"] == "identity_selfie"
    )
    assert event.data["category"] is None and event.data["image_kind"] == "selfie"
    assert (
        event.data["state"] == "ready" and event.data["request_status"] == "succeeded"
    )
    assert event.data["image_url"] == report(request)["image_url"]
    assert event.data["asset_id"] == str(request.produced_asset.pk)


def test_an_inventory_item_and_a_runtime_image_announce_themselves(session):
    item = run(session, category="scene")
    selfie = run(session)
    first, second = image_events(session)
    assert first.data["category"] == "scene" and first.data["probe_type"] is None
    assert (
        first.data["probe_id"] == str(item.pk) and first.data["origin"] == "inventory"
    )
    assert second.data["origin"] == "runtime" and second.data["probe_id"] is None
    assert (
        second.data["image_request_id"] == str(selfie.pk)
        and "asset_id" not in second.data
    )


def test_image_failed_carries_the_reason(session):
    request = run(session, category="prop", forbidden=["round wire glasses"])
    (event,) = image_events(session)
    assert event.type == "image.failed"
    assert set(event.data) == EVENT_KEYS | {"failure_reason"}
    assert event.data["failure_reason"] == request.failure_reason
    assert event.data["state"] == "blocked" and event.data["servable"] is True


# --- Assets (R42, R45) ----------------------------------------------------------------


def test_r45_a_probe_image_becomes_a_candidate_keyframe_sharing_the_stored_file(
    session,
):
    request = run(session, probe_type="wardrobe_variation")
    asset = request.produced_asset
    assert asset.category == "keyframe" and asset.source == "probe"
    assert asset.asset_status == "candidate" and asset.promotion_status == "candidate"
    assert asset.file.name == request.image.name  # one write, one stored file
    data = stored_bytes(request.image)
    assert asset.sha256 == hashlib.sha256(data).hexdigest()
    assert (asset.width, asset.height, asset.format, asset.byte_size) == (
        640,
        800,
        "PNG",
        len(data),
    )
    stored = default_storage.listdir(f"generated/{session.character_id}")[1]
    assert stored == [request.image.name.rsplit("/", 1)[1]]


def test_r42_inventory_lands_active_unless_held_for_review(session):
    live = run(session, category="wardrobe")
    held = run(session, category="accessory", hold_for_review=True)
    assert (
        live.produced_asset.category == "wardrobe"
        and live.produced_asset.source == "inventory"
    )
    assert live.produced_asset.asset_status == "active"
    assert live.produced_asset.promotion_status == "approved_keyframe"
    assert held.produced_asset.category == "accessory"
    assert held.produced_asset.asset_status == "candidate"
    assert held.produced_asset.promotion_status == "candidate"


def test_an_inventory_image_that_fails_the_judge_is_held_not_activated(
    session, settings
):
    settings.LOREOS_FACE_PASS_DISTANCE = 0.001
    settings.LOREOS_FACE_FAIL_DISTANCE = 0.002
    request = run(session, category="wardrobe")
    assert (
        request.request_status == "succeeded"
        and request.consistency["status"] == "failed"
    )
    assert request.produced_asset.asset_status == "candidate"
    assert "consistency verdict failed" in request.produced_asset.decision_reason


def test_blocked_failed_and_runtime_images_make_no_asset(session):
    run(session, category="wardrobe", forbidden=["round wire glasses"])
    run(session)
    assert not VisualAsset.objects.exclude(category="identity").exists()


# --- References and continuity (R31) --------------------------------------------------


def test_assets_sent_are_the_identity_assets(session):
    request = run(session, probe_type="identity_selfie")
    identity = VisualAsset.objects.get(category="identity")
    assert request.assets_sent == [str(identity.pk)]
    assert request.parent is None


def test_r31_a_continuity_probe_without_a_previous_image_is_a_new_episode(session):
    request = run(session, probe_type="accessory_carry_forward")
    assert request.parent is None
    assert request.consistency["continuity_relation"] == "new_episode"
    assert request.consistency["parent_bitmap_available"] is False
    assert request.consistency["status"] == "manual_required"
    assert report(request)["promotion_eligible"] is False


def test_r31_a_continuity_probe_follows_the_sessions_previous_image(session):
    first = run(session, probe_type="identity_selfie")
    follow = run(session, probe_type="same_scene_followup")
    assert follow.parent_id == first.pk
    assert follow.assets_sent[-1] == str(first.produced_asset.pk)
    assert follow.consistency["continuity_relation"] == "follows_parent"
    assert follow.consistency["parent_bitmap_available"] is True
    assert follow.consistency["status"] == "passed", follow.consistency
    assert "scene similarity" in follow.consistency["reason"]
    # A second follow-up continues from the newest image, not the first one.
    again = run(session, probe_type="accessory_carry_forward")
    assert again.parent_id == follow.pk


def test_a_parent_whose_file_is_gone_is_reported_unavailable(session):
    first = run(session, probe_type="identity_selfie")
    default_storage.delete(first.image.name)
    follow = run(session, probe_type="accessory_carry_forward")
    assert follow.parent_id == first.pk
    assert follow.consistency["continuity_relation"] == "follows_parent"
    assert follow.consistency["parent_bitmap_available"] is False
    assert follow.consistency["status"] == "manual_required"


def test_other_sessions_images_are_never_the_parent(session):
    run(session, probe_type="identity_selfie")
    other = ready_session()
    follow = run(other, probe_type="same_scene_followup")
    assert follow.parent is None
    assert follow.consistency["continuity_relation"] == "new_episode"


def test_the_compositor_is_sent_the_avoid_list_and_forbidden_terms(session):
    request = run(
        session, category="place", style_brief="rainy evening", forbidden=["cars"]
    )
    sent = request.brief["sent"]
    assert sent["backend"] == "compositor"
    assert sent["negative_prompt"] == (
        "no drastic hair color changes, no heavy makeup, cars"
    )
    assert "Avoid: no drastic hair color changes; no heavy makeup." in sent["prompt"]
    assert "Never show: cars." in sent["prompt"]
    assert "Style: rainy evening." in sent["prompt"]
    assert request.brief["anchors"]["avoid_visual_changes"] == [
        "no drastic hair color changes",
        "no heavy makeup",
    ]
    assert request.brief["forbidden"] == ["cars"]
    assert request.brief["style_brief"] == "rainy evening"
    # None of it is in the stored picture.
    assert_no_brief_in_file(
        stored_bytes(request.image), ["rainy evening", "cars", "heavy makeup"]
    )
