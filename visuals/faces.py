"""Face detection and face-identity embeddings with dlib (HOG detector, 5-point
alignment, the 128-d ResNet encoder), measured on pixels, never assumed.

The model files come from the ``face_recognition_models`` distribution. That package is
located with ``importlib.util.find_spec`` and never imported: its ``__init__`` imports
``pkg_resources``, which setuptools ≥ 81 no longer ships. The 5-point landmark model is
used, not the 68-point one (whose training data forbids commercial use).

The three models load once per process, on first use, behind a lock, so Celery worker
threads and a web process share one copy. Distances are Euclidean between 128-d
encodings: on real photos the same person measures 0.24–0.43, different people
0.80–0.89 (dlib's customary match line is 0.6).
"""

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# Larger images are scaled down to this longer side before detection (HOG cost grows
# with the pixel count; a face still spans ≥ 80 px at this size in any sensible photo)
# and the boxes are mapped back to the image's own coordinates.
MAX_DETECT_SIDE = 1024

_MODEL_FILES = {
    "shape": "shape_predictor_5_face_landmarks.dat",
    "encoder": "dlib_face_recognition_resnet_model_v1.dat",
}


@dataclass(frozen=True)
class FaceBox:
    """A face's box in the image's own pixel coordinates (right/bottom exclusive).

    A face cut off by the frame keeps dlib's estimate, which may reach past the edges.
    """

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2, (self.top + self.bottom) / 2)


class _Models:
    def __init__(self):
        import dlib

        folder = models_folder()
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(str(folder / _MODEL_FILES["shape"]))
        self.encoder = dlib.face_recognition_model_v1(
            str(folder / _MODEL_FILES["encoder"])
        )


_models: _Models | None = None
_models_lock = threading.Lock()


def models_folder() -> Path:
    """The folder holding face_recognition_models' .dat files (found, not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "face_recognition_models is not installed; "
            "install the project's dependencies"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def models() -> _Models:
    """The process-wide models, loaded on first use (thread-safe)."""
    global _models
    loaded = _models
    if loaded is None:
        with _models_lock:
            if _models is None:
                _models = _Models()
            loaded = _models
    return loaded


def as_array(image) -> np.ndarray:
    """An RGB uint8 array of a PIL image (an array passes through unchanged)."""
    if isinstance(image, np.ndarray):
        return image
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def detect(image) -> list[FaceBox]:
    """The faces in `image` (PIL image or RGB array), largest first.

    HOG without upsampling. An image whose longer side exceeds MAX_DETECT_SIDE is
    scaled down for detection and the boxes are mapped back.
    """
    m = models()
    array = as_array(image)
    height, width = array.shape[:2]
    scale = max(width, height) / MAX_DETECT_SIDE
    if scale > 1:
        small = (max(1, round(width / scale)), max(1, round(height / scale)))
        array = np.asarray(
            Image.fromarray(array).resize(small, Image.Resampling.BILINEAR)
        )
    else:
        scale = 1.0
    boxes = [
        FaceBox(
            left=round(r.left() * scale),
            top=round(r.top() * scale),
            right=round((r.right() + 1) * scale),
            bottom=round((r.bottom() + 1) * scale),
        )
        for r in m.detector(array, 0)
    ]
    return sorted(boxes, key=lambda b: b.area, reverse=True)


def encode(image, box: FaceBox) -> np.ndarray:
    """The 128-d identity encoding of the face in `box` (5-point alignment)."""
    m = models()
    array = as_array(image)
    rect = m.dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
    shape = m.shape(array, rect)
    return np.asarray(m.encoder.compute_face_descriptor(array, shape), dtype=np.float64)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two encodings (lower is more alike)."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))
