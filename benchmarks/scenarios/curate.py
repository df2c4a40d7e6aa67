"""Curator pages with 2,000 held candidates: the review queue's first screen (its
first page of cards), sorted by identity distance, and the character page with a
2,000-point identity drift chart. Measured in-process through Django's full request
stack (middleware, session, templates) against PostgreSQL; the figure is the median
of several renders after a warm-up. Target: well under a second."""

import hashlib
import random
import statistics
import time
import uuid

from ..results import Row, Scenario

HELD = 2_000
TARGET_MS = 500


def _seed(ctx):
    from django.contrib.auth.models import Group, User
    from django.db import transaction
    from django.utils import timezone

    from characters import services
    from characters.demo import CURATORS_GROUP
    from characters.models import Character
    from visuals.models import ImageRequest, VisualAsset

    from .. import seed

    rng = random.Random(17)
    slug = f"curate-{uuid.uuid4().hex[:6]}"
    char = seed.character(ctx.account, slug)
    seed.identity_asset(char)
    session = services.session_open(character=char)
    now = timezone.now()
    categories = ["wardrobe", "prop", "place", "accessory", "scene"]
    with transaction.atomic():
        requests, assets = [], []
        for i in range(HELD):
            category = categories[i % len(categories)]
            distance = round(rng.uniform(0.1, 0.8), 4)
            status = (
                "passed"
                if distance <= 0.5
                else "failed"
                if distance >= 0.65
                else "manual_required"
            )
            request = ImageRequest(
                character=char,
                session=session,
                version_id=char.active_version_id,
                origin="inventory",
                category=category,
                image_kind="scene",
                request_status="succeeded",
                batch_id=uuid.uuid4(),
                hold_for_review=True,
                servable=True,
                brief={"judge": {"identity_distance": distance}},
                consistency={"status": status, "reason": f"face distance {distance}"},
                backend="compositor",
                started_at=now,
                completed_at=now,
            )
            request.image.name = f"generated/{char.pk}/{request.pk}.png"
            requests.append(request)
            asset = VisualAsset(
                character=char,
                category=category,
                asset_key=f"held-{i:05d}",
                label=f"held {category} {i}",
                sha256=hashlib.sha256(str(i).encode()).hexdigest(),
                width=1024,
                height=1024,
                format="PNG",
                byte_size=400_000,
                asset_status="candidate",
                promotion_status="candidate",
                source="inventory",
                image_request=request,
            )
            asset.file.name = request.image.name
            assets.append(asset)
        ImageRequest.objects.bulk_create(requests, batch_size=500)
        VisualAsset.objects.bulk_create(assets, batch_size=500)
    seed._spread_created_at("visuals_imagerequest", char.pk)
    seed._spread_created_at("visuals_visualasset", char.pk)
    user = User.objects.create_user(f"bench-curator-{slug}", password=uuid.uuid4().hex)
    user.groups.add(Group.objects.get_or_create(name=CURATORS_GROUP)[0])
    ctx.account.curators.add(user)
    return Character.objects.get(pk=char.pk), user


def run(ctx) -> Scenario:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    sc = Scenario(
        "curate",
        f"Curator pages with {HELD:,} held candidates: first screen render",
        "in-process (Django's full request stack, PostgreSQL)",
    )
    char, user = _seed(ctx)
    client = Client()
    client.force_login(user)
    reps = 5 if ctx.quick else 15
    pages = {
        "review queue, first page (oldest first)": "/curate/review/",
        "review queue sorted by identity distance": "/curate/review/?sort=score",
        "review queue filtered to the character": (
            f"/curate/review/?character={char.pk}"
        ),
        f"character page ({HELD:,}-point drift chart)": (
            f"/curate/characters/{char.pk}/"
        ),
    }
    for name, url in pages.items():
        response = client.get(url)  # warm-up (templates, connections)
        assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(reps):
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        figure = statistics.median(timings) * 1000
        sc.add(
            Row(
                f"{name} (median of {reps})",
                figure,
                "ms",
                f"≤ {TARGET_MS} ms",
                figure <= TARGET_MS,
                detail={
                    "ms": [round(t * 1000, 1) for t in timings],
                    "queries": len(queries.captured_queries),
                    "bytes": len(response.content),
                    "cards": response.content.count(b'class="rcard"'),
                },
            )
        )
    sc.notes.append(
        "The page shows its first 48 cards; a fixed number of queries whatever the "
        "number held (tests/test_curate_queries.py asserts it)."
    )
    return sc
