"""The Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery

from .logging import connect_task_context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loreos.settings")

app = Celery("loreos")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender, **kwargs):
    """The filesystem broker (embedded default) needs its folders before a send."""
    if str(sender.conf.broker_url).startswith("filesystem"):
        options = sender.conf.broker_transport_options or {}
        for key in (
            "data_folder_in",
            "data_folder_out",
            "processed_folder",
            "control_folder",
        ):
            if options.get(key):
                os.makedirs(options[key], exist_ok=True)


connect_task_context()
