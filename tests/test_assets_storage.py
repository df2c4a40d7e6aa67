"""Where stored assets are reachable: absolute URLs, HTTPS fetchability (R10's rule)."""

import io

import pytest
from django.core.files.storage import FileSystemStorage

from tests.helpers import image_bytes
from tests.test_assets_upload import uploaded
from visuals.storage import absolute_url, is_fetchable

pytestmark = pytest.mark.django_db


class _Stored:
    def __init__(self, storage, name):
        self.storage, self.name = storage, name

    def __bool__(self):
        return bool(self.name)


class _CdnStorage(FileSystemStorage):
    def url(self, name):
        return f"https://cdn.example.test/{name}?sig=abc"


class _SchemeRelativeStorage(FileSystemStorage):
    def url(self, name):
        return f"//cdn.example.test/{name}"


@pytest.mark.django_db(False)
def test_a_relative_storage_url_is_prefixed_with_the_public_base_url(settings):
    settings.LOREOS_PUBLIC_BASE_URL = "https://api.example.test/"
    stored = _Stored(FileSystemStorage(base_url="/media/"), "assets/a/b.png")
    assert absolute_url(stored) == "https://api.example.test/media/assets/a/b.png"


@pytest.mark.django_db(False)
def test_an_absolute_storage_url_is_kept():
    assert (
        absolute_url(_Stored(_CdnStorage(), "x.png"))
        == "https://cdn.example.test/x.png?sig=abc"
    )
    assert (
        absolute_url(_Stored(_SchemeRelativeStorage(), "x.png"))
        == "https://cdn.example.test/x.png"
    )


@pytest.mark.django_db(False)
def test_no_file_has_no_url():
    assert absolute_url(None) is None
    assert absolute_url(_Stored(FileSystemStorage(), "")) is None


@pytest.mark.django_db(False)
@pytest.mark.parametrize(
    "url,require_https,fetchable",
    [
        (None, False, False),
        ("", False, False),
        ("http://127.0.0.1:8000/media/a.png", False, True),
        ("http://127.0.0.1:8000/media/a.png", True, False),
        ("https://media.example.test/a.png", True, True),
        ("https://media.example.test/a.png", False, True),
        ("/media/a.png", False, False),
    ],
)
def test_is_fetchable(settings, url, require_https, fetchable):
    settings.LOREOS_REQUIRE_HTTPS_ASSETS = require_https
    assert is_fetchable(url) is fetchable


def test_uploaded_asset_urls_follow_the_public_base_url(api, character, settings):
    settings.LOREOS_PUBLIC_BASE_URL = "https://loreos.example.test"
    settings.LOREOS_REQUIRE_HTTPS_ASSETS = True
    asset = uploaded(api)
    assert asset["url"].startswith("https://loreos.example.test/media/assets/")
    assert is_fetchable(asset["url"])


def test_the_service_accepts_a_plain_binary_file(character):
    """Admin and curator code may hand the service an ordinary file object."""
    from characters.models import Character
    from visuals.assets import asset_upload

    asset = asset_upload(
        character=Character.objects.get(slug="mira"),
        file=io.BytesIO(image_bytes(size=(20, 10))),
        category="identity",
        asset_key="k",
        label="l",
    )
    assert (asset.width, asset.height, asset.format, asset.asset_status) == (
        20,
        10,
        "PNG",
        "active",
    )
    assert asset.file.storage.exists(asset.file.name)
