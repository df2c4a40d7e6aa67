"""Identity-image advice: measured on real photos, never blocking (contract R11).

Measured with visuals.faces.detect (dlib HOG, no upsampling) and the advice module's
sharpness (variance of a Laplacian on the face rescaled to 128x128 grey):

photo                   size       faces  face (l, t, r, b)   sharpness  advice
obama-1.jpg             910x1137   1      364, 152, 604, 392  393        none
obama-2.jpg             626x1200   1      159, 294, 463, 598  297        none
biden-1.jpg             970x2204   1      418, 241, 743, 564  214        none
group-two-people.jpg    1126x661   2      —                   235, 139   multiple_faces
obama-partial-face.jpg  491x1137   1      -60, 152, 207, 392  408        face_cut_off
obama-1, blur r=1/2/3   910x1137   1      —                   144/39/16  blurry from r=2
obama-1, 4x canvas      3640 wide  1      324 px wide (9%)    —          face_too_small
"""

import io

import pytest
from PIL import Image, ImageFilter

from tests.helpers import face_bytes, image_bytes
from tests.test_assets_upload import uploaded
from visuals import advice

pytestmark = pytest.mark.django_db


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _codes(asset) -> list[str]:
    return [a["code"] for a in asset["advice"]]


def _obama() -> Image.Image:
    return Image.open(io.BytesIO(face_bytes("obama-1.jpg"))).convert("RGB")


@pytest.mark.parametrize("name", ["obama-1.jpg", "obama-2.jpg", "biden-1.jpg"])
def test_a_good_portrait_gets_no_advice(api, character, name):
    assert uploaded(api, content=face_bytes(name), name=name)["advice"] == []


def test_r11_a_group_photo_is_accepted_with_multiple_faces_advice(api, character):
    asset = uploaded(api, content=face_bytes("group-two-people.jpg"))
    assert asset["asset_status"] == "active"
    assert _codes(asset) == ["multiple_faces"]
    assert asset["advice"][0]["message"].startswith("2 faces were found")


def test_r11_a_cut_off_face_is_accepted_with_face_cut_off_advice(api, character):
    asset = uploaded(api, content=face_bytes("obama-partial-face.jpg"))
    assert asset["asset_status"] == "active"
    assert _codes(asset) == ["face_cut_off"]


def test_r11_a_flat_colour_image_is_accepted_with_no_face_advice(api, character):
    asset = uploaded(api, content=image_bytes(size=(512, 512)))
    assert asset["asset_status"] == "active"
    assert _codes(asset) == ["no_face"]


def test_a_blurred_portrait_gets_blurry_advice(api, character):
    blurred = _obama().filter(ImageFilter.GaussianBlur(3))
    assert _codes(uploaded(api, content=_jpeg(blurred))) == ["blurry"]


def test_a_slightly_soft_portrait_is_not_called_blurry(api, character):
    soft = _obama().filter(ImageFilter.GaussianBlur(1))
    assert uploaded(api, content=_jpeg(soft))["advice"] == []


def test_a_small_face_in_a_large_frame_gets_face_too_small_advice(api, character):
    portrait = _obama()
    canvas = Image.new(
        "RGB", (portrait.width * 4, portrait.height * 4), (128, 128, 128)
    )
    canvas.paste(portrait, (portrait.width, portrait.height))
    assert _codes(uploaded(api, content=_jpeg(canvas))) == ["face_too_small"]


def test_a_forehead_cropped_off_gets_face_cut_off_advice(api, character):
    portrait = _obama()
    # The face box starts at y=152; keep only from just above the brows.
    cropped = portrait.crop((0, 140, portrait.width, portrait.height))
    assert _codes(uploaded(api, content=_jpeg(cropped))) == ["face_cut_off"]


def test_advice_is_for_identity_images_only(api, character):
    uploaded(api, content=face_bytes("obama-1.jpg"))
    prop = uploaded(
        api, category="prop", asset_key="mug", label="mug", content=image_bytes()
    )
    assert prop["advice"] == []


def test_a_failing_measurement_never_blocks_an_upload(api, character, monkeypatch):
    from visuals import faces

    def broken(image):
        raise RuntimeError("detector unavailable")

    monkeypatch.setattr(faces, "detect", broken)
    asset = uploaded(api, content=face_bytes("obama-1.jpg"))
    assert asset["asset_status"] == "active"
    assert asset["advice"] == []


def test_advice_reads_the_upright_image(api, character):
    """A phone photo stored sideways with an EXIF orientation is measured upright."""
    sideways = _obama().rotate(-90, expand=True)  # what the sensor stored
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90° counter-clockwise to display"
    buffer = io.BytesIO()
    sideways.save(buffer, "JPEG", quality=92, exif=exif)
    # The detector finds no face in the sideways pixels themselves …
    assert advice.rules(advice.measure(sideways))[0]["code"] == "no_face"
    # … but the upload is turned upright first, stored upright and measured upright.
    asset = uploaded(api, content=buffer.getvalue())
    assert (asset["width"], asset["height"]) == (910, 1137)
    assert asset["advice"] == []


# --- The rules alone (no detector, no database) ---------------------------------------


def _measured(box, width=1000, height=1000, sharpness=300.0):
    left, top, right, bottom = box
    face = {
        "left": left,
        "top": top,
        "right": right,
        "bottom": bottom,
        "sharpness": sharpness,
    }
    return {"width": width, "height": height, "faces": [face]}


@pytest.mark.parametrize(
    "box,codes",
    [
        ((350, 300, 650, 600), []),
        ((350, 50, 650, 350), ["face_cut_off"]),  # less than a quarter box above
        ((350, 700, 650, 990), ["face_cut_off"]),  # chin at the bottom edge
        ((-20, 300, 280, 600), ["face_cut_off"]),
        ((800, 300, 1010, 510), ["face_cut_off"]),
        ((450, 450, 550, 550), ["face_too_small"]),  # 10% of the frame
        ((100, 300, 190, 390), ["face_too_small"]),  # 90 px
    ],
)
@pytest.mark.django_db(False)
def test_rules(box, codes):
    assert [a["code"] for a in advice.rules(_measured(box))] == codes


@pytest.mark.django_db(False)
def test_rules_blur_and_counts():
    assert [
        a["code"] for a in advice.rules(_measured((350, 300, 650, 600), sharpness=20))
    ] == ["blurry"]
    assert [
        a["code"] for a in advice.rules({"width": 10, "height": 10, "faces": []})
    ] == ["no_face"]
    two = _measured((0, 0, 1, 1))
    two["faces"] *= 3
    assert [a["code"] for a in advice.rules(two)] == ["multiple_faces"]
