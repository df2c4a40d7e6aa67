"""HTTP ↔ services for visual assets: upload, list, read, promote, delete."""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from characters.selectors import character_get
from loreos.api.conditional import conditional_response, conditional_tagged
from loreos.api.errors import validation_error
from loreos.api.pagination import paginate
from loreos.api.responses import action, v0
from loreos.api.schema import ERRORS, ErrorEnvelope

from .. import assets as services
from .. import selectors
from ..errors import invalid_category
from ..models import VisualAsset
from ..serializers import AssetPatchSerializer, AssetSerializer, AssetUploadSerializer
from ..uploads import read_multipart
from ..vocab import Category

TAGS = ["visual assets"]

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "The ETag of the asset as you read it (every asset answer carries one); "
        "a stale tag is 412 precondition_failed and nothing changes. "
        "Without it the last writer wins."
    ),
)
PRECONDITION = {
    412: OpenApiResponse(
        ErrorEnvelope,
        description=(
            "precondition_failed: the asset changed since the If-Match tag; "
            "the message names who decided and when"
        ),
    )
}

NextActions = inline_serializer(
    name="VisualNextAction",
    fields={"command": serializers.CharField(), "description": serializers.CharField()},
    many=True,
)

_Pagination = inline_serializer(
    name="VisualAssetPagination",
    fields={
        "limit": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
        "next_offset": serializers.IntegerField(allow_null=True),
    },
)
AssetEnvelope = inline_serializer(
    name="AssetEnvelope",
    fields={
        "schema_version": serializers.CharField(),
        "data": AssetSerializer(),
        "next_actions": NextActions,
    },
)
AssetListEnvelope = inline_serializer(
    name="AssetListEnvelope",
    fields={
        "schema_version": serializers.CharField(),
        "data": AssetSerializer(many=True),
        "pagination": _Pagination,
        "next_actions": NextActions,
    },
)
CONFLICT = {
    409: OpenApiResponse(
        ErrorEnvelope, description="needs_identity: upload identity first"
    )
}


def _with_etag(response: Response, asset: VisualAsset) -> Response:
    """An asset answer carries the asset's ETag; send it back in If-Match to PATCH or
    DELETE only the state you read (a stale tag is 412 precondition_failed)."""
    response["ETag"] = services.asset_etag(asset)
    return response


def _asset_actions(slug: str, asset: VisualAsset) -> list[dict]:
    base = f"/v1/characters/{slug}"
    one = f"{base}/visual-assets/{asset.pk}"
    if asset.asset_status == VisualAsset.Status.CANDIDATE:
        return [
            action(
                f"PATCH {one}",
                "Promote into active inventory: "
                '{"promotion_status": "approved_keyframe"}',
            ),
            action(f"PATCH {one}", 'Reject it: {"asset_status": "rejected"}'),
            action(
                f"GET {base}/visual-inventory", "See every asset by category and status"
            ),
        ]
    actions = [action(f"GET {base}/visual-readiness", "Check what selfies still need")]
    if asset.category == Category.IDENTITY:
        actions.append(
            action(
                f"POST {base}/visual-assets",
                "Add inventory (wardrobe, accessory, prop, place …) as candidates",
            )
        )
    actions.append(
        action(f"GET {base}/visual-inventory", "See every asset by category and status")
    )
    return actions


def _choice_param(request, name, choices, error):
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if value not in choices:
        raise error(value)
    return value


class AssetCollectionView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="visual_assets_upload",
        summary="Upload a visual asset (multipart/form-data)",
        description=(
            "category=identity is active at once (approved_anchor); every other "
            "category is stored as a candidate and needs an active identity asset "
            "first (409 needs_identity). The image is decided by decoding: PNG, JPEG "
            "or WebP, at most 8 MB, else 422 image_rejected. `advice` carries "
            "measured, never-blocking hints about an identity image."
        ),
        request={"multipart/form-data": AssetUploadSerializer},
        responses={
            201: AssetEnvelope,
            **CONFLICT,
            **ERRORS,
            503: OpenApiResponse(
                ErrorEnvelope, description="storage_unavailable: nothing was stored"
            ),
        },
        tags=TAGS,
    )
    def post(self, request, slug):
        character = character_get(request.account, slug)
        form = AssetUploadSerializer(data=read_multipart(request))
        form.is_valid(raise_exception=True)
        asset = services.asset_upload(character=character, **form.validated_data)
        return _with_etag(
            v0(
                AssetSerializer(asset).data,
                status=201,
                next_actions=_asset_actions(slug, asset),
            ),
            asset,
        )

    @extend_schema(
        operation_id="visual_assets_list",
        summary="List visual assets (newest first, paginated)",
        parameters=[
            OpenApiParameter("category", str, enum=Category.values),
            OpenApiParameter("asset_status", str, enum=VisualAsset.Status.values),
            OpenApiParameter("limit", int),
            OpenApiParameter("offset", int),
        ],
        responses={200: AssetListEnvelope, **ERRORS},
        tags=TAGS,
    )
    def get(self, request, slug):
        character = character_get(request.account, slug)
        category = _choice_param(request, "category", Category.values, invalid_category)
        status = _choice_param(
            request,
            "asset_status",
            VisualAsset.Status.values,
            lambda v: validation_error(
                "asset_status", f"must be one of {', '.join(VisualAsset.Status.values)}"
            ),
        )
        rows = selectors.asset_list(character, category=category, status=status)
        page, pagination = paginate(rows, request)
        return conditional_response(
            request,
            v0(
                AssetSerializer(page, many=True).data,
                pagination=pagination,
                next_actions=[
                    action(
                        f"GET /v1/characters/{slug}/visual-inventory",
                        "See assets grouped by category",
                    ),
                    action(
                        f"POST /v1/characters/{slug}/visual-assets",
                        "Upload another asset",
                    ),
                ],
            ),
        )


class AssetDetailView(APIView):
    @extend_schema(
        operation_id="visual_assets_retrieve",
        summary="Read one visual asset",
        responses={200: AssetEnvelope, **ERRORS},
        tags=TAGS,
    )
    def get(self, request, slug, asset_id):
        character = character_get(request.account, slug)
        asset = selectors.asset_get(character, asset_id)
        return conditional_tagged(
            request,
            v0(AssetSerializer(asset).data, next_actions=_asset_actions(slug, asset)),
            services.asset_etag(asset),
        )

    @extend_schema(
        operation_id="visual_assets_update",
        summary="Promote, retire, reject or QA-mark a visual asset",
        description=(
            "Transitions (else 422 invalid_transition naming the allowed ones): "
            "asset_status candidate→rejected, active→retired|rejected, "
            "retired→active|rejected, rejected→candidate; promotion_status "
            "candidate→approved_anchor|approved_keyframe (makes a candidate active), "
            "approved_anchor↔approved_keyframe. Identity assets approve only as "
            "approved_anchor. qa_status changes freely. Same value: no-op."
        ),
        request=AssetPatchSerializer,
        parameters=[IF_MATCH],
        responses={200: AssetEnvelope, **ERRORS, **PRECONDITION},
        tags=TAGS,
    )
    def patch(self, request, slug, asset_id):
        character = character_get(request.account, slug)
        asset = selectors.asset_get(character, asset_id)
        body = AssetPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        asset = services.asset_update(
            asset=asset,
            actor=request.auth,
            promotion_status=body.validated_data.get("promotion_status"),
            asset_status=body.validated_data.get("asset_status"),
            qa_status=body.validated_data.get("qa_status"),
            reason=body.validated_data.get("reason", ""),
            if_match=request.headers.get("If-Match"),
        )
        return _with_etag(
            v0(AssetSerializer(asset).data, next_actions=_asset_actions(slug, asset)),
            asset,
        )

    @extend_schema(
        operation_id="visual_assets_destroy",
        summary=(
            "Delete a visual asset (its stored file goes once the deletion commits)"
        ),
        parameters=[IF_MATCH],
        responses={204: None, **ERRORS, **PRECONDITION},
        tags=TAGS,
    )
    def delete(self, request, slug, asset_id):
        character = character_get(request.account, slug)
        asset = selectors.asset_get(character, asset_id)
        services.asset_delete(
            asset=asset, actor=request.auth, if_match=request.headers.get("If-Match")
        )
        return Response(status=204)
