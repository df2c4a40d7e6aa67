"""Webhook endpoints, the outbox of events and their deliveries.

An event row (`WebhookEvent`) and one `WebhookDelivery` row per subscribed endpoint are
written in the transaction of the change they report (the transactional outbox), so
an event exists exactly when its change committed. Celery tasks on the `webhooks` queue
send the deliveries afterwards; every attempt is kept (`WebhookAttempt`).
"""

import uuid

from django.db import models

from characters.models import Account


class EventType(models.TextChoices):
    IMAGE_READY = "image.ready"
    IMAGE_FAILED = "image.failed"
    ASSET_DECIDED = "asset.decided"
    BATCH_COMPLETED = "batch.completed"


class WebhookEndpoint(models.Model):
    """Where an account wants its events, and the (encrypted) secrets that sign them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Fernet tokens (hooks.secrets); never the secret itself.
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Start of the current run of failed attempts (null after any success).
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "enabled"])]

    def __str__(self):
        return self.url


class WebhookEvent(models.Model):
    """The outbox: one row per event, written with the change it reports."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="webhook_events"
    )
    type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField(default=dict)
    # Set for events that must be recorded once (batch.completed:<batch id>).
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.type} {self.pk}"

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` header: one per event, the same on every retry."""
        return f"msg_{self.pk.hex}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: its schedule and final outcome."""

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for its next attempt
        SENDING = "sending"  # an attempt is in flight until lease_until
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # retries exhausted, 410, or the endpoint was disabled

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    outcome_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One HTTP POST of a delivery."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempts"
    )
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="hooks_attempt_unique_number"
            )
        ]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}"
