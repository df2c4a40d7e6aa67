"""Point the Celery app at another broker for one test (real transports, not eager)."""

import os
from contextlib import contextmanager


def _reset_pools(app):
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@contextmanager
def use_broker(url, **transport_options):
    from loreos.celery import app

    saved = (
        app.conf.task_always_eager,
        app.conf.broker_url,
        app.conf.broker_transport_options,
    )
    # Celery reads CELERY_BROKER_URL from the environment before app.conf (the services
    # pass sets it), so the environment must name this broker too.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.task_always_eager = False
    app.conf.broker_url = url
    app.conf.broker_transport_options = transport_options
    _reset_pools(app)
    try:
        yield app
    finally:
        (
            app.conf.task_always_eager,
            app.conf.broker_url,
            app.conf.broker_transport_options,
        ) = saved
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        _reset_pools(app)
