"""Remote jobs: 2 worker processes track 50 ComfyUI jobs of 20 s each at once.

A remote job holds no worker (visuals.engine.remote): the worker submits, records the
handle and returns; short check tasks come back with a growing countdown. Against the
ComfyUI stand-in (loreos.devtools.comfyui_standin, 50 slots so the "GPU farm" runs every
prompt at once, 20 s per prompt), 50 probes are POSTed and the wall time runs until the
last report is final. A worker that slept on its job would need 50 × 20 s / 2 = 500 s;
the target is at most a fifth of that, with every probe ready and the stand-in seeing
all 50 prompts at once.
"""

import time

from loreos.devtools import comfyui_standin

from .. import infra
from ..load import Http
from ..results import Row, Scenario

JOBS, SECONDS, WORKERS = 50, 20.0, 2
BOUND = JOBS * SECONDS / WORKERS  # what sleeping workers would need
TARGET = 0.2
TERMINAL = {"ready", "failed", "blocked"}


def run(ctx) -> Scenario:
    sc = Scenario(
        "remote",
        "Remote jobs: 2 workers tracking 50 ComfyUI jobs of 20 s each",
        "gunicorn on PostgreSQL + Redis broker, 2 Celery prefork processes, the "
        "ComfyUI stand-in on loopback (50 slots, 20 s a prompt)",
    )
    server, state = comfyui_standin.serve(seconds=SECONDS, slots=JOBS)
    url = f"http://127.0.0.1:{server.server_port}"
    seeded = ctx.generation
    infra.flush_redis()
    log = ctx.logs / "worker-remote.log"
    try:
        with infra.CeleryWorker(
            ctx.pg,
            log,
            concurrency=WORKERS,
            backend="comfyui",
            env={"LOREOS_COMFYUI_URL": url},
        ) as worker:
            http = Http(ctx.server.base, ctx.key)
            started = time.perf_counter()
            ids = []
            for _ in range(JOBS):
                status, answer, _ = http.request(
                    "POST",
                    f"/v1/characters/{seeded.slug}/image-probe",
                    json_body={
                        "probe_type": "identity_selfie",
                        "session_id": seeded.session_id,
                    },
                )
                if status != 200:
                    raise RuntimeError(f"image-probe answered {status}: {answer}")
                ids.append(answer["data"]["probe_id"])
            posted = time.perf_counter() - started
            peak, states = 0, {}
            while time.perf_counter() - started < BOUND:
                with state.lock:
                    state.tick()
                    peak = max(peak, len(state.running))
                _, page, _ = http.request(
                    "GET", f"/v1/characters/{seeded.slug}/image-probe?limit=100"
                )
                states = {
                    p["probe_id"]: p["state"]
                    for p in page["data"]["probes"]
                    if p["probe_id"] in ids
                }
                if len(states) == JOBS and all(s in TERMINAL for s in states.values()):
                    break
                time.sleep(0.5)
            wall = time.perf_counter() - started
            http.close()
            tasks = worker.per_process("tasks")
    finally:
        server.shutdown()
    ready = sum(1 for s in states.values() if s == "ready")
    sc.add(
        Row(
            f"{JOBS} remote jobs of {SECONDS:.0f} s, {WORKERS} worker processes",
            wall,
            "s (wall)",
            f"≤ {TARGET:.0%} of {BOUND:.0f} s, all ready",
            wall <= TARGET * BOUND and ready == JOBS,
            floor=BOUND,
            floor_unit="s (50 × 20 s / 2 workers)",
            ratio=wall / BOUND,
            detail={
                "ready": ready,
                "states": sorted(states.values()),
                "peak_running_at_standin": peak,
                "posting_seconds": posted,
                "tasks_per_process": tasks,
            },
        )
    )
    sc.notes.append(
        f"{ready}/{JOBS} ready; the stand-in ran up to {peak} prompts at once; the 50 "
        f"POSTs took {posted:.1f} s; tasks per worker process (submits + checks) "
        f"{sorted(tasks.values())}. Checks come back after 2 s, growing ×1.5 up to "
        "20 s (LOREOS_REMOTE_*), so a 20 s job is seen done at its check at ≈ 26 s."
    )
    return sc
