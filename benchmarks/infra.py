"""The services a benchmark runs against: its own database, gunicorn and Celery workers.

Everything here is started by the harness and stopped by it (by process id), with
bounded waits, so `make bench` always ends by itself and leaves nothing running.
"""

import contextlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import load

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

PG_ADMIN_URL = os.environ.get(
    "BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
DB_NAME = os.environ.get("BENCH_DB_NAME", "loreos_bench")


# The caller's environment without what a configuration sets: each child process gets
# exactly its own configuration, whatever this process has set up for itself.
_CONFIG_KEYS = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "LOREOS_IMAGE_BACKEND",
}
BASE_ENV = {k: v for k, v in os.environ.items() if k not in _CONFIG_KEYS}


def database_url(name: str = DB_NAME) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL and Redis ------------------------------------------------------------


def create_database(name: str = DB_NAME) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str = DB_NAME) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str = REDIS_URL) -> None:
    """Empty the harness's own Redis database (a number nobody else uses)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def check_services() -> list[str]:
    """What is missing among the services `make bench` needs (empty when all are up)."""
    import psycopg
    import redis

    problems = []
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            pass
    except Exception as exc:
        problems.append(f"PostgreSQL at {PG_ADMIN_URL}: {exc}")
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        problems.append(f"Redis at {REDIS_URL}: {exc}")
    return problems


# --- Environments --------------------------------------------------------------------


@dataclass
class Config:
    """One server configuration: the environment gunicorn, workers and seeding share."""

    name: str
    env: dict
    var_dir: Path
    extra: dict = field(default_factory=dict)

    def child_env(self, **more) -> dict:
        return {**BASE_ENV, **self.env, **{k: str(v) for k, v in more.items()}}


def _common_env(var_dir: Path) -> dict:
    return {
        "DJANGO_SETTINGS_MODULE": "loreos.settings",
        "LOREOS_VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "LOREOS_BENCH_FLOOR": "1",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_ACCESSLOG": "",
        # Metered POSTs stay throttled, at a rate the benchmark never reaches.
        "LOREOS_METERED_THROTTLE": "1000000/min",
        "DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
    }


def services_config(var_dir: Path) -> Config:
    """Production-like: PostgreSQL, Redis as broker and cache, local file storage."""
    env = {
        **_common_env(var_dir),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CACHE_URL": REDIS_URL.replace("redis://", "rediscache://"),
        "CONN_MAX_AGE": "60",
    }
    return Config("postgresql+redis", env, var_dir)


def embedded_config(var_dir: Path) -> Config:
    """The embedded default: SQLite and the filesystem broker under a fresh var dir."""
    env = _common_env(var_dir)
    return Config("embedded (sqlite+filesystem broker)", env, var_dir)


def new_var_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"loreos-bench-{prefix}-"))
    for sub in ("media", "broker/queue", "broker/processed", "static"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def remove_var_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --- Processes -----------------------------------------------------------------------


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


# A sample is even when every worker process did at least this share of its work
# (Gunicorn.hammer); an uneven one is taken again, up to SAMPLE_TRIES times in all.
BALANCED_SHARE = 0.25
SAMPLE_TRIES = 4


def _ticks_of(pid: int) -> int:
    """CPU clock ticks (user + system) a process has used; 0 once it is gone."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    return 0


class Gunicorn:
    """gunicorn with the project's loreos/gunicorn_conf.py on a free loopback port."""

    # The production command (compose.yaml, the Dockerfile, `make run`).
    COMMAND = ["loreos.asgi:application", "-c", "loreos/gunicorn_conf.py"]
    # The web server before the event stream: gthread workers on the WSGI app.
    GTHREAD_COMMAND = [
        "loreos.wsgi",
        "-c",
        "loreos/gunicorn_conf.py",
        "--worker-class",
        "gthread",
        "--threads",
        "4",
    ]

    def __init__(
        self,
        config: Config,
        log: Path,
        workers: int | None = None,
        command: list[str] | None = None,
    ):
        self.command = command or self.COMMAND
        self.config = config
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.workers = workers
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        env = self.config.child_env(
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            LOREOS_PUBLIC_BASE_URL=self.base,
        )
        if self.workers:
            env["GUNICORN_WORKERS"] = str(self.workers)
        self._out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [PY, "-m", "gunicorn", *self.command],
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.proc.returncode}: {_tail(self.log)}"
                )
            try:
                with urllib.request.urlopen(
                    f"{self.base}/bench/floor", timeout=2
                ) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            self.__exit__(None, None, None)
            raise RuntimeError(
                f"gunicorn did not answer within 60 s: {_tail(self.log)}"
            )
        return self

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def worker_rss_kb(self) -> int:
        """Resident memory of the worker processes, summed (KiB)."""
        total = 0
        for pid in self.worker_pids():
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total

    def _cpu_ticks(self) -> int:
        return sum(_ticks_of(pid) for pid in [self.proc.pid, *self.worker_pids()])

    def hammer(
        self, url, *, headers=None, seconds: float = 3, connections: int = 8
    ) -> load.LoadResult:
        """load.hammer on this server once it is idle, taken again (up to
        SAMPLE_TRIES times in all) while one worker process did almost none of the work.

        The workers share one listening socket and keep each keep-alive connection
        they accept, so which worker takes wrk's few connections is chance: now and
        then one worker gets them all and the sample measures one process, about
        half the throughput whatever the endpoint. Such a sample measures that draw,
        not the endpoint; the result says its workers' shares and how many were
        taken again."""
        workers = self.worker_pids()
        for attempt in range(SAMPLE_TRIES):
            self.wait_idle()
            before = [_ticks_of(pid) for pid in workers]
            result = load.hammer(
                url, headers=headers, seconds=seconds, connections=connections
            )
            used = [
                _ticks_of(pid) - was for pid, was in zip(workers, before, strict=True)
            ]
            total = sum(used) or 1
            result.worker_shares = tuple(round(u / total, 2) for u in used)
            result.retakes = attempt
            if len(workers) < 2 or min(used) / total >= BALANCED_SHARE:
                break
        return result

    def wait_idle(self, max_wait: float = 30.0) -> float:
        """Wait until the server burns (almost) no CPU: requests a load generator left
        in flight must not be billed to the next measurement. Returns seconds waited."""
        started = time.monotonic()
        last = self._cpu_ticks()
        while time.monotonic() - started < max_wait:
            time.sleep(0.2)
            now = self._cpu_ticks()
            if now - last <= 2:  # ≤ 20 ms of CPU in 200 ms (clock ticks are 10 ms)
                break
            last = now
        return time.monotonic() - started

    def __exit__(self, *exc):
        if self.proc is not None:
            _stop(self.proc)
        self._out.close()


class CeleryWorker:
    """A Celery worker (prefork) started through benchmarks.worker, which can register
    the benchmark-only slow backend before the worker starts."""

    def __init__(
        self,
        config: Config,
        log: Path,
        *,
        concurrency: int,
        backend: str,
        env: dict | None = None,
    ):
        self.config = config
        self.log = log
        self.concurrency = concurrency
        self.backend = backend
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        env = self.config.child_env(
            LOREOS_BENCH_BACKEND=self.backend,
            LOREOS_BENCH_WORKER_LOG=str(self.log),
            **self.extra_env,
        )
        for suffix in (".ready", ".models", ".tasks", ".stages"):
            self.log.with_suffix(suffix).unlink(missing_ok=True)
        self._out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [PY, "-m", "benchmarks.worker", "--concurrency", str(self.concurrency)],
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        ready = self.log.with_suffix(".ready")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"celery worker exited with {self.proc.returncode}: "
                    f"{_tail(self.log)}"
                )
            if ready.exists():
                break
            time.sleep(0.2)
        else:
            self.__exit__(None, None, None)
            raise RuntimeError(
                f"celery worker not ready within 90 s: {_tail(self.log)}"
            )
        return self

    def per_process(self, what: str) -> dict[int, int]:
        """How many times each worker process finished a task (`tasks`) or loaded
        dlib's models (`models`)."""
        path = self.log.with_suffix(f".{what}")
        counts: dict[int, int] = {}
        if path.exists():
            for line in path.read_text().split():
                counts[int(line)] = counts.get(int(line), 0) + 1
        return counts

    def stages(self) -> list[dict]:
        """The pipeline stage timings the worker logged (see benchmarks.worker)."""
        import json

        path = self.log.with_suffix(".stages")
        if not path.exists():
            return []
        return [
            json.loads(line) for line in path.read_text().splitlines() if line.strip()
        ]

    def __exit__(self, *exc):
        if self.proc is not None:
            _stop(self.proc, timeout=20)
        self._out.close()
        self.log.with_suffix(".ready").unlink(missing_ok=True)


# --- Machine facts -------------------------------------------------------------------


def machine_info() -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(PG_ADMIN_URL) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        info["redis"] = client.info("server")["redis_version"]
        client.close()
    from importlib.metadata import version

    for dist in (
        "Django",
        "djangorestframework",
        "gunicorn",
        "celery",
        "Pillow",
        "dlib-bin",
    ):
        with contextlib.suppress(Exception):
            info[dist.lower()] = version(dist)
    info["wrk"] = shutil.which("wrk") is not None
    return info
