"""The near cache (loreos/cache.py, ``_Near``) on a real Redis: warm lookups answered
from this process's memory with nothing sent to Redis, and every change Redis sees —
a write or delete by another client, an expiry, FLUSHDB, the connection lost — seen
by the very next lookup."""

import time

import pytest
import redis
import redis.connection

from loreos.cache import get_many_near
from tests.test_api_key_cache import revoke_across_processes

pytestmark = [pytest.mark.services]

KEYS = ["apikey:a", "read:v:c:mira", "apikey:missing"]


@pytest.fixture
def sent(monkeypatch):
    """How many commands this process has sent to Redis since the last reset."""
    count = [0]
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(self, *args, **kwargs):
        count[0] += 1
        return send(self, *args, **kwargs)

    monkeypatch.setattr(
        redis.connection.AbstractConnection, "send_packed_command", counted
    )
    return count


@pytest.fixture
def other(redis_url):
    """A client of another process's kind: its own connection, no near cache."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def stored(cache, value) -> bytes:
    """`value` as Django's Redis cache stores it."""
    return cache._cache._serializer.dumps(value)


def test_a_warm_lookup_sends_nothing_to_redis(redis_cache, sent):
    redis_cache.set("apikey:a", {"account": 1})
    redis_cache.set("read:v:c:mira", "t1")
    expected = {"apikey:a": {"account": 1}, "read:v:c:mira": "t1"}
    assert get_many_near(redis_cache, KEYS) == expected
    sent[0] = 0
    for _ in range(5):
        assert get_many_near(redis_cache, KEYS) == expected
    assert sent[0] == 0
    first = get_many_near(redis_cache, KEYS)["apikey:a"]
    first["account"] = 2  # each lookup loads its own object
    assert get_many_near(redis_cache, KEYS)["apikey:a"] == {"account": 1}


def test_read_only_lookups_share_one_object_until_it_changes(redis_cache):
    redis_cache.set("apikey:a", {"account": 1})
    first = get_many_near(redis_cache, KEYS, read_only=True)["apikey:a"]
    assert get_many_near(redis_cache, KEYS, read_only=True)["apikey:a"] is first
    redis_cache.set("apikey:a", {"account": 2})
    changed = get_many_near(redis_cache, KEYS, read_only=True)["apikey:a"]
    assert changed == {"account": 2} and first == {"account": 1}


def test_writes_by_another_client_are_seen_by_the_next_lookup(redis_cache, other):
    redis_cache.set("apikey:a", "row")
    redis_cache.set("read:v:c:mira", "t1")
    get_many_near(redis_cache, KEYS)
    raw = {key: redis_cache.make_and_validate_key(key) for key in KEYS}
    other.set(raw["read:v:c:mira"], stored(redis_cache, "t2"))
    other.delete(raw["apikey:a"])
    assert get_many_near(redis_cache, KEYS) == {"read:v:c:mira": "t2"}
    other.set(
        raw["apikey:missing"], stored(redis_cache, 7)
    )  # an absent key, kept as absent, appears
    assert get_many_near(redis_cache, KEYS)["apikey:missing"] == 7
    redis_cache.set("read:v:c:mira", "t3")  # through this process's own pool
    assert get_many_near(redis_cache, KEYS)["read:v:c:mira"] == "t3"


def test_an_expired_key_is_dropped_when_redis_deletes_it(redis_cache, other):
    redis_cache.set("read:v:c:mira", "t1")
    assert get_many_near(redis_cache, KEYS) == {"read:v:c:mira": "t1"}
    other.pexpire(redis_cache.make_and_validate_key("read:v:c:mira"), 30)
    deadline = time.monotonic() + 5  # Redis's active expiry runs 10 times a second
    while get_many_near(redis_cache, KEYS) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert get_many_near(redis_cache, KEYS) == {}


def test_flushdb_and_a_lost_connection_drop_everything(redis_cache, other, monkeypatch):
    from loreos.cache import _Near

    monkeypatch.setattr(_Near, "RESTING", 0)  # reconnect at the next lookup
    redis_cache.set("read:v:c:mira", "t1")
    get_many_near(redis_cache, KEYS)
    # The connection lost: what was kept is not trusted; the lookup asks Redis.
    other.client_kill_filter(_id=_near_client_id(redis_cache))
    other.set(
        redis_cache.make_and_validate_key("read:v:c:mira"), stored(redis_cache, "t2")
    )
    assert get_many_near(redis_cache, KEYS) == {"read:v:c:mira": "t2"}
    assert get_many_near(redis_cache, KEYS) == {"read:v:c:mira": "t2"}
    assert redis_cache._cache.near()._connection is not None  # reconnected
    other.flushdb()
    assert get_many_near(redis_cache, KEYS) == {}


def test_after_a_failure_redis_is_asked_directly_for_a_while(redis_cache, other):
    redis_cache.set("read:v:c:mira", "t1")
    get_many_near(redis_cache, KEYS)
    other.client_kill_filter(_id=_near_client_id(redis_cache))
    assert get_many_near(redis_cache, KEYS) == {"read:v:c:mira": "t1"}  # warned
    near = redis_cache._cache.near()
    assert near._connection is None and near.get_many(["x"]) is None  # resting
    redis_cache.set("read:v:c:mira", "t2")
    assert get_many_near(redis_cache, KEYS) == {"read:v:c:mira": "t2"}


def _near_client_id(cache) -> int:
    """The Redis client id of this process's near-cache connection."""
    near = cache._cache.near()
    with near._lock:
        near._connection.send_command("CLIENT", "ID")
        return near._connection.read_response()


def test_a_revoke_on_redis_is_refused_by_the_other_process_at_once(tmp_path, redis_url):
    answers = revoke_across_processes(
        tmp_path, redis_url.replace("redis://", "rediscache://")
    )
    # The second process's second lookup: no SQL and nothing sent to Redis.
    assert answers[2] == ("ok", 0, 0)
    # After the revoke, each process asked Redis again (its entry was invalidated).
    assert answers[4][0] == "refused" and answers[4][2] > 0
