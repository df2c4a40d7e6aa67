"""The `webhooks` launch-readiness check: present only when the account has endpoints.

An endpoint the service disabled (410 Gone, or failing for 5 days) is ``disabled`` —
a warning, so the aggregate becomes ready_with_warnings — naming the endpoint and why.
An endpoint its owner disabled by PATCH is a choice, not a problem.
"""

from characters.models import Character
from characters.readiness import check

from .models import WebhookEndpoint


def webhook_checks(character: Character) -> list[dict]:
    endpoints = list(
        WebhookEndpoint.objects.filter(account_id=character.account_id)
        .only("id", "url", "enabled", "disabled_reason")
        .order_by("created_at")
    )
    if not endpoints:
        return []
    broken = [e for e in endpoints if not e.enabled and e.disabled_reason]
    if broken:
        first = broken[0]
        return [
            check(
                "webhooks",
                "disabled",
                f"{len(broken)} webhook endpoint(s) disabled by the service; "
                f"{first.url}: {first.disabled_reason}.",
                f"Fix the receiver, check GET /v1/webhooks/{first.pk}/deliveries, then "
                f'PATCH /v1/webhooks/{first.pk} {{"enabled": true}}.',
            )
        ]
    enabled = sum(1 for e in endpoints if e.enabled)
    return [check("webhooks", "ok", f"{enabled} webhook endpoint(s) enabled.")]
