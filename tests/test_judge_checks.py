"""Issue 13: the judge checks what each probe asks — through the API.

For every probe type, a verdict that fails when its ask is not met (the compositor draws
a deliberately wrong picture: a test swaps the picture builder of that probe type) and
passes — or is honestly manual_required — when it is. The vision judge is a loopback
server speaking OpenAI's chat-completions shapes.
"""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from tests.curate_helpers import client_for, make_user
from tests.helpers import (
    ANCHORS,
    FACES,
    IMAGES_ON,
    assert_error,
    open_session,
    upload_identity,
)
from visuals.engine.backends import compositor

pytestmark = pytest.mark.django_db


@pytest.fixture
def mira(api, make_character):
    """A character ready for images (identity obama-1, anchors, images on)."""
    make_character("mira", thresholds=IMAGES_ON)
    identity = upload_identity(api)
    return {"slug": "mira", "identity": identity, "session_id": open_session(api)}


def run_probe(api, ready, probe_type):
    response = api.post(
        f"/v1/characters/{ready['slug']}/image-probe",
        {"probe_type": probe_type, "session_id": ready["session_id"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    probe_id = response.json()["data"]["probe_id"]
    report = api.get(f"/v1/characters/{ready['slug']}/image-probe/{probe_id}").json()
    assert report["state"] == "ready", report
    return report


def checks_of(report) -> dict:
    return {c["id"]: c for c in report["consistency"]["checks"]}


def draw_instead(monkeypatch, probe_type, builder):
    """The test-only switch: the compositor draws `builder`'s picture for this type."""
    monkeypatch.setitem(compositor._BUILDERS, probe_type, builder)


def another_person(job, rng):
    return Image.open(FACES / "biden-1.jpg").convert("RGB")


def elsewhere(job, rng):
    """The character's head in a plain green room: another place."""
    canvas = Image.new("RGB", compositor.PICTURE, (30, 160, 60))
    head, mask = compositor._cutout(job, face_width=170)
    canvas.paste(head, (40, compositor.PICTURE[1] - head.height), mask)
    return canvas


def with_forbidden(api, slug, traits):
    response = api.patch(
        f"/v1/characters/{slug}",
        {"profile": {"identity_anchors": ANCHORS, "forbidden_visuals": traits}},
        format="json",
    )
    assert response.status_code == 200, response.content


# --- The loopback vision judge -------------------------------------------------------


class FakeVisionJudge:
    """POST /v1/chat/completions as OpenAI's API answers it.

    Request and response shapes follow the OpenAI API reference for chat completions
    and openai-python's types: the user message's content parts
    (``ChatCompletionContentPartTextParam`` {"type": "text", "text"} and
    ``ChatCompletionContentPartImageParam`` {"type": "image_url",
    "image_url": {"url"}}),
    ``response_format`` as ``ResponseFormatJSONSchema`` {"type": "json_schema",
    "json_schema": {"name", "schema", "strict"}}, and the answer a ``ChatCompletion``
    {"id", "object": "chat.completion", "created", "model", "choices": [{"index",
    "message": {"role": "assistant", "content", "refusal"}, "finish_reason"}]}.

    `fails` names the check ids answered holds=false; `script` queues raw answers
    (status, body, headers, delay) served before the policy answers.
    """

    def __init__(self):
        self.fails: set[str] = set()
        self.confidence = 0.93
        self.script: list[tuple] = []
        self.received: list[dict] = []
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                judge.received.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "body": body,
                        "at": time.monotonic(),
                    }
                )
                if judge.script:
                    status, answer, headers, delay = judge.script.pop(0)
                else:
                    status, answer, headers, delay = 200, judge.policy(body), {}, 0
                if delay:
                    time.sleep(delay)
                payload = (
                    answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                )
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def checks_in(body) -> list[dict]:
        text = next(
            part["text"]
            for part in body["messages"][0]["content"]
            if part["type"] == "text"
        )
        (block,) = re.findall(r"```json\n(.*?)\n```", text, re.DOTALL)
        return json.loads(block)

    def policy(self, body) -> dict:
        results = [
            {
                "id": check["id"],
                "holds": check["id"] not in self.fails,
                "confidence": self.confidence,
                "note": "looked at the first image",
            }
            for check in self.checks_in(body)
        ]
        return completion(json.dumps({"results": results}))


def completion(content: str) -> dict:
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1,
        "model": "judge-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
            }
        ],
    }


@pytest.fixture
def vision(settings):
    server = FakeVisionJudge()
    server.thread.start()
    settings.LOREOS_VISION_JUDGE_URL = server.base
    settings.LOREOS_VISION_JUDGE_MODEL = "judge-model"
    settings.LOREOS_VISION_JUDGE_API_KEY = "sk-judge"
    settings.LOREOS_VISION_JUDGE_BACKOFF = 0.05
    settings.LOREOS_VISION_JUDGE_TIMEOUT = 2.0
    yield server
    server.server.shutdown()
    server.server.server_close()


# --- Without a vision judge (the embedded default) ------------------------------------


def test_identity_selfie_passes_on_a_matching_face_and_says_what_it_did_not_check(
    api, mira
):
    report = run_probe(api, mira, "identity_selfie")
    consistency = report["consistency"]
    assert consistency["status"] == "passed" and report["promotion_eligible"] is True
    checks = checks_of(report)
    assert checks["identity_face"]["status"] == "passed"
    assert checks["identity_face"]["measure"] < 0.5
    # The anchors' constants and avoid entries are listed, not counted, and said.
    assert checks["keep_1"]["status"] == "not_checked"
    assert checks["avoid_2"]["status"] == "not_checked"
    assert "not checked: style constant #1 present" in consistency["reason"]
    assert "no vision judge is configured" in consistency["reason"]
    for check in consistency["checks"]:
        assert set(check) == {"id", "kind", "text", "status", "measure", "detail"}


def test_identity_selfie_of_another_person_fails(api, mira, monkeypatch):
    draw_instead(monkeypatch, "identity_selfie", another_person)
    report = run_probe(api, mira, "identity_selfie")
    assert report["consistency"]["status"] == "failed"
    assert checks_of(report)["identity_face"]["status"] == "failed"
    assert report["promotion_eligible"] is False


def test_forbidden_visual_check_without_a_vision_judge_is_manual_and_says_why(
    api, mira
):
    with_forbidden(api, "mira", ["a face tattoo"])
    report = run_probe(api, mira, "forbidden_visual_check")
    consistency = report["consistency"]
    assert consistency["status"] == "manual_required"
    assert report["promotion_eligible"] is False
    assert (
        "forbidden traits not checked: no vision judge is configured"
        in (consistency["reason"])
    )
    checks = checks_of(report)
    assert checks["identity_face"]["status"] == "passed"
    assert checks["forbidden_1"]["status"] == "manual_required"


def test_forbidden_visual_check_with_no_trait_defined_is_manual(api, mira, vision):
    report = run_probe(api, mira, "forbidden_visual_check")
    assert report["consistency"]["status"] == "manual_required"
    assert "none are defined" in report["consistency"]["reason"]


def test_full_body_passes_head_to_toe_and_fails_on_a_head_and_shoulders_crop(
    api, mira, monkeypatch
):
    report = run_probe(api, mira, "full_body_identity")
    body = checks_of(report)["full_body"]
    assert report["consistency"]["status"] == "passed", report["consistency"]
    assert body["status"] == "passed" and body["measure"] >= 7.0
    assert "face heights of room below the face" in report["consistency"]["reason"]

    draw_instead(monkeypatch, "full_body_identity", compositor._identity_selfie)
    report = run_probe(api, mira, "full_body_identity")
    body = checks_of(report)["full_body"]
    assert body["status"] == "failed" and body["measure"] < 4.0
    assert checks_of(report)["identity_face"]["status"] == "passed"
    assert report["consistency"]["status"] == "failed"


def test_wardrobe_variation_passes_a_new_outfit_and_fails_the_same_one(
    api, mira, monkeypatch
):
    report = run_probe(api, mira, "wardrobe_variation")
    outfit = checks_of(report)["outfit_changed"]
    assert report["consistency"]["status"] == "passed", report["consistency"]
    assert outfit["status"] == "passed" and outfit["measure"] >= 0.45

    draw_instead(monkeypatch, "wardrobe_variation", compositor._identity_selfie)
    report = run_probe(api, mira, "wardrobe_variation")
    outfit = checks_of(report)["outfit_changed"]
    assert outfit["status"] == "failed" and outfit["measure"] < 0.3
    assert "clothing distance" in report["consistency"]["reason"]
    assert report["consistency"]["status"] == "failed"


def test_same_scene_followup_passes_in_the_same_place_and_fails_elsewhere(
    api, mira, monkeypatch
):
    run_probe(api, mira, "identity_selfie")
    report = run_probe(api, mira, "same_scene_followup")
    assert report["consistency"]["status"] == "passed", report["consistency"]
    assert checks_of(report)["same_scene"]["status"] == "passed"

    draw_instead(monkeypatch, "same_scene_followup", elsewhere)
    report = run_probe(api, mira, "same_scene_followup")
    scene = checks_of(report)["same_scene"]
    assert scene["status"] == "failed" and scene["measure"] < 0.35
    assert report["consistency"]["status"] == "failed"


@pytest.mark.parametrize("probe_type", ["accessory_carry_forward", "prop_usage"])
def test_asks_only_a_vision_judge_can_see_are_manual_without_one(api, mira, probe_type):
    run_probe(api, mira, "identity_selfie")
    report = run_probe(api, mira, probe_type)
    consistency = report["consistency"]
    assert consistency["status"] == "manual_required"
    ask = next(c for c in consistency["checks"] if c["kind"] == "ask")
    assert ask["status"] == "manual_required"
    assert "not checked, no vision judge is configured" in ask["detail"]
    assert checks_of(report)["identity_face"]["status"] == "passed"


# --- With the vision judge -----------------------------------------------------------


@pytest.mark.parametrize(
    "probe_type,ask_id",
    [("accessory_carry_forward", "accessory_kept"), ("prop_usage", "prop_in_hand")],
)
def test_the_vision_judge_decides_the_ask(api, mira, vision, probe_type, ask_id):
    run_probe(api, mira, "identity_selfie")
    report = run_probe(api, mira, probe_type)
    assert report["consistency"]["status"] == "passed", report["consistency"]
    assert checks_of(report)[ask_id]["status"] == "passed"
    assert checks_of(report)[ask_id]["measure"] == pytest.approx(0.93)

    vision.fails = {ask_id}
    report = run_probe(api, mira, probe_type)
    assert report["consistency"]["status"] == "failed"
    assert checks_of(report)[ask_id]["status"] == "failed"
    assert "does not hold (confidence 0.93" in report["consistency"]["reason"]


def test_the_request_follows_the_documented_protocol(api, mira, vision):
    run_probe(api, mira, "identity_selfie")
    vision.received.clear()
    run_probe(api, mira, "accessory_carry_forward")
    (request,) = vision.received
    assert request["path"] == "/v1/chat/completions"
    assert request["authorization"] == "Bearer sk-judge"
    body = request["body"]
    assert body["model"] == "judge-model"
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    item = schema["properties"]["results"]["items"]
    assert set(item["required"]) == {"id", "holds", "confidence", "note"}
    (message,) = body["messages"]
    assert message["role"] == "user"
    images = [p for p in message["content"] if p["type"] == "image_url"]
    # The generated image, the identity portrait, the parent — as data URLs.
    assert len(images) == 3
    assert all(
        p["image_url"]["url"].startswith("data:image/jpeg;base64,") for p in images
    )
    checks = FakeVisionJudge.checks_in(body)
    kinds = {c["id"]: c["kind"] for c in checks}
    assert kinds["accessory_kept"] == "ask"
    assert kinds["keep_1"] == "keep" and kinds["avoid_1"] == "avoid"
    assert {c["text"] for c in checks} >= {"round wire glasses", "no heavy makeup"}


def test_a_forbidden_trait_reported_present_fails_the_probe_and_names_it(
    api, mira, vision
):
    with_forbidden(api, "mira", ["a face tattoo", "neon hair"])
    report = run_probe(api, mira, "forbidden_visual_check")
    assert report["consistency"]["status"] == "passed", report["consistency"]
    assert report["promotion_eligible"] is True

    vision.fails = {"forbidden_2"}
    report = run_probe(api, mira, "forbidden_visual_check")
    consistency = report["consistency"]
    assert consistency["status"] == "failed"
    assert report["promotion_eligible"] is False
    assert checks_of(report)["forbidden_2"]["status"] == "failed"
    assert checks_of(report)["forbidden_2"]["text"] == "no forbidden trait: neon hair"
    assert "forbidden trait “neon hair” present" in consistency["reason"]
    assert checks_of(report)["forbidden_1"]["status"] == "passed"


def test_every_probe_is_checked_for_forbidden_traits(api, mira, vision):
    with_forbidden(api, "mira", ["a face tattoo"])
    vision.fails = {"forbidden_1"}
    report = run_probe(api, mira, "identity_selfie")
    assert report["consistency"]["status"] == "failed"
    assert "forbidden trait “a face tattoo” present" in report["consistency"]["reason"]


def test_a_malformed_answer_leaves_the_checks_unmade(api, mira, vision):
    with_forbidden(api, "mira", ["a face tattoo"])
    vision.script.append((200, completion("I think it looks fine!"), {}, 0))
    report = run_probe(api, mira, "forbidden_visual_check")
    consistency = report["consistency"]
    assert consistency["status"] == "manual_required"
    assert checks_of(report)["forbidden_1"]["status"] == "manual_required"
    assert "does not parse" in consistency["reason"]


def test_a_missing_id_leaves_that_check_unmade(api, mira, vision):
    with_forbidden(api, "mira", ["a face tattoo"])
    partial = {"results": [{"id": "keep_1", "holds": True, "confidence": 0.9}]}
    vision.script.append((200, completion(json.dumps(partial)), {}, 0))
    report = run_probe(api, mira, "forbidden_visual_check")
    assert report["consistency"]["status"] == "manual_required"
    assert "gave no usable answer for forbidden_1" in report["consistency"]["reason"]


def test_a_low_confidence_answer_is_for_a_curator(api, mira, vision):
    with_forbidden(api, "mira", ["a face tattoo"])
    vision.confidence = 0.4
    report = run_probe(api, mira, "forbidden_visual_check")
    assert report["consistency"]["status"] == "manual_required"
    assert "is below 0.70, so a curator decides" in report["consistency"]["reason"]


def test_a_429_is_retried_honouring_retry_after(api, mira, vision):
    with_forbidden(api, "mira", ["a face tattoo"])
    vision.script.append(
        (429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}, 0)
    )
    vision.script.append((503, {"error": {"message": "busy"}}, {}, 0))
    report = run_probe(api, mira, "forbidden_visual_check")
    assert report["consistency"]["status"] == "passed", report["consistency"]
    assert len(vision.received) == 3
    waited = vision.received[1]["at"] - vision.received[0]["at"]
    assert waited >= 0.9  # Retry-After: 1, not the 0.05 s backoff


def test_a_timeout_leaves_the_checks_unmade(api, mira, vision, settings):
    settings.LOREOS_VISION_JUDGE_TIMEOUT = 0.3
    with_forbidden(api, "mira", ["a face tattoo"])
    vision.script.append((200, completion("{}"), {}, 1.0))
    report = run_probe(api, mira, "forbidden_visual_check")
    assert report["consistency"]["status"] == "manual_required"
    assert "did not answer within 0.3 s" in report["consistency"]["reason"]


# --- profile.forbidden_visuals --------------------------------------------------------


@pytest.mark.parametrize("value", ["a tattoo", [1], [""], {"a": "b"}])
def test_forbidden_visuals_must_be_a_list_of_strings(api, character, value):
    response = api.patch(
        "/v1/characters/mira",
        {"profile": {"identity_anchors": ANCHORS, "forbidden_visuals": value}},
        format="json",
    )
    detail = assert_error(response, 422, "validation_error")
    assert "forbidden_visuals" in detail["field"]


def test_the_openapi_schema_types_consistency_and_its_checks(anon):
    response = anon.get("/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    components = json.loads(response.content)["components"]["schemas"]
    report = components["ProbeReport"]["properties"]["consistency"]
    assert report["allOf"] == [{"$ref": "#/components/schemas/Consistency"}]
    consistency = components["Consistency"]
    assert set(consistency["required"]) == {
        "status",
        "reason",
        "continuity_relation",
        "parent_bitmap_available",
    }
    assert consistency["properties"]["checks"]["items"] == {
        "$ref": "#/components/schemas/ConsistencyCheck"
    }
    check = components["ConsistencyCheck"]
    assert set(check["properties"]) == {
        "id",
        "kind",
        "text",
        "status",
        "measure",
        "detail",
    }
    assert check["properties"]["measure"]["nullable"] is True


# --- Per-character calibration --------------------------------------------------------


def test_two_identity_images_calibrate_the_face_bands(api, mira):
    upload_identity(api, photo="obama-2.jpg")
    report = run_probe(api, mira, "identity_selfie")
    assert report["consistency"]["status"] == "passed"
    assert "calibrated on 2 identity images" in report["consistency"]["reason"]
    advice = api.get("/v1/characters/mira/visual-readiness").json()["advice"]
    assert "identity_images_disagree" not in [a["code"] for a in advice]


def test_readiness_advises_when_identity_images_show_two_people(api, mira):
    other = upload_identity(api, photo="biden-1.jpg")
    body = api.get("/v1/characters/mira/visual-readiness").json()
    (item,) = [a for a in body["advice"] if a["code"] == "identity_images_disagree"]
    assert item["asset_id"] == other["id"]
    assert mira["identity"]["id"] in item["message"]
    assert body["checks"][0]["status"] == "ok"  # advice never changes a status
    report = run_probe(api, mira, "identity_selfie")
    assert "identity images disagree" in report["consistency"]["reason"]


def test_the_curator_report_page_lists_the_checks(api, mira, account):
    report = run_probe(api, mira, "prop_usage")
    curator = client_for(make_user("cora", accounts=[account]))
    body = curator.get(f"/curate/reports/{report['probe_id']}/").content
    page = body.decode()
    for check in report["consistency"]["checks"]:
        assert f'data-check="{check["id"]}"' in page
    assert "verdict-not_checked" in page and "verdict-manual_required" in page


def test_wardrobe_variation_must_differ_from_the_previous_image_too(api, mira):
    first = run_probe(api, mira, "wardrobe_variation")
    assert first["consistency"]["status"] == "passed"
    # The compositor draws the same new outfit again: new against the portrait, but
    # the same as the previous image's.
    again = run_probe(api, mira, "wardrobe_variation")
    outfit = checks_of(again)["outfit_changed"]
    assert outfit["status"] == "failed" and outfit["measure"] < 0.3
    assert "to the previous image's" in outfit["detail"]
    assert again["consistency"]["continuity_relation"] == "identity_only"
