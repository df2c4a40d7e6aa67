"""Admin for visual assets, image requests, the usage ledger, and what the visuals app
adds to the characters app's CharacterAdmin (the identity portrait, held candidates).

Asset decisions (approve, reject, retire, delete) are bulk actions that call
visuals.assets — the same services, rules and audit trail as the API's PATCH and
DELETE. Generation reports (ImageRequest) are read-only.
"""

import json

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from characters import admin as characters_admin
from characters.models import Character
from loreos.admin_readonly import ReadOnlyAdminMixin, fieldset_fields, list_time
from loreos.api.errors import ApiError

from . import assets as asset_services
from .models import ImageRequest, UsageRecord, Verdict, VisualAsset
from .reports import report


def _thumb(url_name, pk, size=96, px=56):
    return format_html(
        '<img src="{}" width="{}" height="{}" alt="" loading="lazy" '
        'style="object-fit:cover;border-radius:6px;background:#eee">',
        reverse(url_name, args=[pk, size]),
        px,
        px,
    )


def _shown_etag(request, asset) -> str | None:
    """The ETag the changelist showed for this asset (a hidden input per row), so a
    decision taken meanwhile by someone else is refused (412), as in the API."""
    return request.POST.get(f"etag-{asset.pk}") or None


def _apply(modeladmin, request, queryset, verb, decision, reason=""):
    """Take one decision on each selected asset; report what the rules refused."""
    done, refused = 0, []
    for asset in queryset.select_related("character"):
        try:
            asset_services.asset_decide(
                asset=asset,
                decision=decision,
                actor=request.user,
                reason=reason,
                if_match=_shown_etag(request, asset),
            )
            done += 1
        except ApiError as exc:
            refused.append(f"{asset.category}:{asset.asset_key} — {exc.as_text()}")
    if done:
        modeladmin.message_user(request, f"{verb} {done} asset(s).", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(
            request, f"Not {verb.lower()}: {line}", messages.WARNING
        )


@admin.register(VisualAsset)
class VisualAssetAdmin(admin.ModelAdmin):
    list_display = [
        "preview",
        "label",
        "character",
        "category",
        "status",
        "decision",
    ]
    list_display_links = ["preview", "label"]
    list_filter = [
        "asset_status",
        "category",
        "promotion_status",
        "qa_status",
        "source",
        "character__account",
    ]
    search_fields = ["asset_key", "label", "character__slug", "sha256", "id"]
    list_select_related = ["character", "decided_by", "decided_by_key"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    actions = [
        "approve_keyframe",
        "approve_anchor",
        "reject",
        "retire",
        "delete_selected",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "large_preview",
                    "character",
                    "category",
                    "asset_key",
                    "label",
                ]
            },
        ),
        ("Status", {"fields": ["asset_status", "promotion_status", "qa_status"]}),
        ("Decision", {"fields": ["decided_by", "decided_at", "decision_reason"]}),
        (
            "Image",
            {
                "fields": [
                    "visual_summary",
                    "visual_description",
                    "file",
                    "sha256",
                    "width",
                    "height",
                    "format",
                    "byte_size",
                    "advice_list",
                ]
            },
        ),
        (
            "Provenance",
            {"fields": ["source", "image_request", "created_at", "updated_at"]},
        ),
    ]
    readonly_fields = [
        "large_preview",
        "character",
        "category",
        "asset_key",
        "label",
        "asset_status",
        "promotion_status",
        "qa_status",
        "decided_by",
        "decided_at",
        "decision_reason",
        "visual_summary",
        "visual_description",
        "file",
        "sha256",
        "width",
        "height",
        "format",
        "byte_size",
        "advice_list",
        "source",
        "image_request",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        # Uploads validate and store through the API (POST …/visual-assets).
        return False

    @admin.display(description="")
    def preview(self, asset):
        return _thumb("curate:asset-thumb", asset.pk)

    @admin.display(description="Preview")
    def large_preview(self, asset):
        return _thumb("curate:asset-thumb", asset.pk, size=240, px=240)

    @admin.display(description="Status", ordering="asset_status")
    def status(self, asset):
        """asset_status over promotion_status (both are list filters)."""
        return format_html(
            '{}<br><span class="quiet">{}</span>',
            asset.asset_status,
            asset.promotion_status,
        )

    @admin.display(description="Decided", ordering="decided_at")
    def decision(self, asset):
        """Who decided and when, plus the state this row shows (its ETag) for the
        bulk actions to send back."""
        who = asset_services.decider_name(asset)
        shown = format_html(
            '<input type="hidden" name="etag-{}" value="{}">',
            asset.pk,
            asset_services.asset_etag(asset),
        )
        if not asset.decided_at:
            return format_html("{}—", shown)
        return format_html(
            '{}{}<br><span class="quiet">{}</span>',
            shown,
            who or "—",
            list_time(asset.decided_at),
        )

    @admin.display(description="Advice")
    def advice_list(self, asset):
        return "; ".join(item.get("message", "") for item in asset.advice or []) or "—"

    @admin.action(
        description="Approve as keyframe (active inventory)", permissions=["change"]
    )
    def approve_keyframe(self, request, queryset):
        _apply(self, request, queryset, "Approved", "approve")

    @admin.action(description="Approve as anchor", permissions=["change"])
    def approve_anchor(self, request, queryset):
        _apply(self, request, queryset, "Approved", "approve_anchor")

    @admin.action(description="Reject (with a reason)…", permissions=["change"])
    def reject(self, request, queryset):
        if request.POST.get("apply"):
            _apply(
                self,
                request,
                queryset,
                "Rejected",
                "reject",
                reason=request.POST.get("reason", "")[:1000],
            )
            return None
        return TemplateResponse(
            request,
            "admin/visuals/visualasset/reject_reason.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "queryset": list(queryset.select_related("character")),
                # The states the changelist showed travel on to the confirmation.
                "shown_etags": [
                    (name, value)
                    for name, value in request.POST.items()
                    if name.startswith("etag-")
                ],
                "title": "Reject assets",
            },
        )

    @admin.action(description="Retire", permissions=["change"])
    def retire(self, request, queryset):
        _apply(self, request, queryset, "Retired", "retire")

    def delete_model(self, request, obj):
        asset_services.asset_delete(asset=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for asset in queryset:
            asset_services.asset_delete(
                asset=asset, actor=request.user, if_match=_shown_etag(request, asset)
            )


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [(state, state) for state in ImageRequest.State.values]

    def queryset(self, request, queryset):
        if self.value() in ImageRequest.State.values:
            return queryset.filter(
                request_status__in=ImageRequest.statuses_of(self.value())
            )
        return queryset


class VerdictFilter(admin.SimpleListFilter):
    title = "consistency verdict"
    parameter_name = "verdict"

    def lookups(self, request, model_admin):
        return [(v, v) for v in Verdict.values] + [("none", "not evaluated")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(consistency__isnull=True)
        if self.value():
            return queryset.filter(consistency__status=self.value())
        return queryset


@admin.register(ImageRequest)
class ImageRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Generation reports, read-only: what the API reports, plus the internal brief."""

    list_display = [
        "preview",
        "subject",
        "character",
        "state",
        "verdict",
        "created",
    ]
    list_display_links = ["preview", "subject"]
    list_filter = [
        "origin",
        StateFilter,
        VerdictFilter,
        "image_kind",
        "hold_for_review",
        "character__account",
    ]
    search_fields = ["id", "character__slug", "probe_type", "category", "batch_id"]
    list_select_related = ["character"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["large_preview", "curate_link", "report_json"]}),
        (
            "Request",
            {
                "fields": [
                    "character",
                    "session",
                    "version",
                    "origin",
                    "probe_type",
                    "category",
                    "image_kind",
                    "request_status",
                    "hold_for_review",
                    "batch_id",
                    "parent",
                    "created_by",
                    "backend",
                    "backend_seconds",
                    "attempts",
                    "created_at",
                    "started_at",
                    "completed_at",
                ]
            },
        ),
        (
            "Internal (never returned by the API)",
            {"classes": ["collapse"], "fields": ["brief_json"]},
        ),
    ]
    readonly_fields = fieldset_fields(fieldsets)

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith(
            "changelist"
        ):
            rows = rows.defer("brief")
        return rows

    @admin.display(description="")
    def preview(self, row):
        return _thumb("curate:request-thumb", row.pk) if row.image else "—"

    @admin.display(description="Image")
    def large_preview(self, row):
        return (
            _thumb("curate:request-thumb", row.pk, size=240, px=240)
            if row.image
            else "—"
        )

    @admin.display(description="Probe / category")
    def subject(self, row):
        """What was asked, over its origin (origin is a list filter)."""
        return format_html(
            '{}<br><span class="quiet">{}</span>',
            row.probe_type or row.category or row.image_kind,
            row.origin,
        )

    @admin.display(description="Created", ordering="created_at")
    def created(self, row):
        return list_time(row.created_at)

    @admin.display(description="State", ordering="request_status")
    def state(self, row):
        return row.state

    @admin.display(description="Verdict")
    def verdict(self, row):
        return (row.consistency or {}).get("status", "—")

    @admin.display(description="Report (as the API returns it)")
    def report_json(self, row):
        return format_html("<pre>{}</pre>", json.dumps(report(row), indent=2))

    @admin.display(description="Brief")
    def brief_json(self, row):
        return format_html(
            "<pre>{}</pre>", json.dumps(row.brief, indent=2, default=str)
        )

    @admin.display(description="Curator page")
    def curate_link(self, row):
        return format_html(
            '<a href="{}">Open the report page</a>',
            reverse("curate:report", args=[row.pk]),
        )


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "account", "character", "units", "image_request"]
    list_filter = ["account"]
    search_fields = ["character__slug", "account__name"]
    list_select_related = ["account", "character", "image_request"]
    date_hierarchy = "created_at"
    readonly_fields = ["account", "character", "image_request", "units", "created_at"]


# --- Characters: the characters app's admin plus the visual columns ---------------


class HeldFilter(admin.SimpleListFilter):
    title = "held candidates"
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return [("yes", "Has held candidates"), ("no", "None held")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(_held__gt=0)
        if self.value() == "no":
            return queryset.filter(_held=0)
        return queryset


admin.site.unregister(Character)


@admin.register(Character)
class CharacterAdmin(characters_admin.CharacterAdmin):
    """characters' CharacterAdmin with the identity portrait and the held count."""

    list_display = [
        "portrait",
        "slug",
        "name",
        "account",
        "version_number",
        "anchors",
        "held",
    ]
    list_display_links = ["portrait", "slug"]
    list_filter = [*characters_admin.CharacterAdmin.list_filter, HeldFilter]

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        return rows.annotate(
            _held=Count(
                "visual_assets",
                filter=Q(visual_assets__asset_status=VisualAsset.Status.CANDIDATE)
                & ~Q(visual_assets__category="identity"),
            )
        )

    @admin.display(description="")
    def portrait(self, character):
        asset_id = getattr(character, "_portrait", None)
        return _thumb("curate:asset-thumb", asset_id, px=48) if asset_id else "—"

    @admin.display(description="Held", ordering="_held")
    def held(self, character):
        return character._held

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        _attach_portraits(changelist.result_list)
        return changelist


def _attach_portraits(characters):
    ids = [c.pk for c in characters]
    portraits = {}
    for character_id, asset_id in (
        VisualAsset.objects.filter(
            character_id__in=ids, category="identity", asset_status="active"
        )
        .order_by("character_id", "created_at", "id")
        .values_list("character_id", "id")
    ):
        portraits.setdefault(character_id, asset_id)
    for character in characters:
        character._portrait = portraits.get(character.pk)
