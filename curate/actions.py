"""The curator pages' runs: a probe or a batch in the character's sandbox session.

Every write goes through the service the API calls (visuals.assets for decisions,
visuals.image_requests, characters.services), so the rules, the errors and the audit
trail are the API's own."""

from django.db import transaction

from characters.services import session_open
from visuals import image_requests

from .selectors import open_sandbox_session


def sandbox_session_ensure(character):
    """The character's newest open sandbox session, opened when there is none."""
    with transaction.atomic():
        return open_sandbox_session(character) or session_open(character=character)


def probe_run(*, character, probe_type: str, actor):
    session = sandbox_session_ensure(character)
    return image_requests.probe_create(
        character=character, session=session, probe_type=probe_type, actor=actor
    )


def inventory_batch_run(
    *,
    character,
    categories,
    count_per_category: int,
    style_brief: str,
    forbidden,
    hold_for_review: bool,
    actor,
):
    session = sandbox_session_ensure(character)
    return image_requests.inventory_batch_create(
        character=character,
        session=session,
        categories=categories,
        count_per_category=count_per_category,
        style_brief=style_brief,
        forbidden=forbidden,
        hold_for_review=hold_for_review,
        actor=actor,
    )
