"""Request bodies of the metered endpoints (shape only; the rules live in
visuals/image_requests.py)."""

from rest_framework import serializers

from .errors import invalid_category
from .vocab import GENERATABLE_CATEGORIES, PROBE_TYPES


class StrictSerializer(serializers.Serializer):
    """Refuse bodies that are not objects or carry unknown fields."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["body must be a JSON object"]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({unknown[0]: ["unknown field"]})
        return super().to_internal_value(data)


class ProbeRequestSerializer(StrictSerializer):
    probe_type = serializers.ChoiceField(choices=PROBE_TYPES)
    session_id = serializers.CharField(max_length=64)
    generator = serializers.CharField(
        max_length=64,
        required=False,
        default="",
        allow_blank=True,
        help_text="A named generator of LOREOS_GENERATORS, for a side-by-side test "
        "(additive; empty: the default generator)",
    )


class InventoryGenerateSerializer(StrictSerializer):
    categories = serializers.ListField(child=serializers.CharField(), allow_empty=False)
    session_id = serializers.CharField(max_length=64)
    count_per_category = serializers.IntegerField(min_value=1, max_value=4, default=1)
    style_brief = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    forbidden = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        default=list,
        max_length=50,
    )
    hold_for_review = serializers.BooleanField(default=False)

    def validate_categories(self, value):
        unknown = [c for c in value if c not in GENERATABLE_CATEGORIES]
        if unknown:
            raise invalid_category(unknown[0], generatable=True)
        if len(set(value)) != len(value):
            raise serializers.ValidationError(
                "categories must not repeat; use count_per_category"
            )
        return value


class RuntimeImageSerializer(StrictSerializer):
    """A runtime image takes no parameters today; the body may be empty."""
