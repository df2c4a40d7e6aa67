"""Lossless JPEG rotation: an EXIF orientation applied to the DCT coefficients.

A JPEG stores each 8×8 block of each component as 64 quantised DCT coefficients. Turning
or mirroring the picture by a multiple of 90° maps every block to another block's place
and every coefficient to a coefficient of the same block: a mirror reverses the blocks
along one axis and negates the coefficients of odd frequency along it, a transpose swaps
the axes of the block grid and of each block (and of the quantisation tables and the
sampling factors). No pixel is decoded or quantised again, so the stored picture is the
upload's own, exactly — what ``jpegtran`` does, and what tests compare it with.

Edges (as ``jpegtran -perfect``): an edge whose last MCU (8 or 16 pixels) is partial
cannot move to the other side of the picture losslessly — a JPEG has no way to start
with a partial MCU. ``jpegtran -trim`` cuts such an edge off; here the picture keeps
its size instead, so such a file is re-encoded by the caller. Which edges matter: a
mirror left-right needs whole MCUs across (orientations 2, 3, 7, 8), top-bottom whole
MCUs down (3, 4, 6, 7), both counted before the transpose where there is one; a
transpose (5) needs neither. A camera's sizes are mostly whole MCUs (6000×4000,
4032×3024), so its photos turn losslessly.

What is handled: 8-bit Huffman-coded JPEGs (baseline, extended or progressive) in
greyscale or YCbCr whose coefficients a Huffman encoder can code. ``rotated`` answers
None for anything else (CMYK/YCCK or Adobe-marked, arithmetic coding, 12-bit, a partial
MCU on an edge that must move, out-of-range coefficients): the caller re-encodes those.
The coefficients are read and written by the ``jpeglib`` package (its bundled
libjpeg-turbo 2.1); its libjpeg exits the process on a fatal error rather than raising,
which is why it is only handed files whose every entropy-coded byte Pillow (also
libjpeg-turbo) has already decoded, of the frame types above, without APPn or COM
segments (its marker reader has a fixed table), and coefficients checked to fit. Its
calls share process-wide state, hence one lock.

The output holds the frame, tables and entropy-coded data (Huffman tables optimised,
sequential) and a JFIF header, nothing else: the caller adds back the ICC profile.
"""

import logging
import os
import tempfile
import threading

import numpy as np

# orientation (EXIF 0x0112) → operations that make the picture upright, in order
# (as PIL.ImageOps.exif_transpose): t transpose, h mirror left-right, v top-bottom.
OPERATIONS = {2: "h", 3: "hv", 4: "v", 5: "t", 6: "th", 7: "thv", 8: "tv"}
# Frames libjpeg-turbo codes with Huffman tables: SOF0 baseline, SOF1, SOF2 progressive.
HUFFMAN_FRAMES = (0xC0, 0xC1, 0xC2)
# What a Huffman encoder codes at 8 bits (libjpeg's MAX_COEF_BITS = 10): an AC value
# of at most 10 bits, a DC difference of at most 11 (its encoder exits past them).
_AC_LIMIT = 1023
_DC_SPAN = 2047
_JPEGLIB_VERSION = "turbo210"

_SIGNS = ((-1) ** np.arange(8)).astype(np.int16)
_lock = threading.Lock()
logger = logging.getLogger(__name__)


def _codable(plane: np.ndarray) -> bool:
    """Whether every coefficient fits the encoder: each AC value, and each difference
    between two DC values (the first one's from 0), whatever the block order."""
    ac = plane.reshape(*plane.shape[:2], 64)[:, :, 1:]
    dc = plane[:, :, 0, 0]
    return (
        -_AC_LIMIT <= int(ac.min(initial=0))
        and int(ac.max(initial=0)) <= _AC_LIMIT
        and int(dc.max(initial=0)) - int(dc.min(initial=0)) <= _DC_SPAN
    )


def _mirror(blocks: np.ndarray, axis: int) -> np.ndarray:
    """Reverse the block rows (axis 0) or columns (axis 1) and negate the coefficients
    of odd frequency along that axis."""
    if axis == 0:
        return blocks[::-1] * _SIGNS[None, None, :, None]
    return blocks[:, ::-1] * _SIGNS[None, None, None, :]


def _contiguous(planes: list[np.ndarray]) -> list[np.ndarray]:
    """Each plane laid out for the encoder, releasing each moved one as it goes."""
    laid = []
    while planes:
        laid.append(np.ascontiguousarray(planes.pop(0), dtype=np.int16))
    return laid


def transform(
    components: list[np.ndarray],
    qt: np.ndarray,
    samp: np.ndarray,
    width: int,
    height: int,
    orientation: int,
):
    """The coefficient planes, tables, sampling factors and size after `orientation`'s
    operations; None if an edge that must move ends in a partial MCU.

    ``components``: per component, blocks as [block row, block column, v, u];
    ``samp``: per component, (vertical, horizontal) sampling factors.
    """
    samp = np.array(samp)
    for op in OPERATIONS[orientation]:
        if op == "t":
            components = [c.transpose(1, 0, 3, 2) for c in components]
            qt = qt.transpose(0, 2, 1)
            samp = samp[:, ::-1]
            width, height = height, width
            continue
        axis = 0 if op == "v" else 1
        mcu = 8 * int(samp[:, axis].max())
        if (height if op == "v" else width) % mcu:
            return None
        components = [_mirror(c, axis) for c in components]
    return components, qt, samp, width, height


def rotated(data: bytes, orientation: int) -> tuple[bytes, int, int] | None:
    """(JPEG bytes, width, height) of `data` made upright losslessly, or None when it
    cannot be (see the module docstring). `data` must have decoded already and carry no
    APPn or COM segment."""
    if orientation not in OPERATIONS:
        return None
    try:
        return _rotated(data, orientation)
    except OSError:  # jpeglib's answer to a failed read or write (a full disk)
        logger.warning("lossless rotation failed; re-encoding instead", exc_info=True)
        return None


def _rotated(data: bytes, orientation: int) -> tuple[bytes, int, int] | None:
    import jpeglib  # imported on the first rotation only: it loads its libjpeg

    with _lock, tempfile.TemporaryDirectory(prefix="loreos-rotate-") as folder:
        jpeglib.version.set(_JPEGLIB_VERSION)
        source = os.path.join(folder, "source.jpg")
        with open(source, "wb") as out:
            out.write(data)
        jpeg = jpeglib.read_dct(source)
        if jpeg.jpeg_color_space not in (
            jpeglib.Colorspace.JCS_GRAYSCALE,
            jpeglib.Colorspace.JCS_YCbCr,
        ):
            return None
        qt, samp = np.array(jpeg.qt), np.array(jpeg.samp_factor)
        size = (jpeg.width, jpeg.height)
        if transform([], qt, samp, *size, orientation) is None:
            return None  # a partial MCU must move: known before reading coefficients
        planes = [jpeg.Y] + ([jpeg.Cb, jpeg.Cr] if jpeg.has_chrominance else [])
        if not all(_codable(plane) for plane in planes):
            return None
        planes, qt, samp, width, height = transform(
            planes, qt, samp, *size, orientation
        )
        tables = np.array(jpeg.quant_tbl_no)
        del jpeg  # the source coefficients: each copy held is as large as the bitmap
        upright = jpeglib.from_dct(
            *_contiguous(planes), qt=np.ascontiguousarray(qt), quant_tbl_no=tables
        )
        upright.width, upright.height = width, height
        upright.samp_factor = np.ascontiguousarray(samp)
        target = os.path.join(folder, "upright.jpg")
        upright.write_dct(target, flags=["+OPTIMIZE_CODING"])
        with open(target, "rb") as written:
            return written.read(), width, height
