from django.urls import path

from . import views

urlpatterns = [
    path("webhooks", views.WebhookListView.as_view()),
    path("webhooks/<str:webhook_id>", views.WebhookDetailView.as_view()),
    path("webhooks/<str:webhook_id>/rotate-secret", views.WebhookRotateView.as_view()),
    path("webhooks/<str:webhook_id>/deliveries", views.WebhookDeliveriesView.as_view()),
    path(
        "webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/replay",
        views.WebhookReplayView.as_view(),
    ),
]
