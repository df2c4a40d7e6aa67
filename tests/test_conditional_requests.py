"""Conditional GETs on the polled read endpoints: every answer carries an ETag, a
matching If-None-Match is a bodiless 304 in at most 2 SQL queries whatever the data
size, and the ETag changes on every write that changes the answer."""

import pytest

from characters.models import Session
from characters.services import session_event_append
from tests.helpers import image_bytes
from tests.test_assets_upload import uploaded
from visuals import tasks
from visuals.models import ImageRequest, VisualAsset

pytestmark = pytest.mark.django_db


def probe(api, ready):
    response = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": ready["session_id"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()["data"]["probe_id"]


def generate(api, session_id, count=1):
    response = api.post(
        "/v1/characters/mira/inventory/generate",
        {
            "categories": ["wardrobe"],
            "count_per_category": count,
            "session_id": session_id,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()["data"]


@pytest.fixture
def polled(api, ready):
    """The five polled endpoints of a character with a probe and a generation."""
    probe_id = probe(api, ready)
    generate(api, ready["session_id"])
    return {
        "visual-readiness": "/v1/characters/mira/visual-readiness",
        "visual-inventory": "/v1/characters/mira/visual-inventory",
        "probe report": f"/v1/characters/mira/image-probe/{probe_id}",
        "probe list": "/v1/characters/mira/image-probe",
        "generations": "/v1/characters/mira/inventory/generations",
        "generations page 2": "/v1/characters/mira/inventory/generations?limit=1",
        "events": f"/v1/sessions/{ready['session_id']}/events?since=0",
    }


def etag(api, path) -> str:
    response = api.get(path)
    assert response.status_code == 200, response.content
    tag = response["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 10
    assert response["Cache-Control"] == "private, no-cache"
    return tag


def test_every_polled_read_answers_304_with_no_body_in_two_queries(
    api, polled, django_assert_max_num_queries
):
    for name, path in polled.items():
        tag = etag(api, path)
        with django_assert_max_num_queries(2):
            response = api.get(path, HTTP_IF_NONE_MATCH=tag)
        assert response.status_code == 304, name
        assert response.content == b"", name
        assert response["ETag"] == tag, name
        # A stale tag, a weak form of the tag and a list holding it.
        assert api.get(path, HTTP_IF_NONE_MATCH='"stale"').status_code == 200, name
        assert api.get(path, HTTP_IF_NONE_MATCH=f"W/{tag}").status_code == 304, name
        assert api.get(path, HTTP_IF_NONE_MATCH=f'"x", {tag}').status_code == 304, name


def test_the_304_costs_the_same_queries_at_any_size(api, ready):
    def queries_of_304(path):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        tag = etag(api, path)
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(path, HTTP_IF_NONE_MATCH=tag).status_code == 304
        return len(ctx.captured_queries)

    paths = [
        "/v1/characters/mira/visual-inventory",
        "/v1/characters/mira/visual-readiness",
        "/v1/characters/mira/inventory/generations",
        f"/v1/sessions/{ready['session_id']}/events?since=0",
    ]
    small = [queries_of_304(p) for p in paths]
    for n in range(6):
        uploaded(api, category="wardrobe", asset_key=f"coat-{n}", content=image_bytes())
    generate(api, ready["session_id"], count=4)
    assert [queries_of_304(p) for p in paths] == small


def test_the_etag_depends_on_the_query_string(api, polled):
    assert etag(api, polled["generations"]) != etag(api, polled["generations page 2"])


def test_upload_changes_the_asset_etags_and_only_those(api, polled):
    before = {n: etag(api, p) for n, p in polled.items()}
    uploaded(api, category="wardrobe", asset_key="coat", label="green coat")
    changed = {n for n, p in polled.items() if etag(api, p) != before[n]}
    assert changed == {"visual-readiness", "visual-inventory"}


def test_patch_and_approve_change_the_inventory_etag(api, polled):
    path = polled["visual-inventory"]
    asset = uploaded(api, category="wardrobe", asset_key="coat", label="green coat")
    tags = [etag(api, path)]
    for body in ({"qa_status": "passed"}, {"promotion_status": "approved_keyframe"}):
        response = api.patch(
            f"/v1/characters/mira/visual-assets/{asset['id']}", body, format="json"
        )
        assert response.status_code == 200, response.content
        tags.append(etag(api, path))
    assert len(set(tags)) == 3
    assert api.get(path, HTTP_IF_NONE_MATCH=tags[0]).status_code == 200


def test_a_generation_finishing_changes_the_report_etag(api, polled):
    """A queued request the worker then runs: queued → generating → succeeded."""
    generation = ImageRequest.objects.filter(origin="inventory").first()
    VisualAsset.objects.filter(image_request=generation).delete()
    ImageRequest.objects.filter(pk=generation.pk).update(
        request_status=ImageRequest.Status.QUEUED,
        completed_at=None,
        started_at=None,
        attempts=0,
        servable=False,
        image="",
        consistency=None,
    )
    paths = [
        polled["generations"],
        polled["visual-readiness"],
        polled["visual-inventory"],
    ]
    before = [etag(api, p) for p in paths]
    tasks.generate_image(str(generation.pk))
    generation.refresh_from_db()
    assert generation.request_status == ImageRequest.Status.SUCCEEDED
    after = [etag(api, p) for p in paths]
    assert all(a != b for a, b in zip(before, after, strict=True))
    assert api.get(paths[0], HTTP_IF_NONE_MATCH=before[0]).status_code == 200


def test_an_engine_update_without_timestamps_changes_the_etag(api, polled):
    """The engine writes status and verdicts with UPDATE … WHERE; each shows."""
    report, page = polled["probe report"], polled["generations"]
    probe_id = report.rsplit("/", 1)[1]
    seen = {(etag(api, report), etag(api, page))}
    probes = ImageRequest.objects.filter(pk=probe_id)
    generations = ImageRequest.objects.filter(origin="inventory")
    for rows, change in (
        (probes, {"consistency": {"status": "failed"}}),
        (probes, {"request_status": ImageRequest.Status.BLOCKED}),
        (generations, {"hold_for_review": True}),
        (generations, {"failure_reason": "lost"}),
    ):
        rows.update(**change)
        seen.add((etag(api, report), etag(api, page)))
    assert len(seen) == 5


def test_a_new_event_changes_the_events_etag(api, polled, ready):
    path = polled["events"]
    before = etag(api, path)
    assert api.get(path, HTTP_IF_NONE_MATCH=before).status_code == 304
    session_event_append(
        Session.objects.get(pk=ready["session_id"]), "test.note", {"n": 1}
    )
    after = api.get(path, HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200
    assert after["ETag"] != before
    assert after.json()["data"]["events"][-1]["type"] == "test.note"


def test_another_account_gets_a_404_not_a_304(api, other_api, polled):
    tag = etag(api, polled["visual-inventory"])
    response = other_api.get(polled["visual-inventory"], HTTP_IF_NONE_MATCH=tag)
    assert response.status_code == 404
    assert "ETag" not in response


def test_a_setting_that_shapes_bodies_changes_the_etag(api, polled, settings):
    path = polled["visual-inventory"]
    before = etag(api, path)
    settings.LOREOS_PUBLIC_BASE_URL = "https://cdn.example.test"
    response = api.get(path, HTTP_IF_NONE_MATCH=before)
    assert response.status_code == 200
    assert "https://cdn.example.test/" in response.content.decode()


def test_every_other_read_answers_with_an_etag_and_304(api, ready):
    asset_id = ready["identity"]["id"]
    paths = [
        "/v1/characters",
        "/v1/characters/mira",
        "/v1/characters/mira/versions",
        "/v1/characters/mira/readiness",
        f"/v1/sessions/{ready['session_id']}",
        "/v1/characters/mira/visual-assets",
        f"/v1/characters/mira/visual-assets/{asset_id}",
    ]
    for path in paths:
        tag = etag(api, path)
        response = api.get(path, HTTP_IF_NONE_MATCH=tag)
        assert response.status_code == 304, path
        assert response.content == b"", path
    detail = "/v1/characters/mira"
    before = etag(api, detail)
    patched = api.patch(detail, {"name": "Mira Two"}, format="json")
    assert patched.status_code == 200, patched.content
    assert api.get(detail, HTTP_IF_NONE_MATCH=before).status_code == 200
    one = f"/v1/characters/mira/visual-assets/{asset_id}"
    before = etag(api, one)
    response = api.patch(one, {"qa_status": "passed"}, format="json")
    assert response.status_code == 200, response.content
    assert api.get(one, HTTP_IF_NONE_MATCH=before).status_code == 200
