"""Uploads at the decoder's cost: hashed while received, JPEG metadata stripped at the
segment level (no second encode), and a reduced-scale decode that still refuses a
truncated file."""

import hashlib
import io

import pytest
from PIL import Image, ImageChops

from tests.helpers import image_bytes
from tests.test_assets_upload import stored_bytes, upload, uploaded
from visuals import uploads

pytestmark = pytest.mark.django_db


def _noisy_jpeg(size=(96, 64), **save) -> bytes:
    """A JPEG whose pixels a second encode would change (noise, quality 90)."""
    noise = Image.effect_noise(size, 60).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


def _gps_exif(orientation=None):
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x010F] = "SpyCam"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return exif


def _pixels(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


@pytest.fixture
def identity(api, character):
    return uploaded(api)


def test_jpeg_metadata_is_stripped_without_a_second_encode(api, identity):
    original = _noisy_jpeg(
        exif=_gps_exif(orientation=1),
        xmp=b"<x:xmpmeta><exif:GPSLatitude>48,51.4N</exif:GPSLatitude></x:xmpmeta>",
        comment=b"taken at home",
    )
    sent = original + b"PK\x03\x04 a zip after the image"
    asset = uploaded(api, content=sent, category="wardrobe", asset_key="coat")
    stored = stored_bytes(asset)
    for leak in (b"Exif\0\0", b"GPSLatitude", b"SpyCam", b"taken at home", b"PK\x03"):
        assert leak not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert "exif" not in image.info and not image.getexif()
        assert "xmp" not in image.info and "comment" not in image.info
    # Not re-encoded: the same pixels, and the same entropy-coded bytes.
    assert not ImageChops.difference(_pixels(stored), _pixels(original)).getbbox()
    scan = original.index(b"\xff\xda")
    assert stored.endswith(original[scan:])
    assert asset["sha256"] == hashlib.sha256(stored).hexdigest()
    assert asset["byte_size"] == len(stored)
    assert (asset["width"], asset["height"]) == (96, 64)


def test_the_icc_profile_survives_the_strip(api, identity):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = _noisy_jpeg(icc_profile=icc, exif=_gps_exif())
    asset = uploaded(api, content=original, category="wardrobe", asset_key="icc")
    with Image.open(io.BytesIO(stored_bytes(asset))) as image:
        assert image.info.get("icc_profile") == icc
        assert not image.getexif()


def test_a_clean_file_is_hashed_while_received_and_never_read_again(
    api, identity, monkeypatch
):
    def read_again(file):
        raise AssertionError("the upload was read a second time to hash it")

    monkeypatch.setattr(uploads, "_sha256_of", read_again)
    for fmt, content in (
        ("PNG", image_bytes("PNG", (70, 50))),
        ("JPEG", _noisy_jpeg()),
    ):
        asset = uploaded(
            api, content=content, category="wardrobe", asset_key=f"k-{fmt}"
        )
        assert stored_bytes(asset) == content
        assert asset["sha256"] == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("category", ["identity", "wardrobe"])
def test_a_truncated_jpeg_is_refused_at_reduced_scale_too(api, identity, category):
    data = _noisy_jpeg(size=(400, 300))
    response = upload(
        api,
        content=data[: len(data) * 2 // 3],
        category=category,
        asset_key="cut",
    )
    assert response.status_code == 422, response.content
    assert response.json()["detail"]["code"] == "image_rejected"


def test_the_reduced_decode_holds_a_smaller_bitmap():
    data = _noisy_jpeg(size=(800, 600))
    full = uploads.check_image(io.BytesIO(data))
    reduced = uploads.check_image(io.BytesIO(data), keep_image=False)
    assert full.image.size == (800, 600)
    assert reduced.image.size[0] * reduced.image.size[1] <= 800 * 600 // 16
    assert (reduced.width, reduced.height) == (800, 600)
    assert reduced.sha256 == full.sha256 == hashlib.sha256(data).hexdigest()
