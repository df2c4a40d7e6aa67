"""What the curator pages ask the services to do. Every write goes through the same
service the API calls (visuals.assets, visuals.requests, characters.services), so the
rules, the errors and the audit trail are the API's own."""

from django.db import transaction

from characters.services import session_open
from visuals import assets as asset_services
from visuals import requests as request_services
from visuals.models import VisualAsset

from .selectors import open_sandbox_session


def decide(
    *, asset: VisualAsset, decision: str, actor, reason: str = ""
) -> VisualAsset:
    """Apply one named decision (visuals.assets.DECISIONS) through the asset service."""
    return asset_services.asset_decide(
        asset=asset, decision=decision, actor=actor, reason=reason
    )


def delete(*, asset: VisualAsset, actor) -> None:
    asset_services.asset_delete(asset=asset, actor=actor)


def sandbox_session(character):
    """The character's newest open sandbox session, opened when there is none."""
    with transaction.atomic():
        return open_sandbox_session(character) or session_open(character=character)


def run_probe(*, character, probe_type: str, actor):
    session = sandbox_session(character)
    return request_services.create_probe(
        character=character, session=session, probe_type=probe_type, actor=actor
    )


def run_batch(
    *,
    character,
    categories,
    count_per_category: int,
    style_brief: str,
    forbidden,
    hold_for_review: bool,
    actor,
):
    session = sandbox_session(character)
    return request_services.create_inventory_batch(
        character=character,
        session=session,
        categories=categories,
        count_per_category=count_per_category,
        style_brief=style_brief,
        forbidden=forbidden,
        hold_for_review=hold_for_review,
        actor=actor,
    )
