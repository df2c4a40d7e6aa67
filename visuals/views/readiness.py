"""GET .../visual-readiness: the contract's bare body (no v0 envelope)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from characters.readiness import ReadinessStatus
from characters.selectors import character_get
from loreos.api.conditional import conditional
from loreos.api.schema import ERRORS

from ..readiness import visual_readiness
from ..selectors import asset_fingerprint

_Check = inline_serializer(
    many=True,
    name="VisualReadinessCheck",
    fields={
        "id": serializers.ChoiceField(
            choices=[
                "identity_asset",
                "identity_anchors",
                "inventory_coverage",
                "image_generation",
            ]
        ),
        "status": serializers.ChoiceField(
            choices=["ok", "missing", "weak", "disabled"]
        ),
        "summary": serializers.CharField(),
        "fix": serializers.CharField(
            required=False, help_text="only when status is not ok"
        ),
    },
)
VisualReadiness = inline_serializer(
    name="VisualReadiness",
    fields={
        "status": serializers.ChoiceField(choices=ReadinessStatus.values),
        "checks": _Check,
        "active_version_id": serializers.CharField(),
        "scope_note": serializers.CharField(),
        "advice": inline_serializer(
            name="ReadinessAdvice",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "asset_id": serializers.CharField(required=False),
            },
            many=True,
        ),
    },
)


class VisualReadinessView(APIView):
    @extend_schema(
        operation_id="visual_readiness",
        summary="Can this character generate good, consistent selfies?",
        description=(
            "Four deterministic checks (identity_asset, identity_anchors, "
            "inventory_coverage, image_generation) rolled into needs_attention / "
            "ready_with_warnings / ready. `advice` lists measured hints that never "
            "change a check's status."
        ),
        responses={200: VisualReadiness, **ERRORS},
        tags=["readiness"],
    )
    def get(self, request, slug):
        character = character_get(request.account, slug)
        return conditional(
            request,
            asset_fingerprint(character),
            lambda: Response(visual_readiness(character)),
        )
