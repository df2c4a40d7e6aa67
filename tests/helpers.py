"""Plain helpers and constants shared by the tests (fixtures live in conftest.py).

Import these from `tests.helpers`; never import from a conftest module.
"""

import io
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

FACES = Path(__file__).parent / "fixtures" / "faces"

ANCHORS = {
    "visual_summary": (
        "late-20s woman, warm but tired-eyed, often in a flour-dusted apron"
    ),
    "hair": "shoulder-length dark hair, usually tied back",
    "eyes": "dark brown",
    "style_constants": [
        "round wire glasses",
        "simple earth-tone clothes",
        "a thin silver ring",
    ],
    "avoid_visual_changes": ["no drastic hair color changes", "no heavy makeup"],
}

IMAGES_ON = {"image_proactivity": 0.5, "selfie_comfort": 0.5, "daily_image_cap": 5}


def image_bytes(
    fmt="PNG", size=(64, 64), color=(200, 120, 90), mode="RGB", **save
) -> bytes:
    """The bytes of a plain image made in memory (the one image helper of the tests)."""
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def face_bytes(name="obama-1.jpg") -> bytes:
    return (FACES / name).read_bytes()


def assert_error(response, status, code):
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"detail"}, body
    detail = body["detail"]
    assert detail["code"] == code, detail
    assert detail["message"] and isinstance(detail["message"], str)
    assert isinstance(detail["fix"], str)
    return detail


def api_client_for(account, kind="developer") -> APIClient:
    """An API client holding a fresh key of `account` (`raw_key`, `api_key` on it)."""
    from characters.keys import api_key_create

    api_key, raw = api_key_create(account=account, kind=kind)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_key = raw
    client.api_key = api_key
    return client


def upload_identity(api, slug="mira", photo="obama-1.jpg"):
    response = api.post(
        f"/v1/characters/{slug}/visual-assets",
        {
            "file": SimpleUploadedFile(
                photo, face_bytes(photo), content_type="image/jpeg"
            ),
            "category": "identity",
            "asset_key": "identity-front",
            "label": "front-facing portrait",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["data"]


def open_session(api, slug="mira"):
    response = api.post(f"/v1/characters/{slug}/sessions")
    assert response.status_code == 201
    return response.json()["data"]["session_id"]


# Webhook URLs are resolved by hooks.ssrf._resolve; tests resolve from this table (IP
# literals resolve to themselves, unknown names fail), so no test depends on DNS.
FAKE_DNS = {
    "localhost": ["127.0.0.1"],
    "hooks.example.com": ["93.184.216.34"],
}


def fake_resolve(host: str, port: int) -> list[str]:
    import ipaddress
    import socket

    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    if host.lower() in FAKE_DNS:
        return list(FAKE_DNS[host.lower()])
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def pixels(data: bytes) -> bytes:
    """An image file's decoded pixels (equal for two files of one picture)."""
    with Image.open(io.BytesIO(data)) as image:
        return image.tobytes()


def file_metadata(data: bytes) -> dict:
    """What an image file carries beside its pixels: PNG text chunks, EXIF, XMP, IPTC,
    comments (empty: nothing)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        found = dict(getattr(image, "text", {}) or {})
        for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc"):
            if key in image.info:
                found[key] = image.info[key]
        if image.getexif():
            found["exif_tags"] = dict(image.getexif())
    return found


# PNG chunks that describe pixels only (no text: tEXt, zTXt, iTXt, eXIf are left out).
PIXEL_CHUNKS = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"iCCP",
    b"pHYs",
    b"sBIT",
    b"bKGD",
}


def png_chunk_types(data: bytes) -> set[bytes]:
    """The chunk types of a PNG file, read from its bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    types, offset = set(), 8
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        types.add(data[offset + 4 : offset + 8])
        offset += 12 + length
    return types


def assert_no_brief_in_file(data: bytes, words) -> None:
    """The stored file carries nothing beside its pixels (no PNG text chunk, EXIF,
    XMP, IPTC or comment), so none of the brief's `words` can be in it."""
    metadata = file_metadata(data)
    for word in words:
        assert word.lower() not in str(metadata).lower(), word
    assert metadata == {}
    if data.startswith(b"\x89PNG"):
        assert png_chunk_types(data) <= PIXEL_CHUNKS, png_chunk_types(data)
