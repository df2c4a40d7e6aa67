"""`make run`: migrate, ensure the demo account, start the web server and the workers.

The generation worker (with beat) consumes the `celery` queue; a second, threaded
worker consumes `webhooks` (deliveries).

All processes use the same SQLite file, media folder and filesystem broker under
var/. Ctrl-C stops them all.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loreos.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    port = os.environ.get("PORT", "8000")
    var = Path(settings.VAR_DIR)
    for sub in ("media", "broker/queue", "broker/processed", "static"):
        (var / sub).mkdir(parents=True, exist_ok=True)

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from characters.demo import demo_ensure

    demo = demo_ensure(var)

    env = {**os.environ, "LOREOS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "loreos.asgi:application",
            "-c",
            "loreos/gunicorn_conf.py",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        env=env,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "loreos",
            "worker",
            "--beat",
            "--queues",
            "celery",
            "--loglevel",
            "WARNING",
            "--concurrency",
            "2",
            "--schedule",
            str(var / "celerybeat-schedule"),
        ],
        env=env,
        # One machine: image generation must not slow the API down (measured by
        # benchmarks/: enqueue latency rose with a worker at the same priority).
        preexec_fn=lambda: os.nice(10),
    )
    # Webhook deliveries wait on other people's servers: their own small worker (one
    # process, threads), so a slow receiver never holds a generation slot.
    hooks = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "loreos",
            "worker",
            "--queues",
            "webhooks",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--hostname",
            "webhooks@%h",
            "--loglevel",
            "WARNING",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    print(
        "\n".join(
            [
                "",
                "LoreOS visual identity is running (embedded default: SQLite, "
                "local files,",
                "filesystem broker under var/). Ctrl-C stops the web server and "
                "the workers.",
                "",
                f"  base URL     {base}",
                f"  API docs     {base}/v1/docs",
                f"  curator UI   {base}/curate/   (user: {demo['username']}  "
                f"password: {demo['password']})",
                f"  admin        {base}/admin/",
                "",
                f"  export LOREOS_URL={base}",
                f"  export LOREOS_KEY={demo['key']}",
                "",
                "README.md walks through the API with curl from here.",
                "",
            ]
        ),
        flush=True,
    )

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, proc in (
            ("web server", web),
            ("worker", worker),
            ("webhook worker", hooks),
        ):
            if proc.poll() is not None:
                print(
                    f"the {name} exited with {proc.returncode}; stopping",
                    file=sys.stderr,
                )
                stopping, code = True, 1
        time.sleep(0.5)
    for proc in (web, worker, hooks):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in (web, worker, hooks):
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print("stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
