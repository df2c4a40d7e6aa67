"""Shapes in and out for characters, versions and sessions.

Shape only: the rules live in services."""

from django.conf import settings
from rest_framework import serializers

from .models import Character, CharacterVersion, Session, SessionEvent

THRESHOLD_KEYS = (
    "image_proactivity",
    "selfie_comfort",
    "daily_image_cap",
    "image_cooldown_seconds",
)


def validate_profile(value):
    if not isinstance(value, dict):
        raise serializers.ValidationError("must be an object")
    forbidden = value.get("forbidden_visuals")
    if forbidden is not None and not (
        isinstance(forbidden, list)
        and all(isinstance(item, str) and item.strip() for item in forbidden)
    ):
        raise serializers.ValidationError(
            {"forbidden_visuals": "must be a list of non-empty strings"}
        )
    anchors = value.get("identity_anchors")
    if anchors is None:
        return value
    if isinstance(anchors, list):
        if not all(isinstance(item, str) for item in anchors):
            raise serializers.ValidationError(
                {"identity_anchors": "must be list[str] or an object (dict)"}
            )
    elif not isinstance(anchors, dict):
        raise serializers.ValidationError(
            {"identity_anchors": "must be list[str] or an object (dict)"}
        )
    return value


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_thresholds(value):
    if not isinstance(value, dict):
        raise serializers.ValidationError("must be an object")
    unknown = sorted(set(value) - set(THRESHOLD_KEYS))
    if unknown:
        raise serializers.ValidationError(
            {unknown[0]: f"unknown threshold; allowed: {', '.join(THRESHOLD_KEYS)}"}
        )
    for key in ("image_proactivity", "selfie_comfort"):
        if key in value and not (_is_number(value[key]) and 0 <= value[key] <= 1):
            raise serializers.ValidationError({key: "must be a number in [0, 1]"})
    for key in ("daily_image_cap", "image_cooldown_seconds"):
        if key in value and not (
            isinstance(value[key], int)
            and not isinstance(value[key], bool)
            and value[key] >= 0
        ):
            raise serializers.ValidationError({key: "must be an integer >= 0"})
    return value


class CharacterWriteSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    profile = serializers.JSONField(required=False, validators=[validate_profile])
    behavioral_thresholds = serializers.JSONField(
        required=False, validators=[validate_thresholds]
    )
    monthly_budget = serializers.IntegerField(
        min_value=0, required=False, allow_null=True
    )
    generator = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="additive: a named generator of LOREOS_GENERATORS this character's "
        "images are made with (empty: the default)",
    )

    def validate_generator(self, value):
        names = {"default", *settings.LOREOS_GENERATORS}
        if value and value not in names:
            raise serializers.ValidationError(
                f"unknown generator {value!r}; configured: {', '.join(sorted(names))}"
            )
        return "" if value == "default" else value

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["body must be a JSON object"]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({unknown[0]: ["unknown field"]})
        return super().to_internal_value(data)


class CharacterPatchSerializer(CharacterWriteSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)
        self.fields.pop("slug")


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = CharacterVersion
        fields = ["id", "number", "profile", "behavioral_thresholds", "created_at"]


class CharacterSerializer(serializers.ModelSerializer):
    active_version_id = serializers.UUIDField(read_only=True)
    active_version = VersionSerializer(read_only=True)

    class Meta:
        model = Character
        fields = [
            "id",
            "slug",
            "name",
            "monthly_budget",
            "generator",
            "active_version_id",
            "active_version",
            "created_at",
            "updated_at",
        ]


class SessionSerializer(serializers.ModelSerializer):
    session_id = serializers.UUIDField(source="id", read_only=True)
    character = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Session
        fields = [
            "session_id",
            "character",
            "status",
            "created_at",
            "exited_at",
            "last_seq",
        ]


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionEvent
        fields = ["seq", "type", "created_at", "data"]


_timestamp = EventSerializer().fields["created_at"]


def event_dict(event) -> dict:
    """One event as EventSerializer shapes it, without its per-field overhead (the
    events page is the hottest read: see benchmarks/). The live stream sends the
    same."""
    return {
        "seq": event.seq,
        "type": event.type,
        "created_at": _timestamp.to_representation(event.created_at),
        "data": event.data,
    }
