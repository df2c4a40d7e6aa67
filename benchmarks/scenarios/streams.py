"""Event streams: JSON API requests per second with 0 and with 500 idle subscribers of
GET /v1/sessions/{id}/events/stream open on the same server (the production command:
gunicorn + uvicorn workers, loreos.asgi). Target: with 500 streams open the API keeps
>= 80 % of its throughput with none, and the database work of the idle streams does not
grow with their number (one watcher query per process per poll, not one per stream).

The subscribers run in a process of their own (benchmarks/sse_clients.py, one asyncio
loop on raw sockets). Rounds alternate 0 and 500 streams so drifting machine load hits
both alike; the figures are the medians of the rounds.
"""

import statistics
import subprocess
import threading
import time

from ..infra import PY, ROOT, Gunicorn
from ..results import Row, Scenario

STREAMS = 500
TARGET = 0.8
CONNECTIONS = 8
IDLE_WINDOW = 12.0
FLUSH_LAG = 11.0


class Subscribers:
    """The subscriber process; lines it prints are collected by a reader thread."""

    def __init__(self, base: str, key: str, session_ids: list[str]):
        self.proc = subprocess.Popen(
            [PY, "-m", "benchmarks.sse_clients", base, key],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._opened = threading.Event()
        self.proc.stdin.write("\n".join(session_ids) + "\n")
        self.proc.stdin.close()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.strip())
            if line.startswith("open "):
                self._opened.set()

    def wait_open(self, timeout: float = 120) -> tuple[int, int]:
        if not self._opened.wait(timeout):
            raise RuntimeError("the subscribers did not all get an answer")
        words = next(x for x in self.lines if x.startswith("open ")).split()
        return int(words[1]), int(words[3])

    def arrivals(self, seq: int) -> dict[int, float]:
        """When event `seq` reached each subscriber (by index) that has received it."""
        seen = {}
        for line in list(self.lines):
            if line.startswith("event "):
                _, index, got, at = line.split()
                if int(got) == seq:
                    seen.setdefault(int(index), float(at))
        return seen

    def stop(self) -> int:
        """Stop; return how many keep-alive comments the subscribers received."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        time.sleep(0.2)
        found = [x for x in self.lines if x.startswith("comments ")]
        return int(found[-1].split()[1]) if found else -1


def _transactions() -> int:
    """Committed transactions of the benchmark database so far (pg_stat_database)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = "
            "current_database()"
        )
        return cursor.fetchone()[0]


def _db_rate(seconds: float) -> float:
    """Transactions per second over a quiet window. An idle backend reports its
    counters up to 10 s late, so the window opens only after that long with no load."""
    time.sleep(FLUSH_LAG)
    before = _transactions()
    time.sleep(seconds)
    after = _transactions()
    return (after - before - 2) / seconds  # minus this function's own two reads


def run(ctx) -> Scenario:
    from django.conf import settings as dj_settings

    poll = dj_settings.LOREOS_STREAM_POLL_SECONDS
    heartbeat = dj_settings.LOREOS_STREAM_HEARTBEAT_SECONDS

    from characters import services
    from characters.models import Session

    from .. import seed

    sc = Scenario(
        "streams",
        "Event streams: API throughput with 0 and 500 idle subscribers",
        "gunicorn + uvicorn workers, the production command (2 workers, 4 API "
        "threads each) on PostgreSQL",
    )
    char = seed.character(ctx.account, "streams")
    sessions = [str(services.session_open(character=char).pk) for _ in range(STREAMS)]
    headers = {"Authorization": f"Bearer {ctx.key}"}
    server = ctx.server
    endpoints = [
        ("DRF view + API-key auth (bench/auth-floor)", "/bench/auth-floor"),
        ("session detail", f"/v1/sessions/{sessions[0]}"),
        ("events page (since=0)", f"/v1/sessions/{sessions[0]}/events?since=0"),
    ]
    seconds = 2
    rounds = 2 if ctx.quick else 7

    def sample(path):
        return server.hammer(
            f"{server.base}{path}",
            headers=headers,
            seconds=seconds,
            connections=CONNECTIONS,
        )

    for _, path in endpoints:
        sample(path)  # warm-up
    samples = {name: {0: [], STREAMS: []} for name, _ in endpoints}
    opened_counts, extra = [], {}
    for round_no in range(rounds):
        for name, path in endpoints:
            samples[name][0].append(sample(path))
        rss_before = server.worker_rss_kb()
        subs = Subscribers(server.base, ctx.key, sessions)
        try:
            opened, failed = subs.wait_open()
            opened_counts.append((opened, failed))
            time.sleep(1)
            for name, path in endpoints:
                samples[name][STREAMS].append(sample(path))
            if round_no == 0:
                # Memory, database work and delivery with the streams open and idle.
                extra["rss_kb_per_stream"] = (
                    server.worker_rss_kb() - rss_before
                ) / max(opened, 1)
                server.wait_idle()
                extra["db_tx_per_s_500"] = _db_rate(IDLE_WINDOW)
                picked = list(range(0, STREAMS, STREAMS // 20))
                sent = {}
                for index in picked:
                    services.session_event_append(
                        Session.objects.get(pk=sessions[index]),
                        "bench.ping",
                        {"index": index},
                    )
                    sent[index] = time.time()
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    # session.opened is seq 1: the appended event is seq 2.
                    if set(picked) <= set(subs.arrivals(2)):
                        break
                    time.sleep(0.05)
                arrived = subs.arrivals(2)
                extra["delivered"] = sum(1 for i in picked if i in arrived)
                extra["delivery_ms"] = sorted(
                    (arrived[i] - sent[i]) * 1000 for i in picked if i in arrived
                )
        finally:
            extra.setdefault("comments", []).append(subs.stop())
    server.wait_idle()
    extra["db_tx_per_s_0"] = _db_rate(IDLE_WINDOW)

    all_open = all(o == STREAMS and f == 0 for o, f in opened_counts)
    for name, _ in endpoints:
        none = statistics.median(r.rps for r in samples[name][0])
        busy = statistics.median(r.rps for r in samples[name][STREAMS])
        errors = sum(r.errors for r in samples[name][STREAMS] + samples[name][0])
        # Each round's two samples are seconds apart: their ratio cancels most of the
        # machine's drift, which the medians of each side alone do not.
        ratio = statistics.median(
            b.rps / n.rps if n.rps else 0.0
            for n, b in zip(samples[name][0], samples[name][STREAMS], strict=True)
        )
        sc.add(
            Row(
                f"{name}: req/s with {STREAMS} idle streams open",
                busy,
                "req/s",
                "≥ 80 % of the rate with none",
                ratio >= TARGET and all_open and errors == 0,
                floor=none,
                floor_unit="req/s (0 streams)",
                ratio=ratio,
                detail={
                    str(k): [r.as_dict() for r in v] for k, v in samples[name].items()
                },
            )
        )
    workers = 2
    expected = workers / poll
    growth = extra["db_tx_per_s_500"] - extra["db_tx_per_s_0"]
    sc.add(
        Row(
            f"database transactions/s added by {STREAMS} idle streams (no API traffic)",
            growth,
            "tx/s",
            f"≤ 2 × workers / poll interval = {2 * expected:g} (not per stream)",
            growth <= 2 * expected,
            floor=extra["db_tx_per_s_0"],
            floor_unit="tx/s (0 streams)",
            detail={"window_s": IDLE_WINDOW, "with_streams": extra["db_tx_per_s_500"]},
        )
    )
    delivery = extra["delivery_ms"]
    sc.add(
        Row(
            "an appended event reaches its idle subscriber (20 of 500), p50",
            statistics.median(delivery) if delivery else None,
            "ms",
            "all delivered",
            extra["delivered"] == len(range(0, STREAMS, STREAMS // 20)),
            detail={"delivery_ms": [round(x, 1) for x in delivery]},
        )
    )
    sc.add(
        Row(
            "worker memory per open stream",
            extra["rss_kb_per_stream"],
            "KiB",
            "info",
            None,
        )
    )

    # The stack this replaced, for reference: gthread workers on the WSGI app, where
    # each open stream would hold one of the 2 × 4 threads.
    log = ctx.logs / "gunicorn-gthread.log"
    with Gunicorn(ctx.pg, log, command=Gunicorn.GTHREAD_COMMAND) as old:
        for name, path in endpoints:
            old.hammer(f"{old.base}{path}", headers=headers, seconds=1)
            rates = []
            for _ in range(rounds):
                rates.append(
                    old.hammer(
                        f"{old.base}{path}",
                        headers=headers,
                        seconds=seconds,
                        connections=CONNECTIONS,
                    ).rps
                )
            none = statistics.median(r.rps for r in samples[name][0])
            before = statistics.median(rates)
            sc.add(
                Row(
                    f"(reference) {name}: req/s on the previous stack "
                    "(gthread, loreos.wsgi), 0 streams",
                    before,
                    "req/s",
                    "info",
                    None,
                    floor=none,
                    floor_unit="req/s (uvicorn workers, 0 streams)",
                    ratio=before / none if none else None,
                )
            )
    sc.notes.append(
        f"{STREAMS} subscribers, one per session, from one asyncio process; "
        f"{'all' if all_open else 'NOT all'} answered 200 in every round "
        f"({opened_counts}). Load: wrk-style GETs on {CONNECTIONS} keep-alive "
        f"connections for {seconds} s per sample, {rounds} rounds alternating 0 and "
        f"{STREAMS} streams; figures are the medians of the rounds, the ratio is the "
        "median of the rounds' ratios (each round's pair of samples is seconds apart)."
    )
    sc.notes.append(
        "Database transactions: pg_stat_database.xact_commit of the benchmark "
        f"database over {IDLE_WINDOW:g} s with no API traffic (opened {FLUSH_LAG:g} s "
        "after the last load, as idle backends report late), with the streams open "
        "and after they closed; the watcher reads every watched session's "
        f"(last_seq, status) in one query each {poll:g}"
        " s per worker process."
    )
    sc.notes.append(
        "Keep-alive comments received by the subscribers per round: "
        f"{extra['comments']}"
        f" (one per stream every {heartbeat:g} s)."
    )
    return sc
