"""Sessions and their event log."""

import pytest

from characters.models import Account
from characters.selectors import session_get
from characters.services import session_event_append
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def session_id(api, character):
    response = api.post("/v1/characters/mira/sessions")
    assert response.status_code == 201
    return response.json()["data"]["session_id"]


def test_open_read_and_exit_a_session(api, session_id):
    data = api.get(f"/v1/sessions/{session_id}").json()["data"]
    assert data["status"] == "open" and data["character"] == "mira"
    data = api.post(f"/v1/sessions/{session_id}/exit").json()["data"]
    assert data["status"] == "exited" and data["exited_at"]
    # Exiting twice is harmless.
    assert api.post(f"/v1/sessions/{session_id}/exit").status_code == 200
    types = [
        e["type"]
        for e in api.get(f"/v1/sessions/{session_id}/events").json()["data"]["events"]
    ]
    assert types == ["session.opened", "session.exited"]


def test_events_since_returns_later_events_in_order_with_a_cursor(api, session_id):
    session = session_get(Account.objects.get(name="acme"), session_id)
    for n in range(5):
        session_event_append(session, "test.tick", {"n": n})
    body = api.get(f"/v1/sessions/{session_id}/events?since=2&limit=2").json()["data"]
    assert [e["seq"] for e in body["events"]] == [3, 4]
    assert set(body["events"][0]) == {"seq", "type", "created_at", "data"}
    assert body["has_more"] is True and body["next_since"] == 4
    rest = api.get(f"/v1/sessions/{session_id}/events?since=4").json()["data"]
    assert [e["seq"] for e in rest["events"]] == [5, 6] and rest["has_more"] is False
    empty = api.get(f"/v1/sessions/{session_id}/events?since=6").json()["data"]
    assert empty["events"] == [] and empty["next_since"] == 6


@pytest.mark.parametrize("query", ["since=-1", "since=x", "limit=0", "limit=5000"])
def test_bad_event_query_is_422(api, session_id, query):
    assert_error(
        api.get(f"/v1/sessions/{session_id}/events?{query}"), 422, "validation_error"
    )


def test_unknown_and_foreign_sessions_are_404(api, other_api, session_id):
    assert_error(api.get("/v1/sessions/not-a-uuid"), 404, "not_found")
    assert_error(
        api.get("/v1/sessions/00000000-0000-0000-0000-000000000000"), 404, "not_found"
    )
    assert_error(other_api.get(f"/v1/sessions/{session_id}"), 404, "not_found")
    assert_error(other_api.get(f"/v1/sessions/{session_id}/events"), 404, "not_found")
    assert_error(other_api.post(f"/v1/sessions/{session_id}/exit"), 404, "not_found")


def test_events_page_costs_constant_queries(
    api, session_id, django_assert_max_num_queries
):
    session = session_get(Account.objects.get(name="acme"), session_id)
    for n in range(30):
        session_event_append(session, "test.tick", {"n": n})
    with django_assert_max_num_queries(4):
        assert api.get(f"/v1/sessions/{session_id}/events?since=0").status_code == 200


def test_event_dicts_match_the_event_serializer(api, session_id):
    from characters.models import SessionEvent
    from characters.serializers import EventSerializer
    from characters.views import event_dict

    event = SessionEvent.objects.filter(session_id=session_id).first()
    assert event_dict(event) == EventSerializer(event).data
