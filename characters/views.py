"""HTTP ↔ services for characters, versions, launch readiness and sessions."""

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import APIException, MethodNotAllowed, NotAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from loreos.api.conditional import conditional, conditional_response
from loreos.api.errors import ApiError, validation_error
from loreos.api.exceptions import exception_handler
from loreos.api.pagination import paginate
from loreos.api.responses import action, v0
from loreos.api.schema import ERRORS, ErrorEnvelope, v0_envelope

from . import readiness, selectors, services, streams
from .auth import ApiKeyAuthentication
from .serializers import (
    CharacterPatchSerializer,
    CharacterSerializer,
    CharacterWriteSerializer,
    EventSerializer,
    SessionSerializer,
    VersionSerializer,
    event_dict,
)


def _character_actions(slug):
    return [
        action(
            f"GET /v1/characters/{slug}/visual-readiness",
            "Check what selfies still need",
        ),
        action(
            f"POST /v1/characters/{slug}/visual-assets",
            "Upload the identity image (multipart, category=identity)",
        ),
        action(f"POST /v1/characters/{slug}/sessions", "Open a sandbox session"),
    ]


CONFLICT = OpenApiResponse(
    ErrorEnvelope, description="slug_taken: the account has this slug"
)
CharacterEnvelope = v0_envelope("CharacterEnvelope", CharacterSerializer())
SessionEnvelope = v0_envelope("SessionEnvelope", SessionSerializer())


class CharacterListView(APIView):
    @extend_schema(
        operation_id="characters_list",
        responses={
            200: v0_envelope(
                "CharacterListEnvelope", CharacterSerializer(many=True), paginated=True
            ),
            **ERRORS,
        },
        tags=["characters"],
    )
    def get(self, request):
        rows = selectors.character_list(request.account)
        page, pagination = paginate(rows, request)
        return conditional_response(
            request,
            v0(CharacterSerializer(page, many=True).data, pagination=pagination),
        )

    @extend_schema(
        request=CharacterWriteSerializer,
        responses={201: CharacterEnvelope, 409: CONFLICT, **ERRORS},
        tags=["characters"],
    )
    def post(self, request):
        body = CharacterWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        character = services.character_create(
            account=request.account, **body.validated_data
        )
        character = selectors.character_get(request.account, character.slug)
        return v0(
            CharacterSerializer(character).data,
            status=201,
            next_actions=_character_actions(character.slug),
        )


class CharacterDetailView(APIView):
    @extend_schema(responses={200: CharacterEnvelope, **ERRORS}, tags=["characters"])
    def get(self, request, slug):
        character = selectors.character_get(request.account, slug)
        return conditional_response(
            request,
            v0(
                CharacterSerializer(character).data,
                next_actions=_character_actions(slug),
            ),
        )

    @extend_schema(
        request=CharacterPatchSerializer,
        responses={200: CharacterEnvelope, **ERRORS},
        tags=["characters"],
    )
    def patch(self, request, slug):
        body = CharacterPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        character = services.character_update(
            account=request.account, slug=slug, **body.validated_data
        )
        return v0(
            CharacterSerializer(character).data, next_actions=_character_actions(slug)
        )


class VersionListView(APIView):
    @extend_schema(
        responses={
            200: v0_envelope(
                "VersionListEnvelope",
                VersionSerializer(many=True),
                paginated=True,
                active_version_id=serializers.UUIDField(),
            ),
            **ERRORS,
        },
        tags=["characters"],
    )
    def get(self, request, slug):
        character = selectors.character_get(request.account, slug)
        versions = selectors.character_version_list(character)
        page, pagination = paginate(versions, request)
        return conditional_response(
            request,
            v0(
                VersionSerializer(page, many=True).data,
                pagination=pagination,
                active_version_id=str(character.active_version_id),
            ),
        )


class LaunchReadinessView(APIView):
    @extend_schema(
        tags=["readiness"],
        responses={
            200: inline_serializer(
                name="LaunchReadiness",
                fields={
                    "status": serializers.CharField(
                        help_text="ready | ready_with_warnings | needs_attention"
                    ),
                    "checks": inline_serializer(
                        name="ReadinessCheck",
                        fields={
                            "id": serializers.CharField(),
                            "status": serializers.CharField(
                                help_text="ok | missing | weak | disabled"
                            ),
                            "summary": serializers.CharField(),
                            "fix": serializers.CharField(required=False),
                        },
                        many=True,
                    ),
                    "active_version_id": serializers.UUIDField(),
                },
            ),
            **ERRORS,
        },
    )
    def get(self, request, slug):
        character = selectors.character_get(request.account, slug)
        return conditional_response(
            request, Response(readiness.launch_readiness(character))
        )


class SessionCreateView(APIView):
    @extend_schema(
        request=None, responses={201: SessionEnvelope, **ERRORS}, tags=["sessions"]
    )
    def post(self, request, slug):
        character = selectors.character_get(request.account, slug)
        session = services.session_open(character=character)
        return v0(
            SessionSerializer(session).data,
            status=201,
            next_actions=[
                action(
                    f"POST /v1/characters/{slug}/image-probe",
                    "Run an image probe in it",
                ),
                action(
                    f"GET /v1/sessions/{session.id}/events?since=0",
                    "Read its event log",
                ),
            ],
        )


class SessionDetailView(APIView):
    @extend_schema(responses={200: SessionEnvelope, **ERRORS}, tags=["sessions"])
    def get(self, request, session_id):
        session = selectors.session_get(request.account, session_id)
        return conditional_response(request, v0(SessionSerializer(session).data))


class SessionExitView(APIView):
    @extend_schema(
        request=None, responses={200: SessionEnvelope, **ERRORS}, tags=["sessions"]
    )
    def post(self, request, session_id):
        session = selectors.session_get(request.account, session_id)
        session = services.session_exit(session=session)
        return v0(SessionSerializer(session).data)


def _int_param(request, name, default, low, high):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_error(name, "must be an integer") from None
    if not low <= value <= high:
        raise validation_error(name, f"must be between {low} and {high}")
    return value


class SessionEventsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since", int, description="return events with seq > since"
            ),
            OpenApiParameter(
                "limit", int, description="page size (default 100, max 1000)"
            ),
        ],
        responses={
            200: v0_envelope(
                "SessionEventsEnvelope",
                inline_serializer(
                    name="SessionEvents",
                    fields={
                        "session_id": serializers.UUIDField(),
                        "events": EventSerializer(many=True),
                        "next_since": serializers.IntegerField(),
                        "has_more": serializers.BooleanField(),
                    },
                ),
            ),
            **ERRORS,
        },
        tags=["sessions"],
    )
    def get(self, request, session_id):
        session = selectors.session_get(request.account, session_id)
        since = _int_param(request, "since", 0, 0, 2**62)
        limit = _int_param(request, "limit", settings.LOREOS_EVENTS_PAGE_LIMIT, 1, 1000)
        # Events are append-only and every append bumps the session's last_seq: the
        # page changes only when last_seq does.
        return conditional(
            request,
            (session.pk, session.last_seq),
            lambda: self._build(session, since, limit),
        )

    def _build(self, session, since, limit):
        events, has_more = selectors.session_events_since(session, since, limit)
        next_since = events[-1].seq if events else since
        return v0(
            {
                "session_id": str(session.id),
                "events": [event_dict(e) for e in events],
                "next_since": next_since,
                "has_more": has_more,
            },
            next_actions=[
                action(
                    f"GET /v1/sessions/{session.id}/events?since={next_since}",
                    "Read the events after these",
                )
            ],
        )


def _stream_after(request) -> int:
    """Where a stream resumes: after Last-Event-ID (a reconnecting EventSource sends
    it), else after ?since=N, else from the first event."""
    raw = request.headers.get("Last-Event-ID")
    name = "Last-Event-ID"
    if raw in (None, ""):
        raw, name = request.GET.get("since"), "since"
    if raw in (None, ""):
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise validation_error(name, "must be an integer") from None
    if not 0 <= value <= 2**62:
        raise validation_error(name, f"must be between 0 and {2**62}")
    return value


def _open_stream(request, session_id):
    """Authenticate exactly as every /v1 view does, find the session (another
    account's is a 404), read where to resume; None when nothing can follow."""
    authenticated = ApiKeyAuthentication().authenticate(request)
    if authenticated is None:
        raise NotAuthenticated("missing API key; send 'Authorization: Bearer <key>'")
    session = selectors.session_get(authenticated[0], session_id)
    after = _stream_after(request)
    if session.status == session.Status.EXITED and session.last_seq <= after:
        return None
    return str(session.pk), after


def _error(exc) -> HttpResponse:
    response = exception_handler(exc, {})
    if response is None:
        raise exc
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = "application/json"
    response.renderer_context = {}
    return response.render()


@csrf_exempt  # API-key auth, like every DRF view under /v1
async def session_events_stream(request, session_id):
    """GET /v1/sessions/{id}/events/stream: the session's events as Server-Sent Events
    (characters/streams.py; format and resume rules in docs/api-decisions.md)."""
    if request.method != "GET":
        response = _error(MethodNotAllowed(request.method))
        response["Allow"] = "GET"
        return response
    try:
        opened = await streams.request_db(request, _open_stream, request, session_id)
    except (ApiError, APIException) as exc:
        return _error(exc)
    if opened is None:
        # 204 tells an EventSource not to reconnect: the session has exited and every
        # event after the resume point has been sent.
        return HttpResponse(status=204)
    body = (
        streams.session_stream(*opened)
        if streams.served_by_asgi(request)
        else streams.session_stream_blocking(*opened)
    )
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
