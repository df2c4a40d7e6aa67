"""Shapes in and out for visual assets (shape only; the rules live in visuals.assets).

An asset leaves the API as (AssetSerializer):

    id, category, asset_key, label, visual_summary, visual_description,
    url                  absolute URL of the stored image (visuals.storage.absolute_url)
    sha256, width, height, format, byte_size    of the stored file
    asset_status         candidate | active | retired | rejected
    promotion_status     candidate | approved_anchor | approved_keyframe
    qa_status            unreviewed | passed | failed
    source               upload | inventory | probe | runtime
    image_request_id     the probe / generation (image request) that produced it,
                         or null
    advice               measured identity-image advice: [{code, message}]
                         (never blocking)
    decided_at, decision_reason    the last lifecycle decision
    created_at, updated_at
"""

from rest_framework import serializers

from .models import VisualAsset
from .reports import iso_datetime
from .storage import absolute_url, url_builder
from .vocab import Category


class AdviceSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class AssetSerializer(serializers.ModelSerializer):
    id = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()
    image_request_id = serializers.SerializerMethodField()
    advice = AdviceSerializer(many=True, read_only=True)

    class Meta:
        model = VisualAsset
        fields = [
            "id",
            "category",
            "asset_key",
            "label",
            "visual_summary",
            "visual_description",
            "url",
            "sha256",
            "width",
            "height",
            "format",
            "byte_size",
            "asset_status",
            "promotion_status",
            "qa_status",
            "source",
            "image_request_id",
            "advice",
            "decided_at",
            "decision_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_url(self, asset) -> str | None:
        return absolute_url(asset.file)

    def get_image_request_id(self, asset) -> str | None:
        return str(asset.image_request_id) if asset.image_request_id else None


# The columns asset_data needs: what a hot read selects with .values(*ASSET_COLUMNS).
ASSET_COLUMNS = (
    *(f for f in AssetSerializer.Meta.fields if f not in ("url", "image_request_id")),
    "file",
    "image_request_id",
)


def asset_data(rows) -> list[dict]:
    """AssetSerializer's output, field for field, from plain ``.values(*ASSET_COLUMNS)``
    rows: what the hot reads (visual-inventory) use instead of DRF fields (≈ 0.25 ms
    of CPU per asset). tests/test_fast_responses.py holds the two equal."""
    url = url_builder(VisualAsset._meta.get_field("file").storage)
    return [
        {
            "id": str(r["id"]),
            "category": r["category"],
            "asset_key": r["asset_key"],
            "label": r["label"],
            "visual_summary": r["visual_summary"],
            "visual_description": r["visual_description"],
            "url": url(r["file"]),
            "sha256": r["sha256"],
            "width": r["width"],
            "height": r["height"],
            "format": r["format"],
            "byte_size": r["byte_size"],
            "asset_status": r["asset_status"],
            "promotion_status": r["promotion_status"],
            "qa_status": r["qa_status"],
            "source": r["source"],
            "image_request_id": (
                str(r["image_request_id"]) if r["image_request_id"] else None
            ),
            "advice": [
                {"code": a["code"], "message": a["message"]} for a in r["advice"] or []
            ],
            "decided_at": iso_datetime(r["decided_at"]),
            "decision_reason": r["decision_reason"],
            "created_at": iso_datetime(r["created_at"]),
            "updated_at": iso_datetime(r["updated_at"]),
        }
        for r in rows
    ]


class AssetUploadSerializer(serializers.Serializer):
    """The multipart form of POST .../visual-assets: validates it and documents it.

    The fields are checked first by visuals.assets.upload_fields_check (the service's
    own check, in the contract's order and with its codes: an unknown or missing
    category is invalid_category), then by the fields below (a `file` that is text).
    """

    # Whether the bytes are an image (an empty file is not) is image_rejected's to say.
    file = serializers.FileField(
        allow_empty_file=True, help_text="PNG, JPEG or WebP, at most 8 MB"
    )
    category = serializers.ChoiceField(choices=Category.values)
    asset_key = serializers.CharField(help_text="a stable handle, e.g. identity-front")
    label = serializers.CharField(help_text="a short human label")
    visual_summary = serializers.CharField(required=False, allow_blank=True)
    visual_description = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="defaults to visual_summary, then label",
    )

    def to_internal_value(self, data):
        from .assets import upload_fields_check

        upload_fields_check(
            category=data.get("category", ""),
            asset_key=data.get("asset_key", ""),
            label=data.get("label", ""),
            file=data.get("file"),
        )
        return super().to_internal_value(data)


class AssetPatchSerializer(serializers.Serializer):
    promotion_status = serializers.ChoiceField(
        choices=VisualAsset.Promotion.values, required=False
    )
    asset_status = serializers.ChoiceField(
        choices=VisualAsset.Status.values, required=False
    )
    qa_status = serializers.ChoiceField(choices=VisualAsset.QA.values, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["body must be a JSON object"]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {unknown[0]: [f"unknown field; allowed: {', '.join(self.fields)}"]}
            )
        return super().to_internal_value(data)

    def validate(self, attrs):
        if not {"promotion_status", "asset_status", "qa_status"} & set(attrs):
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        "send at least one of promotion_status, asset_status, qa_status"
                    ]
                }
            )
        return attrs


class ProbeReportSerializer(serializers.Serializer):
    """The redacted report of a probe: what it did, never its brief or payloads."""

    probe_id = serializers.CharField()
    session_id = serializers.CharField()
    probe_type = serializers.CharField(allow_null=True)
    image_kind = serializers.CharField()
    request_status = serializers.CharField()
    state = serializers.CharField()
    image_url = serializers.CharField(allow_null=True)
    servable = serializers.BooleanField()
    summary = serializers.CharField()
    assets_sent = serializers.ListField(child=serializers.CharField())
    consistency = serializers.DictField(allow_null=True)
    failure_reason = serializers.CharField(allow_null=True)
    promotion_eligible = serializers.BooleanField()
    continuity_dependent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class GenerationReportSerializer(ProbeReportSerializer):
    """A generation is reported like a probe, plus its category, batch and asset."""

    category = serializers.CharField()
    batch_id = serializers.CharField(allow_null=True)
    asset_id = serializers.CharField(allow_null=True)
    hold_for_review = serializers.BooleanField()
