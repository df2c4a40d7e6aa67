"""Visual assets (character-global), image requests (one per metered generation) and
the usage ledger that meters them."""

import uuid

from django.conf import settings
from django.db import models

from characters.read_tokens import ReadScopedQuerySet

from .vocab import Category, ImageKind, Verdict

__all__ = ["AssetDecision", "ImageRequest", "Verdict", "VisualAsset"]


def asset_upload_to(instance, filename):
    # The server chooses every stored name; the client's filename is never used.
    ext = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}.get(instance.format, "bin")
    return f"assets/{instance.character_id}/{instance.id}.{ext}"


def generated_upload_to(instance, filename):
    return f"generated/{instance.character_id}/{instance.id}.png"


class VisualAsset(models.Model):
    class Status(models.TextChoices):
        CANDIDATE = "candidate"
        ACTIVE = "active"
        RETIRED = "retired"
        REJECTED = "rejected"

    class Promotion(models.TextChoices):
        CANDIDATE = "candidate"
        APPROVED_ANCHOR = "approved_anchor"
        APPROVED_KEYFRAME = "approved_keyframe"

    class QA(models.TextChoices):
        UNREVIEWED = "unreviewed"
        PASSED = "passed"
        FAILED = "failed"

    class Source(models.TextChoices):
        UPLOAD = "upload"
        INVENTORY = "inventory"
        PROBE = "probe"
        RUNTIME = "runtime"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    character = models.ForeignKey(
        "characters.Character", on_delete=models.CASCADE, related_name="visual_assets"
    )
    category = models.CharField(max_length=16, choices=Category.choices)
    asset_key = models.CharField(max_length=128)
    label = models.CharField(max_length=200)
    visual_summary = models.TextField(blank=True)
    visual_description = models.TextField(blank=True)
    file = models.FileField(upload_to=asset_upload_to, max_length=255)
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=8)
    byte_size = models.PositiveIntegerField()
    asset_status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.CANDIDATE
    )
    promotion_status = models.CharField(
        max_length=20, choices=Promotion.choices, default=Promotion.CANDIDATE
    )
    qa_status = models.CharField(
        max_length=16, choices=QA.choices, default=QA.UNREVIEWED
    )
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.UPLOAD
    )
    image_request = models.OneToOneField(
        "ImageRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="produced_asset",
    )
    # Measured, never blocking advice (face found, group photo, blur …).
    advice = models.JSONField(default=list, blank=True)
    # Audit trail of the last decision (who, when, why).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # ...or the API key that decided (decided_by is then empty).
    decided_by_key = models.ForeignKey(
        "characters.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # update() / bulk_create() bump the character's read token (characters.read_tokens)
    objects = ReadScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["character", "category", "asset_status"]),
            models.Index(fields=["character", "category", "-created_at"]),
            models.Index(fields=["character", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.category}:{self.asset_key}"


class ImageRequest(models.Model):
    class Origin(models.TextChoices):
        PROBE = "probe"
        INVENTORY = "inventory"
        RUNTIME = "runtime"

    class Status(models.TextChoices):
        DRAFT = "draft"
        QUEUED = "queued"
        GENERATING = "generating"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        BLOCKED = "blocked"
        CANCELED = "canceled"

    class State(models.TextChoices):
        """The developer-facing lifecycle the contract reports as `state`."""

        QUEUED = "queued"
        GENERATING = "generating"
        READY = "ready"
        FAILED = "failed"
        BLOCKED = "blocked"

    # The one map from the pipeline's request_status to the contract's state.
    STATE_OF_STATUS = {
        Status.DRAFT: State.QUEUED,
        Status.QUEUED: State.QUEUED,
        Status.GENERATING: State.GENERATING,
        Status.SUCCEEDED: State.READY,
        Status.FAILED: State.FAILED,
        Status.BLOCKED: State.BLOCKED,
        Status.CANCELED: State.FAILED,
    }

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    character = models.ForeignKey(
        "characters.Character", on_delete=models.CASCADE, related_name="image_requests"
    )
    session = models.ForeignKey(
        "characters.Session", on_delete=models.CASCADE, related_name="image_requests"
    )
    version = models.ForeignKey(
        "characters.CharacterVersion", on_delete=models.PROTECT, related_name="+"
    )
    origin = models.CharField(max_length=16, choices=Origin.choices)
    probe_type = models.CharField(max_length=32, blank=True)
    category = models.CharField(max_length=16, blank=True)
    image_kind = models.CharField(max_length=8, choices=ImageKind.choices)
    request_status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    decision = models.CharField(max_length=32, default="send_image")
    deliverable = models.BooleanField(default=True)
    # Internal: the brief sent to the backend. Never returned by the API.
    brief = models.JSONField(default=dict, blank=True)
    style_brief = models.TextField(blank=True)
    forbidden = models.JSONField(default=list, blank=True)
    hold_for_review = models.BooleanField(default=False)
    batch_id = models.UUIDField(null=True, blank=True)
    assets_sent = models.JSONField(default=list, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
    )
    image = models.FileField(upload_to=generated_upload_to, max_length=255, blank=True)
    servable = models.BooleanField(default=False)
    consistency = models.JSONField(null=True, blank=True)
    # NULL while nothing failed: the contract's failure_reason is null, not "".
    failure_reason = models.TextField(null=True, blank=True)  # noqa: DJ001
    backend = models.CharField(max_length=32, blank=True)
    backend_seconds = models.FloatField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Remote jobs (visuals.engine.remote): the backend's handle of the submitted job,
    # when the engine gives up on it, and when a cancel was asked for while in flight.
    remote_handle = models.JSONField(null=True, blank=True)
    remote_deadline = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # The named generator (settings.LOREOS_GENERATORS) asked for, or "" for the default.
    generator = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    # update() / bulk_create() bump the character's read token (characters.read_tokens)
    objects = ReadScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["character", "origin", "-created_at"]),
            models.Index(fields=["session", "-created_at"]),
            models.Index(fields=["batch_id"]),
            models.Index(fields=["request_status", "started_at"]),
        ]

    def __str__(self):
        return f"{self.origin}:{self.probe_type or self.category} {self.request_status}"

    @property
    def state(self) -> str:
        return self.state_of(self.request_status)

    @classmethod
    def state_of(cls, request_status: str) -> str:
        return cls.STATE_OF_STATUS.get(request_status, "unknown")

    @classmethod
    def statuses_of(cls, state: str) -> list[str]:
        """The request_status values a `state` filter selects."""
        return [s for s, st in cls.STATE_OF_STATUS.items() if st == state]


class UsageRecord(models.Model):
    """One metered spend. Deleted (refunded) only when the unit was never used."""

    account = models.ForeignKey(
        "characters.Account", on_delete=models.CASCADE, related_name="usage"
    )
    character = models.ForeignKey(
        "characters.Character", on_delete=models.CASCADE, related_name="usage"
    )
    image_request = models.OneToOneField(
        ImageRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="usage",
    )
    units = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        # The table it had when it lived in characters (moved without copying rows).
        db_table = "characters_usagerecord"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "created_at"]),
            models.Index(fields=["character", "created_at"]),
        ]

    def __str__(self):
        return f"{self.units}u {self.character_id}"


class AssetDecision(models.Model):
    """One change of an asset's statuses: the history the asset page lists and undo
    reads. Written by visuals.assets.asset_update, never edited."""

    asset = models.ForeignKey(
        VisualAsset, on_delete=models.CASCADE, related_name="decisions"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_by_key = models.ForeignKey(
        "characters.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    # (asset_status, promotion_status, qa_status) before and after the change.
    before = models.JSONField(default=list)
    after = models.JSONField(default=list)

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [
            models.Index(fields=["asset", "-decided_at"]),
            models.Index(fields=["decided_by", "-decided_at"]),
        ]

    def __str__(self):
        return f"{self.asset_id}: {self.before} -> {self.after}"
