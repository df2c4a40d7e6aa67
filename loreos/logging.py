"""Structured logs: one JSON object a line, carrying the request id when there is one."""

import json
import logging
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
image_request_id_var: ContextVar[str | None] = ContextVar("image_request_id", default=None)


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        # django.request logs a 4xx/5xx after the middleware chain has returned, when the
        # context variable is already reset: take the id from the request it carries.
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
