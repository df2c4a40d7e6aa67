"""Photo-like test images made in memory, and multipart bodies carrying them."""

import io
import uuid

import numpy as np
from PIL import Image

# Sizes chosen so the files land just under 8 MB with this content (checked at run
# time).
PNG_SIZE = (2350, 1760)  # ≈ 1.94 bytes per pixel: a smooth scene with sensor-like noise
JPEG_SIZE = (5340, 4000)  # ≈ 0.37 bytes per pixel at quality 95: a ~21 MP camera photo
TARGET_BYTES = 8_000_000


def photo(width: int, height: int, *, seed: int = 8, noise: float = 6.0) -> Image.Image:
    """Smooth colour fields (a bicubic blow-up of a tiny random image) plus Gaussian
    noise."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    pixels = np.asarray(base, dtype=np.float32)
    pixels += rng.normal(0.0, noise, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def eight_mb(fmt: str) -> bytes:
    """An 8 MB (± a few %) PNG or JPEG, under LOREOS_MAX_UPLOAD_BYTES."""
    width, height = PNG_SIZE if fmt == "PNG" else JPEG_SIZE
    data = encode(photo(width, height), fmt)
    if not 0.9 * TARGET_BYTES <= len(data) <= 8 * 1024 * 1024:
        # Another zlib/libjpeg compresses differently: rescale once to land near 8 MB.
        scale = (0.97 * TARGET_BYTES / len(data)) ** 0.5
        data = encode(photo(int(width * scale), int(height * scale)), fmt)
    return data


def multipart(
    fields: dict, file_name: str, file_bytes: bytes, content_type: str
) -> tuple[bytes, str]:
    """(body, Content-Type header) of a multipart/form-data upload."""
    boundary = f"bench-{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            ).encode()
        )
    parts.append(
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
    )
    parts.append(file_bytes)
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def multipart_head_tail(
    fields: dict, file_name: str, content_type: str
) -> tuple[bytes, bytes, str]:
    """The bytes before and after the file part's content (to stream a body)."""
    marker = b"\x00MARK\x00"
    body, ctype = multipart(fields, file_name, marker, content_type)
    head, tail = body.split(marker)
    return head, tail, ctype
