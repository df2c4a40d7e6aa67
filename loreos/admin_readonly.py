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
