"""Characters, versions and sessions: every write the API, admin and curator pages
make (reads are in characters.selectors)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from loreos.api.errors import ApiError, ErrorCode

from .models import Account, Character, CharacterVersion, Session, SessionEvent
from .selectors import character_get

THRESHOLD_DEFAULTS = {
    "image_proactivity": 0,
    "selfie_comfort": 0,
    "daily_image_cap": 0,
    "image_cooldown_seconds": 0,
}


def _new_version(character, *, profile, behavioral_thresholds) -> CharacterVersion:
    last = (
        character.versions.order_by("-number").values_list("number", flat=True).first()
    )
    version = CharacterVersion.objects.create(
        character=character,
        number=(last or 0) + 1,
        profile=profile,
        behavioral_thresholds={**THRESHOLD_DEFAULTS, **behavioral_thresholds},
    )
    character.active_version = version
    character.save(update_fields=["active_version", "updated_at"])
    return version


def character_create(
    *,
    account: Account,
    slug: str,
    name: str,
    profile: dict | None = None,
    behavioral_thresholds: dict | None = None,
    monthly_budget: int | None = None,
    generator: str = "",
) -> Character:
    """Create a character with version 1 active."""
    try:
        with transaction.atomic():
            character = Character.objects.create(
                account=account,
                slug=slug,
                name=name,
                monthly_budget=monthly_budget,
                generator=generator,
            )
            _new_version(
                character,
                profile=profile or {},
                behavioral_thresholds=behavioral_thresholds or {},
            )
    except IntegrityError:
        raise ApiError(
            ErrorCode.SLUG_TAKEN,
            f"a character with slug '{slug}' already exists in this account",
            f"Choose another slug, or PATCH /v1/characters/{slug} to change the "
            "existing one.",
            field="slug",
        ) from None
    return character


_UNSET = object()


def character_update(
    *,
    account: Account,
    slug: str,
    name=_UNSET,
    monthly_budget=_UNSET,
    profile=_UNSET,
    behavioral_thresholds=_UNSET,
    generator=_UNSET,
) -> Character:
    """Change a character. A sent profile or behavioral_thresholds makes a new version.

    A sent `profile` replaces the previous one wholesale (the contract's rule: omit
    identity_anchors and the new version has none). Sent `behavioral_thresholds` keys
    are merged over the previous version's.
    """
    with transaction.atomic():
        character = character_get(account, slug, for_update=True)
        fields = []
        if name is not _UNSET:
            character.name = name
            fields.append("name")
        if monthly_budget is not _UNSET:
            character.monthly_budget = monthly_budget
            fields.append("monthly_budget")
        if generator is not _UNSET:
            character.generator = generator
            fields.append("generator")
        if fields:
            character.save(update_fields=[*fields, "updated_at"])
        if profile is not _UNSET or behavioral_thresholds is not _UNSET:
            previous = character.active_version
            _new_version(
                character,
                profile=previous.profile if profile is _UNSET else profile,
                behavioral_thresholds={
                    **previous.behavioral_thresholds,
                    **(
                        {} if behavioral_thresholds is _UNSET else behavioral_thresholds
                    ),
                },
            )
    return character_get(account, slug)


# --- Sessions and their event log ----------------------------------------------------


def session_open(*, character: Character) -> Session:
    with transaction.atomic():
        session = Session.objects.create(character=character)
        session_event_append(session, "session.opened", {"character": character.slug})
    return session


def session_exit(*, session: Session) -> Session:
    with transaction.atomic():
        locked = Session.objects.select_for_update(no_key=True).get(pk=session.pk)
        if locked.status == Session.Status.EXITED:
            return locked
        locked.status = Session.Status.EXITED
        locked.exited_at = timezone.now()
        locked.save(update_fields=["status", "exited_at"])
        session_event_append(locked, "session.exited", {})
    locked.refresh_from_db()
    return locked


def session_event_append(session: Session, type_: str, data: dict) -> SessionEvent:
    """Append one event with the next seq; the session row lock orders writers."""
    with transaction.atomic():
        locked = (
            Session.objects.select_for_update(no_key=True)
            .only("last_seq")
            .get(pk=session.pk)
        )
        seq = locked.last_seq + 1
        Session.objects.filter(pk=session.pk).update(last_seq=seq)
        return SessionEvent.objects.create(
            session_id=session.pk, seq=seq, type=type_, data=data
        )
