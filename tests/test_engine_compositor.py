"""The compositor backend through the engine: every probe type and inventory category,
distinct pictures, a picture of its own for every request (seeded by the request id:
a redelivery draws the same bytes, two items of one batch differ), no brief in the
stored file (the brief is asserted on what the backend was sent), the documented safety
rule, and the judge passing its selfies (R18, R22, R29, R32)."""

import hashlib
import io
import itertools

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from tests.factories import (
    make_asset,
    make_request,
    ready_session,
    stored_bytes,
)
from tests.helpers import assert_no_brief_in_file, image_bytes
from visuals import engine, faces
from visuals.engine.backends import seed_of
from visuals.engine.backends.compositor import HEIGHT, WIDTH, CompositorBackend
from visuals.models import ImageRequest
from visuals.reports import report
from visuals.vocab import GENERATABLE_CATEGORIES, PROBE_TYPES

pytestmark = pytest.mark.django_db

KINDS = [("probe_type", p) for p in PROBE_TYPES] + [
    ("category", c) for c in GENERATABLE_CATEGORIES
]


def generate(session, **kind) -> ImageRequest:
    request = make_request(session, **kind)
    engine.run(request.pk)
    request.refresh_from_db()
    return request


@pytest.fixture(scope="module")
def every_kind(django_db_setup, django_db_blocker, tmp_path_factory):
    """One image of each kind, made once for the module (fresh session per kind, so
    the continuity probes have no parent and every run sees the same inputs)."""
    from django.test import override_settings

    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        from django.db import transaction

        results = {}
        with transaction.atomic():
            for field, value in KINDS:
                session = ready_session()
                request = generate(session, **{field: value})
                results[value] = {
                    "request": request,
                    "data": stored_bytes(request.image),
                }
            transaction.set_rollback(True)
    return results


def grey(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.int16)


def test_every_kind_succeeds_with_a_png_of_the_compositor_size(every_kind):
    for kind, result in every_kind.items():
        request = result["request"]
        assert request.request_status == "succeeded", (kind, request.failure_reason)
        assert request.backend == "compositor" and request.backend_seconds > 0
        with Image.open(io.BytesIO(result["data"])) as image:
            assert image.format == "PNG" and image.size == (WIDTH, HEIGHT), kind


def test_every_kind_draws_a_different_picture(every_kind):
    pictures = {kind: grey(r["data"]) for kind, r in every_kind.items()}
    assert len(
        {hashlib.sha256(r["data"]).hexdigest() for r in every_kind.values()}
    ) == len(KINDS)
    for a, b in itertools.combinations(pictures, 2):
        # Visibly different: the pictures differ by more than noise.
        assert np.abs(pictures[a] - pictures[b]).mean() > 8, (a, b)


def test_the_same_inputs_in_another_request_draw_another_picture(every_kind):
    for field, value in [("probe_type", "identity_selfie"), ("category", "prop")]:
        again = generate(ready_session(), **{field: value})
        assert again.request_status == "succeeded"
        assert stored_bytes(again.image) != every_kind[value]["data"], value
        assert again.brief["sent"]["seed"] == seed_of(again.pk)
        assert again.brief["sent"]["seed"] != seed_of(every_kind[value]["request"].pk)


def test_a_redelivered_request_draws_the_same_bytes(monkeypatch):
    """Attempt 1 is slow, attempt 2 (the redelivered task) takes over and settles:
    both drew the same picture, byte for byte, and that is what is stored."""
    session = ready_session()
    request = make_request(session, probe_type="wardrobe_variation")
    real_generate = CompositorBackend.generate
    drawn = []

    def slow_first_attempt(self, job):
        if not drawn:
            drawn.append(None)
            assert engine.run(request.pk) == "succeeded"  # the redelivered twin
        generation = real_generate(self, job)
        drawn.append((job.seed, hashlib.sha256(generation.data).hexdigest()))
        return generation

    monkeypatch.setattr(CompositorBackend, "generate", slow_first_attempt)
    assert engine.run(request.pk) is None  # attempt 1 lost its claim
    request.refresh_from_db()
    assert request.request_status == "succeeded" and request.attempts == 2
    twin, first = drawn[1], drawn[2]
    assert twin == first == (seed_of(request.pk), request.produced_asset.sha256)
    stored = hashlib.sha256(stored_bytes(request.image)).hexdigest()
    assert stored == first[1]


def test_two_items_of_one_batch_are_two_pictures(api, ready):
    categories = ["wardrobe", "accessory", "prop", "place"]  # 8: the most a batch takes
    response = api.post(
        "/v1/characters/mira/inventory/generate",
        {
            "categories": categories,
            "count_per_category": 2,
            "session_id": ready["session_id"],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    ids = [item["request_id"] for item in response.json()["data"]["batch"]]
    requests = ImageRequest.objects.filter(pk__in=ids)
    by_category = {}
    for request in requests:
        assert request.request_status == "succeeded", request.failure_reason
        by_category.setdefault(request.category, []).append(request)
    assert sorted(by_category) == sorted(categories)
    for category, (a, b) in by_category.items():
        data_a, data_b = stored_bytes(a.image), stored_bytes(b.image)
        assert hashlib.sha256(data_a).digest() != hashlib.sha256(data_b).digest()
        assert a.brief["sent"]["seed"] != b.brief["sent"]["seed"]
        # Visibly different: another shot, not noise.
        assert np.abs(grey(data_a) - grey(data_b)).mean() > 8, category


def test_r29_selfie_kinds_of_the_identity_pass_the_judge(every_kind):
    # Kinds whose ask is the face or is measured offline pass on their own.
    for kind in [
        "identity_selfie",
        "full_body_identity",
        "wardrobe_variation",
        "wardrobe",
        "scene",
    ]:
        consistency = every_kind[kind]["request"].consistency
        assert consistency["status"] == "passed", (kind, consistency)
        assert consistency["continuity_relation"] == "identity_only"
    # prop_usage and forbidden_visual_check ask what only a vision judge sees: the face
    # passes, and the verdict is honestly manual_required without one (issue 13).
    for kind in ["prop_usage", "forbidden_visual_check"]:
        consistency = every_kind[kind]["request"].consistency
        assert consistency["status"] == "manual_required", (kind, consistency)
        assert consistency["continuity_relation"] == "identity_only"
        face = next(c for c in consistency["checks"] if c["id"] == "identity_face")
        assert face["status"] == "passed"
        assert "no vision judge is configured" in consistency["reason"]


def test_object_and_place_kinds_show_no_face_and_say_so(every_kind):
    for kind in ["accessory", "prop", "place"]:
        consistency = every_kind[kind]["request"].consistency
        assert consistency["status"] == "manual_required", kind
        assert "not measurable" in consistency["reason"]


def test_the_selfie_is_framed_on_the_detected_face_and_full_body_is_head_to_toe(
    every_kind,
):
    def face_of(kind):
        image = Image.open(io.BytesIO(every_kind[kind]["data"])).convert("RGB")
        (box,) = faces.detect(image)
        return box

    selfie, body = face_of("identity_selfie"), face_of("full_body_identity")
    assert abs(selfie.center[0] - WIDTH / 2) < WIDTH * 0.1
    assert selfie.width > WIDTH * 0.3
    assert body.width < selfie.width / 2 and body.bottom < HEIGHT / 3


def test_r18_the_brief_is_recorded_as_sent_never_in_the_file_nor_the_api():
    session = ready_session(
        anchors={
            "visual_summary": "a baker",
            "hair": "short grey hair",
            "style_constants": ["round wire glasses"],
            "avoid_visual_changes": ["no heavy makeup"],
            "eyes": "dark brown",
        }
    )
    request = generate(
        session,
        category="wardrobe",
        style_brief="casual weekend, soft natural light",
        forbidden=["neon colours"],
    )
    assert request.request_status == "succeeded"
    assert request.failure_reason is None  # the safety rule found nothing
    # What the backend was sent: the style brief, the forbidden and avoid lists and
    # the style constants, in the prompt and the negative prompt.
    sent = request.brief["sent"]
    assert sent["backend"] == "compositor"
    assert "Style: casual weekend, soft natural light." in sent["prompt"]
    assert "Never show: neon colours." in sent["prompt"]
    assert "Avoid: no heavy makeup." in sent["prompt"]
    assert "Always keep: round wire glasses." in sent["prompt"]
    assert sent["negative_prompt"] == "no heavy makeup, neon colours"
    assert sent["prompt"] == request.brief["prompt"]
    assert request.brief["style_brief"] == "casual weekend, soft natural light"
    assert request.brief["forbidden"] == ["neon colours"]
    assert request.brief["anchors"]["avoid_visual_changes"] == ["no heavy makeup"]
    assert request.brief["anchors"]["style_constants"] == ["round wire glasses"]
    identity = session.character.visual_assets.get(category="identity")
    assert sent["references"] == [
        {"role": "identity", "asset_id": str(identity.pk), "sha256": identity.sha256}
    ]
    assert sent["seed"] == seed_of(request.pk)
    # The stored brief carries the anchors (extra keys too) and the prompt, internally.
    assert request.brief["anchors"]["extra"] == {"eyes": "dark brown"}
    assert "Eyes: dark brown." in request.brief["prompt"]
    assert "Hair: short grey hair." in request.brief["prompt"]
    # The stored file is the picture only: no text chunk, EXIF or XMP, no brief word.
    assert_no_brief_in_file(
        stored_bytes(request.image),
        [
            "casual weekend",
            "neon",
            "heavy makeup",
            "wire glasses",
            "grey hair",
            "brief",
        ],
    )
    # The API's report carries none of it.
    text = str(report(request))
    assert "casual weekend" not in text and "neon" not in text
    assert "negative_prompt" not in text and "Never show" not in text


def test_a_forbidden_term_in_the_style_constants_blocks_but_keeps_the_image():
    session = ready_session()  # style_constants include "round wire glasses"
    request = generate(session, category="accessory", forbidden=["wire glasses"])
    assert request.request_status == "blocked"
    assert request.servable is True and request.image
    assert "forbidden term 'wire glasses'" in request.failure_reason
    assert "style_constants" in request.failure_reason
    # The backend was sent the colliding lists; the blocked image carries none of it.
    assert "Never show: wire glasses." in request.brief["sent"]["prompt"]
    assert "Always keep: round wire glasses" in request.brief["sent"]["prompt"]
    assert_no_brief_in_file(stored_bytes(request.image), ["wire glasses", "safety"])


def test_forbidden_visual_check_blocks_on_an_anchor_that_forbids_a_constant():
    session = ready_session(
        anchors={
            "visual_summary": "a baker",
            "style_constants": ["a red scarf", "flour on the hands"],
            "avoid_visual_changes": ["no red scarf"],
        }
    )
    request = generate(session, probe_type="forbidden_visual_check")
    assert request.request_status == "blocked"
    assert "'red scarf'" in request.failure_reason


def test_a_negated_clause_in_the_style_brief_is_not_a_collision():
    session = ready_session()
    request = generate(
        session,
        category="prop",
        style_brief="soft light, no filters",
        forbidden=["filters"],
    )
    assert request.request_status == "succeeded", request.failure_reason


def test_inventory_assets_of_the_kind_are_sent_and_used():
    session = ready_session()
    plain = generate(session, probe_type="wardrobe_variation")
    red, green = image_bytes(color=(250, 10, 10)), image_bytes(color=(10, 250, 10))
    wardrobe = make_asset(session.character, category="wardrobe", data=red)
    make_asset(session.character, category="prop", data=green)
    styled = generate(session, probe_type="wardrobe_variation")
    identity = plain.assets_sent[0]
    assert plain.assets_sent == [identity]
    assert styled.assets_sent == [
        identity,
        str(wardrobe.pk),
    ]  # the prop is not relevant
    assert stored_bytes(styled.image) != stored_bytes(plain.image)
    assert styled.brief["references"][1] == {
        "role": "inventory",
        "category": "wardrobe",
        "asset_id": str(wardrobe.pk),
    }


def test_an_identity_without_a_detectable_face_is_still_composed(settings):
    session = ready_session()
    session.character.visual_assets.all().delete()
    faceless = image_bytes(size=(400, 500))
    make_asset(session.character, category="identity", data=faceless)
    request = generate(session, probe_type="identity_selfie")
    assert request.request_status == "succeeded"
    assert request.consistency["status"] == "manual_required"
    assert "identity portrait has no detectable face" in request.consistency["reason"]


def test_an_undecodable_inventory_reference_is_skipped_not_fatal():
    session = ready_session()
    wardrobe = make_asset(session.character, category="wardrobe", data=image_bytes())
    default_storage.delete(wardrobe.file.name)
    default_storage.save(wardrobe.file.name, ContentFile(b"garbage, not a PNG"))
    request = generate(session, probe_type="wardrobe_variation")
    assert request.request_status == "succeeded", request.failure_reason
