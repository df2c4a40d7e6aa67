"""Where stored images are reachable: absolute URLs and whether the generator can
fetch them.

Files go through Django's storage API only (local files under MEDIA_ROOT by default,
S3 through django-storages when LOREOS_STORAGE=s3), so nothing here knows which one
runs.
"""

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.encoding import filepath_to_uri


def absolute_url(field_file) -> str | None:
    """Return the absolute URL of a stored file, or None when there is no file.

    Storages that answer with a path (local files: ``/media/…``) are prefixed with
    ``settings.LOREOS_PUBLIC_BASE_URL``, so the URL is the same in a request, a worker
    and a shell. Storages that answer with a full URL (S3, a CDN domain) are kept.
    """
    if not field_file or not getattr(field_file, "name", None):
        return None
    url = field_file.storage.url(field_file.name)
    if url.startswith(("http://", "https://", "//")):
        return "https:" + url if url.startswith("//") else url
    base = settings.LOREOS_PUBLIC_BASE_URL.rstrip("/")
    return f"{base}/{url.lstrip('/')}"


def url_builder(storage):
    """A function name → absolute URL (None for no name) for many files of one storage:
    what absolute_url answers, without a FieldFile per file. Local files (a
    FileSystemStorage) are joined in Python, with no storage call per file."""
    base = settings.LOREOS_PUBLIC_BASE_URL.rstrip("/")

    def absolute(url: str) -> str:
        if url.startswith(("http://", "https://", "//")):
            return "https:" + url if url.startswith("//") else url
        return f"{base}/{url.lstrip('/')}"

    if isinstance(storage, FileSystemStorage) and storage.base_url.endswith("/"):
        local = absolute(storage.base_url)

        def build(name):
            return f"{local}{filepath_to_uri(name).lstrip('/')}" if name else None

        return build
    return lambda name: absolute(storage.url(name)) if name else None


def is_fetchable(url: str | None) -> bool:
    """True when a URL exists and, if HTTPS is required (production), it is HTTPS."""
    if not url:
        return False
    if settings.LOREOS_REQUIRE_HTTPS_ASSETS:
        return url.startswith("https://")
    return url.startswith(("http://", "https://"))
