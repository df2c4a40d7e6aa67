"""A JPEG with an EXIF orientation is stored upright by moving its DCT coefficients, not
by decoding and encoding it again (visuals/jpeg_rotate.py).

How "lossless" is checked. Pillow's decoder cannot be the judge on its own: its integer
IDCT rounds between its column and row passes, so the decode of a transposed block can
differ from the transposed decode of the block by a unit or two although both files hold
the same picture. So the stored file's coefficients are decoded here with an exact
(floating-point, orthonormal) IDCT, component by component, and compared with the same
exact decode of the original turned by numpy: equal to 1e-6, that is, the stored
pixels are the original's pixels turned. Where ``jpegtran`` is installed, the
coefficients are also compared with its ``-perfect`` output. A Pillow-level comparison
shows the difference in size that a re-encode would make instead.
"""

import hashlib
import io
import shutil
import subprocess

import jpeglib
import numpy as np
import pytest
from PIL import Image, ImageCms

from loreos.devtools.jpeg_exact import exact_planes
from tests.test_assets_upload import stored_bytes, uploaded
from tests.test_lossless_uploads import _gps_exif
from visuals import jpeg_rotate, uploads

pytestmark = pytest.mark.django_db

# orientation → how numpy turns a decoded plane upright (EXIF 0x0112 semantics).
UPRIGHT = {
    2: np.fliplr,
    3: lambda a: np.rot90(a, 2),
    4: np.flipud,
    5: np.transpose,
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a.T, 2),
    8: lambda a: np.rot90(a, 1),
}
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


def noisy_jpeg(size, *, mode="RGB", subsampling="4:2:0", **save) -> bytes:
    noise = Image.effect_noise(size, 60).convert(mode)
    if mode == "RGB":  # colour, so the chroma planes carry detail too
        noise = Image.merge(
            "RGB", [Image.effect_noise(size, 60 + 10 * i) for i in range(3)]
        )
    buffer = io.BytesIO()
    noise.save(
        buffer,
        "JPEG",
        quality=90,
        **({"subsampling": SUBSAMPLING[subsampling]} if mode == "RGB" else {}),
        **save,
    )
    return buffer.getvalue()


def assert_turned_losslessly(stored: bytes, original: bytes, orientation: int):
    turn = UPRIGHT[orientation]
    got, want = exact_planes(stored), exact_planes(original)
    assert len(got) == len(want)
    for plane, source in zip(got, want, strict=True):
        expected = turn(source)
        assert plane.shape == expected.shape
        np.testing.assert_allclose(plane, expected, rtol=0, atol=1e-6)


@pytest.fixture
def identity(api, character):
    return uploaded(api)


@pytest.mark.parametrize("category", ["identity", "wardrobe"])
def test_orientation_6_with_gps_is_stored_upright_without_gps_and_losslessly(
    api, identity, category
):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = noisy_jpeg((96, 64), exif=_gps_exif(orientation=6), icc_profile=icc)
    with Image.open(io.BytesIO(original)) as source:
        assert source.getexif().get_ifd(0x8825)  # the upload does carry a location
    asset = uploaded(api, content=original, category=category, asset_key="turned")
    stored = stored_bytes(asset)
    for leak in (b"Exif\0\0", b"SpyCam", b"GPS"):
        assert leak not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif() and "exif" not in image.info
        assert image.info.get("icc_profile") == icc
        assert image.size == (64, 96)
    assert (asset["width"], asset["height"]) == (64, 96)
    assert asset["sha256"] == hashlib.sha256(stored).hexdigest()
    assert asset["byte_size"] == len(stored)
    assert_turned_losslessly(stored, original, 6)


@pytest.mark.parametrize("orientation", sorted(UPRIGHT))
@pytest.mark.parametrize("subsampling", sorted(SUBSAMPLING))
def test_every_orientation_and_subsampling_turns_losslessly(orientation, subsampling):
    original = noisy_jpeg(
        (64, 48), subsampling=subsampling, exif=_gps_exif(orientation=orientation)
    )
    checked = uploads.check_image(io.BytesIO(original), keep_image=False)
    assert not checked.reencoded
    stored = checked.content.read()
    turned = orientation in (5, 6, 7, 8)
    assert (checked.width, checked.height) == ((48, 64) if turned else (64, 48))
    assert_turned_losslessly(stored, original, orientation)


def test_greyscale_and_progressive_files_turn_losslessly():
    grey = noisy_jpeg((48, 40), mode="L", exif=_gps_exif(orientation=8))
    progressive = noisy_jpeg((64, 32), progressive=True, exif=_gps_exif(orientation=3))
    for original, orientation in ((grey, 8), (progressive, 3)):
        checked = uploads.check_image(io.BytesIO(original))
        assert not checked.reencoded
        assert_turned_losslessly(checked.content.read(), original, orientation)
        # The bitmap handed to the advice is the stored, upright one.
        assert checked.image.size == (checked.width, checked.height)


def test_a_partial_edge_mcu_that_must_move_is_re_encoded_at_full_size():
    # 4:2:0 MCUs are 16 px; 70 rows end in a partial MCU that orientation 6 moves to
    # the left edge: kept at its size, re-encoded (as jpegtran -perfect refuses it).
    original = noisy_jpeg((96, 70), exif=_gps_exif(orientation=6))
    checked = uploads.check_image(io.BytesIO(original))
    assert checked.reencoded
    assert (checked.width, checked.height) == (70, 96)
    # Orientation 5 (transpose) moves no partial MCU: still lossless at that size.
    original = noisy_jpeg((96, 70), exif=_gps_exif(orientation=5))
    checked = uploads.check_image(io.BytesIO(original))
    assert not checked.reencoded
    assert_turned_losslessly(checked.content.read(), original, 5)


def test_what_it_cannot_turn_losslessly_is_re_encoded_upright():
    cmyk = Image.new("CMYK", (32, 16), (0, 80, 160, 10))
    buffer = io.BytesIO()
    cmyk.save(buffer, "JPEG", exif=_gps_exif(orientation=6))
    checked = uploads.check_image(io.BytesIO(buffer.getvalue()))
    assert checked.reencoded
    assert (checked.width, checked.height) == (16, 32)
    assert b"SpyCam" not in checked.content.read()


def test_a_lossless_turn_is_closer_to_the_original_than_a_re_encode():
    """What the test above proves exactly, seen through Pillow's own decoder."""
    original = noisy_jpeg((128, 96), exif=_gps_exif(orientation=6))
    stored = uploads.check_image(io.BytesIO(original)).content.read()
    with Image.open(io.BytesIO(original)) as source:
        upright = np.rot90(np.asarray(source.convert("RGB"), dtype=int), -1)
    re_encoded = io.BytesIO()
    Image.fromarray(upright.astype(np.uint8)).save(re_encoded, "JPEG", quality=95)

    def error(data):
        with Image.open(io.BytesIO(data)) as image:
            return np.abs(np.asarray(image.convert("RGB"), dtype=int) - upright)

    lossless, second_encode = error(stored), error(re_encoded.getvalue())
    # Only the decoder's rounding order differs: a unit or two, rarely.
    assert lossless.max() <= 3 and lossless.mean() < 0.2
    assert second_encode.mean() > 2 * lossless.mean()


def test_coefficients_a_baseline_encoder_cannot_code_are_refused():
    plane = np.zeros((2, 2, 8, 8), dtype=np.int16)
    assert jpeg_rotate._codable(plane)
    plane[0, 1, 3, 4] = -1024
    assert not jpeg_rotate._codable(plane)
    plane[0, 1, 3, 4] = 0
    plane[0, 0, 0, 0], plane[1, 1, 0, 0] = -1024, 1024
    assert not jpeg_rotate._codable(plane)


JPEGTRAN = {
    2: ["-flip", "horizontal"],
    3: ["-rotate", "180"],
    4: ["-flip", "vertical"],
    5: ["-transpose"],
    6: ["-rotate", "90"],
    7: ["-transverse"],
    8: ["-rotate", "270"],
}


@pytest.mark.skipif(not shutil.which("jpegtran"), reason="jpegtran is not installed")
@pytest.mark.parametrize("orientation", sorted(JPEGTRAN))
@pytest.mark.parametrize("subsampling", ["4:2:0", "4:2:2"])
def test_the_coefficients_are_jpegtrans(orientation, subsampling, tmp_path):
    original = noisy_jpeg((80, 48), subsampling=subsampling)
    source = tmp_path / "source.jpg"
    source.write_bytes(original)
    reference = subprocess.run(
        ["jpegtran", "-perfect", "-copy", "none", *JPEGTRAN[orientation], source],
        capture_output=True,
        check=True,
    ).stdout
    ours = uploads._jpeg_upright(original, orientation)
    assert ours is not None
    for mine, theirs in zip(exact_planes(ours), exact_planes(reference), strict=True):
        assert np.array_equal(mine, theirs)


def test_a_failed_lossless_turn_falls_back_to_an_upright_re_encode(monkeypatch):
    def full_disk(path):
        raise OSError("writing DCT failed")

    monkeypatch.setattr(jpeglib, "read_dct", full_disk)
    original = noisy_jpeg((64, 48), exif=_gps_exif(orientation=6))
    checked = uploads.check_image(io.BytesIO(original))
    assert checked.reencoded
    assert (checked.width, checked.height) == (48, 64)
    assert b"SpyCam" not in checked.content.read()
