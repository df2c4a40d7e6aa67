"""Batch throughput: wall time of one 8-image inventory batch (POST until every item is
terminal) with 1 and with 2 worker processes. Target: 2 workers >= 1.7 x faster.

The target is judged on the slow fake backend (1 s, I/O-bound like the OpenAI backend a
production worker waits on); the compositor (CPU-bound on this machine's two shared
cores) is reported beside it for information.
"""

import time

from .. import infra
from ..load import Http
from ..results import Row, Scenario

TARGET = 1.7
BATCH = {
    "categories": ["wardrobe", "accessory", "prop", "place"],
    "count_per_category": 2,
}
TERMINAL = {"ready", "failed", "blocked"}


def run_batch(http: Http, slug: str, session_id: str, *, images: int = 8) -> dict:
    body = dict(BATCH)
    if images != 8:
        body = {
            "categories": ["wardrobe", "accessory"][: min(images, 2)],
            "count_per_category": max(1, images // 2),
        }
    started = time.perf_counter()
    status, answer, _ = http.request(
        "POST",
        f"/v1/characters/{slug}/inventory/generate",
        json_body={**body, "session_id": session_id},
    )
    if status != 200:
        raise RuntimeError(f"inventory/generate answered {status}: {str(answer)[:300]}")
    ids = {item["request_id"] for item in answer["data"]["batch"] if item["request_id"]}
    deadline = started + 300
    states = {}
    while time.perf_counter() < deadline:
        _, page, _ = http.request(
            "GET", f"/v1/characters/{slug}/inventory/generations?limit=50"
        )
        states = {
            g["probe_id"]: g["state"]
            for g in page["data"]["generations"]
            if g["probe_id"] in ids
        }
        if len(states) == len(ids) and all(s in TERMINAL for s in states.values()):
            return {
                "seconds": time.perf_counter() - started,
                "states": sorted(states.values()),
            }
        time.sleep(0.05)
    raise RuntimeError(f"batch not finished after 300 s: {states}")


def run(ctx) -> Scenario:
    sc = Scenario(
        "batch",
        "Batch throughput: 8 images with 1 and 2 workers",
        "gunicorn on PostgreSQL + Redis broker, Celery prefork workers",
    )
    seeded = ctx.generation
    for backend, label, judged in (
        ("bench-slow", "slow fake backend (1 s)", True),
        ("compositor", "compositor (CPU-bound)", False),
    ):
        walls = {}
        for workers in (1, 2):
            infra.flush_redis()
            log = ctx.logs / f"worker-batch-{backend}-{workers}.log"
            with infra.CeleryWorker(
                ctx.pg, log, concurrency=workers, backend=backend
            ) as worker:
                http = Http(ctx.server.base, ctx.key)
                # Warm every worker process (models, connections) with one image each.
                run_batch(http, seeded.slug, seeded.session_id, images=2 * workers)
                ctx.server.wait_idle(5)
                walls[workers] = run_batch(http, seeded.slug, seeded.session_id)
                http.close()
                loads = worker.per_process("models")
                tasks = worker.per_process("tasks")
            sc.notes.append(
                f"{label}, {workers} worker process(es): "
                f"{walls[workers]['seconds']:.2f} s, "
                f"states {walls[workers]['states']}; images per process "
                f"{sorted(tasks.values())}, "
                f"dlib model loads per process {sorted(loads.values()) or [0]}."
            )
            if any(count > 1 for count in loads.values()):
                sc.notes.append(
                    f"{label}: a worker process loaded the models more than once: "
                    f"{loads}."
                )
        speedup = walls[1]["seconds"] / walls[2]["seconds"]
        sc.add(
            Row(
                f"{label}: 8-image batch, 2 workers vs 1",
                walls[2]["seconds"],
                "s (2 workers)",
                "≥ 1.7 × faster" if judged else "info (CPU-bound on 2 shared cores)",
                (speedup >= TARGET and all(s == "ready" for s in walls[2]["states"]))
                if judged
                else None,
                floor=walls[1]["seconds"],
                floor_unit="s (1 worker)",
                ratio=speedup,
                detail={"walls": walls},
            )
        )
    sc.notes.append(
        "Ratio = wall(1 worker) / wall(2 workers): the speed-up. Wall time runs from "
        "the POST "
        "until inventory/generations reports every item ready, failed or blocked "
        "(polled every "
        "50 ms). Before each timed batch, a warm-up batch gives every worker process "
        "one image."
    )
    return sc
