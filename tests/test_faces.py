"""visuals.faces on real photos: detection, encodings, distances, one model load."""

import sys
import threading

import numpy as np
import pytest
from PIL import Image

from tests.helpers import FACES
from visuals import faces


def photo(name: str) -> Image.Image:
    return Image.open(FACES / name).convert("RGB")


def encoding_of(name: str) -> np.ndarray:
    image = photo(name)
    (box, *_) = faces.detect(image)
    return faces.encode(image, box)


def test_detect_finds_the_one_face_of_a_portrait():
    image = photo("obama-1.jpg")
    boxes = faces.detect(image)
    assert len(boxes) == 1
    box = boxes[0]
    assert 0 <= box.left < box.right <= image.width
    assert 0 <= box.top < box.bottom <= image.height
    # Head-and-shoulders portrait: the face is large and in the upper half.
    assert box.width > image.width * 0.2
    assert box.center[1] < image.height / 2


def test_detect_finds_both_people_of_a_group_photo_largest_first():
    boxes = faces.detect(photo("group-two-people.jpg"))
    assert len(boxes) == 2
    assert boxes[0].area >= boxes[1].area
    assert boxes[0] != boxes[1]


def test_detect_finds_no_face_in_a_plain_picture():
    assert faces.detect(Image.new("RGB", (400, 400), (120, 160, 200))) == []


def test_detect_accepts_an_rgb_array():
    image = photo("obama-1.jpg")
    assert faces.detect(np.asarray(image)) == faces.detect(image)


def test_a_large_image_is_scaled_down_for_detection_and_boxes_map_back():
    image = photo("obama-1.jpg")
    (small_box,) = faces.detect(image)
    big = image.resize((image.width * 5 // 2, image.height * 5 // 2))
    assert max(big.size) > faces.MAX_DETECT_SIDE
    (big_box,) = faces.detect(big)
    for small, large in zip(
        (small_box.left, small_box.top, small_box.right, small_box.bottom),
        (big_box.left, big_box.top, big_box.right, big_box.bottom),
        strict=True,
    ):
        assert abs(large - small * 2.5) < small_box.width * 2.5 * 0.12
    # The box is in the big image's own coordinates: encoding there is the same face.
    assert (
        faces.distance(faces.encode(big, big_box), faces.encode(image, small_box)) < 0.2
    )


def test_encode_gives_128_floats():
    encoding = encoding_of("obama-1.jpg")
    assert encoding.shape == (128,) and encoding.dtype == np.float64
    assert np.isfinite(encoding).all()


def test_the_same_person_is_close_and_another_person_is_far(settings):
    obama_1, obama_2, biden = (
        encoding_of(n) for n in ("obama-1.jpg", "obama-2.jpg", "biden-1.jpg")
    )
    same = faces.distance(obama_1, obama_2)
    other = faces.distance(obama_1, biden)
    assert same < settings.LOREOS_FACE_PASS_DISTANCE
    assert other >= settings.LOREOS_FACE_FAIL_DISTANCE
    assert faces.distance(obama_1, obama_1) == 0.0
    assert faces.distance(obama_2, obama_1) == pytest.approx(same)


def test_the_partial_face_box_may_reach_past_the_frame_and_still_encodes():
    image = photo("obama-partial-face.jpg")
    (box,) = faces.detect(image)
    assert box.left < 0  # dlib's estimate of a face cut off by the left edge
    assert faces.distance(faces.encode(image, box), encoding_of("obama-1.jpg")) < 0.5


def test_models_load_once_even_when_threads_race(monkeypatch):
    loads = []
    gate = threading.Barrier(6)

    class Counting:
        def __init__(self):
            loads.append(1)

    monkeypatch.setattr(faces, "_Models", Counting)
    monkeypatch.setattr(faces, "_models", None)
    seen = []

    def worker():
        gate.wait()
        seen.append(faces.models())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1
    assert len({id(m) for m in seen}) == 1


def test_model_files_are_found_without_importing_face_recognition_models():
    folder = faces.models_folder()
    assert (folder / "shape_predictor_5_face_landmarks.dat").is_file()
    assert (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file()
    faces.models()
    assert "face_recognition_models" not in sys.modules
