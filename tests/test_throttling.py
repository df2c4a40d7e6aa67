"""Per-key throttling of metered POSTs: 429 with Retry-After, configurable."""

import pytest
from django.core.cache import cache

from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def test_metered_posts_past_the_rate_are_429_with_retry_after(
    api, other_api, ready, settings, make_character
):
    settings.LOREOS_METERED_THROTTLE = "2/min"
    body = {"probe_type": "identity_selfie", "session_id": ready["session_id"]}
    for _ in range(2):
        assert (
            api.post("/v1/characters/mira/image-probe", body, format="json").status_code
            == 200
        )
    response = api.post("/v1/characters/mira/image-probe", body, format="json")
    assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    # Reads are not throttled, and the limit is per key.
    assert api.get("/v1/characters/mira/image-probe").status_code == 200
    make_character("other", client=other_api)
    assert other_api.post("/v1/characters/other/sessions").status_code == 201


def test_an_empty_rate_disables_throttling(api, ready, settings):
    settings.LOREOS_METERED_THROTTLE = ""
    body = {"probe_type": "identity_selfie", "session_id": ready["session_id"]}
    for _ in range(4):
        assert (
            api.post("/v1/characters/mira/image-probe", body, format="json").status_code
            == 200
        )
