"""A Celery worker for the benchmarks: `python -m benchmarks.worker --concurrency N`.

It is the project's worker (same app, settings and tasks) with one addition: when
LOREOS_BENCH_BACKEND is `bench-slow`, the engine's backend lookup also knows the
benchmark-only slow fake backend (benchmarks.slow_backend), registered here by wrapping
visuals.engine.backends.get_backend, so no engine file carries benchmark code.
LOREOS_BENCH_BACKEND=compositor leaves the engine exactly as it is.
"""

import argparse
import os
import socket
import sys
from pathlib import Path


def _register_slow_backend() -> None:
    from visuals.engine import backends

    original = backends.get_backend

    def get_backend(name=None, options=None):
        from django.conf import settings

        if (name or settings.LOREOS_IMAGE_BACKEND) == "bench-slow":
            from .slow_backend import SlowBackend

            return SlowBackend()
        return original(name, options)

    # Replace the function wherever the engine bound it by name.
    import importlib
    import pkgutil

    import visuals.engine as engine

    for info in pkgutil.walk_packages(engine.__path__, "visuals.engine."):
        importlib.import_module(info.name)
    for name, module in list(sys.modules.items()):
        if (
            name.startswith("visuals")
            and getattr(module, "get_backend", None) is original
        ):
            module.get_backend = get_backend


def _count_model_loads(path: Path) -> None:
    """Append this process's id to `path` whenever dlib's models are loaded (the
    batch scenario checks: once per worker process, not once per image)."""
    from visuals import faces

    original = faces._Models.__init__

    def counted(self):
        original(self)
        with path.open("a") as out:
            out.write(f"{os.getpid()}\n")

    faces._Models.__init__ = counted


_STAGES = [
    ("visuals.engine.lifecycle", "claim", "claim"),
    ("visuals.engine.references", "choose", "references"),
    ("visuals.engine.judge", "pick_portrait", "portrait"),
    ("visuals.engine.pipeline", "build", "brief"),
    ("visuals.engine.outputs", "read_output", "decode output"),
    ("visuals.engine.outputs", "store", "store"),
    ("visuals.engine.judge", "judge", "judge"),
    ("visuals.engine.outputs", "produce_asset", "asset"),
    ("visuals.engine.pipeline", "session_event_append", "event"),
    ("visuals.engine.lifecycle", "record", "record"),
]


def _time_stages(path: Path) -> None:
    """Log the wall time of each pipeline stage (one JSON line each) by wrapping the
    engine's functions in this process only; `run` lines carry start and end times."""
    import functools
    import importlib
    import json
    import time

    current = {"id": None}

    def write(entry):
        with path.open("a") as out:
            out.write(
                json.dumps({"pid": os.getpid(), "request": current["id"], **entry})
                + "\n"
            )

    def timed(func, stage):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                write({"stage": stage, "ms": (time.perf_counter() - started) * 1000})

        return wrapper

    for module_name, attr, stage in _STAGES:
        module = importlib.import_module(module_name)
        setattr(module, attr, timed(getattr(module, attr), stage))

    from visuals import engine
    from visuals.engine import backends, pipeline

    run = pipeline.run

    @functools.wraps(run)
    def timed_run(request_id):
        current["id"] = str(request_id)
        started, wall = time.perf_counter(), time.time()
        try:
            return run(request_id)
        finally:
            write(
                {
                    "stage": "run",
                    "ms": (time.perf_counter() - started) * 1000,
                    "start": wall,
                    "end": time.time(),
                }
            )
            current["id"] = None

    engine.run = pipeline.run = timed_run
    get_backend = backends.get_backend

    def timed_get_backend(name=None, options=None):
        backend = get_backend(name, options)
        if hasattr(backend, "generate"):  # a remote job's backend time is not ours
            backend.generate = timed(backend.generate, "backend")
        return backend

    for name, module in list(sys.modules.items()):
        if (
            name.startswith("visuals")
            and getattr(module, "get_backend", None) is get_backend
        ):
            module.get_backend = timed_get_backend


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()

    backend = os.environ.get("LOREOS_BENCH_BACKEND", "compositor")
    os.environ["LOREOS_IMAGE_BACKEND"] = backend
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loreos.settings")
    import django

    django.setup()
    if backend == "bench-slow":
        _register_slow_backend()

    from celery.signals import task_postrun, worker_ready

    from loreos.celery import app

    log = os.environ.get("LOREOS_BENCH_WORKER_LOG")
    if log:
        _count_model_loads(Path(log).with_suffix(".models"))
        _time_stages(Path(log).with_suffix(".stages"))

        @task_postrun.connect
        def _done(**kwargs):
            with Path(log).with_suffix(".tasks").open("a") as out:
                out.write(f"{os.getpid()}\n")

    @worker_ready.connect
    def _ready(**kwargs):
        if log:
            Path(log).with_suffix(".ready").write_text(
                " ".join(["ready"] * args.concurrency)
            )

    app.worker_main(
        [
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(args.concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"bench-{os.getpid()}@{socket.gethostname()}",
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
