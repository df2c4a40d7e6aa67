"""Celery tasks of the `webhooks` queue (routed in settings): thin wrappers.

acks_late with reject_on_worker_lost: a worker killed mid-delivery gives its message
back, and the redelivered task takes the delivery over once the attempt's lease ends
(hooks.services.delivery_attempt), so every event is delivered at least once.
"""

from celery import shared_task

from . import services

# Delays up to this long wait in the broker as a countdown; longer ones are sent by
# the due sweep (a broker holds an unacknowledged ETA message only so long).
COUNTDOWN_MAX_SECONDS = 300


@shared_task(
    bind=True,
    name="hooks.tasks.deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def deliver(self, delivery_id: str) -> None:
    """Make the delivery's due attempt, then queue the next look if it is soon."""
    after = services.delivery_attempt(delivery_id)
    # An eager run (tests) has no countdown: it would look again at once, in a loop.
    if (
        after is not None
        and not self.request.is_eager
        and after.seconds <= COUNTDOWN_MAX_SECONDS
    ):
        services.enqueue_later(delivery_id, after.seconds)


@shared_task(
    name="hooks.tasks.deliveries_enqueue_due",
    acks_late=True,
    ignore_result=True,
)
def deliveries_enqueue_due() -> int:
    """Queue overdue deliveries (beat schedule)."""
    return services.deliveries_enqueue_due()
