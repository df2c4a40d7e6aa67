import uuid


def is_uuid(value) -> bool:
    """True when `value` parses as a UUID (ids that cannot exist are a 404, not a 500)."""
    try:
        uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return False
    return True
