from django.urls import path

from . import views
from .read_cache import fast_read, session_scope

urlpatterns = [
    path("characters", views.CharacterListView.as_view()),
    path("characters/<slug:slug>", views.CharacterDetailView.as_view()),
    path("characters/<slug:slug>/versions", views.VersionListView.as_view()),
    path("characters/<slug:slug>/readiness", views.LaunchReadinessView.as_view()),
    path("characters/<slug:slug>/sessions", views.SessionCreateView.as_view()),
    path("sessions/<str:session_id>", views.SessionDetailView.as_view()),
    path("sessions/<str:session_id>/exit", views.SessionExitView.as_view()),
    path(
        "sessions/<str:session_id>/events",
        fast_read(views.SessionEventsView.as_view(), session_scope),
    ),
    path("sessions/<str:session_id>/events/stream", views.session_events_stream),
]
