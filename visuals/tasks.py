"""Celery tasks: thin wrappers that pass an id to the engine.

Reliability: acks_late with reject_on_worker_lost, so a message whose worker dies is
redelivered, not lost; time limits on the task (the same settings as the global ones:
the worker fixes a task's limits when it loads the task). The engine's claim makes a
redelivery harmless (see visuals.engine.lifecycle).
"""

from celery import shared_task
from django.conf import settings

from . import engine


@shared_task(
    name="visuals.tasks.generate_image",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    ignore_result=True,
    binds_image_request_id=True,  # loreos.logging tags its log lines with the id
)
def generate_image(request_id: str) -> str | None:
    """Generate the image of one queued ImageRequest (idempotent)."""
    return engine.run(request_id)


@shared_task(
    name="visuals.tasks.check_remote_image",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=120,
    time_limit=150,
    ignore_result=True,
    binds_image_request_id=True,
)
def check_remote_image(
    request_id: str, attempt: int, checks: int = 0, unreachable: int = 0
) -> str | None:
    """Look once at the remote job of a generating request (it reschedules itself)."""
    return engine.remote_check(request_id, attempt, checks, unreachable)


@shared_task(
    name="visuals.tasks.sweep_stale_requests",
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    ignore_result=True,
)
def sweep_stale_requests() -> int:
    """Fail stuck requests and drop expired idempotency keys (the beat schedule)."""
    from characters.idempotency import idempotency_purge_expired

    idempotency_purge_expired()
    return engine.sweep_stale()
