"""Offset pagination that never counts: one extra row tells whether more exist."""

from django.conf import settings

from .errors import validation_error

MAX_PAGE_SIZE = 200


def page_params(request) -> tuple[int, int]:
    def read(name, default, low, high):
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise validation_error(name, "must be an integer") from None
        if not low <= value <= high:
            raise validation_error(name, f"must be between {low} and {high}")
        return value

    limit = read("limit", settings.LOREOS_DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    offset = read("offset", 0, 0, 10**9)
    return limit, offset


def paginate(queryset, request) -> tuple[list, dict]:
    """Return (rows, pagination) for ?limit=&offset=; next_offset is null at the end."""
    limit, offset = page_params(request)
    rows = list(queryset[offset : offset + limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return rows, {
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if has_more else None,
    }
