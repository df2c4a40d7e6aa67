"""Where a read endpoint's CPU goes: seed the read benchmark's characters in a scratch
PostgreSQL database, then profile in-process GETs of each endpoint with pyinstrument
and time its SQL (the same code path gunicorn runs, without the socket).

    .venv/bin/python -m benchmarks.profile_reads [--sizes 10,10000] [--requests 40]

Prints, per endpoint and size: CPU ms per request, SQL queries and their wall ms, and
pyinstrument's call tree (frames under 4 % hidden). Uses BENCH_DB_NAME (default
loreos_bench) like `make bench`; set it to a name of your own on a shared server.
"""

import argparse
import os
import random
import sys
import time

from . import infra
from .scenarios.reads import ENDPOINTS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,10000")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--only", help="endpoint name substring")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    var_dir = infra.new_var_dir("profile")
    config = infra.services_config(var_dir)
    os.environ.update(config.env)
    infra.create_database()
    infra.flush_redis()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from pyinstrument import Profiler

        from . import seed

        call_command("migrate", interactive=False, verbosity=0)
        account, key = seed.account_with_key()
        rng = random.Random(8)
        chars = {size: seed.read_character(account, size, rng=rng) for size in sizes}
        seed.analyze()
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        targets = [("DRF + API key (bench/auth-floor)", lambda d: "/bench/auth-floor")]
        targets += ENDPOINTS
        for size, seeded in chars.items():
            for name, make_path in targets:
                if args.only and args.only not in name:
                    continue
                path = make_path(seeded)
                first = client.get(path)
                for etag in (None, first.get("ETag")):
                    if etag is None and first.status_code != 200:
                        continue
                    headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
                    label = f"{name} @ {size:,}" + (" (304)" if etag else "")
                    timings = []

                    def timed(execute, sql, params, many, context, timings=timings):
                        t0 = time.perf_counter()
                        try:
                            return execute(sql, params, many, context)
                        finally:
                            timings.append(time.perf_counter() - t0)

                    with connection.execute_wrapper(timed):
                        response = client.get(path, **headers)
                    started = time.process_time()
                    for _ in range(args.requests):
                        client.get(path, **headers)
                    cpu = (time.process_time() - started) / args.requests * 1e3
                    profiler = Profiler(interval=0.001)
                    profiler.start()
                    for _ in range(args.requests):
                        client.get(path, **headers)
                    profiler.stop()
                    print(
                        f"\n=== {label}: {response.status_code}, "
                        f"{len(response.content):,} bytes, CPU {cpu:.2f} ms/request, "
                        f"{len(timings)} queries ({sum(timings) * 1e3:.2f} ms wall)"
                    )
                    print(
                        profiler.output_text(
                            unicode=False, color=False, show_all=False
                        ).split("\n", 5)[-1][:6000]
                    )
                    if not first.get("ETag"):
                        break
    finally:
        from django.db import connections

        connections.close_all()
        infra.flush_redis()
        infra.drop_database()
        infra.remove_var_dir(var_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
