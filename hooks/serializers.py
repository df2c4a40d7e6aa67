"""Shapes in and out of /v1/webhooks (shape only; the rules live in hooks.services)."""

from rest_framework import serializers

from .models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class _Strict(serializers.Serializer):
    """Refuse a body that is not an object, and any unknown key (a 422 naming it)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["body must be a JSON object"]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({unknown[0]: ["unknown field"]})
        return super().to_internal_value(data)


class EndpointCreateSerializer(_Strict):
    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.values), allow_empty=False
    )
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class EndpointPatchSerializer(_Strict):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.values),
        allow_empty=False,
        required=False,
    )
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True
    )
    enabled = serializers.BooleanField(required=False)


class EndpointSerializer(serializers.ModelSerializer):
    secret_rotation_ends_at = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "enabled",
            "disabled_reason",
            "disabled_at",
            "secret_rotation_ends_at",
            "created_at",
            "updated_at",
        ]

    def get_secret_rotation_ends_at(self, obj) -> str | None:
        """When the previous secret stops signing (null when only one secret signs)."""
        expires = obj.previous_secret_expires_at
        if not obj.previous_secret_encrypted or expires is None:
            return None
        from loreos import clock

        if expires <= clock.now():
            return None
        return serializers.DateTimeField().to_representation(expires)


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.SerializerMethodField()

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]

    def get_secret(self, obj) -> str:
        """The signing secret (whsec_…): shown in this response only."""
        return self.context["secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "attempted_at", "status_code", "latency_ms", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(source="event.id", read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    webhook_id = serializers.CharField(source="event.webhook_id", read_only=True)
    outcome = serializers.SerializerMethodField()
    attempts = AttemptSerializer(many=True, read_only=True)
    next_retry_at = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "webhook_id",
            "status",
            "outcome",
            "outcome_reason",
            "attempts",
            "next_retry_at",
            "replay_of",
            "created_at",
            "completed_at",
        ]

    def get_outcome(self, obj) -> str | None:
        """succeeded or failed once the delivery has ended; null while it goes on."""
        done = (WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.FAILED)
        return obj.status if obj.status in done else None

    def get_next_retry_at(self, obj) -> str | None:
        """When the next attempt is due (null once the delivery has ended)."""
        if obj.status != WebhookDelivery.Status.PENDING or obj.next_attempt_at is None:
            return None
        return serializers.DateTimeField().to_representation(obj.next_attempt_at)
