"""OpenAI edits as its users expect: input_fidelity for selfie kinds on gpt-image-1
(configurable, omitted where the model rejects it), the identity portrait first."""

import base64

import pytest

from tests.factories import make_asset, make_request, ready_session
from tests.helpers import FACES, image_bytes
from tests.test_openai_backend import FakeImagesAPI, _png_of
from visuals import engine

pytestmark = pytest.mark.django_db
OK = {"data": [{"b64_json": base64.b64encode(_png_of(image_bytes())).decode()}]}


@pytest.fixture
def openai(settings):
    api = FakeImagesAPI()
    api.thread.start()
    settings.LOREOS_IMAGE_BACKEND = "openai"
    settings.LOREOS_OPENAI_BASE_URL = f"{api.base}/v1"
    settings.LOREOS_OPENAI_API_KEY = "sk-test"
    settings.LOREOS_OPENAI_MODEL = "gpt-image-1"
    yield api
    api.server.shutdown()
    api.server.server_close()


def sent_for(openai, session, **kind) -> dict:
    openai.answer(200, OK)
    engine.run(make_request(session, **kind).pk)
    return openai.received[-1]


def test_a_selfie_sends_high_input_fidelity_by_default(openai):
    sent = sent_for(openai, ready_session(), probe_type="identity_selfie")
    assert sent["fields"]["input_fidelity"] == "high"


def test_an_object_kind_does_not_send_it(openai):
    sent = sent_for(openai, ready_session(), category="prop")
    assert "input_fidelity" not in sent["fields"]


def test_it_is_configurable_and_omitted_for_models_that_reject_it(openai, settings):
    session = ready_session()
    settings.LOREOS_OPENAI_INPUT_FIDELITY = "low"
    assert (
        sent_for(openai, session, probe_type="identity_selfie")["fields"][
            "input_fidelity"
        ]
        == "low"
    )
    settings.LOREOS_OPENAI_MODEL = "dall-e-2"
    fields = sent_for(openai, session, probe_type="identity_selfie")["fields"]
    assert "input_fidelity" not in fields
    settings.LOREOS_OPENAI_MODEL = "gpt-image-1"
    settings.LOREOS_OPENAI_INPUT_FIDELITY = ""
    fields = sent_for(openai, session, probe_type="identity_selfie")["fields"]
    assert "input_fidelity" not in fields


def test_the_identity_portrait_goes_first(openai):
    session = ready_session()
    # A second identity image uploaded later, and an inventory reference.
    make_asset(
        session.character,
        category="identity",
        data=(FACES / "obama-2.jpg").read_bytes(),
    )
    make_asset(session.character, category="wardrobe", data=image_bytes())
    sent = sent_for(openai, session, category="wardrobe")
    roles = [f["filename"].split("-")[0] for f in sent["files"]]
    assert roles[0] == "identity" and roles[-1] == "inventory"
    assert roles.count("identity") == 2


@pytest.mark.parametrize(
    "model, sent",
    [("gpt-image-1", True), ("gpt-image-1.5", True), ("gpt-image-1-mini", False)],
)
def test_only_the_gpt_image_models_that_accept_it_get_it(openai, settings, model, sent):
    settings.LOREOS_OPENAI_MODEL = model
    fields = sent_for(openai, ready_session(), probe_type="identity_selfie")["fields"]
    assert ("input_fidelity" in fields) is sent
