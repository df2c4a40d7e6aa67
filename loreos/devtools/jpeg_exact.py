"""A JPEG's pixels decoded with an exact IDCT, to judge a lossless transform.

Pillow's decoder (libjpeg's integer IDCT) rounds between its column and row passes, so
the decode of a transposed block can differ by a unit or two from the transposed
decode of the block although both files hold the same picture. Decoding each
component's DCT coefficients (read by jpeglib) with a floating-point orthonormal IDCT,
at the component's own resolution and without colour conversion, removes that
rounding: a losslessly turned file decodes to exactly the original's planes turned.
Used by tests/test_lossless_rotation.py and the upload benchmark.
"""

import tempfile

import jpeglib
import numpy as np


def dct_basis() -> np.ndarray:
    x = np.arange(8)
    basis = np.cos((2 * x[None, :] + 1) * x[:, None] * np.pi / 16) * np.sqrt(2 / 8)
    basis[0] /= np.sqrt(2)
    return basis  # [frequency, position], orthonormal


def exact_planes(data: bytes) -> list[np.ndarray]:
    """Each component's samples decoded with an exact IDCT, cropped to its size."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as file:
        file.write(data)
        file.flush()
        jpeg = jpeglib.read_dct(file.name)
        planes = [jpeg.Y] + ([jpeg.Cb, jpeg.Cr] if jpeg.has_chrominance else [])
        samp = np.array(jpeg.samp_factor)
        width, height = jpeg.width, jpeg.height
        tables = [jpeg.qt[i] for i in jpeg.quant_tbl_no]
    basis = dct_basis()
    out = []
    for plane, (v, h), qt in zip(planes, samp, tables, strict=False):
        blocks = plane.astype(np.float64) * qt
        pixels = np.einsum("fy,abfg,gx->abyx", basis, blocks, basis)
        rows, cols = plane.shape[:2]
        tiled = pixels.transpose(0, 2, 1, 3).reshape(rows * 8, cols * 8)
        comp_h = -(-height * v // samp[:, 0].max())
        comp_w = -(-width * h // samp[:, 1].max())
        out.append(tiled[:comp_h, :comp_w])
    return out
