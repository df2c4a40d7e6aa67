"""`python -m tests.services.slow_worker <celery arguments>`: a Celery worker whose
compositor sleeps LOREOS_TEST_GENERATION_DELAY seconds before each generation.

Tests only: it opens a window in which a test can kill the worker mid-generation (the
request is then `generating`), without any delay knob in the product itself.
"""

import os
import sys
import time

import django


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loreos.settings")
    django.setup()
    from visuals.engine.backends.compositor import CompositorBackend

    delay = float(os.environ.get("LOREOS_TEST_GENERATION_DELAY", "0"))
    generate = CompositorBackend.generate

    def slow_generate(self, job):
        time.sleep(delay)
        return generate(self, job)

    CompositorBackend.generate = slow_generate  # inherited by the forked pool processes

    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
