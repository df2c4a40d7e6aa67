import uuid


def is_uuid(value) -> bool:
    """Tell whether `value` parses as a UUID (an id that cannot exist is a 404, not a
    500)."""
    try:
        uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return False
    return True
