"""The slow fake backend of the benchmarks (never part of the product): a remote
generator that answers in one second. It returns the compositor's picture with one
pixel changed per call, so that, like a real generator's, every output is a new image
(the judge's cache, keyed by the image's sha256, never answers for it).
benchmarks.worker registers it under the name `bench-slow`."""

import io
import itertools
import os
import time

from PIL import Image

from visuals.engine.backends import Generation, Job
from visuals.engine.backends.compositor import CompositorBackend

SECONDS = 1.0
_calls = itertools.count(1)


def _unique(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    image.load()
    n = next(_calls) * 7919 + os.getpid()
    image.putpixel((n % image.width, 0), (n % 251, n % 241, n % 239))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class SlowBackend:
    name = "bench-slow"

    def generate(self, job: Job) -> Generation:
        started = time.perf_counter()
        generation = CompositorBackend().generate(job)
        if generation.data is not None:
            generation.data = _unique(generation.data)
        time.sleep(max(0.0, SECONDS - (time.perf_counter() - started)))
        return generation
