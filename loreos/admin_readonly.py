"""Admin pages that only show: records written by services (versions, events, ledger,
generation reports) are never added, edited or deleted by hand."""


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def fieldset_fields(fieldsets) -> list[str]:
    """Every field named in `fieldsets`, in order (for readonly_fields)."""
    return [name for _, options in fieldsets for name in options["fields"]]


def list_time(value):
    """A date and time in a changelist column, always as wide ("2026-11-30 10:01"):
    Django's own format grows by a digit at ten o'clock and can push a table past
    the page (None: the admin's empty value)."""
    return value.strftime("%Y-%m-%d %H:%M") if value else None
