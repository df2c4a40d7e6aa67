"""Django's Redis cache, with one connection pool and one client per process.

Two costs of Django's RedisCache that every request paid (benchmarks/, "reads"):

- Django keeps a cache backend per *context* (``caches`` is an asgiref Local that is
  not thread-critical), and loreos/asgi.py runs each API request in a fresh context
  (a2wsgi's thread pool), so every request made a new backend, a new connection pool
  and a new TCP connection to Redis, with redis-py's handshake: tens of milliseconds
  under load for the API-key lookup alone.
- Its RedisCacheClient builds a new ``redis.Redis`` around its pool for every cache
  operation; with redis-py 8 that costs more CPU (≈ 0.2 ms) than the round trip.

Here the pools (thread-safe, reset by redis-py in a forked child) and their clients
(handles on a pool) are kept per process, by server and options, so connections are
reused across requests and threads.

And a third cost, of the hottest lookups (an API key's row, a polled read's token,
asked on every request): one round trip to Redis each time, though they change rarely.
``get_many_near`` answers them from this process's memory, kept true by Redis itself
(``_Near``: client-side caching).

settings.CACHES names this backend when CACHE_URL is Redis.
"""

import logging
import os
import threading
import time

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

logger = logging.getLogger(__name__)

_pools: dict = {}
_clients: dict = {}
_nears: dict = {}
_lock = threading.Lock()


class _Near:
    """Keys of one Redis server kept in this process's memory, each dropped the moment
    Redis says it changed: Redis's client-side caching in broadcasting mode (Redis 6+;
    https://redis.io/docs/latest/develop/reference/client-side-caching/).

    One connection of this process speaks RESP3 and has turned on ``CLIENT TRACKING
    ON BCAST PREFIX <family>`` for the key families it has been asked for (a family: a
    raw key up to its last colon, e.g. ``<prefix>:1:apikey:``). For every key of those
    families written, deleted, expired or evicted, by any client, Redis pushes an
    ``invalidate`` message on that connection (all keys: on FLUSHDB); the connection
    lost (or any failure), nothing kept is trusted: all is dropped, and for RESTING
    seconds the caller asks Redis itself before this reconnects. A lookup first reads
    whatever Redis pushed (a non-blocking look at the socket, a few µs) and drops those
    keys, then answers from memory; what it does not hold it reads over the same
    connection (MGET) and keeps, present or absent. A family Redis will not track
    (tracking disabled, an overlapping prefix) is read over it each time.

    As fresh as asking Redis each time: Redis queues an invalidation on every tracking
    connection while it executes the write, before it answers the writer. So by the
    time a writer (a key revoked, a read token replaced, on commit) has its answer and
    then answered its own client, the invalidation is already on its way to every
    process, sent before anything that follows from the write; the next lookup in
    any process reads it before it answers. Reads and pushes share one connection,
    so a value read and an invalidation arrive in the server's order: a value read
    before a write is dropped by that write's push, never kept past it. One lock per
    process: lookups are microseconds; a miss holds it for one round trip.

    Values are kept as Redis holds them (serialized bytes) and loaded per lookup, so
    no two requests share an object (unless the caller says it only reads them:
    RedisCache.get_many_near's `read_only`).
    """

    MAX_KEPT = 20_000
    RESTING = 5.0  # seconds without the near cache after its connection failed

    def __init__(self, url: str, options: dict):
        self._pool = redis.ConnectionPool.from_url(url, **{**options, "protocol": 3})
        self._lock = threading.Lock()
        self._connection = None
        self._kept: dict[str, bytes | None] = {}
        # raw key -> (the bytes it was loaded from, the object): read_only lookups.
        self.loaded: dict[str, tuple] = {}
        self._families: set[str] = set()  # tracked on this connection
        self._refused: set[str] = set()  # Redis would not track (overlapping prefix)
        self._resting_until = 0.0

    def get_many(self, raw_keys: list[str]) -> dict[str, bytes] | None:
        """The values of `raw_keys` (Redis's own key names) that exist, as stored;
        None for RESTING seconds after a failure (the caller asks Redis itself)."""
        with self._lock:
            if time.monotonic() < self._resting_until:
                return None
            try:
                return self._get_many(raw_keys)
            except Exception:
                self._drop_connection()
                self._resting_until = time.monotonic() + self.RESTING
                raise

    def _get_many(self, raw_keys):
        connection = self._connected()
        while connection.can_read(timeout=0):  # pushed invalidations
            connection.read_response(push_request=True)
        tracked = [key for key in raw_keys if self._tracking(connection, key)]
        missing = [key for key in tracked if key not in self._kept]
        if missing:
            connection.send_command("MGET", *missing)
            values = connection.read_response()
            if len(self._kept) + len(missing) > self.MAX_KEPT:
                self._kept.clear()
            self._kept.update(zip(missing, values, strict=True))
        found = {key: self._kept.get(key) for key in tracked}
        untracked = [key for key in raw_keys if key not in found]
        if untracked:  # not kept here: asked each time
            connection.send_command("MGET", *untracked)
            found.update(zip(untracked, connection.read_response(), strict=True))
        return {key: value for key, value in found.items() if value is not None}

    def _connected(self):
        if self._connection is None:
            connection = self._pool.make_connection()
            connection.connect()
            connection._parser.set_invalidation_push_handler(self._invalidated)
            self._connection = connection
        return self._connection

    def _tracking(self, connection, raw_key: str) -> bool:
        family = raw_key[: raw_key.rfind(":") + 1]
        if family in self._families:
            return True
        if not family or family in self._refused:
            return False
        connection.send_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", family)
        try:
            connection.read_response()
        except redis.ResponseError as exc:  # overlaps a tracked family, or disabled
            logger.warning("near cache: Redis will not track %s (%s)", family, exc)
            self._refused.add(family)
            return False
        self._families.add(family)
        return True

    def _invalidated(self, message) -> None:
        keys = message[1] if len(message) > 1 else None
        if keys is None:
            self._kept.clear()
            return
        for key in keys:
            self._kept.pop(key.decode() if isinstance(key, bytes) else key, None)

    def _drop_connection(self) -> None:
        self._kept.clear()
        self.loaded.clear()
        self._families.clear()
        self._refused.clear()
        if self._connection is not None:
            try:
                self._connection.disconnect()
            except Exception:  # already broken
                logger.debug("near cache: disconnect failed", exc_info=True)
            self._connection = None


class RedisCacheClient(DjangoRedisCacheClient):
    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        key = (
            self._servers[index],
            self._pool_class,
            repr(sorted(self._pool_options.items())),
        )
        pool = _pools.get(key)
        if pool is None:
            with _lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(
                        self._servers[index], **self._pool_options
                    )
        return pool

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = _clients.get(id(pool))
        if client is None:
            with _lock:
                client = _clients.get(id(pool))
                if client is None:
                    client = _clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def near(self) -> _Near:
        """This process's near cache of the (first, written) server."""
        key = (os.getpid(), self._servers[0], repr(sorted(self._pool_options.items())))
        near = _nears.get(key)
        if near is None:
            with _lock:
                near = _nears.get(key)
                if near is None:
                    near = _nears[key] = _Near(self._servers[0], self._pool_options)
        return near


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def get_many_near(self, keys, version=None, *, read_only=False) -> dict:
        """get_many, answered from this process's memory where it can (``_Near``).
        With `read_only`, a value is loaded once and the same object handed to every
        caller until Redis changes it: the caller promises not to modify it."""
        raw = {self.make_key(key, version=version): key for key in keys}
        near = self._cache.near()
        found = near.get_many(list(raw))
        if found is None:
            return self.get_many(keys, version=version)
        loads = self._cache._serializer.loads
        if not read_only:
            return {raw[key]: loads(value) for key, value in found.items()}
        loaded, answer = near.loaded, {}
        for key, value in found.items():
            memo = loaded.get(key)
            if memo is None or memo[0] is not value:  # the bytes Redis last gave
                if len(loaded) >= _Near.MAX_KEPT:
                    loaded.clear()
                memo = loaded[key] = (value, loads(value))
            answer[raw[key]] = memo[1]
        return answer


def get_many_near(cache, keys, *, read_only=False) -> dict:
    """``cache.get_many(keys)`` for the lookups every request makes (an API key's row,
    a read token): from this process's memory, kept true by Redis (``_Near``), when
    `cache` is this module's RedisCache and LOREOS_NEAR_CACHE is on; else, or when
    that fails, asked of the cache as usual. `read_only`: see
    RedisCache.get_many_near."""
    if settings.LOREOS_NEAR_CACHE and isinstance(cache, RedisCache):
        try:
            return cache.get_many_near(keys, read_only=read_only)
        except (redis.RedisError, OSError):
            logger.warning("near cache unavailable: asking Redis", exc_info=True)
    return cache.get_many(keys)
