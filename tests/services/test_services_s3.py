"""S3 storage against an S3-protocol server (moto_server on loopback) (R07, R10, R44).

The API process uses S3Storage through a settings override (Django resets its storages
when STORAGES changes); the worker is its own process, configured by environment exactly
as production is (LOREOS_STORAGE=s3 and the LOREOS_S3_* variables).
"""

import hashlib
import io
import urllib.request
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from tests.helpers import IMAGES_ON, face_bytes, open_session, upload_identity
from visuals.models import ImageRequest, VisualAsset

from .workers import all_terminal, wait_for, worker_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

KEY_ID, SECRET = "loreos-test", "loreos-test-secret"
REGION = "us-east-1"


@pytest.fixture
def bucket(s3_endpoint):
    """A new, empty bucket on the S3 server; the client to inspect it."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name=REGION,
    )
    name = f"loreos-ci-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    yield {"name": name, "client": client, "endpoint": s3_endpoint}
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", [])]
    for key in keys:
        client.delete_object(Bucket=name, Key=key)
    client.delete_bucket(Bucket=name)


def s3_environment(bucket) -> dict:
    """What a production machine sets to store files in this bucket."""
    return {
        "LOREOS_STORAGE": "s3",
        "LOREOS_S3_BUCKET": bucket["name"],
        "LOREOS_S3_REGION": REGION,
        "LOREOS_S3_ENDPOINT_URL": bucket["endpoint"],
        "LOREOS_S3_ACCESS_KEY_ID": KEY_ID,
        "LOREOS_S3_SECRET_ACCESS_KEY": SECRET,
        "LOREOS_S3_SIGNED_URLS": "true",
    }


@pytest.fixture
def s3_storage(settings, bucket):
    """The API process stores in the bucket, with the options settings.py sets."""
    settings.LOREOS_STORAGE = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket["name"],
                "region_name": REGION,
                "endpoint_url": bucket["endpoint"],
                "access_key": KEY_ID,
                "secret_key": SECRET,
                "querystring_auth": True,
                "querystring_expire": 3600,
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    from django.core.files.storage import default_storage

    assert default_storage.bucket_name == bucket["name"]  # the override took effect
    return bucket


def keys(bucket, prefix=""):
    listing = bucket["client"].list_objects_v2(Bucket=bucket["name"], Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def fetch(url) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  (loopback)
        assert response.status == 200
        return response.read()


def test_r10_identity_upload_is_stored_in_s3_and_served_by_signed_url(
    api, make_character, s3_storage
):
    make_character("mira", thresholds=IMAGES_ON)
    asset = upload_identity(api)

    assert keys(s3_storage, "assets/") == [
        VisualAsset.objects.get(pk=asset["id"]).file.name
    ]
    assert asset["url"].startswith(s3_storage["endpoint"])
    assert "Signature=" in asset["url"]  # signed: the bucket stays private
    served = fetch(asset["url"])
    key = keys(s3_storage, "assets/")[0]
    body = (
        s3_storage["client"]
        .get_object(Bucket=s3_storage["name"], Key=key)["Body"]
        .read()
    )
    assert served == body
    assert (
        hashlib.sha256(served).hexdigest()
        == VisualAsset.objects.get(pk=asset["id"]).sha256
    )
    assert (
        Image.open(io.BytesIO(served)).size == Image.open(io.BytesIO(face_bytes())).size
    )


def test_r44_deleting_an_asset_removes_its_object_from_the_bucket(
    api, make_character, s3_storage
):
    make_character("mira", thresholds=IMAGES_ON)
    asset = upload_identity(api)
    asset_id = asset["id"]
    key = VisualAsset.objects.get(pk=asset_id).file.name
    assert keys(s3_storage, key) == [key]

    response = api.delete(f"/v1/characters/mira/visual-assets/{asset_id}")
    assert response.status_code == 204, response.content

    assert keys(s3_storage, key) == []
    with pytest.raises(ClientError) as missing:
        s3_storage["client"].head_object(Bucket=s3_storage["name"], Key=key)
    assert missing.value.response["Error"]["Code"] in ("404", "NoSuchKey")


def test_r23_a_worker_generates_into_s3(
    api, make_character, s3_storage, redis_url, use_broker, workers
):
    make_character("mira", thresholds=IMAGES_ON)
    upload_identity(api)
    session_id = open_session(api)
    app = use_broker(redis_url)
    worker = workers(
        worker_env(broker_url=redis_url, extra=s3_environment(s3_storage)), app=app
    )

    response = api.post(
        "/v1/characters/mira/image-probe",
        {"probe_type": "identity_selfie", "session_id": session_id},
        format="json",
    )
    assert response.status_code == 200, response.content
    probe_id = response.json()["data"]["probe_id"]
    wait_for(
        lambda: all_terminal([probe_id]),
        timeout=120,
        workers=[worker],
        what="the probe",
    )

    row = ImageRequest.objects.get(pk=probe_id)
    assert row.request_status == "succeeded", row.failure_reason
    assert row.image.name in keys(s3_storage, "generated/")
    report = api.get(f"/v1/characters/mira/image-probe/{probe_id}").json()
    assert report["state"] == "ready"
    assert report["image_url"].startswith(s3_storage["endpoint"])
    image = Image.open(io.BytesIO(fetch(report["image_url"])))
    assert image.format == "PNG" and image.width > 0


def test_readyz_checks_the_bucket(anon, s3_storage, settings):
    assert anon.get("/readyz").status_code == 200
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {
                **settings.STORAGES["default"]["OPTIONS"],
                "bucket_name": "no-such-bucket-here",
            },
        },
    }
    response = anon.get("/readyz")
    assert response.status_code == 503
    failing = [
        name for name, check in response.json()["checks"].items() if not check["ok"]
    ]
    assert failing == ["storage"]
