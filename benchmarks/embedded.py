"""Prepare the embedded default for a benchmark, in its own process (its own settings):
`python -m benchmarks.embedded` with LOREOS_VAR_DIR set migrates the SQLite database
there, seeds an account, a key and a character ready to generate, and prints them as
JSON.
"""

import json
import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loreos.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from . import seed

    account, key = seed.account_with_key()
    seeded = seed.generation_character(account, "generator")
    print(json.dumps({"key": key, **seeded.as_dict()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
