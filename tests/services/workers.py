"""Real Celery worker processes for the services pass.

A worker is `python -m celery -A loreos worker --pool prefork` in its own process group,
on the test's PostgreSQL database (pytest-django's test_<name>), media folder and
broker. With `delay`, it runs through tests/services/slow_worker.py instead, which makes
every compositor generation sleep first: a window to kill a worker mid-generation.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings

from visuals.models import ImageRequest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TERMINAL = {"succeeded", "failed", "blocked"}


def database_url(db: dict) -> str:
    """A DATABASE_URL for the database this test process uses (test_<name>)."""
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def worker_env(
    *, broker_url: str, visibility_timeout: int = 600, extra: dict | None = None
) -> dict:
    """The environment a worker machine would have, pointed at this test's resources."""
    db = settings.DATABASES["default"]
    drop = {"DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER", "PYTEST_CURRENT_TEST"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "loreos.settings",
            "DATABASE_URL": database_url(db),
            "CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker_url,
            "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "LOREOS_VAR_DIR": str(Path(settings.MEDIA_ROOT).parent / "worker-var"),
            "LOREOS_PUBLIC_BASE_URL": settings.LOREOS_PUBLIC_BASE_URL,
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


class Worker:
    def __init__(
        self,
        *,
        env: dict,
        log_dir: Path,
        delay: float | None = None,
        concurrency: int = 1,
    ):
        self.name = f"ci-{uuid.uuid4().hex[:8]}"
        self.env = dict(env)
        self.log_path = log_dir / f"{self.name}.log"
        self.delay = delay
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    @property
    def node(self) -> str:
        return f"{self.name}@{os.uname().nodename}"

    def start(self) -> "Worker":
        module = "tests.services.slow_worker" if self.delay else "celery"
        env = dict(self.env)
        if self.delay:
            env["LOREOS_TEST_GENERATION_DELAY"] = str(self.delay)
        command = [
            sys.executable, "-m", module, "-A", "loreos", "worker",
            "--pool", "prefork", "-c", str(self.concurrency),
            "-n", self.node, "--loglevel", "INFO",
            "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        self._log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, app, timeout: float = 90) -> "Worker":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"worker {self.name} exited early:\n{self.log_tail()}"
                )
            if app.control.ping(destination=[self.node], timeout=1.0):
                return self
        raise AssertionError(
            f"worker {self.name} never answered a ping:\n{self.log_tail()}"
        )

    def pool_children(self) -> list[int]:
        pid = self.process.pid
        try:
            return [
                int(p)
                for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            ]
        except OSError:
            return []

    def kill_pool_child(self) -> int:
        """SIGKILL the pool process running the task (the parent survives, re-forks)."""
        children = self.pool_children()
        assert children, f"worker {self.name} has no pool process:\n{self.log_tail()}"
        os.kill(children[0], signal.SIGKILL)
        return children[0]

    def kill(self) -> None:
        """SIGKILL the whole worker: its main process and its pool, with no warning."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # pool processes left behind
        except ProcessLookupError:
            pass
        if self.process.poll() is None:
            self.process.wait(timeout=30)
        self._log.close()

    def log(self) -> str:
        return (
            self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        )

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def tasks_succeeded(self) -> int:
        return sum(
            1
            for line in self.log().splitlines()
            if "visuals.tasks.generate_image[" in line and " succeeded in " in line
        )


def wait_for(predicate, *, timeout, workers=(), what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    logs = "\n\n".join(f"--- {w.name}\n{w.log_tail()}" for w in workers)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def statuses(ids):
    return dict(
        ImageRequest.objects.filter(pk__in=ids).values_list("pk", "request_status")
    )


def all_terminal(ids):
    current = statuses(ids)
    return len(current) == len(ids) and set(current.values()) <= TERMINAL
