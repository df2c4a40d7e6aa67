"""Event log: GET /v1/sessions/{id}/events?since=N with 1,000 and 1,000,000 events in
the session. Target: latency(1,000,000) / latency(1,000) <= 1.5, read from the middle
of the log and from its tail (the usual poll).

What is timed is the answer the view builds (the index scan, the page, its rendering):
a repeated poll is replayed by the read fast path (characters/read_cache.py) without
touching the log at all, so it is measured in-process with the kept answers cleared
before every request (the reads scenario measures the replays through gunicorn)."""

import statistics
import time

from ..results import Row, Scenario
from .reads import count_queries

TARGET = 1.5


def _plan(session_id: str, since: int) -> str:
    """The top plan node PostgreSQL chooses for the endpoint's query."""
    from characters.models import SessionEvent

    rows = SessionEvent.objects.filter(session_id=session_id, seq__gt=since).order_by(
        "seq"
    )[:101]
    sql, params = rows.query.sql_with_params()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        lines = [line[0] for line in cursor.fetchall()]
    scans = [
        line.strip().lstrip("-> ").split("  ")[0] for line in lines if "Scan" in line
    ]
    return "; ".join(scans) or lines[0]


def run(ctx) -> Scenario:
    sc = Scenario(
        "events",
        "Event log: events?since=N at 1,000 and 1,000,000 events",
        "in-process (Django's full request stack) on PostgreSQL, every answer built",
    )
    from django.test import Client

    from characters import read_cache

    small, large = ctx.event_logs[1_000], ctx.event_logs[1_000_000]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {ctx.key}")
    seconds = 1.0
    rounds = 3 if ctx.quick else 6

    def measure(seeded, since, secs) -> float:
        """p50 milliseconds of the built answer, one request after another."""
        path = f"/v1/sessions/{seeded.session_id}/events?since={since}"
        ctx.server.wait_idle()
        times, ends = [], time.perf_counter() + secs
        while time.perf_counter() < ends:
            read_cache.clear()
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    for where, pick in (
        ("middle", lambda n: n // 2),
        ("tail (last 50)", lambda n: n - 50),
    ):
        details = {}
        for label, seeded in (("small", small), ("large", large)):
            since = pick(seeded.size)
            path = f"/v1/sessions/{seeded.session_id}/events?since={since}"
            status, queries, _replayed, size, _etag = count_queries(path, ctx.key)
            details[label] = {
                "status": status,
                "queries": queries,
                "bytes": size,
                "plan": _plan(seeded.session_id, since),
            }
            measure(seeded, since, 1)  # warm-up
        # Alternate small and large in short rounds so drifting machine load hits both
        # alike; compare the median of each size's per-round p50.
        samples = {"small": [], "large": []}
        for _ in range(rounds):
            for label, seeded in (("small", small), ("large", large)):
                samples[label].append(measure(seeded, pick(seeded.size), seconds))
        p50_small = statistics.median(samples["small"])
        p50_large = statistics.median(samples["large"])
        ratio = p50_large / p50_small
        ok = ratio <= TARGET and all(d["status"] == 200 for d in details.values())
        sc.add(
            Row(
                f"since=N in the {where}: p50 latency at 1,000,000 events",
                p50_large,
                "ms",
                "≤ 1.5 × the 1,000-event latency",
                ok,
                floor=p50_small,
                floor_unit="ms (1,000 events)",
                ratio=ratio,
                detail={"p50_ms_per_round": samples, "checks": details},
            )
        )
        same = details["small"]["queries"] == details["large"]["queries"]
        sc.add(
            Row(
                f"since=N in the {where}: SQL queries per request (1,000 vs 1,000,000)",
                details["large"]["queries"],
                "queries",
                "identical",
                same,
                floor=details["small"]["queries"],
                floor_unit="queries",
            )
        )
        sc.notes.append(
            f"{where}: PostgreSQL plan at 1,000,000 events: {details['large']['plan']}."
        )
    sc.notes.append(
        f"Latency: in-process requests one after another (kept answers cleared before "
        f"each, so the view builds every one), {rounds} rounds of {seconds:g} s per "
        "size taken alternately; the figure is the median of the rounds' p50. Pages "
        "hold up to 100 events."
    )
    return sc
