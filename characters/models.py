"""Accounts, API keys, characters with immutable versions, sessions and their event log,
and the idempotency records of metered POSTs."""

import uuid

from django.conf import settings
from django.db import models


class Account(models.Model):
    name = models.CharField(max_length=100, unique=True)
    # Metered units per calendar month (UTC); null means unlimited.
    credit_cap = models.PositiveIntegerField(null=True, blank=True)
    # Curators granted this account's characters on the /curate/ pages.
    curators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="curated_accounts"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ApiKey(models.Model):
    class Kind(models.TextChoices):
        DEVELOPER = "developer"
        DEMO = "demo"

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="api_keys"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DEVELOPER)
    # The visible part of the key (shown in lists); the rest is stored only as a hash.
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.prefix}… ({self.kind})"

    @property
    def is_demo(self) -> bool:
        return self.kind == self.Kind.DEMO


class Character(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="characters"
    )
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    # Metered units per calendar month (UTC); null means unlimited.
    monthly_budget = models.PositiveIntegerField(null=True, blank=True)
    # A named generator of settings.LOREOS_GENERATORS ("" = the default one).
    generator = models.CharField(max_length=64, blank=True)
    active_version = models.ForeignKey(
        "CharacterVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "slug"], name="unique_slug_per_account"
            )
        ]

    def __str__(self):
        return self.slug


class CharacterVersion(models.Model):
    """An immutable snapshot of a character's profile and behavioural thresholds."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    character = models.ForeignKey(
        Character, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    profile = models.JSONField(default=dict)
    behavioral_thresholds = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["character", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["character", "number"], name="unique_version_number"
            )
        ]

    def __str__(self):
        return f"{self.character_id} v{self.number}"

    @property
    def identity_anchors(self):
        return (self.profile or {}).get("identity_anchors")

    def threshold(self, name: str, default=0):
        return (self.behavioral_thresholds or {}).get(name, default)


class Session(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        EXITED = "exited"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    character = models.ForeignKey(
        Character, on_delete=models.CASCADE, related_name="sessions"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN
    )
    # The seq of the newest event; appends lock the row and bump it.
    last_seq = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    exited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return str(self.id)


class SessionEvent(models.Model):
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="events"
    )
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "seq"]
        # The unique index (session, seq) is what `events?since=N` reads by.
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="unique_event_seq")
        ]

    def __str__(self):
        return f"{self.session_id}#{self.seq} {self.type}"


class IdempotencyRecord(models.Model):
    """The first response to a metered POST sent with an Idempotency-Key (kept 24 h)."""

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        DONE = "done"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.IN_FLIGHT
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "key"], name="unique_idempotency_key"
            )
        ]

    def __str__(self):
        return f"{self.account_id}:{self.key}"
