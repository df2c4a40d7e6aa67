"""Helpers for the curator pages: curator users, a held batch, many rows made cheaply.

The `curator` and `curator_client` fixtures are in tests/conftest.py.
"""

import uuid

from django.contrib.auth.models import Group
from django.test import Client

from characters.demo import CURATORS_GROUP

PASSWORD = "calm-curator-pass-42"


def make_user(username, *, curator=True, staff=False, superuser=False, accounts=()):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username=username,
        password=PASSWORD,
        is_staff=staff or superuser,
        is_superuser=superuser,
    )
    if curator:
        user.groups.add(Group.objects.get_or_create(name=CURATORS_GROUP)[0])
    for account in accounts:
        account.curators.add(user)
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def generate_held(api, ready, categories=("wardrobe", "prop", "place"), count=1):
    """An inventory batch held for review, through the public API (eager Celery)."""
    response = api.post(
        f"/v1/characters/{ready['slug']}/inventory/generate",
        {
            "categories": list(categories),
            "count_per_category": count,
            "session_id": ready["session_id"],
            "hold_for_review": True,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()["data"]


def held_asset_ids(character_slug="mira"):
    from visuals.models import VisualAsset

    return [
        str(pk)
        for pk in VisualAsset.objects.filter(
            character__slug=character_slug, asset_status="candidate"
        )
        .exclude(category="identity")
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    ]


def clone_assets(template, count, **overrides):
    """`count` rows sharing the template's stored file (volume for query counts)."""
    from visuals.models import VisualAsset

    fields = {
        f.attname: getattr(template, f.attname)
        for f in VisualAsset._meta.concrete_fields
        if f.attname not in ("id", "image_request_id", "created_at", "updated_at")
    }
    rows = [
        VisualAsset(
            **{**fields, "id": uuid.uuid4(), "asset_key": f"clone-{i}", **overrides}
        )
        for i in range(count)
    ]
    return VisualAsset.objects.bulk_create(rows)


def clone_requests(template, count, **overrides):
    from visuals.models import ImageRequest

    fields = {
        f.attname: getattr(template, f.attname)
        for f in ImageRequest._meta.concrete_fields
        if f.attname not in ("id", "created_at", "parent_id")
    }
    rows = [
        ImageRequest(**{**fields, "id": uuid.uuid4(), **overrides})
        for _ in range(count)
    ]
    return ImageRequest.objects.bulk_create(rows)
