"""Read endpoints: requests per second at 10, 1,000 and 10,000 assets/generations
against the bare floor view in the same gunicorn; SQL queries per request counted
in-process.

Target: >= 50 % of the floor's throughput at every size; queries per request identical
across sizes. Conditional GETs (If-None-Match with the ETag the endpoint gave): a 304
>= 80 % of the floor, in <= 2 queries at every size. While nothing is written the fast
path (characters/read_cache.py) replays a kept answer in 0 queries; the answer the view
builds after a write is counted and timed separately ("built").
"""

import statistics
from dataclasses import dataclass

from ..results import Row, Scenario

TARGET_SHARE = 0.5
TARGET_304_SHARE = 0.8
ROUNDS = 3  # samples of each case (and of the floor beside each), medians reported
ROUND_SECONDS = 1

ENDPOINTS = [
    ("visual-readiness", lambda d: f"/v1/characters/{d.slug}/visual-readiness"),
    ("visual-inventory", lambda d: f"/v1/characters/{d.slug}/visual-inventory"),
    ("probe report", lambda d: f"/v1/characters/{d.slug}/image-probe/{d.probe_id}"),
    (
        "inventory/generations (first page)",
        lambda d: f"/v1/characters/{d.slug}/inventory/generations",
    ),
    ("events page (since=0)", lambda d: f"/v1/sessions/{d.session_id}/events?since=0"),
]


def count_queries(path: str, key: str, etag: str | None = None) -> tuple:
    """(status, SQL queries when the view builds the answer, SQL queries when the fast
    path replays it, response bytes, ETag) of in-process GETs, after a warm-up; with
    `etag`, sent as If-None-Match."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from characters import read_cache

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    extra = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    client.get(path, **extra)
    read_cache.clear()  # this process keeps nothing: the next GET is built by the view
    with CaptureQueriesContext(connection) as built:
        response = client.get(path, **extra)
    with CaptureQueriesContext(connection) as replayed:
        client.get(path, **extra)
    return (
        response.status_code,
        len(built.captured_queries),
        len(replayed.captured_queries),
        len(response.content),
        response.get("ETag"),
    )


def cpu_per_request(
    path: str, key: str | None, budget: float = 0.4, *, built: bool = False
) -> float:
    """CPU milliseconds one in-process GET costs (this process: Django, ORM, driver),
    averaged over up to 20 requests or `budget` seconds of CPU, after a warm-up; with
    `built`, nothing is kept between requests (the view builds every answer, as after
    a write)."""
    import time

    from django.test import Client

    from characters import read_cache

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}") if key else Client()
    client.get(path)
    count, started = 0, time.process_time()
    while count < 20 and time.process_time() - started < budget:
        if built:
            read_cache.clear()
        client.get(path)
        count += 1
    return (time.process_time() - started) / count * 1000


def shared_cache_lookup(key: str, *, near: bool, budget: float = 0.3) -> float:
    """CPU milliseconds of what the fast path asks the shared cache per request: the
    key's row and a token, asked of Redis (get_many: one round trip) or, with `near`,
    as the fast path does (get_many_near: from memory, kept true by Redis)."""
    import time

    from django.core.cache import caches

    from characters.keys import api_key_cache_key
    from loreos.cache import get_many_near

    cache = caches["shared"]
    keys = [api_key_cache_key(key), "read:v:c:bench-probe"]

    def lookup():
        if near:
            return get_many_near(cache, keys, read_only=True)
        return cache.get_many(keys)

    lookup()
    count, started = 0, time.process_time()
    while count < 500 and time.process_time() - started < budget:
        lookup()
        count += 1
    return (time.process_time() - started) / count * 1000


def _sampler(ctx, seconds):
    def sample(url, hdrs=None, secs=seconds):
        return ctx.server.hammer(url, headers=hdrs, seconds=secs, connections=8)

    return sample


@dataclass
class _Rounds:
    """One case's samples over the rounds, each with the mean of the floor samples
    taken just before and just after it: medians of the rounds."""

    pairs: list

    @property
    def rps(self) -> float:
        return statistics.median(result.rps for result, _ in self.pairs)

    @property
    def floor(self) -> float:
        return statistics.median(floor for _, floor in self.pairs)

    @property
    def ratio(self) -> float:
        return statistics.median(result.rps / floor for result, floor in self.pairs)

    @property
    def errors(self) -> int:
        return sum(result.errors for result, _ in self.pairs)

    def as_dict(self) -> dict:
        return {
            "p50_ms": statistics.median(result.p50_ms for result, _ in self.pairs),
            "rounds": [
                {**result.as_dict(), "floor_rps": round(floor, 1)}
                for result, floor in self.pairs
            ],
        }


def run(ctx) -> Scenario:
    sc = Scenario(
        "reads",
        "Read endpoints: throughput and queries per request",
        "gunicorn (project conf: 2 workers × 4 threads) on PostgreSQL",
    )
    seconds = ctx.sample_seconds
    headers = {"Authorization": f"Bearer {ctx.key}"}
    base = ctx.server.base
    sample = _sampler(ctx, seconds)
    queries: dict[str, dict[int, int]] = {}
    queries_replayed: dict[str, dict[int, int]] = {}
    queries_304: dict[str, dict[int, int]] = {}
    built_304s: dict[str, dict[int, int]] = {}
    available: dict[str, bool] = {}
    cpu_notes: list[str] = []

    for size, seeded in sorted(ctx.read_chars.items()):
        measured = {}
        etags: dict[str, str] = {}
        for name, make_path in ENDPOINTS:
            path = make_path(seeded)
            status, n_queries, n_replayed, n_bytes, etag = count_queries(path, ctx.key)
            available[name] = available.get(name, True) and status == 200
            queries.setdefault(name, {})[size] = n_queries if status == 200 else None
            queries_replayed.setdefault(name, {})[size] = (
                n_replayed if status == 200 else None
            )
            measured[name] = (path, status, n_queries, n_bytes)
            if etag:
                status_304, built_304, n_304, _, _ = count_queries(path, ctx.key, etag)
                queries_304.setdefault(name, {})[size] = (
                    n_304 if status_304 == 304 else None
                )
                built_304s.setdefault(name, {})[size] = built_304
                etags[name] = etag
        cpu = {
            "bare floor": cpu_per_request("/bench/floor", None),
            "DRF + API key": cpu_per_request("/bench/auth-floor", ctx.key),
        }
        for name, (path, status, *_rest) in measured.items():
            if status == 200:
                cpu[name] = cpu_per_request(path, ctx.key)
                cpu[f"{name} (built)"] = cpu_per_request(path, ctx.key, built=True)
        cpu["key row + token asked of Redis (get_many, one round trip)"] = (
            shared_cache_lookup(ctx.key, near=False)
        )
        cpu["key row + token as the fast path looks them up (get_many_near)"] = (
            shared_cache_lookup(ctx.key, near=True)
        )
        cpu_notes.append(
            f"In-process CPU per request at {size:,} (ms): "
            + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
            + "."
        )
        # Warm every endpoint (connections, caches) before the timed samples.
        sample(f"{base}/bench/floor", secs=1)
        for path, status, *_rest in measured.values():
            if status == 200:
                sample(f"{base}{path}", headers, secs=1)

        # ROUNDS rounds of samples, each between two samples of the floor: a
        # sample's ratio is to the mean of those two, taken seconds apart, which
        # cancels most of the machine's drift; each row gives the median of its
        # rounds (a round disturbed by another process moves no figure).
        plan = [("auth", f"{base}/bench/auth-floor", headers)]
        plan += [
            (name, f"{base}{path}", headers)
            for name, (path, status, *_rest) in measured.items()
            if status == 200
        ]
        plan += [
            (
                f"{name} 304",
                f"{base}{measured[name][0]}",
                {**headers, "If-None-Match": etag},
            )
            for name, etag in etags.items()
        ]
        runs: dict[str, list] = {}
        for _ in range(1 if ctx.quick else ROUNDS):
            floors = [sample(f"{base}/bench/floor", secs=ROUND_SECONDS)]
            for key, url, hdrs in plan:
                result = sample(url, hdrs, secs=ROUND_SECONDS)
                floors.append(sample(f"{base}/bench/floor", secs=ROUND_SECONDS))
                floor = (floors[-2].rps + floors[-1].rps) / 2
                runs.setdefault(key, []).append((result, floor))
        summary = {key: _Rounds(pairs) for key, pairs in runs.items()}
        auth_floor = summary["auth"]
        results = {name: summary[name] for name in measured if name in summary}
        results_304 = {name: summary[f"{name} 304"] for name in etags}

        sc.add(
            Row(
                f"(reference) DRF view + API-key auth, no other work @ {size:,}",
                auth_floor.rps,
                "req/s",
                "info",
                None,
                floor=auth_floor.floor,
                floor_unit="req/s",
                ratio=auth_floor.ratio,
                detail={"load": auth_floor.as_dict()},
            )
        )
        for name, (path, status, n_queries, n_bytes) in measured.items():
            case = f"{name} @ {size:,}"
            if status != 200:
                sc.add(
                    Row(
                        case,
                        None,
                        "req/s",
                        "≥ 50 % of floor",
                        False,
                        detail={"status": status, "path": path},
                    )
                )
                continue
            res = results[name]
            ratio = res.ratio
            sc.add(
                Row(
                    case,
                    res.rps,
                    "req/s",
                    "≥ 50 % of floor",
                    ratio >= TARGET_SHARE and res.errors == 0,
                    floor=res.floor,
                    floor_unit="req/s",
                    ratio=ratio,
                    detail={
                        "path": path,
                        "queries": n_queries,
                        "queries_replayed": queries_replayed[name][size],
                        "response_bytes": n_bytes,
                        "load": res.as_dict(),
                    },
                )
            )

        for name, res in results_304.items():
            ratio = res.ratio
            sc.add(
                Row(
                    f"{name}: 304 (If-None-Match) @ {size:,}",
                    res.rps,
                    "req/s",
                    "≥ 80 % of floor",
                    ratio >= TARGET_304_SHARE and res.errors == 0,
                    floor=res.floor,
                    floor_unit="req/s",
                    ratio=ratio,
                    detail={
                        "path": measured[name][0],
                        "queries": queries_304.get(name, {}).get(size),
                        "queries_built": built_304s.get(name, {}).get(size),
                        "load": res.as_dict(),
                    },
                )
            )

    sizes = sorted(ctx.read_chars)
    for name, _ in ENDPOINTS:
        counts = queries_304.get(name, {})
        values = [counts.get(s) for s in sizes]
        ok = None not in values and len(set(values)) == 1 and values[0] <= 2
        sc.add(
            Row(
                f"{name}: SQL queries per 304 at {', '.join(f'{s:,}' for s in sizes)}",
                values[-1] if ok else None,
                "queries",
                "≤ 2, identical across sizes",
                ok,
                detail={
                    "by_size": dict(zip([str(s) for s in sizes], values, strict=True))
                },
            )
        )
        counts = queries_replayed.get(name, {})
        values = [counts.get(s) for s in sizes]
        ok = available.get(name) and values == [0] * len(sizes)
        sc.add(
            Row(
                f"{name}: SQL queries per replayed answer at "
                f"{', '.join(f'{s:,}' for s in sizes)}",
                values[-1] if ok else None,
                "queries",
                "0 (kept answer)",
                bool(ok),
                detail={
                    "by_size": dict(zip([str(s) for s in sizes], values, strict=True))
                },
            )
        )
        counts = queries.get(name, {})
        values = [counts.get(s) for s in sizes]
        same = available.get(name) and len(set(values)) == 1
        sc.add(
            Row(
                f"{name}: SQL queries per answer built by the view at "
                f"{', '.join(f'{s:,}' for s in sizes)}",
                values[-1] if same else None,
                "queries",
                "identical across sizes",
                bool(same),
                detail={
                    "by_size": dict(zip([str(s) for s in sizes], values, strict=True))
                },
            )
        )
        if not same:
            sc.notes.append(
                f"{name}: queries by size {values} (None: endpoint did not answer 200)."
            )
    for row in sc.rows:
        if "response_bytes" in row.detail and row.case.endswith(f"@ {sizes[-1]:,}"):
            sc.notes.append(
                f"{row.case}: {row.detail['queries']} queries, "
                f"{row.detail['response_bytes']:,} "
                f"bytes per response, p50 {row.detail['load']['p50_ms']} ms."
            )
    sc.notes.extend(cpu_notes)
    sc.notes.append(
        "Where a replayed answer's time goes (benchmarks/profile_reads.py): the fast "
        "path is the third middleware (characters/read_cache.py, "
        "ReadCacheMiddleware): after the request id and SecurityMiddleware it "
        "resolves the URL, reads the key's row and the scope's token from this "
        "process's memory (loreos/cache.py, get_many_near: Redis's client-side "
        "caching pushes every change of them to each process, so no request asks "
        "Redis; a non-blocking look at that socket is its one system call), finds "
        "the kept answer and builds the HttpResponse; the rest of the middleware, "
        "the view and DRF are skipped. So a replay costs less CPU than the bare "
        "floor, which goes through all nine middleware (see the CPU lines); what is "
        "left is the server's and Django's handling of any request. A 304 costs the "
        "same as a replayed 200 less the body bytes. Before (2026-11-30 05:43): the "
        "fast path sat inside the view and asked Redis once per request (the 'asked "
        "of Redis' CPU line, plus Redis's own time and two context switches), the "
        "304s at 0.42-0.90 of the floor; before loreos/cache.py kept one Redis pool "
        "per process, that round trip opened a new connection per request: 30-40 ms "
        "p50 under this load, the reads at 0.2-0.3 of the floor."
    )
    sc.notes.append(
        f"Each figure: the median of {ROUNDS} rounds; in each, {ROUND_SECONDS} s of "
        f"load over 8 keep-alive connections between two {ROUND_SECONDS} s samples of "
        "the bare view (the ratio is to their mean; the floor column is the median of "
        "those means), so a drift of the machine's load shows in both. A sample is "
        "taken again while one worker process did under a quarter of the work (the "
        "workers share one listening socket and keep the connections they accept, so "
        "now and then one worker gets all eight and the sample measures one process: "
        "about half the throughput, whatever the endpoint); each row's detail has "
        "every round, the workers' shares and the retakes. Query counts come "
        "from CaptureQueriesContext around one in-process request (after a warm-up "
        "request) on the same PostgreSQL database: 'built' "
        "with nothing kept in the process (the view answers, as after a write), "
        "'replayed' the next identical request (the fast path, characters/"
        "read_cache.py). The load samples repeat one URL with nothing written, so "
        "they measure the replayed answer; 'CPU (built)' is the cost after a write."
    )
    return sc
