"""Success bodies: the v0 envelope and next_actions, in one place."""

from rest_framework.response import Response

SCHEMA_VERSION = "v0"


def action(command: str, description: str) -> dict:
    return {"command": command, "description": description}


def v0(data, *, next_actions=None, status=200, **extra) -> Response:
    body = {"schema_version": SCHEMA_VERSION, "data": data}
    body.update(extra)
    body["next_actions"] = next_actions or []
    return Response(body, status=status)
