"""Reads of characters, versions and sessions, scoped to the caller's account.

Another account's object is not found: the same 404 as an id that exists nowhere.
"""

from loreos.api.errors import not_found
from loreos.api.ids import is_uuid

from .models import Account, Character, CharacterVersion, Session, SessionEvent


def character_list(account: Account):
    return (
        Character.objects.filter(account=account)
        .select_related("active_version")
        .order_by("slug")
    )


def character_get(account: Account, slug: str, *, for_update=False) -> Character:
    rows = Character.objects.select_related("active_version", "account")
    if for_update:
        rows = rows.select_for_update(of=("self",), no_key=True)
    character = rows.filter(account=account, slug=slug).first()
    if character is None:
        raise not_found("character")
    return character


def character_version_list(character: Character):
    return CharacterVersion.objects.filter(character=character).order_by("-number")


def session_get_or_none(account: Account, session_id) -> Session | None:
    if not is_uuid(session_id):
        return None
    return (
        Session.objects.select_related("character")
        .filter(pk=session_id, character__account=account)
        .first()
    )


def session_get(account: Account, session_id) -> Session:
    session = session_get_or_none(account, session_id)
    if session is None:
        raise not_found("session")
    return session


def session_events_since(
    session: Session, since: int, limit: int
) -> tuple[list[SessionEvent], bool]:
    rows = list(
        SessionEvent.objects.filter(session=session, seq__gt=since).order_by("seq")[
            : limit + 1
        ]
    )
    return rows[:limit], len(rows) > limit
