"""The redacted report of an image request: what a probe or generation reports, and nothing
of its brief or payloads. One place derives `state`, `summary` and `promotion_eligible`."""

_STATE = {
    "draft": "queued",
    "queued": "queued",
    "generating": "generating",
    "succeeded": "ready",
    "failed": "failed",
    "blocked": "blocked",
}


def state_of(request_status: str) -> str:
    return _STATE.get(request_status, "unknown")
