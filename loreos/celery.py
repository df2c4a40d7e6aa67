"""The Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery

from .logging import connect_task_context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loreos.settings")

app = Celery("loreos")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
connect_task_context()
