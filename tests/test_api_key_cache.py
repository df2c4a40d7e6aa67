"""The API-key lookup: no SQL on a warm path, and a revoked key refused at once by
every process (the `shared` cache is the embedded default's file cache here; the
services pass runs the same two processes on Redis: tests/services/
test_services_near_cache.py)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from characters.keys import api_key_authenticate, api_key_create, api_key_revoke
from characters.models import Account, ApiKey

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def key(db):
    account = Account.objects.create(name="cache-test")
    return api_key_create(account=account)


def test_a_warm_lookup_costs_no_query(key, django_assert_num_queries):
    api_key, raw = key
    with django_assert_num_queries(1):
        assert api_key_authenticate(raw).pk == api_key.pk
    with django_assert_num_queries(0):
        warm = api_key_authenticate(raw)
    assert warm.pk == api_key.pk
    assert warm.account.name == "cache-test"


def test_revoke_is_seen_by_the_next_lookup(key):
    api_key, raw = key
    assert api_key_authenticate(raw) is not None
    api_key_revoke(api_key)
    assert api_key_authenticate(raw) is None


def test_a_deleted_key_is_not_served_from_the_cache(key):
    api_key, raw = key
    assert api_key_authenticate(raw) is not None
    ApiKey.objects.filter(pk=api_key.pk).first().delete()
    assert api_key_authenticate(raw) is None


def test_an_edited_account_is_read_again(key):
    api_key, raw = key
    api_key_authenticate(raw)
    account = api_key.account
    account.name = "renamed"
    account.save()
    assert api_key_authenticate(raw).account.name == "renamed"


def test_a_wrong_secret_with_a_real_prefix_is_refused(key):
    api_key, raw = key
    assert api_key_authenticate(raw) is not None
    assert api_key_authenticate(raw[:-2] + "xx") is None


# One process per worker, talking over stdin/stdout: `auth <key>` answers
# "<ok|refused> <SQL queries> <commands sent to Redis>", `revoke <key>` revokes it (in
# a committed transaction).
WORKER = textwrap.dedent(
    """
    import sys
    import django
    import redis.connection

    django.setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from characters.keys import api_key_authenticate, api_key_revoke

    sent = [0]
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(self, *args, **kwargs):
        sent[0] += 1
        return send(self, *args, **kwargs)

    redis.connection.AbstractConnection.send_packed_command = counted
    for line in sys.stdin:
        verb, raw = line.split()
        if verb == "auth":
            sent[0] = 0
            with CaptureQueriesContext(connection) as ctx:
                found = api_key_authenticate(raw)
            answer = "ok" if found else "refused"
            print(answer, len(ctx.captured_queries), sent[0], flush=True)
        elif verb == "revoke":
            with transaction.atomic():
                api_key_revoke(api_key_authenticate(raw))
            print("revoked", 0, 0, flush=True)
    """
)
SETUP = textwrap.dedent(
    """
    import django

    django.setup()
    from django.core.management import call_command
    from characters.keys import api_key_create
    from characters.models import Account

    call_command("migrate", interactive=False, verbosity=0)
    print(api_key_create(account=Account.objects.create(name="two"))[1])
    """
)


def test_a_revoke_in_one_process_is_refused_by_the_other_at_once(tmp_path):
    revoke_across_processes(tmp_path, "locmemcache://")


def revoke_across_processes(tmp_path, cache_url: str) -> list:
    """Two worker processes on one SQLite database and `cache_url`: a key warm in
    both, revoked in one, is refused by the other on its next lookup. Returns each
    answer (verdict, SQL queries, commands sent to Redis) in order."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loreos.settings",
        "LOREOS_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": cache_url,
    }
    raw = subprocess.run(
        [sys.executable, "-c", SETUP],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()[-1]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]

    answers = []

    def ask(worker, verb):
        worker.stdin.write(f"{verb} {raw}\n")
        worker.stdin.flush()
        answer, queries, sent = worker.stdout.readline().split()
        answers.append((answer, int(queries), int(sent)))
        return answer, int(queries)

    try:
        first, second = workers
        assert ask(first, "auth") == ("ok", 1)  # cold: one query, then cached
        assert ask(second, "auth") == ("ok", 0)  # the other process: warm, no SQL
        assert ask(second, "auth") == ("ok", 0)
        assert ask(first, "revoke")[0] == "revoked"
        assert ask(second, "auth")[0] == "refused"  # the very next request
        assert ask(first, "auth")[0] == "refused"
        return answers
    finally:
        for worker in workers:
            worker.stdin.close()
            worker.wait(timeout=30)
