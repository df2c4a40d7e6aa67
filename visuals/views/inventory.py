"""GET .../visual-inventory: every asset grouped by category, with counts by status."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.views import APIView

from characters.selectors import character_get
from loreos.api.conditional import conditional
from loreos.api.responses import action, v0
from loreos.api.schema import ERRORS

from ..inventory import inventory
from ..models import VisualAsset
from ..selectors import asset_fingerprint
from ..serializers import AssetSerializer, asset_data
from ..vocab import Category
from .assets import TAGS, NextActions

_Counts = inline_serializer(
    name="AssetStatusCounts",
    fields={s: serializers.IntegerField() for s in VisualAsset.Status.values},
)
InventoryEnvelope = inline_serializer(
    name="VisualInventoryEnvelope",
    fields={
        "schema_version": serializers.CharField(),
        "data": inline_serializer(
            name="VisualInventory",
            fields={
                "categories": inline_serializer(
                    name="VisualInventoryCategories",
                    fields={
                        c: inline_serializer(
                            name=f"VisualInventory_{c}",
                            fields={
                                "counts": _Counts,
                                "assets": AssetSerializer(many=True),
                                "more": serializers.BooleanField(
                                    help_text="other assets of this category exist: "
                                    "GET …/visual-assets?category=…"
                                ),
                            },
                        )
                        for c in Category.values
                    },
                ),
                "counts": _Counts,
                "total": serializers.IntegerField(),
            },
        ),
        "next_actions": NextActions,
    },
)


class VisualInventoryView(APIView):
    @extend_schema(
        operation_id="visual_inventory",
        summary="Every asset grouped by category (all 8), with counts by status",
        responses={200: InventoryEnvelope, **ERRORS},
        tags=TAGS,
    )
    def get(self, request, slug):
        character = character_get(request.account, slug)
        return conditional(
            request,
            asset_fingerprint(character),
            lambda: self._build(character, slug),
        )

    def _build(self, character, slug):
        body = inventory(character)
        for group in body["categories"].values():
            group["assets"] = asset_data(group["assets"])
        return v0(
            body,
            next_actions=[
                action(
                    f"GET /v1/characters/{slug}/visual-readiness",
                    "Check visual readiness",
                ),
                action(
                    f"PATCH /v1/characters/{slug}/visual-assets/{{asset_id}}",
                    'Promote a candidate: {"promotion_status": "approved_keyframe"}',
                ),
                action(
                    f"POST /v1/characters/{slug}/inventory/generate",
                    "Generate inventory from the identity",
                ),
            ],
        )
