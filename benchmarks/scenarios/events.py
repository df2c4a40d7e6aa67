"""Event log: GET /v1/sessions/{id}/events?since=N with 1,000 and 1,000,000 events in
the session. Target: latency(1,000,000) / latency(1,000) <= 1.5, read from the middle
of the log and from its tail (the usual poll)."""

import statistics

from ..load import hammer
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
        "gunicorn on PostgreSQL",
    )
    small, large = ctx.event_logs[1_000], ctx.event_logs[1_000_000]
    headers = {"Authorization": f"Bearer {ctx.key}"}
    base = ctx.server.base
    seconds = 1.0
    rounds = 3 if ctx.quick else 6

    def measure(seeded, since, secs):
        path = f"/v1/sessions/{seeded.session_id}/events?since={since}"
        ctx.server.wait_idle()
        # One connection: latency without queueing behind other requests.
        return hammer(f"{base}{path}", headers=headers, seconds=secs, connections=1)

    for where, pick in (
        ("middle", lambda n: n // 2),
        ("tail (last 50)", lambda n: n - 50),
    ):
        details = {}
        for label, seeded in (("small", small), ("large", large)):
            since = pick(seeded.size)
            path = f"/v1/sessions/{seeded.session_id}/events?since={since}"
            status, queries, size, _etag = count_queries(path, ctx.key)
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
        p50_small = statistics.median(r.p50_ms for r in samples["small"])
        p50_large = statistics.median(r.p50_ms for r in samples["large"])
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
                detail={k: [r.as_dict() for r in v] for k, v in samples.items()}
                | {"checks": details},
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
        f"Latency: one keep-alive connection, {rounds} rounds of {seconds:g} s per "
        "size taken "
        "alternately; the figure is the median of the rounds' p50. Pages hold up to "
        "100 events."
    )
    return sc
