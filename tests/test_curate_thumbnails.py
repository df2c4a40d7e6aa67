"""Thumbnails: made once per asset and size, kept in storage, served by URL, deleted."""

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from tests.curate_helpers import client_for, generate_held, held_asset_ids, make_user
from visuals.models import ImageRequest
from visuals.thumbnails import SIZES, thumbnail_name

pytestmark = pytest.mark.django_db


def test_a_thumbnail_is_made_on_first_use_and_served_from_storage(
    ready, curator_client
):
    identity = ready["identity"]["id"]
    name = thumbnail_name(identity, 240)
    assert name == f"thumbs/{identity}-240.webp"
    assert not default_storage.exists(name)
    response = curator_client.get(f"/curate/thumbs/a/{identity}/240")
    assert response.status_code == 302
    assert response["Location"] == default_storage.url(name)
    assert "max-age" in response["Cache-Control"]
    with default_storage.open(name) as stored:
        image = Image.open(io.BytesIO(stored.read()))
        assert image.format == "WEBP" and max(image.size) <= 240


def test_a_thumbnail_is_made_once_per_asset_and_size(ready, curator_client):
    identity = ready["identity"]["id"]
    curator_client.get(f"/curate/thumbs/a/{identity}/96")
    name = thumbnail_name(identity, 96)
    default_storage.delete(name)
    default_storage.save(name, ContentFile(b"kept"))  # a marker the next call must keep
    curator_client.get(f"/curate/thumbs/a/{identity}/96")
    with default_storage.open(name) as stored:
        assert stored.read() == b"kept"
    curator_client.get(f"/curate/thumbs/a/{identity}/640")
    assert default_storage.exists(thumbnail_name(identity, 640))


def test_only_the_known_sizes_are_made(ready, curator_client):
    assert (
        curator_client.get(
            f"/curate/thumbs/a/{ready['identity']['id']}/1000"
        ).status_code
        == 404
    )
    assert 1000 not in SIZES


def test_thumbnails_leave_storage_with_their_asset(
    api, ready, curator_client, django_capture_on_commit_callbacks
):
    generate_held(api, ready, categories=["prop"])
    (asset_id,) = held_asset_ids()
    for size in SIZES:
        curator_client.get(f"/curate/thumbs/a/{asset_id}/{size}")
        assert default_storage.exists(thumbnail_name(asset_id, size))
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api.delete(f"/v1/characters/mira/visual-assets/{asset_id}").status_code
            == 204
        )
    assert not any(default_storage.exists(thumbnail_name(asset_id, s)) for s in SIZES)


def test_report_images_have_thumbnails_too(
    api, ready, curator_client, django_capture_on_commit_callbacks
):
    generate_held(api, ready, categories=["prop"])
    row = ImageRequest.objects.get()
    response = curator_client.get(f"/curate/thumbs/r/{row.pk}/240")
    assert response.status_code == 302
    assert default_storage.exists(thumbnail_name(row.pk, 240))
    with django_capture_on_commit_callbacks(execute=True):
        row.delete()
    assert not default_storage.exists(thumbnail_name(row.pk, 240))


def test_thumbnails_are_for_curators_of_the_account_or_staff(ready, account):
    url = f"/curate/thumbs/a/{ready['identity']['id']}/96"
    assert Client().get(url).status_code == 404
    stranger = make_user("sam")  # a curator of no account
    assert client_for(stranger).get(url).status_code == 404
    from django.contrib.auth.models import Permission

    staff = make_user("stella", curator=False, staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_visualasset"))
    assert client_for(staff).get(url).status_code == 302
