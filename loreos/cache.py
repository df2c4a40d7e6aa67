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

settings.CACHES names this backend when CACHE_URL is Redis.
"""

import threading

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

_pools: dict = {}
_clients: dict = {}
_lock = threading.Lock()


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


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
