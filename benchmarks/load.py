"""Load generation: wrk when installed (C, cheap on a shared 2-core machine),
otherwise a small Python client (threads + http.client keep-alive). Both run for a
bounded time."""

import http.client
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

_WRK_SCRIPT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %f}\\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean))
end
"""


@dataclass
class LoadResult:
    rps: float
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    tool: str
    # Set by infra.Gunicorn.hammer: each worker process's share of the server's CPU
    # during the sample, and how many unbalanced samples were taken again before it.
    worker_shares: tuple = ()
    retakes: int = 0

    def as_dict(self) -> dict:
        return {
            **(
                {"worker_shares": self.worker_shares, "retakes": self.retakes}
                if self.worker_shares
                else {}
            ),
            "rps": round(self.rps, 1),
            "requests": self.requests,
            "errors": self.errors,
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "tool": self.tool,
        }


def tool() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def _wrk(url, headers, seconds, connections) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT)
    try:
        cmd = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
        ]
        for key, value in headers.items():
            cmd += ["-H", f"{key}: {value}"]
        out = subprocess.run(
            [*cmd, url],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
    finally:
        Path(script.name).unlink(missing_ok=True)
    data = json.loads(out.strip().splitlines()[-1])
    return LoadResult(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        requests=data["requests"],
        errors=data["errors"],
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        tool="wrk",
    )


def _python(url, headers, seconds, connections) -> LoadResult:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def run():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        mine = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", target, headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status < 400
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(
                    parts.hostname, parts.port, timeout=10
                )
                ok = False
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=run) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return LoadResult(
        rps=len(latencies) / elapsed,
        requests=len(latencies),
        errors=errors[0],
        p50_ms=percentile(latencies, 50) * 1000,
        p95_ms=percentile(latencies, 95) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        tool="python",
    )


def hammer(
    url: str, *, headers: dict | None = None, seconds: float = 3, connections: int = 8
) -> LoadResult:
    """GET `url` as fast as `connections` keep-alive connections allow, for a while."""
    headers = headers or {}
    if tool() == "wrk":
        return _wrk(url, headers, max(1, round(seconds)), connections)
    return _python(url, headers, seconds, connections)


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    if len(sorted_values) == 1:
        return sorted_values[0]
    rank = (len(sorted_values) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (
        rank - low
    )


def summarize(samples: list[float]) -> dict:
    """p50/p95/max/mean in ms of a list of durations in seconds."""
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 50) * 1000, 2),
        "p95_ms": round(percentile(ordered, 95) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else None,
    }


class Http:
    """One keep-alive connection for sequential calls whose latency is measured."""

    def __init__(self, base: str, key: str | None = None):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.key = key
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method, path, *, body=None, headers=None, json_body=None):
        """Return (status, parsed body or bytes, seconds)."""
        hdrs = dict(headers or {})
        if self.key:
            hdrs.setdefault("Authorization", f"Bearer {self.key}")
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs["Content-Type"] = "application/json"
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                raw = resp.read()
                elapsed = time.perf_counter() - started
                break
            except (ConnectionError, http.client.HTTPException):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        data = raw
        if resp.getheader("Content-Type", "").startswith("application/json"):
            data = json.loads(raw)
        return resp.status, data, elapsed

    def close(self):
        self.conn.close()
