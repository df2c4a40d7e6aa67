"""Enqueue: POST image-probe and POST inventory/generate (8 images), p50 and p95
latency, on the embedded default (SQLite + filesystem broker) and on PostgreSQL +
Redis, each while a worker consumes the queue with the slow fake backend (1 s) and with
the compositor. Target: p95 <= 50 ms everywhere, whatever the backend's speed."""

import contextlib
import json
import subprocess

from .. import infra
from ..load import Http, summarize
from ..results import Row, Scenario

TARGET_MS = 50.0
BATCH = {
    "categories": ["wardrobe", "accessory", "prop", "place"],
    "count_per_category": 2,
}


def _drive(base: str, key: str, seeded: dict, probes: int, batches: int) -> dict:
    http = Http(base, key)
    slug, session = seeded["slug"], seeded["session_id"]
    probe_body = {"probe_type": "identity_selfie", "session_id": session}
    batch_body = {**BATCH, "session_id": session}
    timings = {"probe": [], "batch": []}
    errors = []
    try:
        for _ in range(3):  # warm-up: imports, connections, the broker channel
            http.request(
                "POST", f"/v1/characters/{slug}/image-probe", json_body=probe_body
            )
        http.request(
            "POST", f"/v1/characters/{slug}/inventory/generate", json_body=batch_body
        )
        for i in range(max(probes, batches)):
            if i < probes:
                status, body, seconds = http.request(
                    "POST", f"/v1/characters/{slug}/image-probe", json_body=probe_body
                )
                timings["probe"].append(seconds)
                if status != 200:
                    errors.append(f"probe {status}: {str(body)[:200]}")
            if i < batches:
                status, body, seconds = http.request(
                    "POST",
                    f"/v1/characters/{slug}/inventory/generate",
                    json_body=batch_body,
                )
                timings["batch"].append(seconds)
                if status != 200 or body["data"]["queued"] != 8:
                    errors.append(f"batch {status}: {str(body)[:200]}")
    finally:
        http.close()
    return {
        "probe": summarize(timings["probe"]),
        "batch": summarize(timings["batch"]),
        "errors": errors[:5],
    }


def _clear_queue(config: infra.Config) -> None:
    if config.env.get("CELERY_BROKER_URL", "").startswith("redis"):
        infra.flush_redis()
    else:
        for item in (config.var_dir / "broker" / "queue").glob("*"):
            item.unlink(missing_ok=True)


def run(ctx) -> Scenario:
    sc = Scenario(
        "enqueue",
        "Enqueue: POST image-probe and inventory/generate (8 images)",
        "gunicorn on the embedded default (SQLite + filesystem broker) and on "
        "PostgreSQL + Redis, a worker consuming meanwhile",
    )
    probes, batches = (20, 8) if ctx.quick else (60, 20)

    embedded_dir = infra.new_var_dir("embedded")
    embedded = infra.embedded_config(embedded_dir)
    try:
        out = subprocess.run(
            [infra.PY, "-m", "benchmarks.embedded"],
            cwd=infra.ROOT,
            env=embedded.child_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        embedded_seed = json.loads(out.stdout.strip().splitlines()[-1])
        pg_seed = {"slug": ctx.generation.slug, "session_id": ctx.generation.session_id}

        plans = [
            (embedded, embedded_seed["key"], embedded_seed, None),
            (ctx.pg, ctx.key, pg_seed, ctx.server),
        ]
        for config, key, seeded, server in plans:
            own_server = server is None
            server = (
                server
                or infra.Gunicorn(
                    config, ctx.logs / "gunicorn-embedded.log"
                ).__enter__()
            )
            try:
                for backend, label in (
                    (None, "no worker (reference: the POST alone)"),
                    ("bench-slow", "worker on slow fake backend (1 s)"),
                    ("compositor", "worker on compositor"),
                ):
                    _clear_queue(config)
                    log = ctx.logs / f"worker-enqueue-{backend}-{len(sc.rows)}.log"
                    worker = (
                        infra.CeleryWorker(config, log, concurrency=1, backend=backend)
                        if backend
                        else contextlib.nullcontext()
                    )
                    with worker:
                        server.wait_idle()
                        measured = _drive(server.base, key, seeded, probes, batches)
                    _clear_queue(config)
                    for what, name in (
                        ("probe", "POST image-probe"),
                        ("batch", "POST inventory/generate (8)"),
                    ):
                        stats = measured[what]
                        sc.add(
                            Row(
                                f"{name} — {config.name}, {label}",
                                stats["p95_ms"],
                                "ms p95",
                                "p95 ≤ 50 ms" if backend else "info",
                                (
                                    stats["p95_ms"] <= TARGET_MS
                                    and not measured["errors"]
                                )
                                if backend
                                else None,
                                detail={**stats, "errors": measured["errors"]},
                            )
                        )
                        sc.rows[-1].detail["p50_ms"] = stats["p50_ms"]
                    if measured["errors"]:
                        sc.notes.append(
                            f"{config.name} / {label}: errors {measured['errors']}"
                        )
            finally:
                if own_server:
                    server.__exit__(None, None, None)
    finally:
        infra.remove_var_dir(embedded_dir)
    for row in sc.rows:
        row.case += f" (p50 {row.detail['p50_ms']} ms, n={row.detail['n']})"
    sc.notes.append(
        f"Sequential requests on one keep-alive connection ({probes} probes and "
        f"{batches} "
        "batches interleaved, after a warm-up), while one worker process consumes the "
        "same "
        "queue; the POST answers once the rows are committed and the tasks sent. "
        "Throttle "
        "left on at a rate the run never reaches."
    )
    return sc
