from django.urls import path

from .views import inventory, probes, runtime

urlpatterns: list = []

# Metered generation: probes, inventory batches, runtime images.
urlpatterns += [
    path("characters/<slug:slug>/image-probe", probes.ProbeView.as_view()),
    path("characters/<slug:slug>/image-probe/<str:probe_id>", probes.ProbeDetailView.as_view()),
    path("characters/<slug:slug>/inventory/generate", inventory.InventoryGenerateView.as_view()),
    path("characters/<slug:slug>/inventory/generations", inventory.InventoryGenerationsView.as_view()),
    path("sessions/<str:session_id>/images", runtime.RuntimeImageView.as_view()),
]
