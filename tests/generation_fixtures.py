"""Fixtures for the metered endpoints: a character ready for images, with an open session."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import IMAGES_ON, face_bytes


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


@pytest.fixture
def ready(api, make_character):
    """Contract steps 1–3 done: identity uploaded, anchors a dict, images enabled."""
    make_character("mira", thresholds=IMAGES_ON)
    identity = upload_identity(api)
    return {"slug": "mira", "identity": identity, "session_id": open_session(api)}
