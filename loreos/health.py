"""Load-balancer probes: /healthz (the process and its database) and /readyz (every
dependency)."""

import time

from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker():
    from loreos.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _storage():
    bucket_name = getattr(default_storage, "bucket_name", None)
    if bucket_name:
        # S3: a missing object is a plain False, so ask about the bucket itself.
        default_storage.connection.meta.client.head_bucket(Bucket=bucket_name)
    else:
        default_storage.exists("healthz-probe")


def _run(checks):
    results, ok = {}, True
    for name, probe in checks:
        started = time.perf_counter()
        try:
            probe()
            results[name] = {"ok": True}
        except Exception as exc:  # a probe reports any failure, it never raises
            ok = False
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": results},
        status=200 if ok else 503,
    )


def healthz(request):
    return _run([("database", _database)])


def readyz(request):
    return _run([("database", _database), ("broker", _broker), ("storage", _storage)])
