"""`make bench`: create a scratch PostgreSQL database, seed it, start gunicorn (and
Celery workers where a scenario needs them), run every scenario, write RESULTS.md and
results.json, then stop everything it started and drop the database.

    .venv/bin/python -m benchmarks.run                 # every scenario (~8 min)
    .venv/bin/python -m benchmarks.run --only reads,events --quick
    .venv/bin/python -m benchmarks.run --only streams --merge  # one; keep the rest

Needs PostgreSQL (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres) and
Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/11; its database is flushed).
"""

import argparse
import datetime as dt
import importlib
import os
import random
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import infra, results
from .load import tool

SCENARIOS = [
    "reads",
    "events",
    "upload",
    "enqueue",
    "pipeline",
    "judge",
    "judge_eval",
    "batch",
    "streams",
    "remote",
    "curate",
]


@dataclass
class Context:
    pg: infra.Config
    logs: Path
    quick: bool
    key: str = ""
    account: object = None
    server: infra.Gunicorn | None = None
    read_chars: dict = field(default_factory=dict)
    event_logs: dict = field(default_factory=dict)
    generation: object = None

    @property
    def sample_seconds(self) -> float:
        return 1 if self.quick else 3


def _setup_django(config: infra.Config) -> None:
    os.environ.update(config.env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _seed(ctx: Context, wanted: set[str]) -> None:
    from . import seed

    rng = random.Random(8)
    started = time.monotonic()
    ctx.account, ctx.key = seed.account_with_key()
    if "reads" in wanted:
        for size in (10, 1_000, 10_000):
            ctx.read_chars[size] = seed.read_character(ctx.account, size, rng=rng)
    if "events" in wanted:
        for count in (1_000, 1_000_000):
            ctx.event_logs[count] = seed.event_log(ctx.account, count)
    ctx.generation = seed.generation_character(ctx.account, "generator")
    seed.analyze()
    print(f"  seeded in {time.monotonic() - started:.1f} s", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", help=f"comma-separated subset of {','.join(SCENARIOS)}"
    )
    parser.add_argument(
        "--quick", action="store_true", help="shorter samples (a smoke run)"
    )
    parser.add_argument(
        "--output",
        default=str(Path(__file__).resolve().parent),
        help="folder for RESULTS.md and results.json",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch database and var dir"
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="with --only: keep the other scenarios of the existing results.json "
        "(each section says when it ran)",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="only rewrite RESULTS.md from results.json (after editing FINDINGS.md)",
    )
    args = parser.parse_args(argv)
    if args.render:
        out = Path(args.output)
        results.rerender(md=out / "RESULTS.md", js=out / "results.json")
        return 0
    wanted = (
        SCENARIOS
        if not args.only
        else [s.strip() for s in args.only.split(",") if s.strip()]
    )
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    problems = infra.check_services()
    if problems:
        print(
            "make bench needs the services up:\n  " + "\n  ".join(problems),
            file=sys.stderr,
        )
        return 2

    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    machine = infra.machine_info()
    var_dir = infra.new_var_dir("pg")
    # Logs outlive the run (a few MB at most): the place to look when a figure is odd.
    logs = Path(tempfile.mkdtemp(prefix="loreos-bench-logs-"))
    ctx = Context(pg=infra.services_config(var_dir), logs=logs, quick=args.quick)
    print(
        f"benchmarks: scratch database {infra.DB_NAME}, files under {var_dir}, "
        f"logs under {logs}",
        flush=True,
    )
    infra.create_database()
    infra.flush_redis()
    done: list[results.Scenario] = []
    try:
        _setup_django(ctx.pg)
        _seed(ctx, set(wanted))
        with infra.Gunicorn(ctx.pg, logs / "gunicorn.log") as server:
            ctx.server = server
            for key in wanted:
                print(f"- {key} …", flush=True)
                t0 = time.monotonic()
                load_before = os.getloadavg()[0]
                module = importlib.import_module(f"benchmarks.scenarios.{key}")
                try:
                    scenario = module.run(ctx)
                except Exception as exc:
                    traceback.print_exc()
                    scenario = results.Scenario(key, getattr(module, "TITLE", key), "–")
                    scenario.error = f"{type(exc).__name__}: {exc}"
                scenario.seconds = time.monotonic() - t0
                scenario.load = (load_before, os.getloadavg()[0])
                done.append(scenario)
                print(f"  {scenario.verdict} in {scenario.seconds:.0f} s", flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        infra.flush_redis()
        if not args.keep:
            infra.drop_database()
            infra.remove_var_dir(var_dir)

    machine["loadavg_end"] = os.getloadavg()
    meta = {
        "started": started_at,
        "seconds": time.monotonic() - started,
        "quick": args.quick,
        "only": args.only,
        "load_tool": "wrk"
        if tool() == "wrk"
        else "Python threads + http.client (wrk not installed)",
    }
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for scenario in done:
        scenario.ran_at = started_at
    if args.merge:
        done = results.merged(done, js=out / "results.json", meta=meta)
    results.write(done, machine, meta, md=out / "RESULTS.md", js=out / "results.json")
    print(
        f"wrote {out / 'RESULTS.md'} ({meta['seconds']:.0f} s); logs in {logs}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
