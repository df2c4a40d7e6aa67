"""Read-only admin pages for webhooks: endpoints (never their secrets) and deliveries.

Accounts manage their endpoints through /v1/webhooks; the admin shows what happened.
"""

from django.contrib import admin

from loreos.admin_readonly import ReadOnlyAdminMixin

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["url", "account", "enabled", "disabled_reason", "created_at"]
    list_filter = ["enabled"]
    list_select_related = ["account"]
    search_fields = ["url", "description", "account__name"]
    fields = [
        "id",
        "account",
        "url",
        "events",
        "description",
        "enabled",
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "attempted_at", "status_code", "latency_ms", "error"]
    readonly_fields = fields
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempt_count",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event__type"]
    list_select_related = ["event", "endpoint"]
    fields = [
        "id",
        "event",
        "endpoint",
        "replay_of",
        "status",
        "attempt_count",
        "next_attempt_at",
        "outcome_reason",
        "created_at",
        "completed_at",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]

    @admin.display(description="event type")
    def event_type(self, obj):
        return obj.event.type
