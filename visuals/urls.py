from django.urls import path

from characters.read_cache import character_scope, fast_read

from .views import (
    assets,
    cancels,
    generations,
    inventory,
    probes,
    provider_hooks,
    readiness,
    runtime,
)

urlpatterns: list = []

# Visual assets, visual readiness and the visual inventory. The polled reads go through
# fast_read (characters/read_cache.py): kept answers while nothing changed.
urlpatterns += [
    path("characters/<slug:slug>/visual-assets", assets.AssetCollectionView.as_view()),
    path(
        "characters/<slug:slug>/visual-assets/<str:asset_id>",
        assets.AssetDetailView.as_view(),
    ),
    path(
        "characters/<slug:slug>/visual-readiness",
        fast_read(readiness.VisualReadinessView.as_view(), character_scope),
    ),
    path(
        "characters/<slug:slug>/visual-inventory",
        fast_read(inventory.VisualInventoryView.as_view(), character_scope),
    ),
]

# Metered generation: probes, inventory batches, runtime images.
urlpatterns += [
    path("characters/<slug:slug>/image-probe", probes.ProbeView.as_view()),
    path(
        "characters/<slug:slug>/image-probe/<str:probe_id>",
        fast_read(probes.ProbeDetailView.as_view(), character_scope),
    ),
    path(
        "characters/<slug:slug>/inventory/generate",
        generations.InventoryGenerateView.as_view(),
    ),
    path(
        "characters/<slug:slug>/inventory/generations",
        fast_read(generations.InventoryGenerationsView.as_view(), character_scope),
    ),
    path("sessions/<str:session_id>/images", runtime.RuntimeImageView.as_view()),
]

# Cancel: a probe or an inventory generation, or every unfinished item of a batch.
urlpatterns += [
    path(
        "characters/<slug:slug>/image-probe/<str:probe_id>/cancel",
        cancels.ProbeCancelView.as_view(),
    ),
    path(
        "characters/<slug:slug>/inventory/batches/<str:batch_id>/cancel",
        cancels.BatchCancelView.as_view(),
    ),
]

# Hosted generators call back here when a job ends (verified signatures only).
urlpatterns += [
    path(
        "generators/<str:provider>/webhook",
        provider_hooks.GeneratorWebhookView.as_view(),
    ),
]
