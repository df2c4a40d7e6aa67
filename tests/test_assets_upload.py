"""Uploading visual assets (contract R02–R09, R11): fields, categories, decoding,
storage."""

import hashlib
import io
import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from PIL import Image, PngImagePlugin

from tests.helpers import assert_error, face_bytes, image_bytes

pytestmark = pytest.mark.django_db

CATEGORIES = [
    "identity",
    "wardrobe",
    "accessory",
    "prop",
    "place",
    "scene",
    "style",
    "keyframe",
]
INVENTORY = CATEGORIES[1:]


def upload(
    client,
    slug="mira",
    *,
    data=None,
    content=None,
    name="image.png",
    content_type=None,
    category="identity",
    asset_key="identity-front",
    label="front-facing portrait",
    **fields,
):
    """POST one multipart upload; `data` replaces the whole form when given."""
    if data is None:
        file = io.BytesIO(image_bytes() if content is None else content)
        file.name = name
        if content_type:
            file.content_type = content_type
        data = {
            "file": file,
            "category": category,
            "asset_key": asset_key,
            "label": label,
        }
        data.update(fields)
    return client.post(f"/v1/characters/{slug}/visual-assets", data, format="multipart")


def uploaded(client, slug="mira", **kwargs) -> dict:
    response = upload(client, slug, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()["data"]


def stored_bytes(asset: dict) -> bytes:
    prefix = "http://testserver/media/"
    assert asset["url"].startswith(prefix), asset["url"]
    with default_storage.open(asset["url"][len(prefix) :]) as fh:
        return fh.read()


ASSET_FIELDS = {
    "id",
    "category",
    "asset_key",
    "label",
    "visual_summary",
    "visual_description",
    "url",
    "sha256",
    "width",
    "height",
    "format",
    "byte_size",
    "asset_status",
    "promotion_status",
    "qa_status",
    "source",
    "image_request_id",
    "advice",
    "decided_by",
    "decided_at",
    "decision_reason",
    "created_at",
    "updated_at",
}


# --- R07 / R08: identity is active at once, everything else is a candidate ------------


def test_r07_identity_upload_is_active_approved_anchor_with_its_measurements(
    api, character
):
    content = image_bytes("PNG", size=(120, 90))
    response = upload(api, content=content)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["schema_version"] == "v0"
    asset = body["data"]
    assert set(asset) == ASSET_FIELDS
    assert asset["category"] == "identity"
    assert asset["asset_status"] == "active"
    assert asset["promotion_status"] == "approved_anchor"
    assert asset["qa_status"] == "unreviewed"
    assert asset["source"] == "upload"
    assert asset["image_request_id"] is None
    assert (asset["width"], asset["height"], asset["format"]) == (120, 90, "PNG")
    assert asset["byte_size"] == len(content)
    assert asset["sha256"] == hashlib.sha256(content).hexdigest()
    # Stored through Django storage under a server-chosen name, at an absolute URL.
    character_id = character["id"]
    assert asset["url"] == (
        f"http://testserver/media/assets/{character_id}/{asset['id']}.png"
    )
    assert stored_bytes(asset) == content
    commands = [a["command"] for a in body["next_actions"]]
    assert "GET /v1/characters/mira/visual-readiness" in commands


def test_r07_a_real_identity_photo_is_active(api, character):
    asset = uploaded(api, content=face_bytes("obama-1.jpg"), name="obama.jpg")
    assert (asset["asset_status"], asset["promotion_status"]) == (
        "active",
        "approved_anchor",
    )
    assert (asset["width"], asset["height"], asset["format"]) == (910, 1137, "JPEG")


@pytest.mark.parametrize("category", INVENTORY)
def test_r08_every_other_category_is_uploaded_as_a_candidate(api, character, category):
    uploaded(api)
    response = upload(api, category=category, asset_key=f"{category}-1", label=category)
    assert response.status_code == 201, response.content
    asset = response.json()["data"]
    assert asset["category"] == category
    assert (asset["asset_status"], asset["promotion_status"]) == (
        "candidate",
        "candidate",
    )
    commands = [a["command"] for a in response.json()["next_actions"]]
    assert f"PATCH /v1/characters/mira/visual-assets/{asset['id']}" in commands


def test_r12_a_second_identity_upload_is_active_too(api, character):
    first = uploaded(api)
    second = uploaded(api, asset_key="identity-three-quarter", label="three-quarter")
    assert first["id"] != second["id"]
    assert second["asset_status"] == "active"
    listed = api.get(
        "/v1/characters/mira/visual-assets?category=identity&asset_status=active"
    )
    assert {a["id"] for a in listed.json()["data"]} == {first["id"], second["id"]}


# --- R09: non-identity before identity ------------------------------------------------

NEEDS_IDENTITY = {
    "detail": {
        "code": "needs_identity",
        "message": "this character has no active identity asset yet",
        "fix": (
            "Upload identity first: POST /v1/characters/{slug}/visual-assets"
            " (category=identity)."
        ),
    }
}


@pytest.mark.parametrize("category", INVENTORY)
def test_r09_non_identity_before_identity_is_409_needs_identity(
    api, character, category
):
    response = upload(api, category=category, asset_key="x", label="x")
    assert response.status_code == 409
    assert response.json() == NEEDS_IDENTITY


def test_r09_a_retired_identity_no_longer_unlocks_other_categories(api, character):
    identity = uploaded(api)
    patched = api.patch(
        f"/v1/characters/mira/visual-assets/{identity['id']}",
        {"asset_status": "retired"},
        format="json",
    )
    assert patched.status_code == 200, patched.content
    response = upload(api, category="wardrobe", asset_key="coat", label="coat")
    assert response.status_code == 409
    assert response.json() == NEEDS_IDENTITY


def test_r09_nothing_is_stored_when_needs_identity(api, character):
    upload(api, category="prop", asset_key="mug", label="mug")
    assert api.get("/v1/characters/mira/visual-inventory").json()["data"]["total"] == 0


# --- R02 / R04 / R05: fields ----------------------------------------------------------


def test_r02_visual_description_defaults_to_summary_then_label(api, character):
    both = uploaded(api, visual_summary="short", visual_description="long text")
    assert (both["visual_summary"], both["visual_description"]) == (
        "short",
        "long text",
    )
    summary_only = uploaded(api, visual_summary="short only")
    assert summary_only["visual_description"] == "short only"
    neither = uploaded(api, label="front portrait")
    assert (neither["visual_summary"], neither["visual_description"]) == (
        "",
        "front portrait",
    )
    assert neither["label"] == "front portrait"
    assert neither["asset_key"] == "identity-front"


def test_r02_missing_file_is_422_validation_error(api, character):
    response = upload(
        api,
        data={"category": "identity", "asset_key": "identity-front", "label": "front"},
    )
    detail = assert_error(response, 422, "validation_error")
    assert detail["field"] == "file"


def test_r02_a_file_field_sent_as_text_is_422(api, character):
    response = upload(
        api,
        data={
            "file": "not a file",
            "category": "identity",
            "asset_key": "k",
            "label": "l",
        },
    )
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize(
    "category", ["", "Identity", "selfie", "portrait", "identity "]
)
def test_r04_unknown_category_is_422_invalid_category(api, character, category):
    detail = assert_error(upload(api, category=category), 422, "invalid_category")
    assert "wardrobe" in detail["fix"]


def test_r04_missing_category_is_422_invalid_category(api, character):
    file = io.BytesIO(image_bytes())
    file.name = "a.png"
    response = upload(api, data={"file": file, "asset_key": "k", "label": "l"})
    assert_error(response, 422, "invalid_category")


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"asset_key": ""}, "asset_key"),
        ({"asset_key": "   "}, "asset_key"),
        ({"label": ""}, "label"),
        ({"label": "\t"}, "label"),
    ],
)
def test_r05_empty_asset_key_or_label_is_422(api, character, fields, field):
    detail = assert_error(upload(api, **fields), 422, "validation_error")
    assert detail["field"] == field


@pytest.mark.parametrize("missing", ["asset_key", "label"])
def test_r05_missing_asset_key_or_label_is_422(api, character, missing):
    file = io.BytesIO(image_bytes())
    file.name = "a.png"
    data = {"file": file, "category": "identity", "asset_key": "k", "label": "l"}
    del data[missing]
    detail = assert_error(upload(api, data=data), 422, "validation_error")
    assert detail["field"] == missing


def test_a_json_body_is_415(api, character):
    response = api.post(
        "/v1/characters/mira/visual-assets",
        {"category": "identity", "asset_key": "k", "label": "l"},
        format="json",
    )
    assert_error(response, 415, "unsupported_media_type")


# --- R03: decided by decoding ---------------------------------------------------------


@pytest.mark.parametrize(
    "fmt,save",
    [
        ("PNG", {}),
        ("JPEG", {"quality": 90}),
        ("WEBP", {"quality": 80}),
        ("WEBP", {"lossless": True}),
    ],
)
def test_r03_png_jpeg_and_webp_are_accepted(api, character, fmt, save):
    asset = uploaded(api, content=image_bytes(fmt, size=(48, 32), **save), name="x.bin")
    assert (asset["format"], asset["width"], asset["height"]) == (fmt, 48, 32)
    assert asset["url"].endswith({"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}[fmt])


def test_r03_the_format_is_decided_by_decoding_not_by_name_or_content_type(
    api, character
):
    asset = uploaded(
        api, content=image_bytes("JPEG"), name="photo.png", content_type="text/plain"
    )
    assert asset["format"] == "JPEG"
    assert asset["url"].endswith(".jpg")


@pytest.mark.parametrize(
    "content,name",
    [
        (b"hello, this is text", "face.png"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "face.jpg"),
        (image_bytes("GIF"), "face.png"),
        (image_bytes("BMP"), "face.png"),
        (image_bytes("TIFF"), "face.webp"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "face.png"),
        (b"", "face.png"),
    ],
    ids=["text", "pdf", "gif", "bmp", "tiff", "png-signature-only", "empty"],
)
def test_r03_non_images_and_other_formats_are_422_image_rejected(
    api, character, content, name
):
    detail = assert_error(
        upload(api, content=content, name=name), 422, "image_rejected"
    )
    assert detail["field"] == "file"


def test_r03_a_truncated_jpeg_is_rejected_though_pillow_verify_accepts_it(
    api, character
):
    whole = face_bytes("obama-1.jpg")
    half = whole[: len(whole) // 2]
    # The trap the rule is about: verify() does not notice the missing half.
    Image.open(io.BytesIO(half)).verify()
    detail = assert_error(
        upload(api, content=half, name="half.jpg"), 422, "image_rejected"
    )
    assert "truncated" in detail["message"]


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_r03_truncated_png_and_webp_are_rejected(api, character, fmt):
    noise = Image.frombytes("RGB", (64, 64), bytes(range(256)) * 48)
    buffer = io.BytesIO()
    noise.save(buffer, fmt)
    whole = buffer.getvalue()
    response = upload(api, content=whole[: len(whole) * 2 // 3])
    assert_error(response, 422, "image_rejected")


# --- R06: size, pixels ----------------------------------------------------------------


def _noise_png(width, height) -> bytes:
    import os

    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        buffer, "PNG", compress_level=0
    )
    return buffer.getvalue()


def test_r06_a_real_image_over_8_mb_is_422_image_rejected(api, character):
    big = _noise_png(1800, 1700)
    assert len(big) > 8 * 1024 * 1024
    detail = assert_error(upload(api, content=big), 422, "image_rejected")
    assert str(8 * 1024 * 1024) in detail["message"]
    assert api.get("/v1/characters/mira/visual-inventory").json()["data"]["total"] == 0


def test_r06_the_limit_is_the_setting_and_just_under_it_passes(
    api, character, settings
):
    content = _noise_png(100, 100)
    settings.LOREOS_MAX_UPLOAD_BYTES = len(content)
    assert uploaded(api, content=content)["byte_size"] == len(content)
    settings.LOREOS_MAX_UPLOAD_BYTES = len(content) - 1
    assert_error(upload(api, content=content), 422, "image_rejected")


def _png_header_only(width, height) -> bytes:
    """A PNG that declares width x height pixels and carries one tiny IDAT."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_r06_a_decompression_bomb_is_rejected_from_its_header(api, character):
    bomb = _png_header_only(30_000, 30_000)
    assert len(bomb) < 200
    detail = assert_error(upload(api, content=bomb), 422, "image_rejected")
    assert "pixels" in detail["message"]


def test_r06_pillows_own_bomb_guard_is_also_a_422(api, character, settings):
    settings.LOREOS_MAX_IMAGE_PIXELS = 10**12
    bomb = _png_header_only(30_000, 30_000)  # 900 MP: past Pillow's 2x guard
    detail = assert_error(upload(api, content=bomb), 422, "image_rejected")
    assert "decompression bomb" in detail["message"]


def test_r06_the_pixel_limit_is_the_setting(api, character, settings):
    settings.LOREOS_MAX_IMAGE_PIXELS = 64 * 64 - 1
    assert_error(upload(api, content=image_bytes(size=(64, 64))), 422, "image_rejected")
    settings.LOREOS_MAX_IMAGE_PIXELS = 64 * 64
    uploaded(api, content=image_bytes(size=(64, 64)))


# --- R11: no pixel, aspect or framing thresholds --------------------------------------


@pytest.mark.parametrize("size", [(1, 1), (4000, 3), (3, 2000)])
def test_r11_no_pixel_or_aspect_threshold_blocks_an_identity_upload(
    api, character, size
):
    asset = uploaded(api, content=image_bytes(size=size))
    assert (asset["width"], asset["height"]) == size
    assert asset["asset_status"] == "active"


# --- Metadata: orientation applied, location never stored -----------------------------


def _jpeg_with_gps(orientation=6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return image_bytes(
        "JPEG",
        (80, 40),
        (200, 30, 30),
        exif=exif,
        xmp=b"<x:xmpmeta><exif:GPSLatitude>48,51.4N</exif:GPSLatitude></x:xmpmeta>",
    )


def test_exif_orientation_is_applied_and_gps_is_never_stored(api, character):
    content = _jpeg_with_gps(orientation=6)
    source = Image.open(io.BytesIO(content))
    assert source.getexif().get_ifd(0x8825)  # the upload does carry a location
    asset = uploaded(api, content=content, name="phone.jpg")
    # Orientation 6 means "rotate 90° to display": the stored pixels are upright.
    assert (asset["width"], asset["height"]) == (40, 80)
    stored = stored_bytes(asset)
    assert asset["sha256"] == hashlib.sha256(stored).hexdigest()
    assert asset["byte_size"] == len(stored)
    reopened = Image.open(io.BytesIO(stored))
    assert reopened.size == (40, 80)
    assert not reopened.getexif().get_ifd(0x8825)
    assert "exif" not in reopened.info and "xmp" not in reopened.info
    assert b"GPSLatitude" not in stored
    assert b"Exif\0\0" not in stored


def test_png_and_webp_metadata_is_stripped(api, character):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 48.8566 N, 2.3522 E")
    rgba = image_bytes("PNG", (30, 20), (0, 0, 255, 128), mode="RGBA", pnginfo=info)
    png = uploaded(api, content=rgba)
    stored = stored_bytes(png)
    assert b"48.8566" not in stored
    assert Image.open(io.BytesIO(stored)).mode == "RGBA"

    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}
    webp = uploaded(
        api, content=image_bytes("WEBP", (30, 20), (0, 90, 0), exif=exif), asset_key="w"
    )
    reopened = Image.open(io.BytesIO(stored_bytes(webp)))
    assert reopened.format == "WEBP"
    assert "exif" not in reopened.info


def test_an_image_without_metadata_is_stored_byte_for_byte(api, character):
    content = image_bytes("WEBP", size=(50, 50), lossless=True)
    asset = uploaded(api, content=content)
    assert stored_bytes(asset) == content
    assert asset["sha256"] == hashlib.sha256(content).hexdigest()


def test_the_clients_filename_is_never_used_for_storage(api, character):
    asset = uploaded(api, name="../../../etc/passwd.png")
    assert asset["url"].endswith(f"/assets/{character['id']}/{asset['id']}.png")


# --- Ownership ------------------------------------------------------------------------


def test_uploading_to_another_accounts_character_is_404(api, other_api, make_character):
    make_character("theirs", client=other_api)
    assert_error(upload(api, "theirs"), 404, "not_found")
    assert_error(upload(api, "nobody"), 404, "not_found")


def test_upload_needs_a_key(anon, character):
    assert_error(upload(anon), 401, "unauthenticated")
