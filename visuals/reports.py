"""The redacted report of an image request: what a probe or generation reports, and
nothing of its brief or payloads. One place derives `state`, `summary` and
`promotion_eligible`."""

from rest_framework.fields import DateTimeField

from .vocab import CONTINUITY_PROBES, Verdict

_datetime = DateTimeField()


def promotion_eligible(image_request) -> bool:
    verdict = (image_request.consistency or {}).get("status")
    return image_request.request_status == "succeeded" and verdict == Verdict.PASSED


def summary_of(image_request) -> str:
    """Tell the contract's three outcomes apart (plus the in-flight states)."""
    status = image_request.request_status
    verdict = (image_request.consistency or {}).get("status")
    if status in ("draft", "queued"):
        return "Queued: generation has not started yet."
    if status == "generating":
        return "Generating: the image is not ready yet."
    if status == "succeeded":
        if verdict == Verdict.PASSED:
            return "Image generated and eligible to promote into inventory."
        if verdict == Verdict.MANUAL_REQUIRED:
            return (
                "Image generated; the consistency verdict needs a manual review "
                "before it can be promoted."
            )
        if verdict == Verdict.FAILED:
            return (
                "Image generated but it failed the consistency check: viewable, "
                "not promotable."
            )
        return (
            "Image generated; consistency was not evaluated, so it is not promotable."
        )
    if image_request.servable:
        return (
            f"Image generated but the request did not succeed ({status}): viewable, "
            "not promotable and not delivered. See failure_reason."
        )
    if status == "canceled":
        return "Canceled before an image was made. See failure_reason."
    if status in ("failed", "blocked"):
        return f"No servable image ({status}). See failure_reason."
    return "Unknown state."


def iso_datetime(value):
    """A datetime as the API writes it (DRF's DateTimeField, ISO 8601), or None."""
    return _datetime.to_representation(value) if value else None


_iso = iso_datetime


def report(image_request) -> dict:
    """The contract's probe report fields, in the contract's order."""
    from .storage import absolute_url

    servable = bool(image_request.servable and image_request.image)
    return {
        "probe_id": str(image_request.pk),
        "session_id": str(image_request.session_id),
        "probe_type": image_request.probe_type or None,
        "image_kind": image_request.image_kind,
        "request_status": image_request.request_status,
        "state": image_request.state,
        "image_url": absolute_url(image_request.image) if servable else None,
        "servable": servable,
        "summary": summary_of(image_request),
        "assets_sent": [str(a) for a in image_request.assets_sent or []],
        "consistency": image_request.consistency or None,
        "failure_reason": image_request.failure_reason or None,
        "promotion_eligible": promotion_eligible(image_request),
        "continuity_dependent": image_request.probe_type in CONTINUITY_PROBES,
        "created_at": _iso(image_request.created_at),
        "completed_at": _iso(image_request.completed_at),
        # Additive: which named generator (and backend) made it.
        "generator": generator_of(image_request),
    }


def generator_of(image_request) -> dict:
    return generator_named(image_request.generator, image_request.backend)


def generator_named(generator: str, backend: str) -> dict:
    """The named generator ("" is the default one) and the backend that ran it."""
    return {"name": generator or "default", "backend": backend or None}


def generator_stored(name: str) -> list[str]:
    """The ``ImageRequest.generator`` values a generator's shown name stands for (the
    default one is stored as "" or, when a request named it, "default")."""
    return ["", "default"] if name == "default" else [name]


def generation_report(image_request) -> dict:
    """Report a generation like a probe, plus its category, batch and produced asset."""
    body = report(image_request)
    body["category"] = image_request.category
    body["batch_id"] = str(image_request.batch_id) if image_request.batch_id else None
    asset = getattr(image_request, "produced_asset", None)
    body["asset_id"] = str(asset.pk) if asset else None
    body["hold_for_review"] = image_request.hold_for_review
    return body
