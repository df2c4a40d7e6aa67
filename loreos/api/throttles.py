"""Per-key rate limit on metered POSTs (rate: LOREOS_METERED_THROTTLE, e.g. "120/min").

Counts live in Django's cache: per process with the default local-memory cache, shared
across processes when CACHE_URL points at Redis.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class MeteredThrottle(SimpleRateThrottle):
    scope = "metered"

    def get_rate(self):
        return settings.LOREOS_METERED_THROTTLE or None

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
