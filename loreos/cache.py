"""Django's Redis cache, with each Redis client made once instead of per call.

Django's RedisCacheClient builds a new ``redis.Redis`` around its connection pool for
every cache operation; with redis-py 8 that construction costs more CPU (≈ 0.2 ms) than
the round trip itself, and the hot reads (characters/read_cache.py), the API-key
lookup and the throttles make one or more per request. A ``redis.Redis`` is only a
handle on its pool (connections are taken from and returned to the pool per command),
so one per pool is enough. Django makes a cache backend per thread, so each thread
keeps its own.

settings.CACHES names this backend when CACHE_URL is Redis.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
