"""The polled reads' fast path on a real Redis (loreos.cache.RedisCache), with
committed transactions: a kept answer costs no SQL, a committed write replaces the
token, a revoked key is refused at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from characters.keys import api_key_revoke
from characters.models import ApiKey
from tests.helpers import IMAGES_ON, upload_identity
from tests.test_assets_upload import uploaded

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def queries_of(api, path, **extra):
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, **extra)
    return response, len(ctx.captured_queries)


def test_one_redis_pool_and_client_per_process(redis_cache, settings):
    """Django makes a backend per context (each API request runs in a fresh one):
    they all share the process's pool and its connections."""
    import threading

    from loreos.cache import RedisCache

    client = redis_cache._cache
    assert client.get_client("a") is client.get_client("b")
    others = []
    thread = threading.Thread(
        target=lambda: others.append(
            RedisCache(settings.CACHES["shared"]["LOCATION"], {})._cache
        )
    )
    thread.start()
    thread.join()
    assert others[0] is not client
    assert others[0].get_client("a") is client.get_client("a")
    redis_cache.set("n", 1)
    assert redis_cache.add("n", 2) is False
    assert redis_cache.incr("n") == 2
    assert redis_cache.get_many(["n", "missing"]) == {"n": 2}
    redis_cache.delete_many(["n"])
    assert redis_cache.get("n") is None


def test_kept_answers_on_redis(redis_cache, api, account, make_character):
    make_character("mira", thresholds=IMAGES_ON)
    upload_identity(api)
    path = "/v1/characters/mira/visual-inventory"
    built, queries = queries_of(api, path)
    assert built.status_code == 200 and queries > 0
    replayed, queries = queries_of(api, path)
    assert queries == 0 and replayed.content == built.content
    not_modified, queries = queries_of(api, path, HTTP_IF_NONE_MATCH=built["ETag"])
    assert (not_modified.status_code, queries) == (304, 0)
    uploaded(api, category="wardrobe", asset_key="coat", label="coat")  # committed
    after, queries = queries_of(api, path, HTTP_IF_NONE_MATCH=built["ETag"])
    assert after.status_code == 200 and queries > 0 and b"coat" in after.content
    api_key_revoke(ApiKey.objects.get(account=account, kind=ApiKey.Kind.DEVELOPER))
    assert api.get(path).status_code == 401
