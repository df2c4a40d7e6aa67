"""Admin for accounts, keys, characters, versions and sessions.

The admin is one more interface onto the services: a character is created and changed
through characters.services (an anchors edit makes a new version, never mutates one),
keys are minted through characters.keys and shown once, sessions exit through the
service. Everything else here is read-only. The visuals app extends CharacterAdmin with
what it owns (the identity portrait, held candidates) and registers the usage ledger.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from loreos.admin_readonly import ReadOnlyAdminMixin, list_time
from loreos.api.ids import is_uuid

from . import services
from .anchors import NOT_AN_OBJECT, usable_visual_anchors, value_problems
from .keys import api_key_create, api_key_revoke
from .models import (
    Account,
    ApiKey,
    Character,
    CharacterVersion,
    Session,
    SessionEvent,
)

admin.site.site_header = "LoreOS administration"
admin.site.site_title = "LoreOS admin"
admin.site.index_title = "Accounts, characters and visual identity"
admin.site.site_url = "/curate/"

# The contract's own words: why a list breaks selfies.
LIST_BREAKS_SELFIES = (
    "identity_anchors must be an object (dict) of visual keys, not a list. "
    "A list-shaped identity_anchors passes authoring readiness but makes "
    "visual-readiness report identity_anchors: missing and causes selfie generation "
    "to fail with "
    "“non-bootstrap selfie requires a self visual reference.”"
)
ANCHORS_HELP = (
    "A JSON object. The engine reads visual_summary, hair, style_constants (a list) "
    "and avoid_visual_changes (a list); other descriptive keys are carried through. "
    "Saving a change creates and activates a new character version."
)


def validate_identity_anchors(value) -> dict:
    """The dict shape the image pipeline reads; raise ValidationError with the fix."""
    if isinstance(value, list):
        raise ValidationError(LIST_BREAKS_SELFIES, code="list")
    if not isinstance(value, dict):
        raise ValidationError(NOT_AN_OBJECT, code="shape")
    if not usable_visual_anchors(value):
        raise ValidationError(
            "An empty object makes visual-readiness report identity_anchors: missing; "
            "add at least visual_summary.",
            code="empty",
        )
    problems = value_problems(value)
    if problems:
        raise ValidationError("; ".join(problems) + ".", code="values")
    return value


class PrettyJSONField(forms.JSONField):
    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


def anchors_field(**kwargs):
    return PrettyJSONField(
        required=False,
        help_text=ANCHORS_HELP,
        widget=forms.Textarea(
            attrs={"rows": 12, "cols": 80, "class": "vLargeTextField"}
        ),
        **kwargs,
    )


class CharacterAddForm(forms.ModelForm):
    identity_anchors = anchors_field()

    class Meta:
        model = Character
        fields = ["account", "slug", "name", "monthly_budget"]

    def clean_identity_anchors(self):
        value = self.cleaned_data.get("identity_anchors")
        return None if value in (None, "") else validate_identity_anchors(value)


class CharacterChangeForm(forms.ModelForm):
    identity_anchors = anchors_field()

    class Meta:
        model = Character
        fields = ["name", "monthly_budget"]

    def __init__(self, *args, anchors_from=None, **kwargs):
        super().__init__(*args, **kwargs)
        version = self.instance.active_version
        current = version.identity_anchors if version else None
        self.fields["identity_anchors"].initial = current
        if anchors_from is not None and not self.is_bound:
            # "Start a new version from these anchors" on an older version's page.
            self.initial["identity_anchors"] = anchors_from.identity_anchors
        if isinstance(current, list):
            self.fields["identity_anchors"].help_text = format_html(
                '<span class="anchors-warning"><strong>The active version has a list.'
                "</strong> {}</span>{}",
                LIST_BREAKS_SELFIES,
                ANCHORS_HELP,
            )

    def clean_identity_anchors(self):
        value = self.cleaned_data.get("identity_anchors")
        if value in (None, ""):
            if self.fields["identity_anchors"].initial:
                raise ValidationError(
                    "Clearing identity_anchors makes visual-readiness report "
                    "identity_anchors: missing and stops selfie generation. Keep an "
                    "object "
                    "of visual keys."
                )
            return None
        return validate_identity_anchors(value)


class VersionInline(admin.TabularInline):
    model = CharacterVersion
    fields = ["version", "anchors_shape", "thresholds", "created_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-number"]
    verbose_name_plural = "Version history (newest first; versions are immutable)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Version")
    def version(self, version):
        return format_html(
            '<a href="{}">v{}</a>',
            reverse("admin:characters_characterversion_change", args=[version.pk]),
            version.number,
        )

    @admin.display(description="identity_anchors")
    def anchors_shape(self, version):
        return anchors_shape(version.identity_anchors)

    @admin.display(description="Thresholds")
    def thresholds(self, version):
        t = version.behavioral_thresholds or {}
        return (
            f"proactivity {t.get('image_proactivity', 0)}"
            f" · comfort {t.get('selfie_comfort', 0)}"
            f" · cap {t.get('daily_image_cap', 0)}/day · cooldown "
            f"{t.get('image_cooldown_seconds', 0)} s"
        )


def anchors_shape(anchors):
    if usable_visual_anchors(anchors):
        return format_html(
            '<span style="color:#2b8a3e">object · {} keys</span>', len(anchors)
        )
    if isinstance(anchors, list) and anchors:
        return format_html(
            '<span style="color:#c92a2a" title="{}">'
            "list · {} items — breaks selfies</span>",
            LIST_BREAKS_SELFIES,
            len(anchors),
        )
    return "—"


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "credit_cap",
        "character_count",
        "curator_count",
        "created_at",
    ]
    search_fields = ["name"]
    filter_horizontal = ["curators"]
    fields = ["name", "credit_cap", "curators"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _characters=Count("characters", distinct=True),
                _curators=Count("curators", distinct=True),
            )
        )

    @admin.display(description="Characters", ordering="_characters")
    def character_count(self, account):
        return account._characters

    @admin.display(description="Curators", ordering="_curators")
    def curator_count(self, account):
        return account._curators


class MintKeyForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.all())
    kind = forms.ChoiceField(choices=ApiKey.Kind.choices, initial=ApiKey.Kind.DEVELOPER)
    name = forms.CharField(
        required=False, max_length=100, help_text="Who or what uses it."
    )


class RevokedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "account",
        "kind",
        "name",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["kind", RevokedFilter, "account"]
    search_fields = ["prefix", "name", "account__name"]
    list_select_related = ["account"]
    readonly_fields = [
        "account",
        "kind",
        "prefix",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected keys", permissions=["revoke"])
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key)
        self.message_user(
            request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS
        )

    def has_revoke_permission(self, request):
        return (
            request.user.has_perm("characters.change_apikey")
            or request.user.is_superuser
        )

    def add_view(self, request, form_url="", extra_context=None):
        """Mint a key through characters.keys; show its plaintext once, never again."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = MintKeyForm(request.POST or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": "Mint an API key",
        }
        if request.method == "POST" and form.is_valid():
            api_key, raw = api_key_create(**form.cleaned_data)
            self.log_addition(request, api_key, [{"added": {}}])
            context.update(api_key=api_key, raw=raw, title="API key minted")
            response = TemplateResponse(
                request, "admin/characters/apikey/minted.html", context
            )
            response["Cache-Control"] = "no-store"
            return response
        return TemplateResponse(request, "admin/characters/apikey/mint.html", context)


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = [
        "slug",
        "name",
        "account",
        "version_number",
        "anchors",
        "monthly_budget",
    ]
    list_filter = ["account"]
    search_fields = ["slug", "name", "account__name"]
    list_select_related = ["account", "active_version"]
    readonly_fields = ["curate_link", "active_version", "created_at", "updated_at"]
    inlines = [VersionInline]

    class Media:
        css = {"all": ["curate/admin.css"]}

    def has_delete_permission(self, request, obj=None):
        # No service deletes a character (the contract has no such call): one rulebook.
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["account", "slug", "name", "monthly_budget", "identity_anchors"]
        return [
            "curate_link",
            "name",
            "monthly_budget",
            "identity_anchors",
            "active_version",
            "created_at",
            "updated_at",
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CharacterAddForm
            return super().get_form(request, obj, change=change, **kwargs)
        kwargs["form"] = CharacterChangeForm
        base = super().get_form(request, obj, change=change, **kwargs)
        source = request.GET.get("anchors_from")
        version = (
            CharacterVersion.objects.filter(character=obj, pk=source).first()
            if source and is_uuid(source)
            else None
        )

        class Form(base):
            def __init__(self, *args, **kw):
                super().__init__(*args, anchors_from=version, **kw)

        return Form

    def save_model(self, request, obj, form, change):
        """Write through characters.services; an anchors change is a new version."""
        data = form.cleaned_data
        if not change:
            profile = {}
            if data.get("identity_anchors") is not None:
                profile["identity_anchors"] = data["identity_anchors"]
            created = services.character_create(
                account=data["account"],
                slug=data["slug"],
                name=data["name"],
                monthly_budget=data.get("monthly_budget"),
                profile=profile,
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        updates = {
            field: data[field]
            for field in ("name", "monthly_budget")
            if field in form.changed_data
        }
        if "identity_anchors" in form.changed_data:
            previous = obj.active_version.profile if obj.active_version else {}
            updates["profile"] = {
                **previous,
                "identity_anchors": data["identity_anchors"],
            }
        if updates:
            services.character_update(account=obj.account, slug=obj.slug, **updates)
        obj.refresh_from_db()

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj else []

    @admin.display(description="Version", ordering="active_version__number")
    def version_number(self, character):
        return (
            f"v{character.active_version.number}" if character.active_version else "—"
        )

    @admin.display(description="identity_anchors")
    def anchors(self, character):
        version = character.active_version
        return anchors_shape(version.identity_anchors if version else None)

    @admin.display(description="Curator page")
    def curate_link(self, character):
        return format_html(
            '<a href="{}">Open the curator page</a>',
            reverse("curate:character", args=[character.pk]),
        )


@admin.register(CharacterVersion)
class CharacterVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Versions are immutable: view them, or start a new version from their anchors."""

    list_display = ["character", "number", "anchors", "is_active", "created_at"]
    list_filter = ["character__account"]
    search_fields = ["character__slug", "character__name"]
    list_select_related = ["character", "character__account"]
    fields = [
        "character",
        "number",
        "anchors",
        "anchors_json",
        "behavioral_thresholds_json",
        "new_version_link",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="identity_anchors")
    def anchors(self, version):
        return anchors_shape(version.identity_anchors)

    @admin.display(description="Active", boolean=True)
    def is_active(self, version):
        return version.character.active_version_id == version.pk

    @admin.display(description="identity_anchors (JSON)")
    def anchors_json(self, version):
        return format_html(
            "<pre>{}</pre>",
            json.dumps(version.identity_anchors, indent=2, ensure_ascii=False),
        )

    @admin.display(description="behavioral_thresholds")
    def behavioral_thresholds_json(self, version):
        return format_html(
            "<pre>{}</pre>", json.dumps(version.behavioral_thresholds, indent=2)
        )

    @admin.display(description="Edit")
    def new_version_link(self, version):
        url = reverse("admin:characters_character_change", args=[version.character_id])
        return format_html(
            '<a class="button" href="{}?anchors_from={}">'
            "Start a new version from these "
            "anchors</a> (versions never change; saving creates v-next)",
            url,
            version.pk,
        )


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["id", "character", "status", "last_seq", "opened", "exited"]
    list_filter = ["status", "character__account"]
    search_fields = ["id", "character__slug"]
    list_select_related = ["character"]
    readonly_fields = [
        "id",
        "character",
        "status",
        "last_seq",
        "created_at",
        "exited_at",
    ]
    actions = ["exit_sessions"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Opened", ordering="created_at")
    def opened(self, session):
        return list_time(session.created_at)

    @admin.display(description="Exited", ordering="exited_at")
    def exited(self, session):
        return list_time(session.exited_at)

    @admin.action(description="Exit the selected sessions", permissions=["exit"])
    def exit_sessions(self, request, queryset):
        exited = 0
        for session in queryset.filter(status=Session.Status.OPEN):
            services.session_exit(session=session)
            exited += 1
        self.message_user(
            request, f"Exited {exited} open session(s).", messages.SUCCESS
        )

    def has_exit_permission(self, request):
        return request.user.has_perm("characters.change_session")


@admin.register(SessionEvent)
class SessionEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["session", "seq", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["session__id", "type"]
    list_select_related = ["session"]
    readonly_fields = ["session", "seq", "type", "data", "created_at"]
    show_full_result_count = False
