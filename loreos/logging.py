"""Structured logs: one JSON object a line, with the request id when there is one."""

import json
import logging
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
image_request_id_var: ContextVar[str | None] = ContextVar(
    "image_request_id", default=None
)


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        # django.request logs a 4xx/5xx after the middleware chain has returned, when
        # the context variable is already reset: take the id from the request it
        # carries.
        request = getattr(record, "request", None)
        record.request_id = request_id_var.get() or getattr(request, "request_id", None)
        record.image_request_id = image_request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "image_request_id"):
            value = getattr(record, key, None)
            if value:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


# Celery tasks whose first argument is an ImageRequest id: everything logged while one
# runs carries that id as `image_request_id` (the worker's counterpart of request_id).
IMAGE_REQUEST_TASKS = frozenset({"visuals.tasks.generate_image"})


def _bind_image_request(task=None, args=None, kwargs=None, **_):
    if task is None or task.name not in IMAGE_REQUEST_TASKS:
        return
    request_id = (kwargs or {}).get("request_id") or (args[0] if args else None)
    image_request_id_var.set(str(request_id) if request_id else None)


def _unbind_image_request(task=None, **_):
    if task is not None and task.name in IMAGE_REQUEST_TASKS:
        image_request_id_var.set(None)


def connect_task_context() -> None:
    """Bind image_request_id around every image task (called by loreos.celery)."""
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(
        _bind_image_request, weak=False, dispatch_uid="loreos-bind-image-request"
    )
    task_postrun.connect(
        _unbind_image_request, weak=False, dispatch_uid="loreos-unbind-image-request"
    )
