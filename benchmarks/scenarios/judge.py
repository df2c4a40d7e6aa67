"""Consistency judge: time per judged image (visuals.engine.judge.judge, identity
portrait already read) against dlib's raw detect + 5-point shape + 128-d encode of the
same image, models loaded once. Target: <= 1.2 x. Runs in-process (no server)."""

import io
import statistics
import time

import numpy as np
from PIL import Image

from ..results import Row, Scenario
from ..seed import FACES

TARGET = 1.2


def _fit(image: Image.Image, side: int = 1024) -> Image.Image:
    """At most `side` px: the size the judge's detector works at, so both sides of the
    comparison see the same pixels."""
    if max(image.size) <= side:
        return image
    scale = side / max(image.size)
    return image.resize(
        (round(image.width * scale), round(image.height * scale)),
        Image.Resampling.BICUBIC,
    )


def _images(ctx) -> list[tuple[str, Image.Image]]:
    out = [
        (
            "photo (obama-2.jpg at ≤ 1024 px)",
            _fit(Image.open(FACES / "obama-2.jpg").convert("RGB")),
        )
    ]
    from django.core.files.storage import default_storage

    from visuals.models import ImageRequest

    generated = (
        ImageRequest.objects.filter(request_status="succeeded", origin="probe")
        .exclude(image="")
        .order_by("-completed_at")
        .first()
    )
    if generated is not None and default_storage.exists(generated.image.name):
        with default_storage.open(generated.image.name, "rb") as handle:
            picture = Image.open(io.BytesIO(handle.read())).convert("RGB")
        out.append((f"compositor output ({picture.width}×{picture.height})", picture))
    return out


def run(ctx) -> Scenario:
    from visuals import faces
    from visuals.engine import judge as judging
    from visuals.engine.references import Reference

    sc = Scenario(
        "judge",
        "Consistency judge: time per judged image",
        "in-process (the worker's code path, no server)",
    )
    reps = 5 if ctx.quick else 12

    loads = []
    original = faces._Models.__init__

    def counted(self):
        loads.append(time.perf_counter())
        original(self)

    faces._Models.__init__ = counted
    faces._models = None  # start cold, as a fresh worker process does
    judging.clear_cache()
    try:
        portrait_bytes = (FACES / "obama-1.jpg").read_bytes()
        portrait_ref = Reference(
            "identity", "identity", "obama-1.jpg", portrait_bytes, "portrait"
        )
        cold_started = time.perf_counter()
        _, portrait = judging.pick_portrait([portrait_ref])
        cold = time.perf_counter() - cold_started

        m = faces.models()
        detector, shape, encoder = m.detector, m.shape, m.encoder

        def raw(image):
            array = np.asarray(image)
            found = detector(array, 0)
            if not found:
                return None
            landmarks = shape(array, max(found, key=lambda r: r.area()))
            return np.asarray(encoder.compute_face_descriptor(array, landmarks))

        def judged(image):
            return judging.judge(
                subject="identity_selfie",
                image_kind="selfie",
                output=image,
                output_sha256=None,  # no cache: every call measures, as for a new image
                portrait=portrait,
                parent_expected=False,
                parent=None,
            )

        for name, image in _images(ctx):
            raw(image), judged(image)  # warm both paths
            floors, figures = [], []
            for _ in range(reps):
                started = time.perf_counter()
                raw(image)
                floors.append(time.perf_counter() - started)
                started = time.perf_counter()
                verdict = judged(image)
                figures.append(time.perf_counter() - started)
            floor, figure = statistics.median(floors), statistics.median(figures)
            sc.add(
                Row(
                    f"{name}: judge() per image (median of {reps})",
                    figure * 1000,
                    "ms",
                    "≤ 1.2 × raw dlib",
                    figure <= TARGET * floor,
                    floor=floor * 1000,
                    floor_unit="ms (raw dlib)",
                    ratio=figure / floor,
                    detail={
                        "verdict": verdict.consistency,
                        "judge_ms": [round(f * 1000, 1) for f in figures],
                        "raw_ms": [round(f * 1000, 1) for f in floors],
                    },
                )
            )
        total_images = 1 + len(sc.rows) * (2 * reps + 1)
        sc.add(
            Row(
                f"model loads in this process for {total_images} judged images",
                len(loads),
                "loads",
                "1 (once per process)",
                len(loads) == 1,
            )
        )
        sc.notes.append(
            f"Cold start (first portrait read, loading the detector, shape model and "
            f"encoder): {cold * 1000:.0f} ms, paid once per process. The identity "
            "portrait's "
            "encoding is cached by sha256, so a judged image costs one detect + one "
            "encode."
        )
    finally:
        faces._Models.__init__ = original
    return sc
