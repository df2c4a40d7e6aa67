"""The polled reads' fast path (characters/read_cache.py): a kept answer is replayed
byte for byte without SQL while nothing changed, every write replaces the scope's
token, another account never gets a kept answer, a revoked key is refused at once."""

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from characters import read_cache
from characters.keys import api_key_revoke
from characters.models import ApiKey, Session
from characters.services import session_event_append
from tests.helpers import upload_identity
from tests.test_assets_upload import uploaded
from tests.test_conditional_requests import (  # polled: the fixture
    generate,
    polled,  # noqa: F401
    probe,
)
from visuals.models import ImageRequest, VisualAsset

pytestmark = pytest.mark.django_db

# Set per request by RequestIdMiddleware, outside any view.
PER_REQUEST = {"X-Request-ID"}


# The five hot reads among the polled ones (the probe list and page 2 stay DRF's).
HOT = ("visual-readiness", "visual-inventory", "probe report", "generations", "events")


@pytest.fixture
def hot(request):
    polled_paths = request.getfixturevalue("polled")
    return {name: polled_paths[name] for name in HOT}


def headers_of(response) -> list:
    return [(k, v) for k, v in response.items() if k not in PER_REQUEST]


def get(api, path, **extra):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, **extra)
    return response, len(ctx.captured_queries)


def test_a_kept_answer_is_replayed_byte_for_byte_without_sql(api, hot):
    for name, path in hot.items():
        built, built_queries = get(api, path)  # the DRF view answers and it is kept
        assert built.status_code == 200, name
        assert built_queries > 0, name
        replayed, queries = get(api, path)
        assert queries == 0, name
        assert replayed.status_code == 200, name
        assert replayed.content == built.content, name
        assert headers_of(replayed) == headers_of(built), name


def test_a_304_costs_no_sql_and_matches_the_views_own_304(api, hot):
    for name, path in hot.items():
        tag = api.get(path)["ETag"]
        read_cache.clear()
        own, own_queries = get(api, path, HTTP_IF_NONE_MATCH=tag)  # the DRF view's
        assert own.status_code == 304 and own_queries > 0, name
        for header in (tag, f"W/{tag}", f'"x", {tag}'):
            fast, queries = get(api, path, HTTP_IF_NONE_MATCH=header)
            assert (fast.status_code, queries, fast.content) == (304, 0, b""), name
            assert headers_of(fast) == headers_of(own), name
        # A stale tag gets the body (built once, then kept).
        assert api.get(path, HTTP_IF_NONE_MATCH='"stale"').status_code == 200, name
        assert get(api, path, HTTP_IF_NONE_MATCH='"stale"')[1] == 0, name


def test_another_account_reaches_the_view_and_its_404(api, other_api, hot):
    for name, path in hot.items():
        tag = api.get(path)["ETag"]
        assert get(api, path)[1] == 0, name  # kept for the owner
        for extra in ({}, {"HTTP_IF_NONE_MATCH": tag}):
            response = other_api.get(path, **extra)
            assert response.status_code == 404, name
            assert "ETag" not in response, name


def test_a_revoked_key_is_refused_on_its_next_request(api, account, hot):
    path = hot["visual-inventory"]
    api.get(path)
    assert get(api, path)[1] == 0
    api_key_revoke(ApiKey.objects.get(account=account, kind=ApiKey.Kind.DEVELOPER))
    assert api.get(path).status_code == 401


def test_no_key_or_an_unknown_key_gets_the_views_401(anon, api, hot):
    path = hot["visual-readiness"]
    api.get(path)
    assert anon.get(path).status_code == 401
    anon.credentials(HTTP_AUTHORIZATION="Bearer lok_12345678_" + "x" * 43)
    assert anon.get(path).status_code == 401


def fresh(api, path):
    """What the DRF view answers now (nothing kept)."""
    read_cache.clear()
    response = api.get(path)
    read_cache.clear()
    return response


def assert_current(api, path, before: bytes):
    """The fast path answers what the view would, and it differs from `before`."""
    kept = api.get(path)  # kept or built; then the same path through the view
    assert kept.content == fresh(api, path).content
    assert kept.content != before


def warm(api, path) -> bytes:
    body = api.get(path).content
    assert get(api, path)[1] == 0  # kept: the next answer would be replayed
    return body


def test_every_asset_write_replaces_the_characters_token(api, hot):
    path = hot["visual-inventory"]
    before = warm(api, path)
    coat = uploaded(api, category="wardrobe", asset_key="coat", label="green coat")
    assert_current(api, path, before)
    hat = uploaded(api, category="wardrobe", asset_key="hat", label="hat")
    coat_path = f"/v1/characters/mira/visual-assets/{coat['id']}"
    hat_path = f"/v1/characters/mira/visual-assets/{hat['id']}"
    for write in (
        lambda: api.patch(coat_path, {"qa_status": "passed"}, format="json"),
        lambda: api.patch(
            coat_path, {"promotion_status": "approved_keyframe"}, format="json"
        ),
        lambda: api.patch(hat_path, {"asset_status": "rejected"}, format="json"),
        lambda: api.delete(coat_path),
    ):
        before = warm(api, path)
        response = write()
        assert response.status_code in (200, 204), response.content
        assert_current(api, path, before)


def test_a_character_patch_replaces_the_token(api, hot):
    path = hot["visual-readiness"]
    before = warm(api, path)
    response = api.patch(
        "/v1/characters/mira",
        {"behavioral_thresholds": {"image_proactivity": 0, "selfie_comfort": 0}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert_current(api, path, before)


def test_a_new_request_and_a_cancel_replace_the_token(api, ready, hot, monkeypatch):
    from visuals import tasks

    monkeypatch.setattr(tasks.generate_image, "apply_async", lambda *a, **k: None)
    path = hot["generations"]
    before = warm(api, path)
    generate(api, ready["session_id"])
    assert_current(api, path, before)
    report = f"/v1/characters/mira/image-probe/{probe(api, ready)}"  # stays queued
    before = warm(api, report)
    assert api.post(f"{report}/cancel").status_code == 200
    assert_current(api, report, before)


def test_writes_without_signals_replace_the_token(api, hot):
    """The engine writes with UPDATE … WHERE and inserts batches with bulk_create."""
    report = hot["probe report"]
    probe_id = report.rsplit("/", 1)[1]
    before = warm(api, report)
    ImageRequest.objects.filter(pk=probe_id).update(failure_reason="lost")
    assert_current(api, report, before)
    page = hot["generations"]
    before = warm(api, page)
    template = ImageRequest.objects.filter(origin="inventory").first()
    template.pk = None
    template.produced_asset = None
    ImageRequest.objects.bulk_create([template])
    assert_current(api, page, before)
    inventory = hot["visual-inventory"]
    before = warm(api, inventory)
    VisualAsset.objects.filter(character__slug="mira").update(label="relabelled")
    assert_current(api, inventory, before)


def test_a_new_event_replaces_the_sessions_token(api, ready, hot):
    path = hot["events"]
    before = warm(api, path)
    session_event_append(Session.objects.get(pk=ready["session_id"]), "t.note", {})
    assert_current(api, path, before)


def test_a_rolled_back_write_leaves_the_answer_right(api, hot):
    path = hot["visual-inventory"]
    before = warm(api, path)
    with pytest.raises(RuntimeError), transaction.atomic():
        VisualAsset.objects.filter(character__slug="mira").update(label="never")
        raise RuntimeError
    assert api.get(path).content == before == fresh(api, path).content


def test_a_cache_that_lost_everything_rebuilds_never_replays(api, hot):
    from django.core.cache import caches

    path = hot["visual-readiness"]
    before = warm(api, path)
    caches["shared"].clear()  # tokens, mappings and the key's row all evicted
    rebuilt, queries = get(api, path)
    assert queries > 0 and rebuilt.content == before
    api.get(path)  # the key's row is cached again: this one is kept
    assert get(api, path)[1] == 0


def test_the_schema_still_documents_the_fast_reads(api):
    schema = api.get("/v1/schema?format=json").json()
    for path in (
        "/v1/characters/{slug}/visual-readiness",
        "/v1/characters/{slug}/visual-inventory",
        "/v1/characters/{slug}/image-probe/{probe_id}",
        "/v1/characters/{slug}/inventory/generations",
        "/v1/sessions/{session_id}/events",
    ):
        assert "get" in schema["paths"][path], path


def test_a_renamed_decider_replaces_the_token(api, account, hot):
    """The inventory names who decided an asset: the key's name and prefix."""
    path = hot["visual-inventory"]
    coat = uploaded(api, category="wardrobe", asset_key="coat", label="green coat")
    response = api.patch(
        f"/v1/characters/mira/visual-assets/{coat['id']}",
        {"promotion_status": "approved_keyframe"},
        format="json",
    )
    assert response.status_code == 200, response.content
    before = warm(api, path)
    key = ApiKey.objects.get(account=account, kind=ApiKey.Kind.DEVELOPER)
    key.name = "renamed-bot"
    key.save()
    assert_current(api, path, before)
    assert b"renamed-bot" in api.get(path).content


def test_two_accounts_with_the_same_slug_each_get_their_own(
    api, other_api, make_character, hot
):
    """The token is the slug's in every account; the kept answer is the account's."""
    make_character("mira", client=other_api)
    path = hot["visual-inventory"]
    mine = warm(api, path)
    theirs = warm(other_api, path)
    assert mine != theirs
    assert api.get(path).content == mine and other_api.get(path).content == theirs
    upload_identity(other_api)
    assert api.get(path).content == mine  # rebuilt (same token for both), same answer
    assert_current(other_api, path, theirs)


def test_what_the_skipped_middleware_would_refuse_goes_on_to_it(api, hot, settings):
    """The fast path answers before CommonMiddleware: a host Django refuses, or a
    user agent it is told to refuse, still gets Django's refusal, never a kept
    answer."""
    path = hot["visual-readiness"]
    assert get(api, path)[0].status_code == 200
    assert get(api, path)[1] == 0  # kept
    assert api.get(path, HTTP_HOST="elsewhere.example").status_code == 400
    settings.DISALLOWED_USER_AGENTS = [re.compile(r"^BadBot")]
    assert api.get(path, HTTP_USER_AGENT="BadBot/1").status_code == 403


def test_a_replay_is_served_by_the_middleware_before_the_view(api, hot, monkeypatch):
    """A kept answer never reaches the URL's view (nor the middleware after the fast
    path): the replay is the middleware's own."""
    from django.contrib.sessions.middleware import SessionMiddleware

    path = hot["generations"]
    assert api.get(path).status_code == 200
    reached = []
    real = SessionMiddleware.process_request
    monkeypatch.setattr(
        SessionMiddleware,
        "process_request",
        lambda self, request: reached.append(request.path) or real(self, request),
    )
    assert api.get(path).status_code == 200
    assert reached == []
    read_cache.clear()
    assert api.get(path).status_code == 200
    assert len(reached) == 1
