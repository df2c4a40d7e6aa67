from django.urls import path

from .views import assets, characters, reports, review, runs, stats, streams, thumbs

app_name = "curate"

urlpatterns = [
    path("", characters.character_list, name="characters"),
    path("characters/<uuid:pk>/", characters.character_detail, name="character"),
    path(
        "characters/<uuid:pk>/assets/",
        characters.character_assets,
        name="character-assets",
    ),
    path("characters/<uuid:pk>/probe", runs.run_probe, name="run-probe"),
    path("characters/<uuid:pk>/batch", runs.run_batch, name="run-batch"),
    path(
        "characters/<uuid:pk>/batches/<str:batch_id>.json",
        runs.batch_status,
        name="batch-status",
    ),
    path(
        "characters/<uuid:pk>/batches/<str:batch_id>/stream",
        streams.batch_stream,
        name="batch-stream",
    ),
    path("assets/<uuid:pk>/", assets.asset_detail, name="asset"),
    path("assets/<uuid:pk>/decide", assets.asset_action, name="asset-action"),
    path("review/", review.queue, name="review"),
    path("review/decide.json", review.decide, name="decide"),
    path("review/stats/", stats.review_stats, name="review-stats"),
    path("reports/", reports.report_list, name="reports"),
    path("reports/<uuid:pk>/", reports.report_detail, name="report"),
    path("reports/<uuid:pk>/status.json", reports.report_status, name="report-status"),
    path("reports/<uuid:pk>/stream", streams.report_stream, name="report-stream"),
    path("reports/<uuid:pk>/cancel", runs.cancel_request, name="report-cancel"),
    path(
        "characters/<uuid:pk>/batches/<str:batch_id>/cancel",
        runs.cancel_batch,
        name="batch-cancel",
    ),
    path("thumbs/a/<uuid:pk>/<int:size>", thumbs.asset_thumb, name="asset-thumb"),
    path("thumbs/r/<uuid:pk>/<int:size>", thumbs.request_thumb, name="request-thumb"),
]
